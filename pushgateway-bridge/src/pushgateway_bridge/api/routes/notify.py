"""Alertmanager webhook receivers for what Alertmanager 0.25 cannot send: Teams Workflows and SMS."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse

from pushgateway_bridge.api.deps import BridgeDep, PrincipalDep
from pushgateway_bridge.api.responses import WRITE, answers
from pushgateway_bridge.api.routes.common import answer, logged
from pushgateway_bridge.domain.events import event
from pushgateway_bridge.domain.models.alertmanager import AlertmanagerWebhook
from pushgateway_bridge.storage.base import OutboxItem

# The key needs a `notify` scope covering `teams/<target>` or `sms/<target>`: any key of the bridge could
# otherwise page the on-call phone.
router = APIRouter(
    prefix="/notify",
    tags=["notify"],
    responses=answers(*WRITE, 404, _404="No such target in the bridge's notify config"),
)


def _log(target: str, kind: str, webhook: AlertmanagerWebhook, now: float) -> OutboxItem:
    fields = {
        "target": target,
        "status": webhook.status,
        "alerts": len(webhook.alerts),
        "alertname": webhook.commonLabels.get("alertname"),
    }
    return logged(target, event(source="notify", kind=kind, name=target, now=now, fields=fields))


@router.post(
    "/teams/{target}", status_code=status.HTTP_202_ACCEPTED, summary="Send to a Teams Workflows webhook"
)
async def notify_teams(
    target: str, webhook: AlertmanagerWebhook, bridge: BridgeDep, principal: PrincipalDep
) -> JSONResponse:
    principal.require_notify("teams", target)  # before the lookup: no key learns which targets exist
    if target not in bridge.settings.notify.teams:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no teams target '{target}' in notify.teams")
    now = time.time()
    payload = {"kind": "teams", "target": target, "webhook": webhook.model_dump(mode="json")}
    await bridge.accept(
        "notify", [], [OutboxItem("notify", target, payload), _log(target, "teams", webhook, now)]
    )
    return answer({"accepted": 1, "target": target}, status.HTTP_202_ACCEPTED)


@router.post(
    "/sms/{target}", status_code=status.HTTP_202_ACCEPTED, summary="Send as SMS (Twilio Messages API)"
)
async def notify_sms(
    target: str, webhook: AlertmanagerWebhook, bridge: BridgeDep, principal: PrincipalDep
) -> JSONResponse:
    principal.require_notify("sms", target)
    sms = bridge.settings.notify.sms.get(target)
    if sms is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sms target '{target}' in notify.sms")
    now = time.time()
    data = webhook.model_dump(mode="json")
    items = [
        OutboxItem("notify", f"{target}:{to}", {"kind": "sms", "target": target, "webhook": data, "to": to})
        for to in sms.to
    ]
    await bridge.accept("notify", [], [*items, _log(target, "sms", webhook, now)])
    return answer({"accepted": len(items), "target": target}, status.HTTP_202_ACCEPTED)
