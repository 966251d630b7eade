"""The outbox forwarder's step over a real SQLite outbox: what the sink is given and when it steps again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pushgateway_bridge.delivery.settings import DeliverySettings
from pushgateway_bridge.forwarder import OutboxWorker
from pushgateway_bridge.metrics import BridgeMetrics
from pushgateway_bridge.settings import Settings
from pushgateway_bridge.storage.base import OutboxItem
from pushgateway_bridge.storage.sqlite import SQLiteStorage

IDLE = 7.0


class Recording:
    def __init__(self) -> None:
        self.sent: list[list[dict[str, Any]]] = []

    def send(self, payloads: list[dict[str, Any]]) -> None:
        self.sent.append(payloads)

    def close(self) -> None:
        return None


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SQLiteStorage]:
    opened = SQLiteStorage(tmp_path / "bridge.sqlite3", 10_000)
    try:
        yield opened
    finally:
        opened.close()


def worker(storage: SQLiteStorage, sink: Recording, batch_size: int) -> OutboxWorker:
    pacing = DeliverySettings.of(Settings())
    return OutboxWorker("integration:test", sink, pacing, storage, BridgeMetrics(), batch_size, IDLE)


def batch(n: int, size: int) -> OutboxItem:
    events = [{"kind": "started", "app": {"name": "a"}}] * size
    row = {"sidecar_events": events, "event_ids": [f"{n}-{i}" for i in range(size)], "received": 1.0}
    return OutboxItem("integration:test", f"k{n}", row, size)


def test_a_full_step_of_batches_steps_again_at_once_and_the_sink_gets_their_events(
    storage: SQLiteStorage,
) -> None:
    """Rows of batches are fewer than the step's size in events: counted as events, the step is full, so
    the backlog behind it is delivered without waiting `idle_wait` between steps."""
    storage.commit([], [batch(n, 40) for n in range(4)])
    sink = Recording()
    forwarder = worker(storage, sink, batch_size=100)
    assert forwarder.step() == 0.0  # 40 + 40 + 40 rows: 120 events, a full step
    assert [event["event_id"] for event in sink.sent[0]] == [f"{n}-{i}" for n in range(3) for i in range(40)]
    assert storage.pending_total() == 40
    assert forwarder.step() == IDLE  # the last 40: less than a step, nothing more is due
    assert storage.pending_total() == 0
    assert forwarder.step() == IDLE and len(sink.sent) == 2


def test_single_items_still_count_one_each(storage: SQLiteStorage) -> None:
    storage.commit([], [OutboxItem("integration:test", f"k{n}", {"n": n}) for n in range(5)])
    sink = Recording()
    forwarder = worker(storage, sink, batch_size=3)
    assert forwarder.step() == 0.0
    assert sink.sent == [[{"n": 0}, {"n": 1}, {"n": 2}]]
    assert forwarder.step() == IDLE
