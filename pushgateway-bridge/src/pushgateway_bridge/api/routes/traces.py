"""The System Service's trace API: Tempo's search and one trace as a tree of spans (`queries/tempo.py`).

Keys: reading needs a scope with `read: true`; a key finds the traces with a span of a service its
`services` globs match, and sees only those services' spans of a trace.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pushgateway_bridge.api.deps import BridgeDep, PrincipalDep
from pushgateway_bridge.api.responses import SCOPED, answers
from pushgateway_bridge.api.routes.common import answer, invalid, unavailable
from pushgateway_bridge.api.routes.logs import NO_READ
from pushgateway_bridge.auth import Principal
from pushgateway_bridge.bridge import Bridge
from pushgateway_bridge.queries.tempo import (
    TempoReader,
    TempoRejected,
    TempoUnavailable,
    TraceNotFound,
    TraceSearch,
)
from pushgateway_bridge.queries.times import NS, BadTime, rfc3339_ns, window

router = APIRouter(prefix="/api/traces", tags=["traces"])
MAX_WINDOW_NS = 168 * 3600 * NS  # Tempo's default query_frontend.search.max_duration
DEFAULT_LIMIT = 20  # Tempo's default
MAX_LIMIT = 1000
UNAVAILABLE = "Tempo is not reachable, or `tempo_url` is not set"
TIME = "RFC 3339 with a zone (2024-01-15T01:00:00Z) or Unix seconds"
# One unit, at most six digits: what TraceQL's duration literal and Go's time.ParseDuration both read.
DURATION = r"^[0-9]{1,6}(ms|s|m|h)$"
Start = Annotated[str | None, Query(max_length=64, description=f"{TIME}; default: an hour before `end`")]
End = Annotated[str | None, Query(max_length=64, description=f"{TIME}; default: now")]
MinDuration = Annotated[
    str | None, Query(pattern=DURATION, description="Traces at least this long: `250ms`, `2s`, `1m`")
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
ServiceQuery = Annotated[str | None, Query(min_length=1, max_length=200, description="`service.name`")]
TraceId = Annotated[str, Path(pattern="^[0-9a-fA-F]{32}$", description="32 hex digits")]


def _reader(bridge: Bridge) -> TempoReader:
    if not bridge.settings.tempo_url:
        raise unavailable("tempo_url is not set: the bridge reads traces from Tempo")
    return TempoReader(bridge.settings.tempo_url, bridge.settings.request_timeout_seconds)


def _search(bridge: Bridge, search: TraceSearch) -> dict[str, Any]:
    reader = _reader(bridge)
    try:
        query, found = reader.search(search)
    except TempoUnavailable as exc:
        raise unavailable(f"tempo_url: {exc}") from None
    except TempoRejected as exc:
        raise invalid(("query",), f"Tempo refused the search: {exc}") from None
    return {
        "query": query,
        "start": rfc3339_ns(search.window.start_ns),
        "end": rfc3339_ns(search.window.end_ns),
        "limit": search.limit,
        "traces": found,
    }


async def _answer(  # noqa: PLR0917 (the routes' parameters, passed on)
    bridge: Bridge,
    principal: Principal,
    service: str | None,
    start: str | None,
    end: str | None,
    min_duration: str | None,
    limit: int,
) -> JSONResponse:
    principal.require_read()
    try:
        span = window(start, end, MAX_WINDOW_NS)
    except BadTime as exc:
        raise invalid(("query", exc.param), str(exc)) from None
    search = TraceSearch(principal.readable_services_regex(), span, limit, service, min_duration)
    return answer(await run_in_threadpool(_search, bridge, search))


@router.get(
    "",
    summary="Search traces: service, time window, minimum duration",
    responses=answers(*SCOPED, 422, 503, _403=NO_READ, _503=UNAVAILABLE),
)
async def search_traces(  # noqa: PLR0917 (FastAPI reads the query parameters from the signature)
    bridge: BridgeDep,
    principal: PrincipalDep,
    service: ServiceQuery = None,
    start: Start = None,
    end: End = None,
    min_duration: MinDuration = None,
    limit: Limit = DEFAULT_LIMIT,
) -> JSONResponse:
    return await _answer(bridge, principal, service, start, end, min_duration, limit)


@router.get(
    "/service/{service_name}",
    summary="Traces with a span of one service",
    responses=answers(*SCOPED, 422, 503, _403=NO_READ, _503=UNAVAILABLE),
)
async def service_traces(  # noqa: PLR0917
    service_name: Annotated[str, Path(min_length=1, max_length=200)],
    bridge: BridgeDep,
    principal: PrincipalDep,
    start: Start = None,
    end: End = None,
    min_duration: MinDuration = None,
    limit: Limit = DEFAULT_LIMIT,
) -> JSONResponse:
    return await _answer(bridge, principal, service_name, start, end, min_duration, limit)


def _trace(bridge: Bridge, trace_id: str, readable: str) -> dict[str, Any]:
    reader = _reader(bridge)
    try:
        return reader.trace(trace_id, readable)
    except TraceNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no trace '{trace_id}'") from None
    except TempoUnavailable as exc:
        raise unavailable(f"tempo_url: {exc}") from None
    except TempoRejected as exc:
        raise invalid(("path", "trace_id"), f"Tempo refused it: {exc}") from None


@router.get(
    "/{trace_id}",
    summary="One trace as a tree of spans",
    responses=answers(
        *SCOPED,
        404,
        422,
        503,
        _404="Tempo has no such trace, or none of its spans is of a service the key reads",
        _403=NO_READ,
        _503=UNAVAILABLE,
    ),
)
async def one_trace(trace_id: TraceId, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    principal.require_read()
    readable = principal.readable_services_regex()
    return answer(await run_in_threadpool(_trace, bridge, trace_id.lower(), readable))
