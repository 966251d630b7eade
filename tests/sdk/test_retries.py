"""Retries: urllib3's Retry in the thin clients (jitter, Retry-After), one transient-status rule for the SDK.

urllib3's sleeps are recorded instead of slept (its retry module's `time` is replaced), so the tests assert
how long it would have waited without waiting or timing anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from uuid import uuid4

import pytest
import urllib3.util.retry

from fakes.seed_apis import ApiReceiver
from fakes.sidecar_api import EventReceiver
from monitoring_sdk import ApiError, AppRef, ClimateClient, Event, SidecarEmitter

# The rule, written out here so that a change to it is a visible change to this test.
TRANSIENT = (408, 425, 429, 500, 502, 503, 504)
AUTH = (401, 403)  # the emitter keeps such events for a later try with backoff; clients raise
PERMANENT = (400, 404, 409, 413, 422, 501, 505)


@pytest.fixture
def api() -> Iterator[ApiReceiver]:
    server = ApiReceiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """What urllib3's Retry slept between attempts, in order (it returns at once)."""
    sleeps: list[float] = []
    monkeypatch.setattr(urllib3.util.retry, "time", SimpleNamespace(sleep=sleeps.append, time=time.time))
    return sleeps


def test_retry_after_on_429_and_503_is_what_the_client_waits(api: ApiReceiver, slept: list[float]) -> None:
    api.fail_next = [(429, {"Retry-After": "7"}), (503, {"Retry-After": "3"})]
    monitor = ClimateClient(api.url, "svc", retries=2, backoff_s=0.01)
    assert monitor.update_status("up") == {"ok": True, "path": "/services/"}
    assert len(api.calls) == 3
    assert slept == [7, 3]


def test_retry_after_is_capped_at_max_backoff(api: ApiReceiver, slept: list[float]) -> None:
    api.fail_next = [(503, {"Retry-After": "3600"})]
    ClimateClient(api.url, "svc", retries=1, max_backoff_s=5).update_status("up")
    assert slept == [5]
    assert len(api.calls) == 2


def test_backoff_is_exponential_with_jitter(api: ApiReceiver, slept: list[float]) -> None:
    api.fail_next = [502, 502, 502]
    ClimateClient(api.url, "svc", retries=3, backoff_s=1).update_status("up")
    assert len(api.calls) == 4
    # urllib3 resends the first failure at once, then waits backoff_s * 2**n plus up to backoff_s of jitter.
    first, second = slept
    assert 2 <= first < 3
    assert 4 <= second < 5
    assert (first, second) != (2, 4)


def test_an_alert_is_not_resent_when_the_bridge_may_have_taken_it(
    api: ApiReceiver, slept: list[float]
) -> None:
    """Each alert counts and may notify someone: resent only when the server says it did not act on it."""
    monitor = ClimateClient(api.url, "svc", retries=2, backoff_s=0.01)
    api.fail_next = [502]
    with pytest.raises(ApiError) as raised:
        monitor.send_alert("Disk full", "on /data", severity="critical")
    assert raised.value.status == 502
    assert len(api.calls) == 1

    api.fail_next = [(503, {"Retry-After": "1"})]
    assert monitor.send_alert("Disk full", "on /data", severity="critical")["path"] == "/alerts/"
    assert len(api.calls) == 3
    assert slept == [1]

    api.fail_next = [502]  # a status report sets a value: resending it is harmless
    monitor.update_status("up")
    assert [c["path"] for c in api.calls[3:]] == ["/services/", "/services/"]


@pytest.mark.parametrize("status", TRANSIENT + AUTH + PERMANENT)
def test_clients_and_emitter_follow_one_status_rule(
    status: int, api: ApiReceiver, receiver: EventReceiver, slept: list[float]
) -> None:
    api.fail_next = [status]
    try:
        ClimateClient(api.url, "svc", retries=1).update_status("up")
    except ApiError as exc:
        assert exc.status == status
        assert exc.permanent
        client = "raised"
    else:
        client = "retried"

    receiver.fail_next = [status]
    emitter = SidecarEmitter(receiver.url, retries=1, backoff_s=0.01, max_backoff_s=60)
    emitter.emit(event())
    assert emitter.flush(5)  # the sender has decided: sent, spooled or rejected
    counts = (emitter.stats.sent, emitter.stats.spooled, emitter.stats.rejected)
    emitter.close()
    delivered = {(1, 0, 0): "retried", (0, 1, 0): "kept", (0, 0, 1): "dropped"}.get(counts, repr(counts))

    expected = {
        "transient": ("retried", "retried"),
        "auth": ("raised", "kept"),
        "permanent": ("raised", "dropped"),
    }
    kind = "transient" if status in TRANSIENT else "auth" if status in AUTH else "permanent"
    assert (client, delivered) == expected[kind]


def event() -> Event:
    app = AppRef(app_id=uuid4(), name="retry-test", version="1")
    return Event(site_id="s", app=app, entity_type="job", business_key="b", entity_id=uuid4(), kind="started")
