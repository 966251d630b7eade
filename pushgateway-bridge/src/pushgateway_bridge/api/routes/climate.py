"""Climate System Monitor API: POST /services/, /metrics/, /pipelines/, /alerts/ (Authorization: Bearer)."""

from __future__ import annotations

import time

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from pushgateway_bridge.api.deps import BridgeDep, PrincipalDep
from pushgateway_bridge.api.fast_route import FastRoute
from pushgateway_bridge.api.responses import WRITE, answers
from pushgateway_bridge.api.routes.common import answer, logged
from pushgateway_bridge.domain import alerts, event_log
from pushgateway_bridge.domain import entities as ent
from pushgateway_bridge.domain.events import iso
from pushgateway_bridge.domain.kinds import PIPELINE, SERVICE
from pushgateway_bridge.domain.models.climate import AlertReport, MetricReport, PipelineReport, ServiceReport
from pushgateway_bridge.storage.base import EntityWrite, OutboxItem, transition

# Every route writes a service or pipeline the key must cover. The paths without the final slash are
# aliases (the seed's server redirected them); they stay out of the document, except POST /metrics, which
# shares its path with the bridge's own GET /metrics and so must be listed for `Allow` to be true.
router = APIRouter(tags=["climate monitor"], responses=answers(*WRITE), route_class=FastRoute)


@router.post("/services/", summary="Report a service's status")
@router.post("/services", include_in_schema=False)
async def report_service(body: ServiceReport, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    principal.require_service(body.name)
    now = time.time()
    state = ent.service_report(bridge.storage.get(SERVICE, body.name), body, now)
    await bridge.accept(
        "service",
        [
            EntityWrite(
                SERVICE, body.name, state, transition(SERVICE, lambda p: ent.service_report(p, body, now))
            )
        ],
        [logged(body.name, event_log.service_status(body, now))],
    )
    return answer(
        {
            "name": body.name,
            "status": body.status.value,
            "endpoint": state.get("endpoint") or None,
            "last_report": iso(now),
        }
    )


@router.post("/metrics/", summary="Report a metric value of a service")
@router.post("/metrics", summary="Report a metric value of a service (POST /metrics/ without the slash)")
async def report_metric(body: MetricReport, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    principal.require_service(body.service)
    now = time.time()
    state = ent.service_metric(bridge.storage.get(SERVICE, body.service), body, now)
    await bridge.accept(
        "metric",
        [
            EntityWrite(
                SERVICE, body.service, state, transition(SERVICE, lambda p: ent.service_metric(p, body, now))
            )
        ],
        [logged(body.service, event_log.service_metric(body, now))],
    )
    return answer(
        {
            "service": body.service,
            "metric_type": body.metric_type.value,
            "value": body.value,
            "timestamp": iso(now),
        }
    )


@router.post("/pipelines/", summary="Report a pipeline's status")
@router.post("/pipelines", include_in_schema=False)
async def report_pipeline(body: PipelineReport, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    name = body.pipeline_type.value
    principal.require_service(name, "pipeline")
    now = time.time()
    state = ent.pipeline_report(bridge.storage.get(PIPELINE, name), body, now)
    await bridge.accept(
        "pipeline",
        [
            EntityWrite(
                PIPELINE, name, state, transition(PIPELINE, lambda p: ent.pipeline_report(p, body, now))
            )
        ],
        [logged(name, event_log.pipeline_status(body, now))],
    )
    return answer(
        {
            "pipeline_type": name,
            "status": body.status.value,
            "step": state.get("step"),
            "progress": state.get("progress"),
            "timestamp": iso(now),
        }
    )


@router.post("/alerts/", status_code=status.HTTP_201_CREATED, summary="Raise an alert for a service")
@router.post("/alerts", status_code=status.HTTP_201_CREATED, include_in_schema=False)
async def create_alert(body: AlertReport, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    principal.require_service(body.service)
    now = time.time()
    state = ent.service_alert(bridge.storage.get(SERVICE, body.service), body, now)
    severity = body.severity.value
    alert = alerts.service_alert(body, now, bridge.settings.alert_resolve_seconds)
    logged_alert = event_log.service_alert(body, now)
    await bridge.accept(
        "alert",
        [
            EntityWrite(
                SERVICE, body.service, state, transition(SERVICE, lambda p: ent.service_alert(p, body, now))
            )
        ],
        [logged(body.service, logged_alert), OutboxItem("alertmanager", body.service, alert)],
    )
    return answer(
        {
            "id": logged_alert["event_id"],
            "title": body.title,
            "message": body.message,
            "severity": severity,
            "service": body.service,
            "created_at": iso(now),
        },
        status.HTTP_201_CREATED,
    )
