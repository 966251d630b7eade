"""SidecarEmitter against the strict local receiver: batching, retries, spooling, order, bounded close."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from uuid import uuid4

import pytest

from fakes.sidecar_api import EventReceiver
from monitoring_sdk import AppRef, Event, SidecarEmitter
from monitoring_sdk.spool import Spool
from stack import free_port, wait_until

APP = AppRef(app_id=uuid4(), name="emitter-test", version="1.2.3")


def event(number: int, kind: str = "progress") -> Event:
    return Event(
        site_id="site1",
        app=APP,
        entity_type="job",
        business_key="batch",
        entity_id=uuid4(),
        kind=kind,  # type: ignore[arg-type]
        progress=0.5 if kind == "progress" else None,
        metadata={"n": number},
    )


def numbers(events: list[dict[str, object]]) -> list[int]:
    return [int(e["metadata"]["n"]) for e in events]  # type: ignore[index]


def spooled(spool: Spool) -> list[dict[str, object]]:
    """The spool's events, oldest first, without removing them."""
    return [row.event for row in spool.peek(10_000)]


def test_events_arrive_in_batches_in_order(receiver: EventReceiver) -> None:
    emitter = SidecarEmitter(receiver.url, batch_size=100, flush_interval_s=0.05)
    for number in range(250):
        emitter.emit(event(number))
    assert emitter.flush(10)
    emitter.close()

    assert numbers(receiver.events) == list(range(250))
    assert all(len(batch) <= 100 for batch in receiver.batches)
    assert len(receiver.batches) <= 10  # batched, not one request per event
    assert receiver.rejections == []
    assert emitter.stats.sent == 250
    assert emitter.stats.spooled == 0
    assert not emitter.spool.pending()


def test_api_key_comes_from_sidecar_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_API_KEY", "s3cret")
    server = EventReceiver(api_key="s3cret")
    server.start()
    try:
        with SidecarEmitter(server.url) as emitter:
            emitter.emit(event(1))
            assert emitter.flush(5)
        assert numbers(server.events) == [1]
        assert server.requests[0]["headers"]["x-api-key"] == "s3cret"
    finally:
        server.stop()


def test_api_key_argument_wins_over_sidecar_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_API_KEY", "from-the-environment")
    server = EventReceiver(api_key="from-the-argument")
    server.start()
    try:
        with SidecarEmitter(server.url, api_key="from-the-argument") as emitter:
            emitter.emit(event(1))
            assert emitter.flush(5)
        assert numbers(server.events) == [1]
        assert [r["headers"]["x-api-key"] for r in server.requests] == ["from-the-argument"]
    finally:
        server.stop()


def test_missing_key_is_not_sent(receiver: EventReceiver) -> None:
    with SidecarEmitter(receiver.url) as emitter:
        emitter.emit(event(1))
        assert emitter.flush(5)
    assert numbers(receiver.events) == [1]
    assert "x-api-key" not in receiver.requests[0]["headers"]


def test_transient_error_is_retried_with_the_same_event_ids(receiver: EventReceiver) -> None:
    receiver.fail_next = [503, 502]
    with SidecarEmitter(receiver.url, retries=2, backoff_s=0.01) as emitter:
        sent = event(7)
        emitter.emit(sent)
        assert emitter.flush(5)
    assert [r["status"] for r in receiver.requests] == [503, 502, 202]
    assert [e["event_id"] for e in receiver.events] == [str(sent.event_id)]
    assert emitter.stats.spooled == 0


def test_permanent_rejection_is_not_retried_nor_spooled(receiver: EventReceiver) -> None:
    receiver.fail_next = [422]
    with SidecarEmitter(receiver.url, retries=3, backoff_s=0.01) as emitter:
        emitter.emit(event(1))
        assert emitter.flush(5)
        assert emitter.stats.rejected == 1
        assert "HTTP 422" in (emitter.stats.last_error or "")
    assert len(receiver.requests) == 1
    assert not emitter.spool.pending()


def test_unreachable_bridge_spools_in_order_and_next_run_resends_first(sdk_env: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    emitter = SidecarEmitter(url, retries=1, backoff_s=0.01)
    for number in range(5):
        emitter.emit(event(number))
    emitter.close(timeout_s=3)
    assert numbers(spooled(emitter.spool)) == [0, 1, 2, 3, 4]
    assert emitter.spool.path.parent == sdk_env

    server = EventReceiver(port=port)
    server.start()
    try:
        with SidecarEmitter(url) as later:  # a later run of the job, same bridge URL -> same spool
            later.emit(event(5))
            assert later.flush(5)
        assert numbers(server.events) == [0, 1, 2, 3, 4, 5]
        assert not later.spool.pending()
    finally:
        server.stop()


def test_emit_returns_while_the_sender_is_inside_a_request(receiver: EventReceiver) -> None:
    """The caller never waits on the network: its emits complete while the bridge holds a request open."""
    receiver.gate.clear()
    emitter = SidecarEmitter(receiver.url, timeout_s=30, flush_interval_s=0.01)

    def caller_job() -> None:
        for number in range(6):
            emitter.emit(event(number))

    caller = threading.Thread(target=caller_job)
    try:
        caller.start()
        assert receiver.held.wait(5), "the sender never reached the bridge"
        caller.join(5)  # a condition, not a speed: the held request would take 30 s to time out
        assert not caller.is_alive(), "emit() waited while the bridge had not answered"
    finally:
        receiver.gate.set()
    assert emitter.flush(5)
    emitter.close()
    assert numbers(receiver.events) == [0, 1, 2, 3, 4, 5]


def test_bridge_back_during_the_process_gets_the_spool_in_order() -> None:
    server = EventReceiver()
    emitter = SidecarEmitter(server.url, retries=0, backoff_s=0.02, max_backoff_s=0.2, flush_interval_s=0.02)
    try:
        for number in range(3):
            emitter.emit(event(number))
        wait_until(lambda: emitter.stats.spooled >= 3, timeout=5, what="events spooled")
        server.start()
        for number in range(3, 6):
            emitter.emit(event(number))
        wait_until(lambda: len(server.events) >= 6, timeout=5, what="spool resent")
        assert numbers(server.events) == list(range(6))
        wait_until(lambda: not emitter.spool.pending(), timeout=5, what="spool emptied")
    finally:
        emitter.close()
        server.stop()


def test_close_returns_after_its_timeout_while_the_bridge_holds_the_request(receiver: EventReceiver) -> None:
    """close(timeout_s=...) gives up on a request the bridge never answers and spools the events, in order."""
    receiver.gate.clear()  # the bridge takes the request and answers only when the test lets it
    emitter = SidecarEmitter(receiver.url, timeout_s=60, close_timeout_s=60, flush_interval_s=0.01)
    for number in range(3):
        emitter.emit(event(number))
    try:
        assert receiver.held.wait(5), "the sender never reached the bridge"
        closer = threading.Thread(target=emitter.close, kwargs={"timeout_s": 0.2})
        closer.start()
        closer.join(10)  # a condition, not a speed: waiting for the held request would take 60 s
        assert not closer.is_alive(), "close() waited for the bridge's answer"
        assert receiver.requests == []  # it returned while the bridge still held the sender's request
        # The sender's batch and the queue's rest are on disk, in order.
        assert numbers(spooled(emitter.spool)) == [0, 1, 2]
    finally:
        receiver.gate.set()


def test_emit_after_close_goes_to_the_spool(receiver: EventReceiver) -> None:
    emitter = SidecarEmitter(receiver.url)
    emitter.close()
    emitter.emit(event(1))
    assert len(emitter.spool) == 1


def test_sidecar_url_is_read_from_the_environment(
    receiver: EventReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIDECAR_URL", receiver.url + "/")
    with SidecarEmitter() as emitter:
        assert emitter.base_url == receiver.url
        emitter.emit(event(1))
        assert emitter.flush(5)
    assert numbers(receiver.events) == [1]


def test_bad_sidecar_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_URL", "localhost:17000")
    with pytest.raises(ValueError, match="SIDECAR_URL"):
        SidecarEmitter()


def test_event_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="progress"):
        Event(
            site_id="s", app=APP, entity_type="job", business_key="b", entity_id=uuid4(), kind="progress",
            progress=1.5,
        )  # fmt: skip
    with pytest.raises(ValueError, match="kind"):
        Event(site_id="s", app=APP, entity_type="job", business_key="b", entity_id=uuid4(), kind="done")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AppRef(app_id="not-a-uuid", name="a", version="1")


def test_process_exit_spools_after_close_timeout_while_the_bridge_holds_the_request(
    receiver: EventReceiver, tmp_path: Path
) -> None:
    """No close() call, as in the seed snippet: the exit flush gives up after close_timeout_s and spools."""
    receiver.gate.clear()  # the bridge takes the request and answers only when the test lets it
    script = tmp_path / "job.py"
    script.write_text(
        "import sys\n"
        "from uuid import uuid4\n"
        "from monitoring_sdk import AppRef, Monitored, SidecarEmitter\n"
        "emitter = SidecarEmitter(timeout_s=60, close_timeout_s=0.2)\n"
        "app = AppRef(app_id=uuid4(), name='a', version='1')\n"
        "with Monitored(site_id='s', app=app, business_key='b', emitter=emitter):\n"
        "    pass\n"
        "sys.stdin.readline()  # the test lets the job end once the bridge holds the sender's request\n"
    )
    spool_dir = tmp_path / "spool"
    env = {"PATH": "/usr/bin:/bin", "SIDECAR_URL": receiver.url, "SIDECAR_SPOOL_DIR": str(spool_dir)}
    job = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.held.wait(30), "the job's sender never reached the bridge"
        try:
            _, stderr = job.communicate("end\n", timeout=30)  # a condition: the held request lasts 60 s
        except subprocess.TimeoutExpired:
            pytest.fail("the job's exit waited for the bridge's answer")
        assert job.returncode == 0, stderr
        assert receiver.requests == []  # it exited while the bridge still held the sender's request
    finally:
        receiver.gate.set()
        if job.poll() is None:
            job.kill()
            job.communicate()
    # The sender was stuck in its first request: close() spooled its batch and the queue, in order.
    (path,) = spool_dir.glob("spool-*.sqlite3")
    assert [event["kind"] for event in spooled(Spool(path))] == ["started", "finished"]


def test_one_process_at_a_time_resends_a_shared_spool(receiver: EventReceiver, tmp_path: Path) -> None:
    spool = tmp_path / "shared.sqlite3"
    first = SidecarEmitter(receiver.url, spool_path=spool)
    first.spool.append([event(number).to_json() for number in range(3)])
    with first.spool.draining() as mine:  # as if another process were resending it right now
        assert mine
        with SidecarEmitter(receiver.url, spool_path=spool, backoff_s=0.05) as second:
            second.emit(event(3))
            assert second.flush(5)
            assert receiver.events == []  # queued behind the spool, which is not its turn to send
    with SidecarEmitter(receiver.url, spool_path=spool) as third:
        third.emit(event(4))
        assert third.flush(5)
    assert numbers(receiver.events) == [0, 1, 2, 3, 4]
    first.close()
