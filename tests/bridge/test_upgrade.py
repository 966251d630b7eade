"""A bridge started on an older bridge's data directory delivers the outbox it finds there."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.conftest import BridgeFactory
from fakes.loki import LokiReceiver
from pushgateway_bridge.storage.base import OutboxItem
from pushgateway_bridge.storage.sqlite import SQLiteStorage
from stack import Alertmanager, Pushgateway, wait_until


def test_an_outbox_spooled_by_bridge_0_1_0_is_delivered_as_stored(
    tmp_path: Path,
    pushgateway: Pushgateway,
    alertmanager: Alertmanager,
    loki: LokiReceiver,
    bridge_factory: BridgeFactory,
) -> None:
    """0.1.0 stored each event as its Loki entry and each alert as its Alertmanager v2 body, which the sinks
    send unchanged."""
    data_dir = tmp_path / "spooled"
    ts_ns = str(time.time_ns())  # the spool is recent: Loki takes the stored time
    line = {"event_id": "e0", "source": "service", "kind": "status", "status": "down"}
    old_entry = {
        "labels": {"source": "service", "kind": "status", "service": "svc", "level": "error"},
        "ts_ns": ts_ns,
        "line": json.dumps(line, separators=(",", ":")),
        "metadata": {"event_id": "e0"},
    }
    now = datetime.now(UTC)
    old_alert = {
        "labels": {"alertname": "ServiceAlert", "service": "svc", "severity": "critical", "source": "bridge"},
        "annotations": {"summary": "Disk full", "description": "95%"},
        "startsAt": now.isoformat().replace("+00:00", "Z"),
        "endsAt": (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
    }
    storage = SQLiteStorage(data_dir / "bridge.sqlite3", 100)
    storage.commit([], [OutboxItem("loki", "svc", old_entry), OutboxItem("alertmanager", "svc", old_alert)])
    storage.close()

    bridge_factory(pushgateway.url, alertmanager_url=alertmanager.url, loki_url=loki.url, data_dir=data_dir)
    raised = wait_until(
        lambda: alertmanager.alerts(alertname="ServiceAlert"), what="the spooled alert delivered"
    )
    assert [(alert["labels"], alert["annotations"]) for alert in raised] == [
        (old_alert["labels"], old_alert["annotations"])
    ]
    wait_until(loki.event_ids, what="the spooled entry delivered")
    assert loki.rejections == []
    assert loki.entries == [
        {
            "labels": old_entry["labels"],
            "ts": int(ts_ns),
            "line": old_entry["line"],
            "metadata": {"event_id": "e0"},
        }
    ]
