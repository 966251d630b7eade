"""Reading logs from Loki: the LogQL a log search becomes, `GET /loki/api/v1/query_range`, and its
`streams` answer as the API's entries.

The query is built here and nowhere else. Every value is a LogQL string literal (Go's double-quoted
syntax, which JSON's escapes are a subset of: the PromQL escaper serves). `level` is a stream matcher and
`q` a line filter. A stream is named by its `service` label (the bridge's events, Alloy's container logs)
or, for a sidecar event, by `app` (`sinks/loki.py`), and a key's globs cover both: the key's regex and
`service` are label filter expressions, `| service=~"<globs>" or app=~"<globs>"`, which one stream
selector cannot say. Loki refuses a selector whose every matcher also matches the empty value;
`source=~".+"` (every stream the bundle writes has a `source`) is the selector when `level` is not given.

Structured metadata (the event id and trace id the bridge's sink attaches) is asked for with
`X-Loki-Response-Encoding-Flags: categorize-labels`: each value is then `[ts, line, {"structuredMetadata":
{...}, "parsed": {...}}]` and the stream holds only its indexed labels. A Loki before 3.0 ignores the
flag and merges the metadata into the stream labels; both are read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from pushgateway_bridge.alerts.escaping import promql_string as logql_string
from pushgateway_bridge.queries.times import Window, rfc3339_ns

Direction = Literal["forward", "backward"]
CATEGORIZE = {"X-Loki-Response-Encoding-Flags": "categorize-labels"}
# Keys of the bridge's line that say what the event is, not what the request carried (sinks/loki.py).
LINE_KEYS = ("event_id", "source", "kind", "received", "timestamp")
# The labels that name a stream: `service`, or `app` for a sidecar event (sinks/loki.py).
NAME_LABELS = ("service", "app")
EVERY_SERVICE = ".*"  # auth.py's regex of a key that reads every service: no filter is needed


class LokiUnavailable(Exception):
    """Loki did not answer, or not with a query result: the caller answers 503."""


class LokiRejected(Exception):
    """Loki answered 400: a limit of its own (window, entries) that the bridge's did not catch."""


@dataclass(frozen=True)
class LogSearch:
    """A log search as the API takes it; `readable` is the key's services regex (auth.py)."""

    readable: str
    window: Window
    limit: int
    direction: Direction = "backward"
    text: str | None = None
    service: str | None = None
    level: str | None = None


def logql(search: LogSearch) -> str:
    """The LogQL of a search: `{level="l"}` (or `{source=~".+"}`) `[|= "text"] [| <the names' filter>]`."""
    matchers = [] if search.level else ['source=~".+"']  # `level=""` matches the empty value too
    if search.level is not None:
        matchers.append(f"level={logql_string(search.level)}")
    query = "{" + ", ".join(matchers) + "}"
    if search.text:
        query += f" |= {logql_string(search.text)}"
    names = []
    if search.readable != EVERY_SERVICE:
        names.append(_either_name("=~", search.readable))
    if search.service is not None:
        names.append(_either_name("=", search.service))
    if len(names) > 1:  # `and` binds tighter than `or` in LogQL's label filters
        names = [f"({condition})" for condition in names]
    return f"{query} | {' and '.join(names)}" if names else query


def _either_name(op: str, value: str) -> str:
    literal = logql_string(value)
    return " or ".join(f"{label}{op}{literal}" for label in NAME_LABELS)


def entry(labels: dict[str, str], ts_ns: int, line: str, metadata: dict[str, str]) -> dict[str, Any]:
    """One entry of the API from a Loki entry (or an events-file record): the bridge's JSON line gives its
    event's fields; any other line (a container's own log) is the message itself."""
    decoded: Any = None
    if line.startswith("{"):
        try:
            decoded = json.loads(line)
        except ValueError:
            decoded = None
    fields = {k: v for k, v in decoded.items() if k not in LINE_KEYS} if isinstance(decoded, dict) else None
    found = decoded if isinstance(decoded, dict) else {}
    message = found.get("message")
    return {
        "time": rfc3339_ns(ts_ns),
        "service": labels.get("service") or labels.get("app"),
        "level": labels.get("level"),
        "source": labels.get("source"),
        "kind": labels.get("kind"),
        "message": message if isinstance(message, str) else line,
        "trace_id": metadata.get("trace_id") or _text(found.get("trace_id")),
        "event_id": metadata.get("event_id") or _text(found.get("event_id")),
        "fields": fields,
        "labels": labels,
    }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def entries(data: dict[str, Any], direction: Direction, limit: int) -> list[dict[str, Any]]:
    """The entries of a `streams` result, newest first for `backward`, oldest first for `forward`."""
    if data.get("resultType") != "streams" or not isinstance(data.get("result"), list):
        raise LokiUnavailable(f"Loki answered a {data.get('resultType')!r} result, not streams")
    categorized = "categorize-labels" in (data.get("encodingFlags") or [])
    found: list[tuple[int, dict[str, Any]]] = []
    for stream in data["result"]:
        labels: dict[str, str] = dict(stream.get("stream") or {})
        for value in stream.get("values") or []:
            ts_ns, line = int(value[0]), str(value[1])
            extra = value[2] if categorized and len(value) > 2 and isinstance(value[2], dict) else {}
            metadata = dict(extra.get("structuredMetadata") or {}) if categorized else labels
            found.append((ts_ns, entry(labels, ts_ns, line, metadata)))
    found.sort(key=lambda item: item[0], reverse=direction == "backward")
    return [item for _, item in found[:limit]]


class LokiReader:
    """`GET /loki/api/v1/query_range` for the log API, with the tenant the sink writes as."""

    def __init__(self, url: str, tenant: str | None, timeout_seconds: float) -> None:
        self.url = url.rstrip("/") + "/loki/api/v1/query_range"
        self.headers = {**CATEGORIZE, **({"X-Scope-OrgID": tenant} if tenant else {})}
        self.timeout = timeout_seconds

    def search(self, search: LogSearch) -> tuple[str, list[dict[str, Any]]]:
        """The LogQL run and the entries Loki answered."""
        query = logql(search)
        params = {
            "query": query,
            "start": str(search.window.start_ns),
            "end": str(search.window.end_ns),
            "limit": str(search.limit),
            "direction": search.direction,
        }
        try:
            response = httpx.get(self.url, params=params, headers=self.headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise LokiUnavailable(f"Loki at {self.url}: {exc}") from None
        if response.status_code == httpx.codes.BAD_REQUEST:
            raise LokiRejected(response.text.strip()[:500])
        if response.status_code != httpx.codes.OK:
            raise LokiUnavailable(f"Loki at {self.url} answered {response.status_code}")
        try:
            body = response.json()
            return query, entries(body["data"], search.direction, search.limit)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise LokiUnavailable(f"Loki at {self.url}: not a query_range answer ({exc})") from None
