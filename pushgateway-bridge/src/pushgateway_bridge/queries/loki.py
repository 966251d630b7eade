"""Reading logs from Loki: the LogQL a log search becomes, `GET /loki/api/v1/query_range`, and its
`streams` answer as the API's entries.

The query is built here and nowhere else. Every value is a LogQL string literal (Go's double-quoted
syntax, which JSON's escapes are a subset of: the PromQL escaper serves), the caller's key adds
`service=~"<its globs>"`, `q` is a line filter and `service` and `level` are stream-label matchers (the
labels `sinks/loki.py` writes and Alloy gives the containers' logs). Loki refuses a selector whose every
matcher also matches the empty value; `source=~".+"` (every stream the bundle writes has a `source`)
is added when the others all could.

Structured metadata (the event id and trace id the bridge's sink attaches) is asked for with
`X-Loki-Response-Encoding-Flags: categorize-labels`: each value is then `[ts, line, {"structuredMetadata":
{...}, "parsed": {...}}]` and the stream holds only its indexed labels. A Loki before 3.0 ignores the
flag and merges the metadata into the stream labels; both are read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from pushgateway_bridge.alerts.escaping import promql_string as logql_string
from pushgateway_bridge.queries.times import Window, rfc3339_ns

Direction = Literal["forward", "backward"]
CATEGORIZE = {"X-Loki-Response-Encoding-Flags": "categorize-labels"}
# Keys of the bridge's line that say what the event is, not what the request carried (sinks/loki.py).
LINE_KEYS = ("event_id", "source", "kind", "received", "timestamp")


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
    """The LogQL of a search: `{service=~"<readable>"[, service="s"][, level="l"]} [|= "text"]`."""
    matchers = [f"service=~{logql_string(search.readable)}"]
    if search.service is not None:
        matchers.append(f"service={logql_string(search.service)}")
    if search.level is not None:
        matchers.append(f"level={logql_string(search.level)}")
    if _matches_empty(search.readable) and search.service in (None, "") and search.level in (None, ""):
        matchers.insert(0, 'source=~".+"')
    selector = "{" + ", ".join(matchers) + "}"
    return f"{selector} |= {logql_string(search.text)}" if search.text else selector


def _matches_empty(regex: str) -> bool:
    # The readable regex is auth.py's: literal characters, `.`, `.*` and `|`, which Python reads as RE2 does.
    return re.fullmatch(regex, "") is not None


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
