"""Monitored as context manager and decorator, against the strict local receiver."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import uuid4

import pytest

import monitoring_sdk
from fakes.sidecar_api import EventReceiver
from monitoring_sdk import AppRef, Monitored, SidecarEmitter
from stack import free_port

APP = AppRef(app_id=uuid4(), name="my-app", version="1.0.0")


@pytest.fixture
def emitter(receiver: EventReceiver) -> Iterator[SidecarEmitter]:
    with SidecarEmitter(receiver.url, flush_interval_s=0.02) as sender:
        yield sender


def delivered(receiver: EventReceiver, emitter: SidecarEmitter) -> list[dict[str, Any]]:
    assert emitter.flush(5)
    assert receiver.rejections == []
    return list(receiver.events)


def busy(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_job_reports_started_and_finished_with_usage(
    receiver: EventReceiver, emitter: SidecarEmitter
) -> None:
    with Monitored(site_id="site1", app=APP, entity_type="job", business_key="daily-batch", emitter=emitter):
        busy(0.2)
        block = bytearray(64 * 1024 * 1024)  # raises the process's peak RSS
        block[::4096] = b"x" * len(block[::4096])
        del block

    started, finished = delivered(receiver, emitter)
    assert started["kind"] == "started"
    assert finished["kind"] == "finished"
    assert started["entity_id"] == finished["entity_id"]
    assert started["event_id"] != finished["event_id"]
    assert started["parent_id"] is None
    assert started["app"] == {"app_id": str(APP.app_id), "name": "my-app", "version": "1.0.0"}
    assert (started["site_id"], started["entity_type"], started["business_key"]) == (
        "site1",
        "job",
        "daily-batch",
    )
    assert datetime.fromisoformat(finished["timestamp"]) >= datetime.fromisoformat(started["timestamp"])
    assert finished["duration_s"] >= 0.2
    assert finished["cpu_seconds"] >= 0.15
    assert finished["memory_bytes"] >= 64 * 1024 * 1024
    assert "duration_s" not in started


def test_failure_is_reported_and_the_same_exception_propagates(
    receiver: EventReceiver, emitter: SidecarEmitter
) -> None:
    error = KeyError("missing-wafer")
    with (
        pytest.raises(KeyError) as raised,
        Monitored(site_id="site1", app=APP, business_key="daily-batch", emitter=emitter),
    ):
        raise error
    assert raised.value is error

    _, failed = delivered(receiver, emitter)
    assert failed["kind"] == "failed"
    assert failed["metadata"]["error_type"] == "KeyError"
    assert failed["metadata"]["error_message"] == "'missing-wafer'"
    assert "raise error" in failed["metadata"]["stack_trace"]
    assert failed["message"] == "KeyError: 'missing-wafer'"
    assert failed["duration_s"] >= 0


def test_nested_blocks_are_subjobs_of_the_enclosing_job(
    receiver: EventReceiver, emitter: SidecarEmitter
) -> None:
    with Monitored(site_id="site1", app=APP, business_key="daily-batch", emitter=emitter) as job:
        with Monitored(entity_type="subjob", business_key="extract") as extract:
            pass
        with (
            Monitored(entity_type="subjob", business_key="load") as load,
            Monitored(entity_type="step", business_key="upsert") as upsert,
        ):
            pass

    events = delivered(receiver, emitter)
    order = [(e["business_key"], e["kind"]) for e in events]
    assert order == [
        ("daily-batch", "started"),
        ("extract", "started"),
        ("extract", "finished"),
        ("load", "started"),
        ("upsert", "started"),
        ("upsert", "finished"),
        ("load", "finished"),
        ("daily-batch", "finished"),
    ]
    parents = {e["business_key"]: e["parent_id"] for e in events}
    assert parents == {
        "daily-batch": None,
        "extract": str(job.entity_id),
        "load": str(job.entity_id),
        "upsert": str(load.entity_id),
    }
    assert extract.site_id == "site1"
    assert upsert.app == APP
    assert monitoring_sdk.current() is None


def test_progress_as_ratio_and_as_count(receiver: EventReceiver, emitter: SidecarEmitter) -> None:
    with Monitored(site_id="site1", app=APP, business_key="daily-batch", emitter=emitter) as job:
        job.progress(0.25, message="downloaded")
        monitoring_sdk.progress(30, 40, "rows")
        job.progress(3.0)  # out of range: clamped, never raises into the job

    progress = [e for e in delivered(receiver, emitter) if e["kind"] == "progress"]
    assert [(e["progress"], e.get("message")) for e in progress] == [
        (0.25, "downloaded"),
        (0.75, "rows"),
        (1.0, None),
    ]
    assert progress[1]["metadata"] == {"done": 30, "total": 40}


def test_decorator_makes_each_call_a_job(receiver: EventReceiver, emitter: SidecarEmitter) -> None:
    @Monitored(site_id="site1", app=APP, emitter=emitter)
    def nightly(value: int) -> int:
        return value * 2

    assert nightly(2) == 4
    assert nightly(3) == 6
    events = delivered(receiver, emitter)
    assert [e["kind"] for e in events] == ["started", "finished", "started", "finished"]
    assert events[0]["entity_id"] != events[2]["entity_id"]
    assert {e["business_key"] for e in events} == {nightly.__wrapped__.__qualname__}  # type: ignore[attr-defined]


def test_async_decorator(receiver: EventReceiver, emitter: SidecarEmitter) -> None:
    @Monitored(site_id="site1", app=APP, business_key="async-job", emitter=emitter)
    async def job() -> str:
        await asyncio.sleep(0.01)
        return "ok"

    assert asyncio.run(job()) == "ok"
    assert [e["kind"] for e in delivered(receiver, emitter)] == ["started", "finished"]


def test_site_id_comes_from_site_id_variable(
    receiver: EventReceiver, emitter: SidecarEmitter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SITE_ID", "site-env")
    with Monitored(app=APP, business_key="b", emitter=emitter):
        pass
    assert {e["site_id"] for e in delivered(receiver, emitter)} == {"site-env"}


def test_missing_site_id_is_a_clear_error(emitter: SidecarEmitter) -> None:
    with pytest.raises(ValueError, match="site_id"), Monitored(app=APP, business_key="b", emitter=emitter):
        pass


def test_a_block_instance_runs_once(emitter: SidecarEmitter) -> None:
    block = Monitored(site_id="s", app=APP, business_key="b", emitter=emitter)
    with block:
        pass
    with pytest.raises(RuntimeError), block:
        pass


def test_bridge_down_does_not_slow_the_job() -> None:
    """The job's events only queue: it ends while the sender waits out a minute's backoff after a refusal."""
    emitter = SidecarEmitter(f"http://127.0.0.1:{free_port()}", retries=3, backoff_s=60, max_backoff_s=60)

    def job_with_steps() -> None:
        with Monitored(site_id="s", app=APP, business_key="b", emitter=emitter) as job:
            for step in range(10):
                job.progress(step, 10)

    job = threading.Thread(target=job_with_steps)
    job.start()
    job.join(10)  # a condition, not a speed: waiting on the sender would take minutes of backoff
    assert not job.is_alive(), "the job waited on the bridge"
    # Nothing is on disk yet: the sender still holds its first batch between two tries.
    assert (emitter.stats.sent, emitter.stats.spooled) == (0, 0)
    emitter.close(timeout_s=2)
    assert len(emitter.spool) == 12
