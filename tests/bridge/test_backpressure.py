"""Backpressure (`backpressure_pending_items`): with Loki slower than intake, writes wait for delivery and
the backlog stays near the limit, every accepted event delivered; with Loki failing, writes do not wait
(the spool holds what waits for its retry)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from bridge.conftest import Bridge, BridgeFactory
from bridge.test_durability import HEADERS, sidecar_event
from fakes.loki import LokiReceiver
from stack import Pushgateway, wait_until

LIMIT = 200
BATCH = 50
SENDERS = 4


@pytest.fixture
def slow_loki() -> Iterator[LokiReceiver]:
    receiver = LokiReceiver().start()
    receiver.delay_seconds = 0.1  # at most 50 entries a push: about 500 events/s delivered
    try:
        yield receiver
    finally:
        receiver.stop()


def backpressured(factory: BridgeFactory, pushgateway: Pushgateway, loki: LokiReceiver) -> Bridge:
    return factory(
        pushgateway.url,
        loki_url=loki.url,
        extra_env={
            "BRIDGE_BACKPRESSURE_PENDING_ITEMS": str(LIMIT),
            "BRIDGE_BACKPRESSURE_MAX_WAIT_SECONDS": "60",  # far past the requests' timeout
            "BRIDGE_LOKI_BATCH_MAX_ENTRIES": "50",
            "BRIDGE_RETRY_INITIAL_SECONDS": "5",
        },
    )


def batch() -> dict[str, object]:
    return {"events": [sidecar_event(f"job-{n % 5}") for n in range(BATCH)]}


def pending(bridge: Bridge) -> float:
    return bridge.own_metric("bridge_outbox_pending", downstream="loki") or 0.0


def test_writes_wait_for_a_slow_loki_and_the_backlog_stays_near_the_limit(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, slow_loki: LokiReceiver
) -> None:
    bridge = backpressured(bridge_factory, pushgateway, slow_loki)
    url = f"{bridge.url}/v1/events/batch"
    accepted: list[str] = []
    lock = threading.Lock()

    def send() -> None:
        for _ in range(12):
            answer = requests.post(url, json=batch(), headers=HEADERS, timeout=30)
            assert answer.status_code == 202, answer.text
            with lock:
                accepted.extend(answer.json()["event_ids"])

    senders = [threading.Thread(target=send) for _ in range(SENDERS)]
    for sender in senders:
        sender.start()
    seen: list[float] = []
    while any(sender.is_alive() for sender in senders):
        seen.append(pending(bridge))
    for sender in senders:
        sender.join()
    # Unchecked, 2,400 events would be in within a second or two while Loki takes five. Checked, the
    # backlog passes the limit by at most the writes that found it under the limit at once.
    assert len(accepted) == SENDERS * 12 * BATCH
    assert max(seen) <= LIMIT + SENDERS * BATCH, max(seen)
    assert (bridge.own_metric("bridge_backpressure_seconds_total") or 0) > 0
    wait_until(lambda: pending(bridge) == 0, timeout=60, what="the backlog delivered")
    wait_until(lambda: set(slow_loki.event_ids()) >= set(accepted), what="every accepted event in Loki")


def test_writes_do_not_wait_while_loki_fails(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, loki: LokiReceiver
) -> None:
    loki.fail_with = 503
    bridge = backpressured(bridge_factory, pushgateway, loki)
    url = f"{bridge.url}/v1/events/batch"
    first = requests.post(url, json=batch(), headers=HEADERS, timeout=10)
    assert first.status_code == 202
    wait_until(lambda: loki.failed > 0, what="a refused push")
    wait_until(lambda: bridge.own_metric("bridge_downstream_up", downstream="loki") == 0, what="loki down")
    # Past the limit while Loki is down: each write is answered at once, not after the 60 s wait.
    for _ in range(2 * LIMIT // BATCH):
        assert requests.post(url, json=batch(), headers=HEADERS, timeout=10).status_code == 202
    assert pending(bridge) > LIMIT
