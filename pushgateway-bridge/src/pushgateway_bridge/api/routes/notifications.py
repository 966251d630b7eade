"""The System Service's notification API, under the seed's paths: notify, history, acknowledgement and
preferences (the WebSocket is `notifications_ws.py`). A key needs a `users` scope covering the user."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pushgateway_bridge.api.deps import BridgeDep, PrincipalDep
from pushgateway_bridge.api.responses import KEYED, SCOPED, WRITE, answers
from pushgateway_bridge.api.routes.common import answer
from pushgateway_bridge.auth import AuthError, Principal
from pushgateway_bridge.domain.models.fields import Instant
from pushgateway_bridge.notifications.models import Channel, NotifyRequest, PreferenceRequest, UserId
from pushgateway_bridge.notifications.service import RequestError
from pushgateway_bridge.storage.records import Body

router = APIRouter(prefix="/api/notifications", tags=["notifications"])
STATUSES = ("queued", "sent", "failed", "suppressed", "escalated")
# Routed by Starlette's uuid convertor (`{notification_id:uuid}`), so that `/preferences` and `/notify`
# are never read as an id.
NotificationId = Annotated[UUID, Path(description="as `notify` answered it")]


def unprocessable(where: str, field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": (where, field), "msg": message, "type": "value_error"}])


def view(body: Body) -> Body:
    """A notification as the API shows it (the filter fields are the store's business)."""
    return {key: value for key, value in body.items() if key not in ("channels", "statuses")}


# A position in the history: the creation time and id of the last notification of the previous page. Any
# value of this form is a position, so the schema says all there is to say about it.
CURSOR = r"^[0-9]{1,12}\.[0-9]{6}_[0-9a-f-]{36}$"


def encode_cursor(created: float, key: str) -> str:
    return f"{created:.6f}_{key}"


def decode_cursor(cursor: str) -> tuple[float, str]:
    created, _, key = cursor.partition("_")
    return float(created), key


def require_all_users(principal: Principal) -> None:
    if not principal.may_use_user("*") and "*" not in principal.users:
        raise AuthError(403, f"key '{principal.name}' may list only its users' notifications: give user_id")


@router.post(
    "/notify",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a notification (queued; delivered in the background, at least once)",
    responses=answers(*WRITE),
)
async def notify(body: NotifyRequest, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    principal.require_user(body.user_id)
    try:
        accepted = await bridge.notifications.notify(body)
    except RequestError as exc:
        raise unprocessable("body", exc.field, exc.message) from None
    return answer(view(accepted), status.HTTP_202_ACCEPTED)


@router.get("", summary="Notification history, newest first", responses=answers(*SCOPED, 422))
async def history(  # noqa: PLR0917 (FastAPI reads the query parameters from the signature)
    bridge: BridgeDep,
    principal: PrincipalDep,
    user_id: Annotated[UserId | None, Query()] = None,
    channel: Annotated[Channel | None, Query()] = None,
    status_: Annotated[str | None, Query(alias="status", pattern=f"^({'|'.join(STATUSES)})$")] = None,
    since: Annotated[Instant | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR, description="`next_cursor` of the page before")
    ] = None,
) -> JSONResponse:
    if user_id is None:
        require_all_users(principal)
    else:
        principal.require_user(user_id)
    rows = bridge.notifications.history(
        user_id=user_id,
        channel=channel.value if channel else None,
        status=status_,
        since=since.timestamp() if since else None,
        before=decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    page: dict[str, Any] = {"notifications": [view(body) for _, _, body in rows], "next_cursor": None}
    if len(rows) == limit:
        page["next_cursor"] = encode_cursor(rows[-1][0], rows[-1][1])
    return answer(page)


def _owned(bridge: BridgeDep, principal: Principal, notification_id: UUID) -> Body:
    body = bridge.notifications.get(str(notification_id))
    if body is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no notification '{notification_id}'")
    principal.require_user(body["user_id"])
    return body


@router.get("/{notification_id:uuid}", summary="One notification", responses=answers(*SCOPED, 404, 422))
async def one(notification_id: NotificationId, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    return answer(view(_owned(bridge, principal, notification_id)))


@router.post(
    "/{notification_id:uuid}/ack",
    summary="Acknowledge: stops its escalation",
    responses=answers(*SCOPED, 404, 422, 503),
)
async def ack(notification_id: NotificationId, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    _owned(bridge, principal, notification_id)
    acked = await run_in_threadpool(bridge.notifications.ack, str(notification_id))  # waits for the commit
    assert acked is not None  # records are never deleted
    return answer(view(acked))


@router.post("/preferences", summary="Turn a channel of a user on or off", responses=answers(*WRITE))
async def set_preference(body: PreferenceRequest, bridge: BridgeDep, principal: PrincipalDep) -> JSONResponse:
    principal.require_user(body.user_id)
    return answer(await bridge.notifications.set_preference(body))


@router.get("/preferences/{user_id}", summary="A user's channels", responses=answers(*KEYED, 403, 422))
async def preferences(
    user_id: Annotated[UserId, Path()], bridge: BridgeDep, principal: PrincipalDep
) -> JSONResponse:
    principal.require_user(user_id)
    found = bridge.notifications.preferences(user_id)
    channels = [
        {key: value for key, value in found[channel].items() if key != "created"}
        for channel in Channel
        if channel in found
    ]
    return answer({"user_id": user_id, "preferences": channels})
