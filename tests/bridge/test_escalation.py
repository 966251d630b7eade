"""Escalation of unacknowledged notifications: the due-step arithmetic and the escalator against a real
SQLite store with an injected clock, then the real bridge process, an SMTP server and a signed-webhook
receiver: a critical notification not acknowledged goes out on the policy's next channel, an acknowledged
or a non-critical one does not, and a restart neither loses nor repeats a step."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from bridge.conftest import ADMIN_KEY, Bridge, BridgeFactory, default_config
from fakes.smtp import SmtpRecorder, smtp_recorder
from fakes.webhook import WebhookReceiver
from pushgateway_bridge.channels.base import Message
from pushgateway_bridge.notifications.config import NotificationsConfig
from pushgateway_bridge.notifications.delivery import NotificationSink
from pushgateway_bridge.notifications.escalation import GRACE_SECONDS, Escalator, due_steps
from pushgateway_bridge.notifications.models import Channel, NotifyRequest, Priority
from pushgateway_bridge.notifications.realtime import Hub
from pushgateway_bridge.notifications.service import NotificationService
from pushgateway_bridge.storage.base import EntityWrite, OutboxItem
from pushgateway_bridge.storage.group_commit import Waiter
from pushgateway_bridge.storage.records import Body, RecordWrite
from pushgateway_bridge.storage.sqlite import SQLiteStorage
from stack import Pushgateway, wait_until

ADMIN = {"x-api-key": ADMIN_KEY}
CREATED = 1_000.0
EMAIL = {"host": "127.0.0.1", "port": 2525, "security": "none", "from_address": "bundle@example.com"}


def channels(email: dict[str, Any], webhook_url: str, secret_file: Path) -> dict[str, Any]:
    hooks = {
        name: {"url": f"{webhook_url}/{name}", "secret_file": str(secret_file)}
        for name in ("first", "second")
    }
    return {"email": email, "webhooks": hooks}


def policy(
    after_seconds: float, users: str = "*", targets: Sequence[str] = ("first", "second")
) -> dict[str, Any]:
    steps = [{"channel": "webhook", "to": target} for target in targets]
    return {
        "name": "on-call",
        "priority": "critical",
        "users": users,
        "after_seconds": after_seconds,
        "steps": steps,
    }


# --- the arithmetic and the escalator, with an injected clock ---------------------------------------------


def test_step_n_falls_due_once_unacknowledged_for_more_than_n_times_after_seconds(tmp_path: Path) -> None:
    config = unit_config(tmp_path, after_seconds=10)
    on_call = config.escalation[0]
    body: Body = {"created": CREATED, "acked_at": None, "escalations": []}
    assert due_steps(body, on_call, CREATED + 10) == []  # "within after_seconds" includes the 10th second
    assert due_steps(body, on_call, CREATED + 10.001) == [1]
    assert due_steps(body, on_call, CREATED + 25) == [1, 2]
    assert due_steps(body, on_call, CREATED + 10_000) == [1, 2]  # the policy has two steps
    assert due_steps({**body, "escalations": [{"step": 1}]}, on_call, CREATED + 25) == [2]
    assert due_steps({**body, "escalations": [{"step": 1}, {"step": 2}]}, on_call, CREATED + 25) == []
    assert due_steps({**body, "acked_at": CREATED + 1}, on_call, CREATED + 25) == []


def test_a_due_step_commits_its_delivery_and_outbox_item_once(tmp_path: Path) -> None:
    clock = Clock(CREATED)
    with opened(tmp_path) as storage:
        escalator = unit_escalator(storage, tmp_path, clock)
        notification = notify(storage, tmp_path, clock, priority="critical")
        clock.now = CREATED + 10
        assert escalator.tick() == 0
        assert sends(storage) == [(notification, "email")]
        clock.now = CREATED + 11
        assert escalator.tick() == 1
        assert escalator.tick() == 0  # the same tick again adds nothing
        assert sends(storage) == [(notification, "email"), (notification, "escalation-1")]
        body = storage.record("notification", notification)
        assert body is not None
        assert body["escalations"] == [
            {"step": 1, "policy": "on-call", "channel": "webhook", "to": "first", "at": CREATED + 11}
        ]
        assert body["deliveries"]["email"]["status"] == "escalated"
        step = body["deliveries"]["escalation-1"]
        assert (step["channel"], step["address"], step["status"]) == ("webhook", "first", "queued")
        assert step["escalated_from"] == ["email"]
        assert set(body["statuses"]) == {"escalated", "queued"}  # what the history's status filter reads
        assert "webhook" in body["channels"]
    with opened(tmp_path) as storage:  # a restart: the step is in the record, not in the escalator
        assert unit_escalator(storage, tmp_path, clock).tick() == 0
        assert sends(storage) == [(notification, "email"), (notification, "escalation-1")]
        clock.now = CREATED + 21
        assert unit_escalator(storage, tmp_path, clock).tick() == 1
        body = storage.record("notification", notification)
        assert body is not None
        assert [e["step"] for e in body["escalations"]] == [1, 2]
        assert body["deliveries"]["escalation-1"]["status"] == "escalated"
        assert body["deliveries"]["escalation-2"]["escalated_from"] == ["escalation-1"]


def test_an_acknowledgement_stops_further_steps_and_a_queued_one_still_goes_out(tmp_path: Path) -> None:
    clock = Clock(CREATED)
    with opened(tmp_path) as storage:
        escalator = unit_escalator(storage, tmp_path, clock)
        acked_first = notify(storage, tmp_path, clock, priority="critical")
        acked_later = notify(storage, tmp_path, clock, priority="critical")
        service(storage, tmp_path, clock).ack(acked_first)
        clock.now = CREATED + 11
        assert escalator.tick() == 1  # acked_later only
        service(storage, tmp_path, clock).ack(acked_later)
        clock.now = CREATED + 100
        assert escalator.tick() == 0
        assert (acked_later, "escalation-1") in sends(storage)  # queued before the ack: it still goes out
        assert not [name for key, name in sends(storage) if key == acked_first and name != "email"]
        body = storage.record("notification", acked_later)
        assert body is not None and [e["step"] for e in body["escalations"]] == [1]


def test_an_ack_committed_between_the_scan_and_the_update_wins(tmp_path: Path) -> None:
    """The step is decided again inside the writer's transaction: an ack that got there first leaves the
    record and the outbox alone."""
    clock = Clock(CREATED)
    with opened(tmp_path) as storage:
        notification = notify(storage, tmp_path, clock, priority="critical")
        escalator = unit_escalator(storage, tmp_path, clock)
        clock.now = CREATED + 11
        (stale,) = list(escalator.candidates(clock.now))  # read before the ack
        service(storage, tmp_path, clock).ack(notification)
        assert escalator.add_due(stale, escalator.config.escalation[0], clock.now) == 0
        assert sends(storage) == [(notification, "email")]
        body = storage.record("notification", notification)
        assert body is not None and body["escalations"] == []


def test_only_the_policys_priority_and_users_are_escalated_and_old_ones_are_not_looked_at(
    tmp_path: Path,
) -> None:
    clock = Clock(CREATED)
    with opened(tmp_path) as storage:
        escalator = unit_escalator(storage, tmp_path, clock, users="ops-*")
        warning = notify(storage, tmp_path, clock, priority="warning")
        other_user = notify(storage, tmp_path, clock, priority="critical", user_id="dev-1")
        clock.now = CREATED - 20 - GRACE_SECONDS - 1  # older than the last step plus the grace
        too_old = notify(storage, tmp_path, clock, priority="critical")
        clock.now = CREATED
        escalated = notify(storage, tmp_path, clock, priority="critical")
        clock.now = CREATED + 11
        assert escalator.tick() == 1
        assert [key for key, name in sends(storage) if name.startswith("escalation-")] == [escalated]
        for key in (warning, other_user, too_old):
            body = storage.record("notification", key)
            assert body is not None and body["escalations"] == []


def test_a_delivery_escalated_while_queued_is_sent_and_stays_escalated(tmp_path: Path) -> None:
    clock = Clock(CREATED)
    with opened(tmp_path) as storage:
        notification = notify(storage, tmp_path, clock, priority="critical")
        clock.now = CREATED + 11
        assert unit_escalator(storage, tmp_path, clock).tick() == 1
        transport = RecordingTransport()
        sink = NotificationSink(storage, unit_config(tmp_path).channels, lambda _s, _c: transport, clock)
        sink.send([{"id": notification, "delivery": "email"}])  # the email went out late (SMTP was down)
        body = storage.record("notification", notification)
        assert body is not None
        email = body["deliveries"]["email"]
        assert (email["status"], email["sent_at"], email["attempts"]) == ("escalated", CREATED + 11, 1)
        sink.send([{"id": notification, "delivery": "email"}])  # a resend after a restart: not sent again
        assert transport.sent == [(notification, "ops-1@example.com")]


def test_an_update_commits_its_outbox_items_only_when_it_changes_the_record(tmp_path: Path) -> None:
    with opened(tmp_path) as storage:
        waiter = Waiter()
        storage.submit([], [], waiter.done, records=[RecordWrite("notification", "n1", "u1", 1.0, {"n": 0})])
        waiter.wait()
        item = OutboxItem("notifications", "n1", {"id": "n1", "delivery": "x"})
        assert storage.update_record("notification", "n1", lambda body: None, [item]) is False
        assert storage.update_record("notification", "missing", lambda body: body, [item]) is False
        assert storage.pending_total() == 0 and storage.due("notifications", 10**10, 10) == []
        assert storage.update_record("notification", "n1", lambda body: {"n": 1}, [item]) is True
        assert storage.record("notification", "n1") == {"n": 1}
        assert [p.payload for p in storage.due("notifications", 10**10, 10)] == [
            {"id": "n1", "delivery": "x"}
        ]
        assert storage.pending_total() == 1


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingTransport:
    name = "recording"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, message: Message, address: str) -> None:
        self.sent.append((message.notification_id, address))

    def close(self) -> None:
        return None


def unit_config(tmp_path: Path, after_seconds: float = 10, users: str = "*") -> NotificationsConfig:
    secret = tmp_path / "webhook-secret"
    secret.write_text("s3cret\n")
    return NotificationsConfig.model_validate(
        {
            "channels": channels(EMAIL, "http://127.0.0.1:9", secret),
            "escalation": [policy(after_seconds, users)],
        }
    )


@contextmanager
def opened(tmp_path: Path) -> Iterator[SQLiteStorage]:
    """A SQLiteStorage in tmp_path, closed on exit; opened again, it is the same file (a restart)."""
    storage = SQLiteStorage(tmp_path / "bridge.sqlite3", 1000)
    try:
        yield storage
    finally:
        storage.close()


def service(storage: SQLiteStorage, tmp_path: Path, clock: Clock, users: str = "*") -> NotificationService:
    async def accept(
        source: str,
        writes: Sequence[EntityWrite],
        outbox: Sequence[OutboxItem],
        events: int = 1,
        seen: Sequence[str] = (),
        *,
        records: Sequence[RecordWrite] = (),
    ) -> None:
        waiter = Waiter()
        storage.submit(writes, outbox, waiter.done, seen, records)
        waiter.wait()

    return NotificationService(storage, unit_config(tmp_path, users=users), Hub(), accept, clock)


def unit_escalator(storage: SQLiteStorage, tmp_path: Path, clock: Clock, users: str = "*") -> Escalator:
    return Escalator(storage, unit_config(tmp_path, users=users), lambda: None, clock=clock)


def notify(
    storage: SQLiteStorage, tmp_path: Path, clock: Clock, *, priority: str, user_id: str = "ops-1"
) -> str:
    request = NotifyRequest(
        user_id=user_id,
        channel=Channel.email,
        to=f"{user_id}@example.com",
        subject="disk full",
        message="on db-1",
        priority=Priority(priority),
    )
    body = asyncio.run(service(storage, tmp_path, clock).notify(request))
    return str(body["id"])


def sends(storage: SQLiteStorage) -> list[tuple[str, str]]:
    """(notification id, delivery) of every outbox item queued for the notification channels."""
    return [(p.payload["id"], p.payload["delivery"]) for p in storage.due("notifications", 10**10, 1000)]


# --- the real bridge --------------------------------------------------------------------------------------


@pytest.fixture
def webhooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret="escalation-secret") as receiver:
        yield receiver


@pytest.fixture
def smtp() -> Iterator[SmtpRecorder]:
    with smtp_recorder() as recorder:
        yield recorder


def escalating_bridge(
    bridge_factory: BridgeFactory,
    pushgateway: Pushgateway,
    tmp_path: Path,
    smtp: SmtpRecorder,
    webhooks: WebhookReceiver,
    *,
    after_seconds: float,
    targets: Sequence[str] = ("first", "second"),
    **start: Any,
) -> Bridge:
    """A bridge whose critical notifications escalate to webhook targets (`first`, then `second`)."""
    secret = tmp_path / "webhook-secret"
    secret.write_text("escalation-secret\n")
    notifications = tmp_path / "notifications.yml"
    email = {**EMAIL, "host": smtp.host, "port": smtp.port}
    document = {
        "channels": channels(email, webhooks.url, secret),
        "escalation": [policy(after_seconds, targets=targets)],
    }
    notifications.write_text(yaml.safe_dump(document))
    config = {**default_config(), "notifications_file": str(notifications)}
    return bridge_factory(pushgateway.url, config=config, **start)


def send(bridge: Bridge, subject: str, priority: str = "critical") -> str:
    body = {
        "user_id": "ops-1",
        "channel": "email",
        "to": "ops-1@example.com",
        "subject": subject,
        "message": "on db-1",
        "priority": priority,
    }
    answer = requests.post(f"{bridge.url}/api/notifications/notify", json=body, headers=ADMIN, timeout=5)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def received(webhooks: WebhookReceiver, notification_id: str) -> list[str]:
    """The webhook targets (`first`, `second`) that received `notification_id`, in order."""
    return [d.path.strip("/") for d in webhooks.accepted if d.json()["notification_id"] == notification_id]


def shown(bridge: Bridge, notification_id: str) -> dict[str, Any]:
    answer = requests.get(f"{bridge.url}/api/notifications/{notification_id}", headers=ADMIN, timeout=5)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def step_sent(bridge: Bridge, notification_id: str, step: int) -> dict[str, Any] | None:
    body = shown(bridge, notification_id)
    delivery = body["deliveries"].get(f"escalation-{step}")
    return body if delivery is not None and delivery["sent_at"] is not None else None


def test_a_critical_notification_not_acknowledged_goes_out_on_the_next_channel(
    pushgateway: Pushgateway,
    bridge_factory: BridgeFactory,
    tmp_path: Path,
    smtp: SmtpRecorder,
    webhooks: WebhookReceiver,
) -> None:
    bridge = escalating_bridge(
        bridge_factory, pushgateway, tmp_path, smtp, webhooks, after_seconds=1, targets=["first"]
    )
    notification = send(bridge, "disk full")
    mail = wait_until(lambda: smtp.to("ops-1@example.com"), timeout=20, what="the email")[0]
    assert mail.subject == "disk full"
    wait_until(lambda: received(webhooks, notification), timeout=20, what="the escalation webhook")
    assert webhooks.refusals == []
    body = wait_until(lambda: step_sent(bridge, notification, 1), what="escalation-1 recorded as sent")
    assert body["deliveries"]["email"]["status"] == "escalated"
    assert bridge.own_metric("bridge_notification_escalations_total") == 1
    step = body["deliveries"]["escalation-1"]
    assert (step["channel"], step["address"], step["status"]) == ("webhook", "first", "sent")
    assert step["escalated_from"] == ["email"]
    assert [(e["step"], e["channel"], e["to"]) for e in body["escalations"]] == [(1, "webhook", "first")]
    history = requests.get(
        f"{bridge.url}/api/notifications", params={"status": "escalated"}, headers=ADMIN, timeout=5
    ).json()
    assert [n["id"] for n in history["notifications"]] == [notification]


def test_an_acknowledged_or_non_critical_notification_is_not_escalated(
    pushgateway: Pushgateway,
    bridge_factory: BridgeFactory,
    tmp_path: Path,
    smtp: SmtpRecorder,
    webhooks: WebhookReceiver,
) -> None:
    bridge = escalating_bridge(bridge_factory, pushgateway, tmp_path, smtp, webhooks, after_seconds=2)
    acked = send(bridge, "acked")
    answer = requests.post(f"{bridge.url}/api/notifications/{acked}/ack", headers=ADMIN, timeout=5)
    assert answer.status_code == 200 and answer.json()["acked_at"] is not None
    warning = send(bridge, "a warning", priority="warning")
    # Created after both: once it has been escalated, every tick that saw it saw the two above as due too.
    later = send(bridge, "later")
    wait_until(lambda: received(webhooks, later), timeout=20, what="the later notification escalated")
    for notification in (acked, warning):
        assert received(webhooks, notification) == []
        body = shown(bridge, notification)
        assert body["escalations"] == []
        assert set(body["deliveries"]) == {"email"}
        assert body["deliveries"]["email"]["status"] in {"queued", "sent"}


def test_escalation_survives_restarts_without_repeating_a_step(
    pushgateway: Pushgateway,
    bridge_factory: BridgeFactory,
    tmp_path: Path,
    smtp: SmtpRecorder,
    webhooks: WebhookReceiver,
) -> None:
    data_dir = tmp_path / "bridge"

    def start(port: int | None = None) -> Bridge:
        return escalating_bridge(
            bridge_factory,
            pushgateway,
            tmp_path,
            smtp,
            webhooks,
            after_seconds=2,
            data_dir=data_dir,
            port=port,
        )

    bridge = start()
    port = int(bridge.url.rsplit(":", 1)[1])
    notification = send(bridge, "disk full")
    bridge.process.kill()  # SIGKILL right after the 202, two seconds before step 1 is due
    assert received(webhooks, notification) == []
    bridge = start(port)
    wait_until(lambda: step_sent(bridge, notification, 1), timeout=20, what="step 1 after the restart")
    bridge.process.kill()  # step 1 is in the record: the next bridge must not add it again
    bridge = start(port)
    wait_until(lambda: step_sent(bridge, notification, 2), timeout=20, what="step 2")
    # A notification created after the last restart, escalated: the ticks that did it also saw the first one.
    later = send(bridge, "later")
    wait_until(lambda: received(webhooks, later), timeout=20, what="the later notification escalated")
    assert received(webhooks, notification) == ["first", "second"]
    body = shown(bridge, notification)
    assert [e["step"] for e in body["escalations"]] == [1, 2]
    assert [body["deliveries"][f"escalation-{n}"]["status"] for n in (1, 2)] == ["escalated", "sent"]
    assert webhooks.refusals == []
