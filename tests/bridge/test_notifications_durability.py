"""A notification is committed before its 202: the bridge SIGKILLed right after the 202s of notifications
it could not yet deliver (the SMTP server answering 451), restarted on the same data directory, delivers
every one of them once, and its history shows each notification once, sent."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import requests

from bridge.conftest import BridgeFactory
from bridge.notification_receivers import ADMIN, bridge_config, notify, receivers
from stack import Pushgateway, wait_until

NOTIFICATIONS = 25


def test_sigkill_after_the_202s_then_restart_delivers_each_notification_once(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    with receivers() as fakes:
        smtp = fakes.smtp
        smtp.data_reply = "451 4.3.0 Mail server temporarily rejected message"
        config = bridge_config(tmp_path, fakes)
        data_dir = tmp_path / "bridge"
        bridge = bridge_factory(pushgateway.url, config=config, data_dir=data_dir)
        ids = [
            notify(
                bridge,
                user_id="team-a-alice",
                channel="email",
                to="alice@example.com",
                subject=f"Run {n} failed",
                message="see the logs",
            )["id"]
            for n in range(NOTIFICATIONS)
        ]
        bridge.process.kill()  # SIGKILL: nothing delivered yet, everything pending in the store
        assert smtp.accepted() == []

        restarted = bridge_factory(pushgateway.url, config=config, data_dir=data_dir)
        smtp.data_reply = None  # the mail server accepts again
        wait_until(
            lambda: len(smtp.accepted()) >= NOTIFICATIONS, timeout=60, what="every notification mailed"
        )

        def all_sent() -> list[dict[str, Any]] | None:
            answer = requests.get(
                f"{restarted.url}/api/notifications",
                params={"user_id": "team-a-alice", "limit": "100"},
                headers=ADMIN,
                timeout=10,
            )
            answer.raise_for_status()
            entries: list[dict[str, Any]] = answer.json()["notifications"]
            return entries if all(e["deliveries"]["email"]["status"] == "sent" for e in entries) else None

        history = wait_until(all_sent, timeout=30, what="every delivery recorded sent")
        message_ids = Counter(str(mail.message["Message-ID"]) for mail in smtp.accepted())
        assert all(count == 1 for count in message_ids.values()), message_ids
        assert sorted(mid.strip("<>").partition("@")[0] for mid in message_ids) == sorted(ids)
        assert sorted(str(entry["id"]) for entry in history) == sorted(ids)  # each once
        assert [entry["subject"] for entry in history] == [
            f"Run {n} failed" for n in reversed(range(NOTIFICATIONS))
        ]
