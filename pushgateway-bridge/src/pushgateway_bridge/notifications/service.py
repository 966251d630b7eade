"""The notification API's decisions: what a notify stores and queues, preferences, history, acknowledgements.

A notification is one record (its request, and per delivery its channel, address, status, attempts, last
error and times) committed with one outbox item per delivery to send, before the 202. The in-app
(`realtime`) delivery is published to the user's sockets right after the commit; the others go out through
the outbox (`notifications/delivery.py`), at least once, with retries.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from pushgateway_bridge.jsontext import compact
from pushgateway_bridge.notifications.config import NotificationsConfig
from pushgateway_bridge.notifications.models import Channel, NotifyRequest, PreferenceRequest
from pushgateway_bridge.notifications.plan import QUEUED, Delivery, PlanError, plan, preference_key
from pushgateway_bridge.notifications.realtime import Hub
from pushgateway_bridge.notifications.templates import TemplateError
from pushgateway_bridge.storage.base import EntityWrite, OutboxItem, Storage
from pushgateway_bridge.storage.records import Body, Page, RecordWrite

NOTIFICATION = "notification"
PREFERENCE = "notification_preference"
DOWNSTREAM = "notifications"  # the outbox's name for deliveries to send
SENT = "sent"


class Accept(Protocol):
    def __call__(
        self,
        source: str,
        writes: Sequence[EntityWrite],
        outbox: Sequence[OutboxItem],
        events: int = 1,
        seen: Sequence[str] = (),
        *,
        records: Sequence[RecordWrite] = (),
    ) -> Awaitable[None]: ...


class RequestError(ValueError):
    """A 422 naming `field`: the request is valid JSON but cannot be carried out as asked."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def frame(body: Body) -> str:
    """What a socket receives: the notification without its delivery bookkeeping."""
    keys = ("id", "user_id", "type", "priority", "subject", "message", "template", "created")
    return compact({key: body.get(key) for key in keys})


def on_sockets(body: Body) -> bool:
    """The user's sockets show every notification for them (the seed's email too, as `since` replays it),
    unless they turned the in-app channel off for it."""
    realtime = body["deliveries"].get(Channel.realtime.value)
    return realtime is None or realtime["status"] == SENT


def delivery_body(delivery: Delivery, now: float) -> Body:
    return {
        "channel": delivery.channel.value,
        "address": delivery.address,
        "status": delivery.status,
        "attempts": 0,
        "last_error": delivery.error or None,
        "queued_at": now,
        "sent_at": None,
    }


def summarize(body: Body) -> Body:
    """Denormalized fields the history filters on (records filter by top-level values only)."""
    deliveries = body["deliveries"].values()
    body["channels"] = sorted({d["channel"] for d in deliveries})
    body["statuses"] = sorted({d["status"] for d in deliveries})
    return body


class NotificationService:
    def __init__(
        self,
        storage: Storage,
        config: NotificationsConfig,
        hub: Hub,
        accept: Accept,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.config = config
        self.directory = config.channels.directory()
        self.hub = hub
        self.accept = accept
        self.clock = clock

    def preferences(self, user_id: str) -> dict[Channel, Body]:
        rows = self.storage.records(Page(PREFERENCE, owner=user_id, limit=len(Channel)))
        return {Channel(body["channel"]): body for _, _, body in rows}

    async def set_preference(self, request: PreferenceRequest) -> Body:
        now = self.clock()
        previous = self.preferences(request.user_id).get(request.channel, {})
        body = {
            "user_id": request.user_id,
            "channel": request.channel.value,
            "enabled": request.enabled,
            "address": request.address if request.address is not None else previous.get("address"),
            "updated": now,
        }
        key = preference_key(request.user_id, request.channel.value)
        created = float(previous.get("created", now))
        record = RecordWrite(PREFERENCE, key, request.user_id, created, {**body, "created": created})
        await self.accept("notify", [], [], records=[record])
        return body

    def content(self, request: NotifyRequest) -> tuple[str, str]:
        if request.template is None:
            return request.subject, request.message
        try:
            return self.config.renderer.render(request.template, request.data)
        except TemplateError as exc:
            raise RequestError("template", f"{exc.template}: {exc.message}") from None

    async def notify(
        self, request: NotifyRequest, *, source: str = "notify", notification_id: str = "", **extra: Any
    ) -> Body:
        """Commit the notification and its deliveries; the body the 202 answers with. `notification_id`:
        one the caller derived from what the notification is about (an alert's state), so that it can tell
        a resend from news; a new uuid by default."""
        try:
            deliveries = plan(request, self.preferences(request.user_id), self.directory)
        except PlanError as exc:
            raise RequestError(exc.field, exc.message) from None
        subject, text = self.content(request)
        now = self.clock()
        notification_id = notification_id or str(uuid.uuid4())
        body: Body = {
            "id": notification_id,
            "user_id": request.user_id,
            "type": request.type,
            "priority": request.priority.value,
            "subject": subject,
            "message": text,
            "template": request.template,
            "data": request.data,
            "created": now,
            "acked_at": None,
            "escalations": [],
            "deliveries": {d.channel.value: delivery_body(d, now) for d in deliveries},
            **extra,
        }
        realtime = body["deliveries"].get(Channel.realtime.value)
        if realtime is not None and realtime["status"] == QUEUED:
            # Published right after the commit below; a client that was not connected replays with `since`.
            realtime.update(status=SENT, sent_at=now, connections=self.hub.connections(request.user_id))
        summarize(body)
        outbox = [
            OutboxItem(DOWNSTREAM, notification_id, {"id": notification_id, "delivery": name})
            for name, delivery in body["deliveries"].items()
            if delivery["status"] == QUEUED
        ]
        record = RecordWrite(NOTIFICATION, notification_id, request.user_id, now, body)
        await self.accept(source, [], outbox, records=[record])
        if on_sockets(body):
            self.hub.publish(request.user_id, frame(body))
        return body

    def publish_committed(self, notification_id: str) -> None:
        """A notification another bridge committed (storage shared on PostgreSQL): to the sockets here."""
        body = self.get(notification_id)
        if body is not None and on_sockets(body):
            self.hub.publish(body["user_id"], frame(body))

    def get(self, notification_id: str) -> Body | None:
        return self.storage.record(NOTIFICATION, notification_id)

    def history(
        self,
        *,
        user_id: str | None,
        channel: str | None,
        status: str | None,
        since: float | None,
        before: tuple[float, str] | None,
        limit: int,
    ) -> list[tuple[float, str, Body]]:
        contains = {}
        if channel:
            contains["channels"] = channel
        if status:
            contains["statuses"] = status
        query = Page(NOTIFICATION, owner=user_id, contains=contains, since=since, before=before, limit=limit)
        return self.storage.records(query)

    def replay(self, user_id: str, since: str) -> list[str]:
        """The frames a socket missed: the user's notifications newer than `since`, oldest first."""
        seen = self.get(since)
        if seen is None or seen["user_id"] != user_id:
            raise ValueError(f"no notification {since!r} for this user")
        newer = self.storage.records(Page(NOTIFICATION, owner=user_id, since=seen["created"], limit=1000))
        return [frame(body) for _, key, body in reversed(newer) if key != since]

    def ack(self, notification_id: str) -> Body | None:
        now = self.clock()

        def acknowledge(body: Body) -> Body | None:
            return None if body.get("acked_at") else {**body, "acked_at": now}

        self.storage.update_record(NOTIFICATION, notification_id, acknowledge)
        return self.get(notification_id)
