"""The System Service's log API: searches of Loki (`queries/loki.py` builds the LogQL), or of the bridge's
events file when no `loki_url` is set (`queries/events_file.py`), answered as the same entries.

Keys: reading needs a scope with `read: true`; a key sees the entries of the services and sidecar apps its
`services` globs match, and no others (the filter is part of every query of a key without `*`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pushgateway_bridge.api.deps import BridgeDep, PrincipalDep
from pushgateway_bridge.api.responses import SCOPED, answers
from pushgateway_bridge.api.routes.common import answer, invalid, unavailable
from pushgateway_bridge.bridge import Bridge
from pushgateway_bridge.queries import events_file
from pushgateway_bridge.queries.loki import LogSearch, LokiReader, LokiRejected, LokiUnavailable, logql
from pushgateway_bridge.queries.times import NS, BadTime, rfc3339_ns, window

MAX_WINDOW_NS = 721 * 3600 * NS  # Loki's default max_query_length (30d1h)
DEFAULT_LIMIT = 100
MAX_LIMIT = 5000  # Loki's default max_entries_limit_per_query
NO_READ = "The key's scope has no `read: true`"
UNAVAILABLE = "Loki (`loki_url`) is not reachable; without `loki_url` the events file is read instead"
RESPONSES = answers(*SCOPED, 422, 503, _403=NO_READ, _503=UNAVAILABLE)
router = APIRouter(prefix="/api/logs", tags=["logs"], responses=RESPONSES)
TIME = "RFC 3339 with a zone (2024-01-15T01:00:00Z) or Unix seconds"
Name = Annotated[str, Path(min_length=1, max_length=200)]


class Common:
    """The parameters every log route takes."""

    def __init__(
        self,
        q: Annotated[
            str | None, Query(max_length=1000, description="Text the line contains (a LogQL `|=` filter)")
        ] = None,
        start: Annotated[
            str | None, Query(max_length=64, description=f"{TIME}; default: an hour before `end`")
        ] = None,
        end: Annotated[str | None, Query(max_length=64, description=f"{TIME}; default: now")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        direction: Annotated[
            Literal["forward", "backward"], Query(description="backward: newest first")
        ] = "backward",
    ) -> None:
        self.q = q
        self.start = start
        self.end = end
        self.limit = limit
        self.direction: Literal["forward", "backward"] = direction


CommonDep = Annotated[Common, Depends()]
ServiceQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="The `service` label, or a sidecar event's `app`"),
]
LevelQuery = Annotated[
    str | None, Query(min_length=1, max_length=200, description="The `level` label: debug, info, warn, error")
]


def _search(bridge: Bridge, search: LogSearch) -> dict[str, Any]:
    settings = bridge.settings
    if settings.loki_url:
        reader = LokiReader(settings.loki_url, settings.loki_tenant, settings.request_timeout_seconds)
        try:
            query, found = reader.search(search)
        except LokiUnavailable as exc:
            raise unavailable(f"loki_url: {exc}") from None
        except LokiRejected as exc:
            raise invalid(("query",), f"Loki refused the query: {exc}") from None
        backend = "loki"
    else:
        query = logql(search)
        found = events_file.search(settings.events_path, settings.events_file_backups, search)
        backend = "events_file"
    return {
        "backend": backend,
        "query": query,
        "start": rfc3339_ns(search.window.start_ns),
        "end": rfc3339_ns(search.window.end_ns),
        "direction": search.direction,
        "limit": search.limit,
        "entries": found,
    }


async def _answer(
    bridge: Bridge, principal: PrincipalDep, common: Common, service: str | None, level: str | None
) -> JSONResponse:
    principal.require_read()
    try:
        span = window(common.start, common.end, MAX_WINDOW_NS)
    except BadTime as exc:
        raise invalid(("query", exc.param), str(exc)) from None
    search = LogSearch(
        readable=principal.readable_services_regex(),
        window=span,
        limit=common.limit,
        direction=common.direction,
        text=common.q,
        service=service,
        level=level,
    )
    return answer(await run_in_threadpool(_search, bridge, search))


# One search under two paths (decorators apply bottom up: "" is registered first); `name` keeps the
# operationId the path had.
@router.get("/search", summary="Search log entries: text, service, level, time window")
@router.get("", summary="Log entries of every service the key reads", name="all_logs")
async def search_logs(
    bridge: BridgeDep,
    principal: PrincipalDep,
    common: CommonDep,
    service: ServiceQuery = None,
    level: LevelQuery = None,
) -> JSONResponse:
    return await _answer(bridge, principal, common, service, level)


@router.get("/service/{service_name}", summary="Log entries of one service")
async def service_logs(
    service_name: Name,
    bridge: BridgeDep,
    principal: PrincipalDep,
    common: CommonDep,
    level: LevelQuery = None,
) -> JSONResponse:
    return await _answer(bridge, principal, common, service_name, level)


@router.get("/level/{log_level}", summary="Log entries of one level")
async def level_logs(
    log_level: Name,
    bridge: BridgeDep,
    principal: PrincipalDep,
    common: CommonDep,
    service: ServiceQuery = None,
) -> JSONResponse:
    return await _answer(bridge, principal, common, service, log_level)
