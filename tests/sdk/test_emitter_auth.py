"""SidecarEmitter when the bridge refuses the key (401/403) or asks to come back later (Retry-After)."""

from __future__ import annotations

import logging
from uuid import uuid4

import pytest

from fakes.sidecar_api import EventReceiver
from monitoring_sdk import AppRef, Event, SidecarEmitter
from stack import wait_until

APP = AppRef(app_id=uuid4(), name="auth-test", version="1")


def event(number: int) -> Event:
    return Event(
        site_id="s", app=APP, entity_type="job", business_key="b", entity_id=uuid4(), kind="started",
        metadata={"n": number},
    )  # fmt: skip


def numbers(events: list[dict[str, object]]) -> list[int]:
    return [int(e["metadata"]["n"]) for e in events]  # type: ignore[index]


def spooled(emitter: SidecarEmitter) -> list[int]:
    return numbers([row.event for row in emitter.spool.peek(1000)])


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_keeps_the_events_logs_one_error_and_backs_off(
    status: int, receiver: EventReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.fail_next = [status] * 10
    emitter = SidecarEmitter(receiver.url, backoff_s=60, max_backoff_s=60, flush_interval_s=0.01)
    with caplog.at_level(logging.INFO, logger="monitoring_sdk"):
        emitter.emit(event(0))
        wait_until(lambda: emitter.stats.spooled == 1, timeout=5, what="the refused batch spooled")
        emitter.emit(event(1))
        emitter.emit(event(2))
        wait_until(lambda: emitter.stats.spooled == 3, timeout=5, what="later events queued behind it")
        emitter.close()

    # The first batch, then close()'s one last try: the later events waited on disk for the backoff.
    assert [r["status"] for r in receiver.requests] == [status, status]
    assert spooled(emitter) == [0, 1, 2]
    assert emitter.stats.rejected == 0
    assert f"HTTP {status}" in (emitter.stats.last_error or "")
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.levelno == logging.ERROR
    assert "SIDECAR_API_KEY" in record.getMessage()


def test_events_kept_for_a_refused_key_are_sent_once_the_bridge_takes_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = EventReceiver(api_key="rotated")
    server.start()
    emitter = SidecarEmitter(
        server.url, api_key="the-jobs-key", backoff_s=0.02, max_backoff_s=0.05, flush_interval_s=0.01
    )
    try:
        with caplog.at_level(logging.ERROR, logger="monitoring_sdk"):
            emitter.emit(event(0))
            emitter.emit(event(1))
            wait_until(lambda: len(emitter.spool) == 2, timeout=5, what="refused events spooled")
            wait_until(lambda: len(server.requests) >= 3, timeout=5, what="tries with backoff")
        server.api_key = "the-jobs-key"  # the bridge's configuration is fixed
        wait_until(lambda: len(server.events) == 2, timeout=5, what="the spool resent")
        emitter.emit(event(2))
        assert emitter.flush(5)
        emitter.close()
        assert numbers(server.events) == [0, 1, 2]
        assert not emitter.spool.pending()
        assert emitter.stats.rejected == 0
        assert len(caplog.records) == 1  # one ERROR however many tries
    finally:
        emitter.close()
        server.stop()


def test_a_later_run_with_the_right_key_sends_what_a_wrong_key_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    server = EventReceiver(api_key="right")
    server.start()
    try:
        monkeypatch.setenv("SIDECAR_API_KEY", "wrong")
        with SidecarEmitter(server.url) as first:
            first.emit(event(0))
            first.emit(event(1))
        assert spooled(first) == [0, 1]

        monkeypatch.setenv("SIDECAR_API_KEY", "right")
        with SidecarEmitter(server.url) as later:  # same bridge URL: same spool
            later.emit(event(2))
            assert later.flush(5)
        assert numbers(server.events) == [0, 1, 2]
        assert not later.spool.pending()
    finally:
        server.stop()


def test_retry_after_on_503_keeps_the_batch_on_disk_until_then(receiver: EventReceiver) -> None:
    receiver.fail_next = [(503, {"Retry-After": "60"})]
    emitter = SidecarEmitter(
        receiver.url, retries=2, backoff_s=0.01, max_backoff_s=120, flush_interval_s=0.01
    )
    emitter.emit(event(0))
    wait_until(lambda: emitter.stats.spooled == 1, timeout=5, what="the batch spooled, not retried at once")
    emitter.emit(event(1))
    wait_until(lambda: emitter.stats.spooled == 2, timeout=5, what="the next event queued behind it")
    assert [r["status"] for r in receiver.requests] == [503]
    emitter.close()  # one last try at exit, whatever the wait
    assert [r["status"] for r in receiver.requests] == [503, 202]
    assert numbers(receiver.events) == [0, 1]


def test_retry_after_is_capped_at_max_backoff(receiver: EventReceiver) -> None:
    receiver.fail_next = [(429, {"Retry-After": "3600"})]
    emitter = SidecarEmitter(receiver.url, backoff_s=0.01, max_backoff_s=0.05, flush_interval_s=0.01)
    try:
        emitter.emit(event(0))
        wait_until(lambda: numbers(receiver.events) == [0], timeout=5, what="resent after max_backoff_s")
        assert emitter.stats.spooled == 1
    finally:
        emitter.close()
