"""Escalation: a notification not acknowledged in time goes out on its escalation policy's next step.

Step n (1-based) of the policy that applies (`NotificationsConfig.policy_for`, by priority and user) falls
due once the notification has gone unacknowledged for more than n * `after_seconds` since it was created.
A thread looks every TICK_SECONDS at the notifications young enough to have a step still to come (one
indexed range of the records table per escalated priority), and adds each due step in one read-modify-write
of the record, committed together with the outbox item that sends it:

- a delivery `escalation-<n>` on the step's channel to the step's `to`, queued, sent by the outbox like
  any other (`notifications/delivery.py`);
- the deliveries it follows (the notification's own for step 1, `escalation-<n-1>` after) marked
  `escalated`, if they went or are going out; one still queued is sent all the same;
- `{step, policy, channel, to, at}` appended to the record's `escalations`.

The change re-reads the record inside the writer's transaction: an acknowledgement committed meanwhile, or
the step added already (before a restart), leaves the record and the outbox alone, so each step is added
once. A notification whose last step fell due while the bridge was down for longer than GRACE_SECONDS is
not escalated late.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial

from pushgateway_bridge.notifications.config import EscalationPolicy, NotificationsConfig
from pushgateway_bridge.notifications.models import Priority
from pushgateway_bridge.notifications.plan import QUEUED
from pushgateway_bridge.notifications.service import DOWNSTREAM, NOTIFICATION, SENT, summarize
from pushgateway_bridge.storage.base import OutboxItem, SpoolFull, Storage, StorageUnavailable
from pushgateway_bridge.storage.records import Body, Page

log = logging.getLogger("pushgateway_bridge.escalation")

ESCALATED = "escalated"
PREFIX = "escalation-"  # deliveries named by their step: escalation-1, escalation-2, ...
TICK_SECONDS = 1.0  # how late a step may go out; each tick is one indexed range query per priority
# How long after a policy's last step a notification is still looked at: a bridge restarted within this
# adds the steps that fell due while it was down.
GRACE_SECONDS = 600.0
PAGE_SIZE = 500


def delivery_name(step: int) -> str:
    return f"{PREFIX}{step}"


def due_steps(body: Body, policy: EscalationPolicy, now: float) -> list[int]:
    """The steps (1-based) of `policy` due at `now` and not yet added, in order; none once acknowledged."""
    if body.get("acked_at"):
        return []
    added = max((int(entry["step"]) for entry in body.get("escalations") or []), default=0)
    elapsed = now - float(body["created"])
    return [n for n in range(added + 1, len(policy.steps) + 1) if elapsed > n * policy.after_seconds]


def escalate(body: Body, policy: EscalationPolicy, step: int, now: float) -> Body | None:
    """`body` with `step` added, or None if it is not the next due step (acknowledged, or added before)."""
    due = due_steps(body, policy, now)
    if not due or due[0] != step:
        return None
    target = policy.steps[step - 1]
    deliveries = body["deliveries"]
    follows = (
        [name for name in deliveries if not name.startswith(PREFIX)]
        if step == 1
        else [delivery_name(step - 1)]
    )
    escalated_from = []
    for name in follows:
        delivery = deliveries.get(name)
        if delivery is not None and delivery["status"] in {QUEUED, SENT}:
            delivery.update(status=ESCALATED, escalated_at=now)
            escalated_from.append(name)
    deliveries[delivery_name(step)] = {
        "channel": target.channel.value,
        "address": target.to,
        "status": QUEUED,
        "attempts": 0,
        "last_error": None,
        "queued_at": now,
        "sent_at": None,
        "step": step,
        "policy": policy.name,
        "escalated_from": escalated_from,
    }
    escalations = body.setdefault("escalations", [])
    escalations.append(
        {"step": step, "policy": policy.name, "channel": target.channel.value, "to": target.to, "at": now}
    )
    return summarize(body)


class Escalator(threading.Thread):
    """Adds due escalation steps every `tick` seconds until stopped; `wake` tells the notifications
    forwarder that there is something to send."""

    def __init__(
        self,
        storage: Storage,
        config: NotificationsConfig,
        wake: Callable[[], None],
        *,
        counted: Callable[[int], None] = lambda added: None,
        clock: Callable[[], float] = time.time,
        tick: float = TICK_SECONDS,
    ) -> None:
        super().__init__(name="escalation", daemon=True)
        self.storage = storage
        self.config = config
        self.wake = wake
        self.counted = counted  # the steps added, for bridge_notification_escalations_total
        self.clock = clock
        self.tick_seconds = tick
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.tick()
            except StorageUnavailable as exc:  # PostgreSQL away: the steps are added when it is back
                log.warning("escalation waits for the storage: %s", exc)
            except Exception:
                log.exception("escalation step failed")
            self.stopping.wait(self.tick_seconds)

    def tick(self) -> int:
        """Add every step due now; the number added."""
        now = self.clock()
        added = 0
        try:
            for body in self.candidates(now):
                policy = self.config.policy_for(Priority(body["priority"]), body["user_id"])
                if policy is not None:
                    added += self.add_due(body, policy, now)
        except SpoolFull as exc:
            log.warning("escalation waits for room in the spool: %s", exc)
        if added:
            self.counted(added)
            self.wake()
        return added

    def add_due(self, body: Body, policy: EscalationPolicy, now: float) -> int:
        notification_id = str(body["id"])
        added = 0
        for step in due_steps(body, policy, now):
            item = OutboxItem(
                DOWNSTREAM, notification_id, {"id": notification_id, "delivery": delivery_name(step)}
            )
            change = partial(escalate, policy=policy, step=step, now=now)
            if not self.storage.update_record(NOTIFICATION, notification_id, change, [item]):
                break  # acknowledged (or escalated elsewhere) since it was read
            target = policy.steps[step - 1]
            log.info(
                "notification %s not acknowledged: step %d of policy %s, %s to %s",
                notification_id,
                step,
                policy.name,
                target.channel,
                target.to,
            )
            added += 1
        return added

    def candidates(self, now: float) -> Iterator[Body]:
        """Notifications of an escalated priority created late enough to have a step due now or to come,
        and early enough to have one due: a range of the (kind, created) index, page by page."""
        policies = self.config.escalation
        if not policies:
            return
        oldest = now - max(len(p.steps) * p.after_seconds for p in policies) - GRACE_SECONDS
        youngest = now - min(p.after_seconds for p in policies)
        for priority in sorted({p.priority.value for p in policies}):
            before: tuple[float, str] | None = (youngest, "")
            while before is not None:
                query = Page(
                    NOTIFICATION, fields={"priority": priority}, since=oldest, before=before, limit=PAGE_SIZE
                )
                rows = self.storage.records(query)
                for _, _, body in rows:
                    yield body
                before = (rows[-1][0], rows[-1][1]) if len(rows) == PAGE_SIZE else None
