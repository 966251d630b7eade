"""The System Service's monitoring API: hosts, services, containers and service performance, read from
Prometheus at one evaluation time per request (queries/monitoring.py and queries/performance.py build the
PromQL; this module reads the parameters and maps the downstream's failures to answers).

Keys: reading needs a scope with `read: true`; every selector carries the key's services (see
queries/monitoring.py for what a key limited to some services sees of hosts and containers).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bundle_common.durations import DurationError, parse_duration
from pushgateway_bridge.api.deps import BridgeDep, PrincipalDep
from pushgateway_bridge.api.responses import SCOPED, answers
from pushgateway_bridge.api.routes.common import answer, invalid, unavailable
from pushgateway_bridge.auth import Principal
from pushgateway_bridge.bridge import Bridge
from pushgateway_bridge.queries.monitoring import MonitoringQueries, TooManyPoints, default_range
from pushgateway_bridge.queries.performance import PerformanceQueries
from pushgateway_bridge.queries.prometheus import PrometheusClient, PrometheusUnavailable, QueryRejected
from pushgateway_bridge.queries.promql import METRIC_NAME_PATTERN
from pushgateway_bridge.queries.times import BadTime, parse_instant

UNAVAILABLE = "Prometheus (`prometheus_url`) is not set or not reachable"
RESPONSES = answers(*SCOPED, 422, 503, _503=UNAVAILABLE)
router = APIRouter(prefix="/api/monitoring", tags=["monitoring"], responses=RESPONSES)
TIME = "RFC 3339 with a zone (2024-01-15T01:00:00Z) or Unix seconds"
DEFAULT_STEP = "60s"
SECONDS = re.compile(r"[0-9]{1,10}(\.[0-9]{1,3})?")  # a step in seconds, as Prometheus also takes it

MetricName = Annotated[
    str,
    Path(
        max_length=200,
        pattern=METRIC_NAME_PATTERN,
        description="A catalogue name (host_cpu, service_cpu, ...; docs/api-alerts.md) or a Prometheus metric"
        " name; never PromQL",
    ),
]
ServiceName = Annotated[str, Path(min_length=1, max_length=200)]
HostQuery = Annotated[str | None, Query(max_length=200, description="The `instance` label")]
ServiceQuery = Annotated[
    str | None,
    Query(max_length=200, description="The `service` label (a scheduler's or pipeline's catalogue label)"),
]
TimeQuery = Annotated[str | None, Query(max_length=64, description=f"Evaluation time, {TIME}; default: now")]


def _invalid(param: str, message: str) -> RequestValidationError:
    return invalid(("query", param), message)


def _moment(param: str, text: str) -> datetime:
    try:
        ns = parse_instant(param, text)
    except BadTime as exc:
        raise _invalid(exc.param, f"{param} {exc}") from None
    return datetime.fromtimestamp(ns // 1_000_000 / 1000, UTC)  # Prometheus' millisecond


def _at(text: str | None) -> datetime:
    return _moment("time", text) if text is not None else _now()


def _now() -> datetime:
    return datetime.fromtimestamp(round(datetime.now(UTC).timestamp(), 3), UTC)


def _step(text: str) -> float:
    if SECONDS.fullmatch(text):
        seconds = float(text)
    else:
        try:
            seconds = parse_duration(text).total_seconds()
        except DurationError as exc:
            raise _invalid("step", f"step {exc}, or seconds") from None
    if seconds < 0.001:
        raise _invalid("step", "step must be at least 1ms")
    return seconds


def _client(bridge: Bridge) -> PrometheusClient:
    client = bridge.alerts.prometheus  # the bridge's one client of prometheus_url
    if client is None:
        raise unavailable("prometheus_url is not set: the bridge reads monitoring data from Prometheus")
    return client


async def _read_at(read: Callable[[datetime], dict[str, Any]], time: str | None) -> JSONResponse:
    """The answer of `read` at the evaluation time `time` asks for (default: now)."""
    moment = _at(time)
    return await _run(lambda: read(moment))


async def _run(call: Callable[[], dict[str, Any]]) -> JSONResponse:
    try:
        return answer(await run_in_threadpool(call))
    except PrometheusUnavailable as exc:
        raise unavailable(f"prometheus_url: {exc}") from None
    except QueryRejected as exc:
        raise invalid(("query",), f"Prometheus refused the query: {exc}") from None


def _monitoring(bridge: Bridge, principal: Principal) -> MonitoringQueries:
    principal.require_read()
    return MonitoringQueries(
        _client(bridge), principal.readable_services_regex(), bridge.settings.host_exporter_jobs
    )


def _performance(bridge: Bridge, principal: Principal) -> PerformanceQueries:
    principal.require_read()
    return PerformanceQueries(_client(bridge), principal.readable_services_regex())


@router.get(
    "/metrics",
    summary="Every host (up, CPU, memory, disk, temperature, network) and service (status, report age) now",
)
async def metrics(bridge: BridgeDep, principal: PrincipalDep, time: TimeQuery = None) -> JSONResponse:
    return await _read_at(_monitoring(bridge, principal).summary, time)


@router.get(
    "/metrics/history/{metric_name}", summary="A metric's values over time (a Prometheus range query)"
)
async def history(  # noqa: PLR0917 (FastAPI reads the query parameters from the signature)
    metric_name: MetricName,
    bridge: BridgeDep,
    principal: PrincipalDep,
    host: HostQuery = None,
    service: ServiceQuery = None,
    start: Annotated[
        str | None, Query(max_length=64, description=f"{TIME}; default: an hour before end")
    ] = None,
    end: Annotated[str | None, Query(max_length=64, description=f"{TIME}; default: now")] = None,
    step: Annotated[
        str,
        Query(max_length=64, description="A Prometheus duration (60s, 5m) or seconds; at most 11,000 points"),
    ] = DEFAULT_STEP,
) -> JSONResponse:
    queries = _monitoring(bridge, principal)
    first, last = default_range(
        _moment("start", start) if start is not None else None,
        _moment("end", end) if end is not None else None,
        _now(),
    )
    if last < first:
        raise _invalid("end", "end must not be before start")
    seconds = _step(step)
    try:
        return await _run(lambda: queries.history(metric_name, host, service, first, last, seconds))
    except TooManyPoints as exc:
        raise _invalid("step", str(exc)) from None


@router.get("/metrics/{metric_name}", summary="The current value of each series of a metric")
async def metric(  # noqa: PLR0917 (FastAPI reads the query parameters from the signature)
    metric_name: MetricName,
    bridge: BridgeDep,
    principal: PrincipalDep,
    host: HostQuery = None,
    service: ServiceQuery = None,
    time: TimeQuery = None,
) -> JSONResponse:
    queries = _monitoring(bridge, principal)
    return await _read_at(lambda moment: queries.current(metric_name, host, service, moment), time)


@router.get(
    "/infrastructure",
    summary="Every host: up, CPU, memory, load, filesystems, temperature, throttling, uptime",
)
async def infrastructure(bridge: BridgeDep, principal: PrincipalDep, time: TimeQuery = None) -> JSONResponse:
    return await _read_at(_monitoring(bridge, principal).infrastructure, time)


@router.get(
    "/infrastructure/containers", summary="Every container cAdvisor reports: CPU, memory, network, restarts"
)
async def containers(bridge: BridgeDep, principal: PrincipalDep, time: TimeQuery = None) -> JSONResponse:
    return await _read_at(_monitoring(bridge, principal).containers, time)


@router.get(
    "/performance",
    summary="Every service: request rate, errors, latency, callers and callees, endpoint probes",
)
async def performance(bridge: BridgeDep, principal: PrincipalDep, time: TimeQuery = None) -> JSONResponse:
    return await _read_at(_performance(bridge, principal).overview, time)


@router.get(
    "/performance/service/{service_name}",
    summary="One service: request rate, errors, latency, callers and callees, endpoint probes",
)
async def service_performance(
    service_name: ServiceName, bridge: BridgeDep, principal: PrincipalDep, time: TimeQuery = None
) -> JSONResponse:
    queries = _performance(bridge, principal)
    return await _read_at(lambda moment: queries.one(service_name, moment), time)
