"""A bridge started on an older bridge's data directory delivers the outbox it finds there."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bridge.conftest import BridgeFactory
from fakes.loki import LokiReceiver
from pushgateway_bridge.storage.base import OutboxItem
from pushgateway_bridge.storage.sqlite import SQLiteStorage
from stack import Pushgateway, wait_until


def test_an_outbox_spooled_by_bridge_0_1_0_is_delivered_as_stored(
    tmp_path: Path, pushgateway: Pushgateway, loki: LokiReceiver, bridge_factory: BridgeFactory
) -> None:
    """0.1.0 stored each event as its Loki entry, which the Loki sink sends unchanged."""
    data_dir = tmp_path / "spooled"
    ts_ns = str(time.time_ns())  # the spool is recent: Loki takes the stored time
    line = {"event_id": "e0", "source": "service", "kind": "status", "status": "down"}
    old_entry = {
        "labels": {"source": "service", "kind": "status", "service": "svc", "level": "error"},
        "ts_ns": ts_ns,
        "line": json.dumps(line, separators=(",", ":")),
        "metadata": {"event_id": "e0"},
    }
    storage = SQLiteStorage(data_dir / "bridge.sqlite3", 100)
    storage.commit([], [OutboxItem("loki", "svc", old_entry)])
    storage.close()

    bridge_factory(pushgateway.url, loki_url=loki.url, data_dir=data_dir)
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
