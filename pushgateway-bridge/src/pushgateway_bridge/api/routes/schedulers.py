"""Scheduler Monitoring API under /api/v1 (x-api-key): register, status, heartbeat, list, read, delete."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, status
from fastapi.responses import JSONResponse

from pushgateway_bridge.api.deps import BridgeDep, PrincipalDep
from pushgateway_bridge.api.fast_route import FastRoute
from pushgateway_bridge.api.responses import KEYED, SCOPED, WRITE, answers
from pushgateway_bridge.api.routes.common import answer, logged
from pushgateway_bridge.domain import entities as ent
from pushgateway_bridge.domain import event_log
from pushgateway_bridge.domain.events import iso
from pushgateway_bridge.domain.kinds import SCHEDULER, SchedulerState
from pushgateway_bridge.domain.models.schedulers import (
    SchedulerHeartbeat,
    SchedulerRegistration,
    SchedulerStatusUpdate,
)
from pushgateway_bridge.storage.base import EntityWrite, transition

router = APIRouter(prefix="/api/v1/schedulers", tags=["schedulers"], route_class=FastRoute)

SchedulerId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")]
UNREGISTERED = "The scheduler is not registered"
SAME_ID = "A field is missing or invalid, or the body's scheduler_id differs from the path's"


def _registered(bridge: BridgeDep, scheduler_id: str) -> SchedulerState:
    state = bridge.storage.get(SCHEDULER, scheduler_id)
    if state is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"scheduler '{scheduler_id}' is not registered; POST /api/v1/schedulers/register first",
        )
    return state


def _same_id(path_id: str, body_id: str | None) -> None:
    if body_id is not None and body_id != path_id:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            [
                {
                    "loc": ["body", "scheduler_id"],
                    "type": "value_error",
                    "msg": f"scheduler_id '{body_id}' differs from the path's '{path_id}'",
                }
            ],
        )


def view(state: SchedulerState) -> dict[str, Any]:
    """A scheduler as GET returns it: registration, last status, last heartbeat, last run."""

    def ts(name: str) -> str | None:
        value = state.get(name)
        return iso(value) if value is not None else None

    return {
        "scheduler_id": state["scheduler_id"],
        "service_name": state.get("service_name"),
        "job_name": state.get("job_name"),
        "owner_email": state.get("owner_email") or None,
        "alert_user_id": state.get("alert_user_id") or None,
        "registered_at": ts("registered"),
        "status": state.get("status"),
        "status_changed_at": ts("status_change"),
        "last_heartbeat": ts("last_heartbeat"),
        "last_run": {
            "started_at": ts("last_run_start"),
            "last_success_at": ts("last_success"),
            "last_failure_at": ts("last_failure"),
            "duration_seconds": state.get("last_duration"),
            "error_message": state.get("last_error_message"),
        },
        "runs": state.get("runs", {}),
        "consecutive_failures": state.get("consecutive_failures", 0),
    }


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="Register a scheduler (idempotent)",
    responses={
        status.HTTP_200_OK: {"description": "Already registered: the registration is updated"},
        **answers(*WRITE),
    },
)
async def register(body: SchedulerRegistration, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    principal.require_scheduler(body.scheduler_id)
    now = time.time()
    previous = bridge.storage.get(SCHEDULER, body.scheduler_id)
    state = ent.register_scheduler(previous, body, now)
    change = transition(SCHEDULER, lambda p: ent.register_scheduler(p, body, now))
    await bridge.accept(
        "scheduler",
        [EntityWrite(SCHEDULER, body.scheduler_id, state, change)],
        [logged(body.scheduler_id, event_log.scheduler_registered(body, now))],
    )
    code = status.HTTP_200_OK if previous else status.HTTP_201_CREATED
    return answer({"registered": True, "created": previous is None, **view(state)}, code)


@router.put(
    "/{scheduler_id}/status",
    summary="Report the scheduler's job status",
    responses=answers(*WRITE, 404, _404=UNREGISTERED, _422=SAME_ID),
)
async def update_status(
    scheduler_id: SchedulerId, body: SchedulerStatusUpdate, bridge: BridgeDep, principal: PrincipalDep
) -> JSONResponse:
    _same_id(scheduler_id, body.scheduler_id)
    principal.require_scheduler(scheduler_id)
    previous = _registered(bridge, scheduler_id)
    if ent.is_status_resend(previous, body):
        return _status_answer(scheduler_id, previous)
    now = time.time()
    state = ent.scheduler_status(previous, body, now)
    # Applied again to the stored state: a resend another bridge took meanwhile is not counted twice.
    change = transition(
        SCHEDULER,
        lambda p: None if p is None or ent.is_status_resend(p, body) else ent.scheduler_status(p, body, now),
    )
    await bridge.accept(
        "scheduler",
        [EntityWrite(SCHEDULER, scheduler_id, state, change)],
        [logged(scheduler_id, event_log.scheduler_status(scheduler_id, previous, body, now))],
    )
    return _status_answer(scheduler_id, state)


def _status_answer(scheduler_id: str, state: SchedulerState) -> JSONResponse:
    return answer(
        {
            "scheduler_id": scheduler_id,
            "status": state["status"],
            "accepted": True,
            "status_changed_at": iso(state["status_change"]),
        }
    )


@router.post(
    "/{scheduler_id}/heartbeat",
    summary="Heartbeat of a running job",
    responses=answers(*WRITE, 404, _404=UNREGISTERED, _422=SAME_ID),
)
async def heartbeat(
    scheduler_id: SchedulerId,
    bridge: BridgeDep,
    principal: PrincipalDep,
    body: Annotated[SchedulerHeartbeat | None, Body()] = None,
) -> JSONResponse:
    _same_id(scheduler_id, body.scheduler_id if body else None)
    principal.require_scheduler(scheduler_id)
    previous = _registered(bridge, scheduler_id)
    now = time.time()
    state = ent.scheduler_heartbeat(previous, now)
    change = transition(SCHEDULER, lambda p: None if p is None else ent.scheduler_heartbeat(p, now))
    await bridge.accept(
        "heartbeat",
        [EntityWrite(SCHEDULER, scheduler_id, state, change)],
        [logged(scheduler_id, event_log.scheduler_heartbeat(scheduler_id, previous, now))],
    )
    return answer({"scheduler_id": scheduler_id, "last_heartbeat": iso(now)})


@router.get("", summary="Schedulers the key may see", responses=answers(*KEYED))
@router.get("/", include_in_schema=False)
async def list_schedulers(bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    found = [
        view(state)
        for key, state in sorted(bridge.storage.entities(SCHEDULER).items())
        if principal.may_write_scheduler(key)
    ]
    return answer({"schedulers": found, "count": len(found)})


@router.get(
    "/{scheduler_id}",
    summary="One scheduler: registration, last status, heartbeat and run",
    responses=answers(*SCOPED, 404, 422, _404=UNREGISTERED),
)
async def get_scheduler(
    scheduler_id: SchedulerId, bridge: BridgeDep, principal: PrincipalDep
) -> JSONResponse:
    principal.require_scheduler(scheduler_id)
    return answer(view(_registered(bridge, scheduler_id)))


@router.delete(
    "/{scheduler_id}",
    summary="Deregister; its Pushgateway group is deleted",
    responses=answers(*SCOPED, 404, 422, 503, _404=UNREGISTERED),
)
async def delete_scheduler(
    scheduler_id: SchedulerId, bridge: BridgeDep, principal: PrincipalDep
) -> JSONResponse:
    principal.require_scheduler(scheduler_id)
    previous = _registered(bridge, scheduler_id)
    now = time.time()
    await bridge.accept(
        "scheduler",
        [EntityWrite(SCHEDULER, scheduler_id, None)],
        [logged(scheduler_id, event_log.scheduler_deregistered(scheduler_id, previous, now))],
    )
    bridge.metrics.groups_expired.labels("scheduler").inc()
    return answer({"scheduler_id": scheduler_id, "deleted": True})
