"""Alerts from Alertmanager's webhook: which user each names, its history record, and one notification per
alert state however often Alertmanager sends it (repeat_interval, retries), on a real SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from pushgateway_bridge.bridge import Bridge
from pushgateway_bridge.domain.kinds import SchedulerState
from pushgateway_bridge.domain.models.alertmanager import ReceivedWebhook
from pushgateway_bridge.notifications.config import NotificationsConfig
from pushgateway_bridge.notifications.from_alerts import (
    ALERT_EVENT,
    AlertReceiver,
    Outcome,
    Registered,
    User,
    notification_id,
    priority_for,
    user_for,
)
from pushgateway_bridge.notifications.models import Priority
from pushgateway_bridge.notifications.service import NotificationService
from pushgateway_bridge.notifications.templates import TemplateSource
from pushgateway_bridge.settings import Settings
from pushgateway_bridge.storage.base import SpoolFull
from pushgateway_bridge.storage.records import Body, Page

STARTS = "2025-03-04T17:31:02.123456789Z"  # Go writes nanoseconds
ENDS = "2025-03-04T17:46:02.123456789Z"


def registry(**schedulers: dict[str, str]) -> Registered:
    """Registered schedulers by id, with only the fields the receiver reads."""

    def registered(scheduler_id: str) -> SchedulerState | None:
        found = schedulers.get(scheduler_id)
        return None if found is None else cast(SchedulerState, {"scheduler_id": scheduler_id, **found})

    return registered


NOBODY = registry()


# --- which user an alert names -----------------------------------------------------------------------


def test_an_owner_label_names_the_user_before_the_schedulers_registration() -> None:
    labels = {"owner": "user123", "alert_user_id": "U42", "owner_email": "o@example.com"}
    assert user_for(labels, NOBODY) == User("user123", "label owner")


def test_a_scheduler_alert_names_its_alert_user_then_its_owner_email() -> None:
    both = {"scheduler_id": "eod", "alert_user_id": "U42", "owner_email": "o@example.com"}
    assert user_for(both, NOBODY) == User("U42", "label alert_user_id")
    email_only = {"scheduler_id": "eod", "owner_email": "o@example.com"}
    assert user_for(email_only, NOBODY) == User("o@example.com", "label owner_email")


def test_a_rule_without_the_registration_labels_finds_the_registered_scheduler() -> None:
    registered = registry(
        eod={"alert_user_id": "", "owner_email": "team@example.com"}, nightly={"alert_user_id": "U7"}
    )
    assert user_for({"scheduler_id": "eod"}, registered) == User(
        "team@example.com", "scheduler eod's owner_email"
    )
    assert user_for({"scheduler_id": "nightly"}, registered) == User(
        "U7", "scheduler nightly's alert_user_id"
    )
    assert user_for({"scheduler_id": "unregistered"}, registered) is None


def test_an_alert_naming_nobody_has_no_user() -> None:
    assert user_for({"alertname": "HostHighCpu", "instance": "h1", "owner": ""}, NOBODY) is None


def test_priority_is_the_firing_alerts_severity_and_a_resolution_is_info() -> None:
    assert priority_for("firing", {"severity": "critical"}) is Priority.critical
    assert priority_for("firing", {"severity": "info"}) is Priority.info
    assert priority_for("firing", {}) is Priority.warning
    assert priority_for("firing", {"severity": "page"}) is Priority.warning
    assert priority_for("resolved", {"severity": "critical"}) is Priority.info  # never escalated


# --- history and once per state ------------------------------------------------------------------------


def alert(status: str = "firing", starts: str = STARTS, **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {
            "alertname": "SchedulerRunFailed",
            "severity": "critical",
            "scheduler_id": "eod",
            **labels,
        },
        "annotations": {"summary": "Scheduler eod failed", "description": "eod failed its last 1 run(s)."},
        "startsAt": starts,
        "endsAt": ENDS if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": "5e3f6a1b2c9d0e47",
    }


def webhook(*alerts: dict[str, Any]) -> ReceivedWebhook:
    return ReceivedWebhook.model_validate(
        {
            "version": "4",
            "status": alerts[0]["status"],
            "receiver": "bridge-notifications",
            "groupKey": "{}:{}",
            "alerts": list(alerts),
            "externalURL": "http://alertmanager:9093",
        }
    )


class Harness:
    """A bridge's storage and notification service in this process (no workers: nothing is sent)."""

    def __init__(self, tmp_path: Path, config: NotificationsConfig | None = None) -> None:
        self.bridge = Bridge(Settings(data_dir=tmp_path / "data"))
        if config is not None:
            self.bridge.notifications = NotificationService(
                self.bridge.storage, config, self.bridge.hub, self.bridge.accept
            )
        self.receiver = AlertReceiver(self.bridge.notifications, self.bridge.accept, NOBODY)
        self.loop = asyncio.new_event_loop()

    def receive(self, *alerts: dict[str, Any]) -> Outcome:
        return self.loop.run_until_complete(self.receiver.receive(webhook(*alerts)))

    def notifications(self, user_id: str) -> list[Body]:
        rows = self.bridge.notifications.history(
            user_id=user_id, channel=None, status=None, since=None, before=None, limit=100
        )
        return [body for _, _, body in rows]

    def events(self) -> list[Body]:
        return [body for _, _, body in self.bridge.storage.records(Page(ALERT_EVENT, limit=100))]

    def event(self) -> Body:
        (found,) = self.events()
        return found

    def close(self) -> None:
        self.loop.close()
        self.bridge.stop()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    made = Harness(tmp_path)
    try:
        yield made
    finally:
        made.close()


def test_a_firing_alert_is_recorded_and_notifies_its_user_once_however_often_it_is_sent(
    harness: Harness,
) -> None:
    owned = alert(alert_user_id="U42")
    assert harness.receive(owned) == Outcome(alerts=1, recorded=1, notified=1)
    # Alertmanager sends it again every repeat_interval, and retries a webhook it saw no answer to.
    assert harness.receive(owned) == Outcome(alerts=1, duplicates=1)
    assert harness.receive(owned) == Outcome(alerts=1, duplicates=1)

    (sent,) = harness.notifications("U42")
    assert sent["id"] == notification_id(webhook(owned).alerts[0])
    assert (sent["type"], sent["template"], sent["priority"]) == ("alert", "alert_firing", "critical")
    assert sent["subject"] == "[FIRING] SchedulerRunFailed (critical): Scheduler eod failed"
    assert f"Started: {STARTS}" in sent["message"]  # the alert's text as sent, nanoseconds and all
    assert sent["data"]["fingerprint"] == "5e3f6a1b2c9d0e47"
    assert sent["deliveries"]["realtime"]["status"] == "sent"  # no preferences: in-app

    event = harness.event()
    assert {key: event[key] for key in ("status", "alertname", "severity", "starts_at", "ends_at")} == {
        "status": "firing",
        "alertname": "SchedulerRunFailed",
        "severity": "critical",
        "starts_at": STARTS,
        "ends_at": None,
    }
    assert (event["user_id"], event["named_by"], event["notify_error"]) == (
        "U42",
        "label alert_user_id",
        None,
    )
    assert event["notifications"] == {"firing": sent["id"]}
    assert event["labels"]["alert_user_id"] == "U42"
    assert event["annotations"]["summary"] == "Scheduler eod failed"


def test_the_resolution_updates_the_same_record_and_notifies_once_and_a_late_firing_changes_nothing(
    harness: Harness,
) -> None:
    harness.receive(alert(alert_user_id="U42"))
    resolved = alert("resolved", alert_user_id="U42")
    assert harness.receive(resolved) == Outcome(alerts=1, recorded=1, notified=1)
    assert harness.receive(resolved) == Outcome(alerts=1, duplicates=1)
    # A retry of the firing webhook overtaken by the resolution: the alert stays resolved, nobody is told.
    assert harness.receive(alert(alert_user_id="U42")) == Outcome(alerts=1, duplicates=1)

    latest, first = harness.notifications("U42")
    assert (first["template"], latest["template"]) == ("alert_firing", "alert_resolved")
    assert latest["priority"] == "info"
    assert latest["subject"].startswith("[RESOLVED] SchedulerRunFailed")
    event = harness.event()
    assert (event["status"], event["starts_at"], event["ends_at"]) == ("resolved", STARTS, ENDS)
    assert event["duration_seconds"] == 900.0
    assert set(event["received"]) == {"firing", "resolved"}
    assert event["notifications"] == {"firing": first["id"], "resolved": latest["id"]}


def test_the_same_alert_firing_again_later_is_a_new_occurrence(harness: Harness) -> None:
    harness.receive(alert(alert_user_id="U42"))
    harness.receive(alert("resolved", alert_user_id="U42"))
    again = "2025-03-05T09:00:00Z"
    assert harness.receive(alert(starts=again, alert_user_id="U42")) == Outcome(
        alerts=1, recorded=1, notified=1
    )
    assert [event["starts_at"] for event in harness.events()] == [again, STARTS]  # newest first
    assert len(harness.notifications("U42")) == 3


def test_a_resolution_never_seen_firing_is_recorded_whole(harness: Harness) -> None:
    assert harness.receive(alert("resolved", owner="user123")) == Outcome(alerts=1, recorded=1, notified=1)
    event = harness.event()
    assert (event["status"], event["ends_at"], event["duration_seconds"]) == ("resolved", ENDS, 900.0)
    assert [n["template"] for n in harness.notifications("user123")] == ["alert_resolved"]


def test_alerts_that_name_nobody_are_history_only(harness: Harness) -> None:
    one, other = (
        alert(),
        {**alert(), "fingerprint": "00000000000000ff", "labels": {"alertname": "HostHighCpu"}},
    )
    assert harness.receive(one, other) == Outcome(alerts=2, recorded=2)
    assert {(e["alertname"], e["user_id"], e["notify_error"]) for e in harness.events()} == {
        ("SchedulerRunFailed", None, None),
        ("HostHighCpu", None, None),
    }


def test_a_label_that_is_no_user_id_is_recorded_with_the_reason_and_notifies_nobody(harness: Harness) -> None:
    assert harness.receive(alert(owner="not a user id")) == Outcome(alerts=1, recorded=1)
    event = harness.event()
    assert event["user_id"] == "not a user id"
    assert event["notify_error"].startswith("label owner: not a user id: String should match pattern")
    assert event["notifications"] == {}


def test_an_alert_template_that_does_not_render_the_alert_is_recorded_as_the_reason(tmp_path: Path) -> None:
    broken = TemplateSource(subject="{{ labels.team }}", text="x")  # the alert has no team label
    harness = Harness(tmp_path, NotificationsConfig(templates={"alert_firing": broken}))
    try:
        assert harness.receive(alert(owner="user123")) == Outcome(alerts=1, recorded=1)
        assert (
            harness.event()["notify_error"]
            == "template: alert_firing: subject: 'dict object' has no attribute 'team'"
        )
        assert harness.notifications("user123") == []
    finally:
        harness.close()


def test_a_retry_after_the_record_committed_but_not_the_notification_sends_it(harness: Harness) -> None:
    owned = alert(alert_user_id="U42")
    real_notify = harness.bridge.notifications.notify

    async def spool_full(*args: Any, **kwargs: Any) -> Body:
        raise SpoolFull("full")

    harness.bridge.notifications.notify = spool_full  # type: ignore[method-assign]
    with pytest.raises(SpoolFull):  # the route answers 503: Alertmanager retries
        harness.receive(owned)
    assert harness.event()["notifications"] == {"firing": notification_id(webhook(owned).alerts[0])}
    assert harness.notifications("U42") == []

    harness.bridge.notifications.notify = real_notify  # type: ignore[method-assign]
    assert harness.receive(owned) == Outcome(alerts=1, duplicates=1, notified=1)
    assert harness.receive(owned) == Outcome(alerts=1, duplicates=1)
    assert len(harness.notifications("U42")) == 1


def test_webhooks_received_at_once_notify_once(harness: Harness) -> None:
    owned = webhook(alert(alert_user_id="U42"))
    committing = harness.bridge.accept
    published: list[str] = []
    harness.bridge.hub.publish = lambda user_id, text: published.append(user_id)  # type: ignore[method-assign]

    async def yielding(*args: Any, **kwargs: Any) -> None:
        # Hand the loop to the other webhook before this write is even submitted: without the receiver's
        # lock, it would find no record and no notification either.
        for _ in range(3):
            await asyncio.sleep(0)
        await committing(*args, **kwargs)

    harness.receiver.accept = yielding
    harness.bridge.notifications.accept = yielding

    async def both() -> list[Outcome]:
        return list(await asyncio.gather(harness.receiver.receive(owned), harness.receiver.receive(owned)))

    outcomes = harness.loop.run_until_complete(both())
    assert sorted(outcome.notified for outcome in outcomes) == [0, 1]
    assert published == ["U42"]  # one frame on the user's sockets
