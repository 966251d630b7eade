"""Integrations under faults: one down while the others deliver; SIGKILL under load and a restart, after
which every acknowledged event reaches every sink, and none is in an export file twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from functools import partial
from pathlib import Path

import pytest
import requests

from bridge.conftest import Bridge, BridgeFactory
from bridge.integrations_support import BatchLoad, Receivers, csv_ids, exported_files, json_ids
from pushgateway_bridge.domain.event_batch import expanded
from stack import free_port, wait_until


@pytest.fixture
def receivers(tmp_path: Path, bridge_factory: BridgeFactory) -> Iterator[Receivers]:
    started = Receivers(tmp_path).start(bridge_factory)
    try:
        yield started
    finally:
        started.stop()


def integration_metric(bridge: Bridge, name: str, downstream: str) -> float | None:
    return bridge.own_metric(name, downstream=f"integration:{downstream}")


def outbox_ids(database: Path, downstream: str) -> set[str]:
    """The event ids still in the outbox for `downstream`, as committed (read-only, beside the bridge)."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT payload FROM outbox WHERE downstream = ?", (downstream,)).fetchall()
    return {event["event_id"] for event in expanded([json.loads(payload) for (payload,) in rows])}


def frozen_with_unnoted_batch(bridge: Bridge, receivers: Receivers) -> set[str]:
    """Stop the bridge; if an export file holds events its outbox still has, leave it stopped and return
    them, else let it go on."""
    os.kill(bridge.process.pid, signal.SIGSTOP)
    database = bridge.data_dir / "bridge.sqlite3"
    unnoted = outbox_ids(database, "integration:csv") & set(csv_ids(receivers.csv_path))
    unnoted |= outbox_ids(database, "integration:json") & set(json_ids(receivers.json_path))
    if not unnoted:
        os.kill(bridge.process.pid, signal.SIGCONT)
    return unnoted


def test_one_sink_down_the_others_deliver(receivers: Receivers, bridge_factory: BridgeFactory) -> None:
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    bridge = bridge_factory("http://127.0.0.1:9", config=receivers.config(otlp_endpoint=nothing_listens))
    receivers.webhook.outage = True  # 503 to everything
    load = BatchLoad(bridge.url).start()
    try:
        wait_until(lambda: len(load.acked) >= 300, timeout=30, what="300 acknowledged events")
        wait_until(
            lambda: (
                integration_metric(bridge, "bridge_downstream_up", "hook") == 0
                and integration_metric(bridge, "bridge_downstream_up", "collector") == 0
            ),
            what="the bridge seeing the webhook (503) and the Collector (not listening) down",
        )
        during = set(load.acked)
        # While two are down, the others take every acknowledged event.
        wait_until(lambda: during <= set(csv_ids(receivers.csv_path)), timeout=20, what="all in the CSV")
        wait_until(lambda: during <= set(json_ids(receivers.json_path)), timeout=20, what="all in the JSON")
        wait_until(
            lambda: during <= {e["event_id"] for e in receivers.sidecar.events},
            timeout=20,
            what="all at local_api",
        )
        wait_until(
            lambda: during <= set(receivers.old_loki.event_ids()), timeout=20, what="all in the old bridge"
        )
        assert not receivers.webhook.accepted
        assert integration_metric(bridge, "bridge_outbox_pending", "hook")
        assert integration_metric(bridge, "bridge_outbox_oldest_pending_age_seconds", "collector")
        assert bridge.own_metric(
            "bridge_forward_errors_total", downstream="integration:hook", kind="http_503"
        )
        errors = bridge.own_metric(
            "bridge_forward_errors_total", downstream="integration:collector", kind="unreachable"
        )
        assert errors
        ready = requests.get(f"{bridge.url}/ready", timeout=5).json()["downstreams"]
        assert ready["integration:hook"]["reachable"] is False
        assert "HTTP 503" in ready["integration:hook"]["last_error"]
        assert ready["integration:collector"]["reachable"] is False
        assert ready["integration:csv"]["reachable"] is True
        receivers.webhook.outage = False
    finally:
        acked = load.stop()
    wait_until(lambda: acked <= set(receivers.webhook.event_ids()), timeout=30, what="the webhook caught up")
    assert receivers.webhook.refusals == []
    assert integration_metric(bridge, "bridge_downstream_up", "hook") == 1


def test_sigkill_under_load_every_acknowledged_event_reaches_every_sink_once_in_the_files(
    tmp_path: Path, receivers: Receivers, bridge_factory: BridgeFactory
) -> None:
    # Small files, so rotation happens during the run, and small batches, so there are many.
    config = receivers.config(max_bytes=40_000, backups=100, batch_size=20)
    data_dir = tmp_path / "bridge"
    bridge = bridge_factory("http://127.0.0.1:9", config=config, data_dir=data_dir)
    port = int(bridge.url.rsplit(":", 1)[1])
    load = BatchLoad(bridge.url).start()
    try:
        wait_until(lambda: len(load.acked) >= 500, timeout=30, what="500 acknowledged events")
        # Freeze the bridge (SIGSTOP) until it is caught with a batch in an export file that its outbox
        # has not noted delivered (the window the files' crash rule is for), then SIGKILL it there.
        caught: set[str] = wait_until(
            partial(frozen_with_unnoted_batch, bridge, receivers),
            timeout=60,
            interval=0.01,
            what="the bridge frozen between writing a batch and noting it delivered",
        )
        bridge.process.kill()
    finally:
        acked = load.stop()
    assert len(acked) >= 500
    bridge_factory("http://127.0.0.1:9", config=config, data_dir=data_dir, port=port)

    expected = acked | caught  # a caught batch is committed, so it is delivered, 202 seen or not

    def everywhere() -> bool:
        return (
            expected <= set(receivers.webhook.event_ids())
            and expected <= set(receivers.otlp.event_ids())
            and expected <= {event["event_id"] for event in receivers.sidecar.events}
            and expected <= set(receivers.old_loki.event_ids())
            and expected <= set(csv_ids(receivers.csv_path))
            and expected <= set(json_ids(receivers.json_path))
        )

    wait_until(everywhere, timeout=60, what="every acknowledged event at every sink")
    assert all(csv_ids(receivers.csv_path)[i] + json_ids(receivers.json_path)[i] == 2 for i in caught)
    assert len(exported_files(receivers.csv_path)) > 1, "the CSV export rotated"
    assert {i: n for i, n in csv_ids(receivers.csv_path).items() if n > 1} == {}
    assert {i: n for i, n in json_ids(receivers.json_path).items() if n > 1} == {}
    assert receivers.webhook.refusals == []
    assert receivers.otlp.refusals == []
    assert receivers.sidecar.rejections == []
