"""Liveness, readiness (each downstream reachable or not) and the bridge's own metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pushgateway_bridge.api.deps import BridgeDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _reachable(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        return {"url": url, "reachable": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"url": url, "reachable": response.status_code < 500, "status_code": response.status_code}


@router.get("/ready", summary="Readiness, with each downstream reachable or not")
async def ready(bridge: BridgeDep) -> dict[str, Any]:
    """Always 200 while storage works: accepted requests are spooled whatever the downstreams do."""
    s = bridge.settings
    checks = {"pushgateway": s.pushgateway_url.rstrip("/") + "/-/ready"}
    if s.alertmanager_url:
        checks["alertmanager"] = s.alertmanager_url.rstrip("/") + "/-/ready"
    if s.loki_url:
        checks["loki"] = s.loki_url.rstrip("/") + "/ready"
    async with httpx.AsyncClient(timeout=1.0) as client:
        results = await asyncio.gather(*(_reachable(client, url) for url in checks.values()))
    downstreams: dict[str, Any] = dict(zip(checks, results, strict=True))
    if not s.loki_url:
        downstreams["events_file"] = {"path": str(s.events_path), "reachable": True}
    for name, worker in bridge.workers.items():
        if name in downstreams:
            downstreams[name]["last_error"] = worker.last_error
    if bridge.integrations:
        downstreams.update(bridge.integrations.health(bridge.storage.pending_stats()))
    return {
        "status": "ready",
        "downstreams": downstreams,
        "spool": {"pending": bridge.storage.pending_total(), "max": s.spool_max_events},
    }


@router.get(
    "/metrics",
    summary="The bridge's own metrics (Prometheus text format)",
    response_class=PlainTextResponse,
)
# Listed: its path is the climate API's POST /metrics/, and `Allow` there says GET too.
@router.get("/metrics/", summary="The bridge's own metrics (GET /metrics)", response_class=PlainTextResponse)
async def own_metrics(bridge: BridgeDep) -> Response:
    return Response(generate_latest(bridge.metrics.registry), media_type=CONTENT_TYPE_LATEST)
