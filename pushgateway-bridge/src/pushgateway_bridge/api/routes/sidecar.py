"""Sidecar agent API: POST /v1/event, POST /v1/events/batch, GET /v1/health."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse

from pushgateway_bridge.api.deps import BridgeDep, PrincipalDep
from pushgateway_bridge.api.fast_route import FastRoute
from pushgateway_bridge.api.responses import WRITE, answers
from pushgateway_bridge.api.routes.common import answer
from pushgateway_bridge.auth import Principal
from pushgateway_bridge.bridge import Bridge
from pushgateway_bridge.domain import alerts, event_batch, event_log
from pushgateway_bridge.domain import entities as ent
from pushgateway_bridge.domain.events import EVENTS, new_event_id
from pushgateway_bridge.domain.kinds import SIDECAR, SidecarJobState
from pushgateway_bridge.domain.models.sidecar import SidecarBatch, SidecarEvent
from pushgateway_bridge.storage.base import Change, EntityWrite, OutboxItem, transition

router = APIRouter(prefix="/v1", tags=["sidecar"], route_class=FastRoute)


async def accept_events(
    bridge: Bridge, principal: Principal, events: list[SidecarEvent], originals: list[Any] | None = None
) -> tuple[list[str], int]:
    """Commit the events; returns every event's id and how many were resends of events already accepted
    (a client retrying a batch whose answer it lost): those are acknowledged again and not applied twice.
    `originals`: the events as the client sent them (JSON), kept for a local_api integration."""
    for app in dict.fromkeys(event.app.name for event in events):  # each app once, in order
        principal.require_service(app, "app")
    now = time.time()
    states: dict[str, SidecarJobState] = {}
    applied: dict[str, list[SidecarEvent]] = {}  # each job's events, to apply again to the stored state
    outbox: list[OutboxItem] = []
    ids = [event.event_id or "" for event in events]
    client_ids = list(dict.fromkeys(event_id for event_id in ids if event_id))  # once each, in order
    fresh = dict(zip(client_ids, bridge.storage.claim(client_ids), strict=True)) if client_ids else {}
    claimed = [event_id for event_id, new in fresh.items() if new]
    duplicates = 0
    logged: list[SidecarEvent] = []  # the events applied now, with their ids and (for local_api) originals
    logged_ids: list[str] = []
    logged_originals: list[Any] = []
    try:
        for index, event in enumerate(events):
            event_id = ids[index]
            if event_id and not fresh.pop(event_id, False):
                duplicates += 1  # seen before, or twice in this batch
                continue
            if not event_id:
                event_id = ids[index] = new_event_id()
            key = ent.sidecar_key(event)
            previous = states.get(key) or bridge.storage.get(SIDECAR, key)
            states[key] = ent.sidecar_event(previous, event, now)
            applied.setdefault(key, []).append(event)
            logged.append(event)
            logged_ids.append(event_id)
            if originals is not None:  # with the id the bridge gave it, if the client gave none
                original = originals[index]
                logged_originals.append(
                    original if original.get("event_id") else {**original, "event_id": event_id}
                )
            alert = alerts.sidecar_job(event, previous, now, bridge.settings.alert_resolve_seconds)
            if alert is not None:
                outbox.append(OutboxItem("alertmanager", key, alert))
        if logged:  # the event log's one item: event_batch.py
            sent = logged_originals if originals is not None else None
            payload = event_batch.encoded(event_log.sidecar_json(logged), logged_ids, now, sent)
            outbox.append(OutboxItem(EVENTS, ent.sidecar_key(logged[0]), payload, len(logged)))
    except BaseException:
        bridge.storage.release(claimed)  # nothing was submitted: a resend must be applied
        raise
    # Once submitted, the storage releases the ids itself if the commit is refused or fails.
    await bridge.accept(
        "sidecar",
        [EntityWrite(SIDECAR, k, s, _replay(applied[k], now)) for k, s in states.items()],
        outbox,
        len(events) - duplicates,
        claimed,
    )
    return ids, duplicates


def _replay(events: list[SidecarEvent], now: float) -> Change:
    """One job's events as a transition, for a storage shared by several bridges to apply again."""

    def change(previous: SidecarJobState | None) -> SidecarJobState | None:
        state = previous
        for event in events:
            state = ent.sidecar_event(state, event, now)
        return state

    return transition(SIDECAR, change)


@router.post(
    "/event", status_code=status.HTTP_202_ACCEPTED, summary="Accept one event", responses=answers(*WRITE)
)
async def post_event(
    event: SidecarEvent, bridge: BridgeDep, principal: PrincipalDep, request: Request
) -> JSONResponse:
    originals = [await request.json()] if bridge.integrations.keeps_originals else None
    ids, duplicates = await accept_events(bridge, principal, [event], originals)
    return answer({"accepted": 1, "event_ids": ids, "duplicates": duplicates}, status.HTTP_202_ACCEPTED)


@router.post(
    "/events/batch",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Accept a batch of events (at most max_batch_events)",
    responses=answers(*WRITE),
)
async def post_batch(
    batch: SidecarBatch, bridge: BridgeDep, principal: PrincipalDep, request: Request
) -> JSONResponse:
    limit = bridge.settings.max_batch_events
    if len(batch.events) > limit:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            [
                {
                    "loc": ["body", "events"],
                    "type": "too_long",
                    "msg": f"a batch holds at most {limit} events, got {len(batch.events)}",
                }
            ],
        )
    # The events as sent, for local_api: the body is parsed as JSON once more, only while one is enabled.
    originals = (await request.json())["events"] if bridge.integrations.keeps_originals else None
    ids, duplicates = await accept_events(bridge, principal, batch.events, originals)
    return answer(
        {"accepted": len(ids), "event_ids": ids, "duplicates": duplicates}, status.HTTP_202_ACCEPTED
    )


@router.get("/health", summary="Sidecar-compatible health")
async def sidecar_health(bridge: BridgeDep) -> JSONResponse:
    return answer(
        {
            "status": "ok",
            "spool": {"pending": bridge.storage.pending_total(), "max": bridge.settings.spool_max_events},
        }
    )
