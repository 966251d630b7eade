"""Alertmanager's webhook into the bridge: every alert's history, and in-app notifications for its user.

`make rules` renders a first route that sends every alert here (`continue: true`, so the configured routes
still apply), authenticated with `bridge_api_key_file`. The key must cover every user (`users: ["*"]`):
an alert may name anyone, and its history is the whole bridge's.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from pushgateway_bridge.api.deps import BridgeDep, PrincipalDep
from pushgateway_bridge.api.responses import WRITE, answers
from pushgateway_bridge.api.routes.common import answer
from pushgateway_bridge.auth import AuthError, Principal
from pushgateway_bridge.domain.kinds import SCHEDULER
from pushgateway_bridge.domain.models.alertmanager import ReceivedWebhook
from pushgateway_bridge.notifications.from_alerts import AlertReceiver

router = APIRouter(prefix="/api/alertmanager", tags=["alertmanager"])


async def get_receiver(request: Request, bridge: BridgeDep) -> AlertReceiver:
    """The app's one receiver (it serializes webhooks), made with the first webhook."""
    receiver: AlertReceiver | None = getattr(request.app.state, "alert_receiver", None)
    if receiver is None:
        receiver = AlertReceiver(
            bridge.notifications,
            bridge.accept,
            lambda scheduler_id: bridge.storage.get(SCHEDULER, scheduler_id),
        )
        request.app.state.alert_receiver = receiver
    return receiver


ReceiverDep = Annotated[AlertReceiver, Depends(get_receiver)]


def require_every_user(principal: Principal) -> None:
    if not (principal.unrestricted or "*" in principal.users):
        raise AuthError(
            403,
            f"key '{principal.name}' may not send Alertmanager's alerts: they may name any user; "
            'give the key users: ["*"]',
        )


@router.post(
    "/webhook",
    summary="Alertmanager's webhook: record each alert, notify the user it names (once per alert state)",
    responses=answers(*WRITE),
)
async def webhook(body: ReceivedWebhook, receiver: ReceiverDep, principal: PrincipalDep) -> JSONResponse:
    require_every_user(principal)
    outcome = await receiver.receive(body)
    return answer(asdict(outcome))
