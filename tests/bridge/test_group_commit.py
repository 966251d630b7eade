"""Storage group commit, and the hot path's helpers: one transaction for many requests, nothing answered
before it is committed, a failed transaction failing everything that built on it, event ids, API keys."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest

from pushgateway_bridge.auth import Authenticator, AuthError
from pushgateway_bridge.domain.events import new_event_id
from pushgateway_bridge.domain.kinds import State
from pushgateway_bridge.jsontext import compact
from pushgateway_bridge.settings import load_settings
from pushgateway_bridge.storage.base import EntityWrite, OutboxItem, SpoolFull
from pushgateway_bridge.storage.sqlite import SQLiteStorage
from stack import wait_until

Results = list[BaseException | None]


def scheduler(key: str, value: int) -> EntityWrite:
    """A stand-in state: the storage keeps any JSON object, whatever its kind's TypedDict says."""
    return EntityWrite("scheduler", key, cast(State, {"scheduler_id": key, "value": value}))


@contextmanager
def held_writer(storage: SQLiteStorage) -> Iterator[None]:
    """Keep the writer inside a transaction, so whatever is submitted meanwhile queues up."""
    inside, release = threading.Event(), threading.Event()

    def hold(_db: sqlite3.Connection) -> None:
        inside.set()
        release.wait(10)

    holder = threading.Thread(target=storage.writer.execute, args=(hold,))
    holder.start()
    assert inside.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join(10)


def count_batches(storage: SQLiteStorage) -> list[int]:
    """The number of requests in each transaction the writer commits from now on."""
    batches: list[int] = []
    write = storage.writer._write

    def counting(batch: list[Any]) -> None:
        batches.append(len(batch))
        write(batch)

    storage.writer._write = counting  # type: ignore[method-assign]
    return batches


def in_thread(call: Callable[[], None]) -> tuple[threading.Thread, Results]:
    """Run a blocking storage call in a thread; its outcome (None or the error) lands in the list."""
    outcome: Results = []

    def run() -> None:
        try:
            call()
        except Exception as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_concurrent_commits_are_durable_and_ordered(tmp_path: Path) -> None:
    path = tmp_path / "bridge.sqlite3"
    storage = SQLiteStorage(path, 100_000)
    batches = count_batches(storage)

    def client(n: int) -> None:
        for i in range(50):
            storage.commit([scheduler(f"s{n}-{i}", i)], [OutboxItem("alertmanager", f"s{n}", {"i": i})])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(batches) == 400
    assert storage.pending_total() == 400
    storage.close()

    reopened = SQLiteStorage(path, 100_000)
    assert len(reopened.entities("scheduler")) == 400
    assert reopened.get("scheduler", "s3-49") == {"scheduler_id": "s3-49", "value": 49}
    assert reopened.pending_total() == 400
    due = reopened.due("alertmanager", time.time() + 1, 1000)
    assert [item.id for item in due] == sorted(item.id for item in due)
    for n in range(8):  # each client's items in the order it committed them
        assert [item.payload["i"] for item in due if item.key == f"s{n}"] == list(range(50))
    reopened.close()


def test_requests_queued_meanwhile_share_one_transaction_and_wait_for_it(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "bridge.sqlite3", 100_000)
    storage.commit([scheduler("a", 1)], [])
    batches = count_batches(storage)
    results: Results = []
    with held_writer(storage):
        storage.submit([scheduler("a", 2)], [OutboxItem("alertmanager", "a", {"n": 1})], results.append)
        storage.submit([scheduler("b", 1)], [OutboxItem("alertmanager", "b", {"n": 2})], results.append)
        # The next request for "a" builds on the staged state ...
        assert storage.get("scheduler", "a") == {"scheduler_id": "a", "value": 2}
        # ... but nothing uncommitted is pushed, listed or answered.
        assert storage.entities("scheduler") == {"a": {"scheduler_id": "a", "value": 1}}
        assert {key for _, key, _ in storage.dirty()} == {"a"}
        assert results == []
        assert storage.pending_total() == 0
    wait_until(lambda: len(results) == 2, what="both requests committed")
    assert results == [None, None]
    assert batches[-1] == 2  # one transaction for both
    assert storage.entities("scheduler")["a"].get("value") == 2
    assert storage.pending_total() == 2
    storage.close()


def test_a_failed_transaction_fails_everything_built_on_it(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "bridge.sqlite3", 3)
    storage.commit([scheduler("a", 1)], [OutboxItem("alertmanager", "a", {})])
    write = storage.writer._write

    def broken(batch: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    results: Results = []
    with held_writer(storage):
        storage.writer._write = broken  # type: ignore[method-assign]
        storage.submit([scheduler("a", 2)], [OutboxItem("alertmanager", "a", {})], results.append)
        storage.submit([scheduler("a", 3)], [OutboxItem("alertmanager", "a", {})], results.append)
        with pytest.raises(SpoolFull):  # 1 committed + 2 queued = spool_max_events
            storage.submit([], [OutboxItem("alertmanager", "a", {})], results.append)
    wait_until(lambda: len(results) == 2, what="both requests failed")
    assert all(isinstance(error, sqlite3.OperationalError) for error in results)
    assert storage.get("scheduler", "a") == {"scheduler_id": "a", "value": 1}  # staged writes dropped
    assert storage.pending_total() == 1

    storage.writer._write = write  # type: ignore[method-assign]
    storage.commit(
        [scheduler("a", 4)], [OutboxItem("alertmanager", "a", {}), OutboxItem("alertmanager", "a", {})]
    )
    assert storage.entities("scheduler")["a"].get("value") == 4
    assert storage.pending_total() == 3
    storage.close()


def test_a_failing_forwarder_job_does_not_fail_requests_in_its_transaction(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "bridge.sqlite3", 100)
    storage.commit([], [OutboxItem("alertmanager", "x", {"n": 1})])

    def bad(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM outbox")
        db.execute("INSERT INTO no_such_table VALUES (1)")

    results: Results = []
    with held_writer(storage):
        job, job_outcome = in_thread(lambda: storage.writer.execute(bad, -1))
        storage.submit([scheduler("a", 1)], [OutboxItem("alertmanager", "a", {"n": 2})], results.append)
        wait_until(lambda: len(storage.writer.queue) == 2, what="job and request queued together")
    job.join(10)
    wait_until(lambda: results, what="request committed")
    assert results == [None]
    assert isinstance(job_outcome[0], sqlite3.OperationalError)
    assert storage.get("scheduler", "a") == {"scheduler_id": "a", "value": 1}
    # The job's DELETE was rolled back with it; the request's item is there too.
    assert [item.payload["n"] for item in storage.due("alertmanager", time.time() + 1, 10)] == [1, 2]
    assert storage.pending_total() == 2
    storage.close()


def test_due_skips_items_waiting_for_retry_and_keeps_order(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "bridge.sqlite3", 100)
    payloads = [{"n": n, "line": json.dumps({"text": 'quote " and \\ and é'})} for n in range(5)]
    storage.commit([], [OutboxItem("notify", f"k{n}", payload) for n, payload in enumerate(payloads)])
    storage.commit([], [OutboxItem("alertmanager", "am", {"n": 99})])
    first = storage.due("notify", time.time() + 1, 10)
    assert [item.payload for item in first] == payloads
    assert [item.key for item in first] == [f"k{n}" for n in range(5)]
    assert {item.downstream for item in first} == {"notify"}
    storage.retry_later([first[1].id], time.time() + 60, "boom")
    storage.delivered([first[0]])
    again = storage.due("notify", time.time() + 1, 2)
    assert [item.payload["n"] for item in again] == [2, 3]
    assert storage.due("notify", time.time() + 120, 10)[0].attempts == 1
    assert storage.pending_total() == 5
    storage.close()


def test_event_ids_are_unique_random_uuids() -> None:
    ids = [new_event_id() for _ in range(2000)]
    assert len(set(ids)) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_a_known_key_is_remembered_and_still_rate_limited(tmp_path: Path) -> None:
    config = tmp_path / "bridge.yml"
    config.write_text(
        "api_keys:\n"
        f"  - {{name: k, sha256: {hashlib.sha256(b'k3y').hexdigest()},"
        " services: ['*'], schedulers: ['*'], rate_per_second: 2}\n"
    )
    auth = Authenticator(load_settings(config))
    first = auth.authenticate("k3y", None)
    assert auth.authenticate(None, "Bearer k3y") is first
    with pytest.raises(AuthError) as limited:  # the burst of 2 is used up
        auth.authenticate("k3y", None)
    assert limited.value.status == 429
    with pytest.raises(AuthError) as unknown:
        auth.authenticate("not-a-key", None)
    assert unknown.value.status == 401
    assert set(auth.known) == {"k3y"}  # unknown keys are not remembered


def test_a_waiter_that_raises_does_not_stop_the_writer(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "bridge.sqlite3", 100)

    def closed_loop(_error: BaseException | None) -> None:
        raise RuntimeError("Event loop is closed")

    storage.submit([scheduler("a", 1)], [], closed_loop)
    storage.commit([scheduler("a", 2)], [])  # would hang if the writer had died
    assert storage.entities("scheduler")["a"].get("value") == 2
    storage.close()


def test_writes_larger_than_one_statement_are_split(tmp_path: Path) -> None:
    path = tmp_path / "bridge.sqlite3"
    storage = SQLiteStorage(path, 100)
    storage.writer.max_params = 10  # 2 entities, 2 outbox rows, 10 ids per statement
    storage.commit(
        [scheduler(f"s{n}", n) for n in range(7)],
        [OutboxItem("alertmanager", f"k{n}", {"n": n}) for n in range(23)],
    )
    due = storage.due("alertmanager", time.time() + 1, 100)
    assert [item.payload["n"] for item in due] == list(range(23))
    storage.delivered(due[:21])
    assert storage.pending_total() == 2
    storage.close()
    reopened = SQLiteStorage(path, 100)
    assert sorted(reopened.entities("scheduler")) == [f"s{n}" for n in range(7)]
    assert [item.payload["n"] for item in reopened.due("alertmanager", time.time() + 1, 100)] == [21, 22]
    reopened.close()


@pytest.mark.parametrize(
    "value",
    [
        {"text": 'é "quoted" \\ \n \u2028 \x00', "big": 10**30, "float": 1e-7, "nan": float("nan")},
        {"nested": [{"a": None, "b": True}, (1, 2)], 3: "int key"},
        {"surrogate": "\ud800"},
        {"uuid": uuid.UUID(int=1)},
    ],
)
def test_compact_json_is_what_json_dumps_gives(value: dict[Any, Any]) -> None:
    text = compact(value)
    reference = json.dumps(value, default=str, separators=(",", ":"))
    assert json.dumps(json.loads(text)) == json.dumps(json.loads(reference))  # same JSON (NaN included)
    assert compact({"a": [1, {"b": "é"}]}) == '{"a":[1,{"b":"é"}]}'  # compact separators, UTF-8 as is
