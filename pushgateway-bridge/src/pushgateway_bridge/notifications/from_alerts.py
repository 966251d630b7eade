"""Alerts Alertmanager sends the bridge: each one's history, and a notification for the user it names.

Which user an alert names, first found wins (`USER_LABELS`, then the registry):
1. `owner`: a user id of the notification API, set by whoever writes the rule (`labels: {owner: ...}`).
2. `alert_user_id`: the user a scheduler registered to be alerted (the scheduler seed's Slack member id,
   `U...`), joined from `scheduler_info` into every scheduler alert's labels.
3. `owner_email`: the scheduler's registered owner, joined the same way, for schedulers registered
   without an `alert_user_id`.
4. An alert with a `scheduler_id` but neither label (a rule that does not join `scheduler_info`): the
   registered scheduler's `alert_user_id`, else its `owner_email`.
The notification API takes all of these as user ids (`U1234567890`, `team@example.com`); that user's
preferences then say where it goes (in-app only until they set any).

History: one record of kind `alert_event` per alert occurrence, keyed by its fingerprint and `startsAt`,
written when it first fires and updated when it resolves. A firing alert is sent again every
`repeat_interval`, and a webhook Alertmanager did not see answered is retried: the notification of an
alert state has an id derived from the fingerprint, the status and `startsAt`, so a resend finds it
made and notifies no one twice. A resolution is final: a firing resend that arrives after it (a retry
overtaken) changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from pushgateway_bridge.domain.kinds import SchedulerState
from pushgateway_bridge.domain.models.alertmanager import ReceivedAlert, ReceivedWebhook, parse_time
from pushgateway_bridge.notifications.models import NotifyRequest, Priority
from pushgateway_bridge.notifications.service import Accept, NotificationService, RequestError
from pushgateway_bridge.notifications.templates import ALERT_FIRING, ALERT_RESOLVED
from pushgateway_bridge.storage.records import Body, RecordWrite

log = logging.getLogger("pushgateway_bridge.alerts")

ALERT_EVENT = "alert_event"
SOURCE = "alertmanager"  # the `source` of events_accepted for what this receiver commits
FIRING = "firing"
RESOLVED = "resolved"
USER_LABELS = ("owner", "alert_user_id", "owner_email")
REGISTERED_USER_FIELDS = ("alert_user_id", "owner_email")
# Notification ids of alert states: uuid5 in this namespace of the state's identity.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:pushgateway-bridge:alert-notification")

Registered = Callable[[str], SchedulerState | None]


@dataclass(frozen=True)
class User:
    user_id: str
    named_by: str  # how the alert names it, for the history: "label owner", "scheduler eod's owner_email"


def user_for(labels: Mapping[str, str], registered: Registered) -> User | None:
    """The user `labels` name (the order is the module's docstring), or None."""
    for label in USER_LABELS:
        if labels.get(label):
            return User(labels[label], f"label {label}")
    scheduler_id = labels.get("scheduler_id")
    state = registered(scheduler_id) if scheduler_id else None
    if state is not None:
        for field in REGISTERED_USER_FIELDS:
            value = state.get(field)
            if isinstance(value, str) and value:
                return User(value, f"scheduler {scheduler_id}'s {field}")
    return None


def priority_for(status: str, labels: Mapping[str, str]) -> Priority:
    """A firing alert's severity, as a priority (an unknown one is a warning); a resolution is news, not
    an emergency: info, so that it is never escalated."""
    if status == RESOLVED:
        return Priority.info
    try:
        return Priority(labels.get("severity", Priority.warning.value))
    except ValueError:
        return Priority.warning


def event_key(alert: ReceivedAlert) -> str:
    return f"{alert.fingerprint}@{alert.startsAt}"


def notification_id(alert: ReceivedAlert) -> str:
    """The same for every resend of one alert state (fingerprint, status, start)."""
    return str(uuid.uuid5(NAMESPACE, f"{alert.fingerprint}\x1f{alert.status}\x1f{alert.startsAt}"))


def as_sent(alert: ReceivedAlert) -> dict[str, Any]:
    """The alert as the templates take it (`notifications/templates.py`): the fields Alertmanager sends."""
    return alert.model_dump(
        include={"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    )


def notify_request(alert: ReceivedAlert, user_id: str) -> NotifyRequest:
    """What a user is sent about `alert`; ValidationError when `user_id` is not a user id of the API."""
    template = ALERT_FIRING if alert.status == FIRING else ALERT_RESOLVED
    return NotifyRequest(
        user_id=user_id,
        type="alert",
        template=template,
        data=as_sent(alert),
        priority=priority_for(alert.status, alert.labels),
    )


def event_body(previous: Body | None, alert: ReceivedAlert, webhook: ReceivedWebhook, now: float) -> Body:
    """The history record of the alert's occurrence after `alert` (its labels and annotations as last sent).
    `user_id`, `named_by` and `notify_error` are the receiver's to set."""
    resolved = alert.status == RESOLVED
    started = parse_time(alert.startsAt)
    body: Body = {
        **(previous or {"received": {}, "notifications": {}}),
        "fingerprint": alert.fingerprint,
        "status": alert.status,
        "alertname": alert.labels.get("alertname", ""),
        "service": alert.labels.get("service", ""),
        "severity": alert.labels.get("severity", ""),
        "starts_at": alert.startsAt,
        "ends_at": alert.endsAt if resolved else None,
        "duration_seconds": (parse_time(alert.endsAt) - started).total_seconds() if resolved else None,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "generator_url": alert.generatorURL,
        "receiver": webhook.receiver,
        "external_url": webhook.externalURL,
    }
    body["received"] = {**body["received"], alert.status: now}
    return body


@dataclass
class Outcome:
    """What one webhook did, as the route answers it."""

    alerts: int = 0
    recorded: int = 0  # alert states new to the history
    notified: int = 0
    duplicates: int = 0  # states already recorded: a repeat or a retry


class AlertReceiver:
    """Records each alert state Alertmanager sends and notifies the user it names, once per state."""

    def __init__(
        self,
        notifications: NotificationService,
        accept: Accept,
        registered: Registered,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.notifications = notifications
        self.storage = notifications.storage
        self.accept = accept
        self.registered = registered
        self.clock = clock
        # One webhook at a time: "is this state new?" reads committed records, so a retry racing the
        # original must wait for its commit. Webhooks are few; Alertmanager batches alerts into them.
        self.lock = asyncio.Lock()

    async def receive(self, webhook: ReceivedWebhook) -> Outcome:
        async with self.lock:
            return await self._receive(webhook)

    async def _receive(self, webhook: ReceivedWebhook) -> Outcome:
        outcome = Outcome(alerts=len(webhook.alerts))
        now = self.clock()
        records: list[RecordWrite] = []
        to_notify: list[tuple[str, NotifyRequest]] = []
        for alert in webhook.alerts:
            key = event_key(alert)
            previous = self.storage.record(ALERT_EVENT, key)
            if previous is not None and (previous["status"] == RESOLVED or alert.status == FIRING):
                # Seen: a repeat, a retry, or a firing overtaken by its resolution. Its notification may
                # still be missing if the bridge stopped between the two commits below.
                outcome.duplicates += 1
                meant = previous["notifications"].get(alert.status)
                if meant and previous["status"] == alert.status:
                    to_notify.append((meant, notify_request(alert, previous["user_id"])))
                continue
            body = event_body(previous, alert, webhook, now)
            request = self._request(alert, body)
            started = parse_time(alert.startsAt).timestamp()
            records.append(RecordWrite(ALERT_EVENT, key, body["user_id"] or "", started, body))
            outcome.recorded += 1
            if request is not None:
                to_notify.append((notification_id(alert), request))
        if records:
            await self.accept(SOURCE, [], [], len(records), records=records)
        for made, request in to_notify:
            if self.notifications.get(made) is None:
                await self.notifications.notify(request, source=SOURCE, notification_id=made)
                outcome.notified += 1
        return outcome

    def _request(self, alert: ReceivedAlert, body: Body) -> NotifyRequest | None:
        """The notification for `alert`, with `body`'s user fields set; None (and why, in `notify_error`)
        when it names no user or one that cannot be notified."""
        user = user_for(alert.labels, self.registered)
        body.update(user_id=None, named_by=None, notify_error=None)
        if user is None:
            return None
        body.update(user_id=user.user_id, named_by=user.named_by)
        try:
            request = notify_request(alert, user.user_id)
            self.notifications.content(request)  # a configured alert template may not render this alert
        except ValidationError as exc:
            body["notify_error"] = f"{user.named_by}: not a user id: {exc.errors()[0]['msg']}"
        except RequestError as exc:
            body["notify_error"] = f"{exc.field}: {exc.message}"
        else:
            body["notifications"] = {**body.get("notifications", {}), alert.status: notification_id(alert)}
            return request
        log.warning("alert %s is recorded, not notified: %s", event_key(alert), body["notify_error"])
        return None
