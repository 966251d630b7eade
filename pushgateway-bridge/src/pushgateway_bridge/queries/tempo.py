"""Reading traces from Tempo: the TraceQL a trace search becomes (`GET /api/search`), one trace
(`GET /api/traces/<id>`) as a tree of spans, and both limited to the services the caller's key reads.

A search is TraceQL, built here only: `{ resource.service.name =~ "^(?:<readable>)$" [&& resource.service.name
= "<service>"] [&& traceDuration >= <min>] }`, every value a string literal (Go syntax, as LogQL's). The
regex is anchored explicitly: Tempo before 2.6 matched `=~` anywhere in the value.

Scope: a trace crosses services. A key sees a trace when one of its spans is of a service the key reads,
and sees only those spans: the others are left out, and a span whose parent was left out becomes a root.
A search result names its root service only when the key reads it.

Tempo's trace answer is OTLP JSON with `batches` for `resourceSpans` and ids in base64 (protobuf JSON's
bytes); the search writes trace ids in hex without leading zeros. Both become 32 (trace) and 16 (span)
hex digits here.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import httpx

from pushgateway_bridge.alerts.escaping import promql_string as traceql_string
from pushgateway_bridge.queries.times import Window, rfc3339_ns

TRACE_ID = re.compile(r"[0-9a-f]{32}")
HEX = re.compile(r"[0-9a-fA-F]+")
KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUSES = ("unset", "ok", "error")


class TempoUnavailable(Exception):
    """Tempo did not answer, or not as its API says: the caller answers 503."""


class TempoRejected(Exception):
    """Tempo answered 400: a limit of its own the bridge's checks did not catch."""


class TraceNotFound(Exception):
    pass


@dataclass(frozen=True)
class TraceSearch:
    readable: str  # the key's services regex (auth.py)
    window: Window
    limit: int
    service: str | None = None
    min_duration: str | None = None  # a TraceQL duration: digits and one unit (ms, s, m, h)


def traceql(search: TraceSearch) -> str:
    conditions = [f"resource.service.name =~ {traceql_string(f'^(?:{search.readable})$')}"]
    if search.service is not None:
        conditions.append(f"resource.service.name = {traceql_string(search.service)}")
    if search.min_duration is not None:
        conditions.append(f"traceDuration >= {search.min_duration}")
    return "{ " + " && ".join(conditions) + " }"


def hex_id(value: str, size: int) -> str:
    """An id of `size` bytes as lower-case hex, from hex (left-padded: the search trims zeros) or base64."""
    # Tempo's base64 of 8 or 16 bytes is padded (`=`), so it is never all hex digits.
    if HEX.fullmatch(value) and len(value) <= size * 2:
        return value.lower().rjust(size * 2, "0")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise TempoUnavailable(f"Tempo answered an id that is neither hex nor base64: {value!r}") from None
    return raw.hex().rjust(size * 2, "0")


def _value(any_value: dict[str, Any]) -> Any:
    """An OTLP AnyValue as plain JSON."""
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in any_value:
            return any_value[key]
    if "intValue" in any_value:
        return int(any_value["intValue"])  # int64: a string in protobuf JSON
    if "arrayValue" in any_value:
        return [_value(item) for item in any_value["arrayValue"].get("values") or []]
    if "kvlistValue" in any_value:
        return attributes(any_value["kvlistValue"].get("values"))
    if "bytesValue" in any_value:
        return any_value["bytesValue"]
    return None


def attributes(pairs: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {pair["key"]: _value(pair.get("value") or {}) for pair in pairs or []}


def _enum(value: Any, names: tuple[str, ...], prefix: str) -> str:
    if isinstance(value, int):
        return names[value] if 0 <= value < len(names) else str(value)
    text = str(value or names[0].upper())
    return text.removeprefix(prefix).lower()


def spans(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """Every span of Tempo's trace answer, flat, with its resource's service name."""
    found = []
    for batch in trace.get("batches") or trace.get("resourceSpans") or []:
        resource = attributes((batch.get("resource") or {}).get("attributes"))
        service = resource.get("service.name")
        scopes = batch.get("scopeSpans") or batch.get("instrumentationLibrarySpans") or []
        for scope in scopes:
            for span in scope.get("spans") or []:
                start, end = int(span.get("startTimeUnixNano") or 0), int(span.get("endTimeUnixNano") or 0)
                status = span.get("status") or {}
                parent = span.get("parentSpanId")
                found.append(
                    {
                        "span_id": hex_id(span["spanId"], 8),
                        "parent_span_id": hex_id(parent, 8) if parent else None,
                        "name": span.get("name", ""),
                        "service": service if isinstance(service, str) else None,
                        "kind": _enum(span.get("kind"), KINDS, "SPAN_KIND_"),
                        "start": rfc3339_ns(start),
                        "duration_ms": (end - start) / 1e6,
                        "status": _enum(status.get("code"), STATUSES, "STATUS_CODE_"),
                        "status_message": status.get("message") or None,
                        "attributes": attributes(span.get("attributes")),
                        "start_ns": start,
                        "end_ns": end,
                    }
                )
    return found


def tree(trace_id: str, flat: list[dict[str, Any]], readable: str) -> dict[str, Any]:
    """The spans of the services `readable` matches as a tree by parent span id, children by start time."""
    allowed = re.compile(readable)
    kept = [span for span in flat if allowed.fullmatch(span["service"] or "")]
    if not kept:
        raise TraceNotFound(trace_id)
    kept.sort(key=lambda span: span["start_ns"])
    by_id = {span["span_id"]: {**span, "children": []} for span in kept}
    roots: list[dict[str, Any]] = []
    for span in by_id.values():
        parent = by_id.get(span["parent_span_id"] or "")
        (parent["children"] if parent is not None else roots).append(span)
    start = min(span["start_ns"] for span in kept)
    end = max(span["end_ns"] for span in kept)
    for span in by_id.values():
        del span["start_ns"], span["end_ns"]
    return {
        "trace_id": trace_id,
        "start": rfc3339_ns(start),
        "duration_ms": (end - start) / 1e6,
        "span_count": len(kept),
        "services": sorted({span["service"] for span in kept if span["service"]}),
        "roots": roots,
    }


def summary(found: dict[str, Any], readable: str) -> dict[str, Any]:
    """One search result; services the key does not read are not named."""
    allowed = re.compile(readable)
    root = found.get("rootServiceName")
    stats = found.get("serviceStats") or {}
    return {
        "trace_id": hex_id(str(found["traceID"]), 16),
        "root_service": root if isinstance(root, str) and allowed.fullmatch(root) else None,
        "root_name": found.get("rootTraceName"),
        "start": rfc3339_ns(int(found.get("startTimeUnixNano") or 0)),
        "duration_ms": found.get("durationMs", 0),  # protobuf JSON leaves out a zero
        "services": sorted(name for name in stats if allowed.fullmatch(name)),
    }


class TempoReader:
    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout_seconds

    def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        try:
            return httpx.get(
                self.url + path, params=params, headers={"Accept": "application/json"}, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise TempoUnavailable(f"Tempo at {self.url}: {exc}") from None

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code == httpx.codes.BAD_REQUEST:
            raise TempoRejected(response.text.strip()[:500])
        if response.status_code != httpx.codes.OK:
            raise TempoUnavailable(f"Tempo at {self.url} answered {what} with {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise TempoUnavailable(f"Tempo at {self.url}: {what} answer is not JSON") from None
        if not isinstance(body, dict):
            raise TempoUnavailable(f"Tempo at {self.url}: {what} answer is not an object")
        return body

    def search(self, search: TraceSearch) -> tuple[str, list[dict[str, Any]]]:
        """The TraceQL run and the traces found, newest first."""
        query = traceql(search)
        params = {
            "q": query,
            "start": str(search.window.start_seconds),
            "end": str(search.window.end_seconds),
            "limit": str(search.limit),
        }
        body = self._json(self._get("/api/search", params), "the search")
        try:
            found = [summary(item, search.readable) for item in body.get("traces") or []]
        except (KeyError, TypeError, ValueError) as exc:
            raise TempoUnavailable(f"Tempo at {self.url}: not a search answer ({exc})") from None
        found.sort(key=lambda item: item["start"], reverse=True)
        return query, found

    def trace(self, trace_id: str, readable: str) -> dict[str, Any]:
        response = self._get(f"/api/traces/{trace_id}")
        if response.status_code == httpx.codes.NOT_FOUND:
            raise TraceNotFound(trace_id)
        body = self._json(response, "the trace")
        try:
            return tree(trace_id, spans(body), readable)
        except (KeyError, TypeError, ValueError) as exc:
            raise TempoUnavailable(f"Tempo at {self.url}: not a trace answer ({exc})") from None
