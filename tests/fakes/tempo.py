"""A strict stand-in for Tempo's query API: `GET /api/search` (TraceQL `q`) and `GET /api/traces/<id>`,
over traces the test adds, in the shapes Tempo 2.5 answers.

Refused with Tempo's 400, as Tempo does: `start`/`end` that are not Unix seconds, `start` after `end`, a
window longer than the search's default `max_duration` (168 h), a `limit` that is not a positive integer,
a TraceQL query it cannot parse (it reads `{ cond && ... }` with `resource.service.name` (`=`, `!=`, `=~`,
`!~` and a Go string literal) and `traceDuration` (`>`, `>=`, `<`, `<=` and a duration)), and a trace id
that is not at most 32 hex digits. Regex matches are unanchored, as Tempo's were before 2.6. A trace it
does not hold is a 404. Search answers write trace ids as Tempo does, in hex without leading zeros; the
trace answer is OTLP JSON under `batches`, ids in base64.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from fakes.http import Answer, FakeHttpServer, Request
from fakes.loki_query import ParseError, go_string, plain

MAX_SEARCH_SECONDS = 168 * 3600
DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


class Bad(Exception):
    pass


@dataclass
class Span:
    service: str
    span_id: str  # 16 hex digits
    name: str
    start_ns: int
    end_ns: int
    parent_id: str | None = None
    kind: str = "SPAN_KIND_SERVER"
    status: str | None = None  # e.g. "STATUS_CODE_ERROR"
    attributes: dict[str, Any] = field(default_factory=dict)


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\n":
        i += 1
    return i


def _condition(text: str, i: int) -> tuple[Condition, int]:
    if text.startswith("resource.service.name", i):
        i = _skip(text, i + len("resource.service.name"))
        op = next((op for op in ("=~", "!~", "!=", "=") if text.startswith(op, i)), None)
        if op is None:
            raise ParseError(f"parse error at col {i + 1}: expected a comparison")
        value, i = go_string(text, _skip(text, i + len(op)))
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ParseError(f"invalid regex: {exc}") from None
        return Condition("service", op, value), i
    if text.startswith("traceDuration", i):
        i = _skip(text, i + len("traceDuration"))
        op = next((op for op in (">=", "<=", ">", "<") if text.startswith(op, i)), None)
        if op is None:
            raise ParseError(f"parse error at col {i + 1}: expected a comparison")
        found = DURATION.match(text, _skip(text, i + len(op)))
        if found is None:
            raise ParseError(f"parse error at col {i + 1}: expected a duration")
        return Condition("duration", op, float(found.group(1)) * UNIT_NS[found.group(2)]), found.end()
    raise ParseError(f"parse error at col {i + 1}: unexpected {text[i : i + 12]!r}")


def parse_traceql(text: str) -> list[Condition]:
    i = _skip(text, 0)
    if not text.startswith("{", i):
        raise ParseError("parse error at line 1, col 1: syntax error: expected {")
    i = _skip(text, i + 1)
    conditions: list[Condition] = []
    if text.startswith("}", i):
        i += 1
    else:
        while True:
            condition, i = _condition(text, _skip(text, i))
            conditions.append(condition)
            i = _skip(text, i)
            if text.startswith("&&", i):
                i += 2
                continue
            if text.startswith("}", i):
                i += 1
                break
            raise ParseError(f"parse error at col {i + 1}: expected && or }}")
    i = _skip(text, i)
    if i != len(text):
        raise ParseError(f"parse error at col {i + 1}: unexpected {text[i:]!r}")
    return conditions


def _holds(condition: Condition, span: Span, duration_ns: int) -> bool:
    if condition.field == "duration":
        return bool(
            {
                ">": duration_ns > condition.value,
                ">=": duration_ns >= condition.value,
                "<": duration_ns < condition.value,
                "<=": duration_ns <= condition.value,
            }[condition.op]
        )
    found = span.service
    if condition.op in ("=", "!="):
        return bool((found == condition.value) == (condition.op == "="))
    hit = re.search(condition.value, found) is not None  # unanchored
    return hit == (condition.op == "=~")


def _positive_seconds(params: dict[str, str], name: str) -> int | None:
    if name not in params:
        return None
    if not re.fullmatch(r"[0-9]+", params[name]):
        raise Bad(f"invalid {name}: {params[name]!r} is not Unix epoch seconds")
    return int(params[name])


class TempoReceiver(FakeHttpServer):
    methods = ("GET",)

    def __init__(self) -> None:
        super().__init__()
        self.traces: dict[str, list[Span]] = {}  # 32 hex digits -> spans
        self.requests: list[dict[str, Any]] = []
        self.fail_with: int | None = None

    def answer(self, request: Request) -> Answer:
        params = {name: values[-1] for name, values in request.query.items()}
        with self.lock:
            self.requests.append({"path": request.path, "params": params, "headers": request.headers})
        if request.path == "/ready":
            return plain(200, "ready\n")
        if self.fail_with is not None:
            return plain(self.fail_with, "injected failure\n")
        try:
            if request.path == "/api/search":
                return Answer.json(200, self.search(params))
            if request.path.startswith("/api/traces/"):
                found = self.trace(request.path.removeprefix("/api/traces/"))
                return plain(404, "trace not found\n") if found is None else Answer.json(200, found)
        except (Bad, ParseError) as exc:
            return plain(400, f"{exc}\n")
        return plain(404, "404 page not found\n")

    def add(self, trace_id: str, spans: list[Span]) -> None:
        with self.lock:
            self.traces[trace_id.lower()] = spans

    def searches(self) -> list[dict[str, str]]:
        with self.lock:
            return [r["params"] for r in self.requests if r["path"] == "/api/search"]

    def search(self, params: dict[str, str]) -> dict[str, Any]:
        start = _positive_seconds(params, "start")
        end = _positive_seconds(params, "end")
        if start is not None and end is not None:
            if start > end:
                raise Bad("http parameter start must be before end")
            if end - start > MAX_SEARCH_SECONDS:
                raise Bad("range specified by start and end exceeds 168h0m0s")
        limit = params.get("limit", "20")
        if not re.fullmatch(r"[0-9]+", limit) or int(limit) == 0:
            raise Bad("invalid limit: must be a positive number")
        conditions = parse_traceql(params["q"]) if "q" in params else []
        span_conditions = [c for c in conditions if c.field == "service"]
        with self.lock:
            held = dict(self.traces)
        found = []
        for trace_id, spans in held.items():
            first = min(spans, key=lambda s: s.start_ns)
            duration = max(s.end_ns for s in spans) - first.start_ns
            if start is not None and first.start_ns < start * 10**9:
                continue
            if end is not None and first.start_ns > end * 10**9:
                continue
            if not all(_holds(c, first, duration) for c in conditions if c.field == "duration"):
                continue
            matched = [s for s in spans if all(_holds(c, s, duration) for c in span_conditions)]
            if not matched:
                continue
            root = next((s for s in spans if s.parent_id is None), None)
            services: dict[str, dict[str, int]] = {}
            for s in spans:
                stats = services.setdefault(s.service, {"spanCount": 0})
                stats["spanCount"] += 1
            spanset = {
                "spans": [
                    {
                        "spanID": s.span_id,
                        "startTimeUnixNano": str(s.start_ns),
                        "durationNanos": str(s.end_ns - s.start_ns),
                    }
                    for s in matched[:3]
                ],
                "matched": len(matched),
            }
            item: dict[str, Any] = {
                "traceID": trace_id.lstrip("0"),
                "rootServiceName": root.service if root else "<root span not yet received>",
                "startTimeUnixNano": str(first.start_ns),
                "spanSet": spanset,
                "spanSets": [spanset],
                "serviceStats": services,
            }
            if root is not None:
                item["rootTraceName"] = root.name
            if duration // 10**6:
                item["durationMs"] = duration // 10**6
            found.append(item)
        return {
            "traces": found[: int(limit)],
            "metrics": {"inspectedTraces": len(held), "completedJobs": 1, "totalJobs": 1},
        }

    def trace(self, raw_id: str) -> dict[str, Any] | None:
        if not re.fullmatch(r"[0-9a-fA-F]{1,32}", raw_id):
            raise Bad(f"invalid trace id: {raw_id!r}")
        with self.lock:
            spans = self.traces.get(raw_id.lower().rjust(32, "0"))
        if spans is None:
            return None
        batches: dict[str, list[dict[str, Any]]] = {}
        for s in spans:
            span: dict[str, Any] = {
                "traceId": _b64(raw_id.lower().rjust(32, "0")),
                "spanId": _b64(s.span_id),
                "name": s.name,
                "kind": s.kind,
                "startTimeUnixNano": str(s.start_ns),
                "endTimeUnixNano": str(s.end_ns),
                "attributes": [{"key": k, "value": _any_value(v)} for k, v in s.attributes.items()],
                "status": {"code": s.status} if s.status else {},
            }
            if s.parent_id:
                span["parentSpanId"] = _b64(s.parent_id)
            batches.setdefault(s.service, []).append(span)
        return {
            "batches": [
                {
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                    "scopeSpans": [{"scope": {"name": "monitoring-sdk"}, "spans": items}],
                }
                for service, items in batches.items()
            ]
        }
