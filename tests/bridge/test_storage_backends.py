"""The `Storage` protocol on both backends (SQLite, and the real PostgreSQL started by the test), then what
sharing one PostgreSQL between bridges adds: transitions applied again under the row lock, outbox items taken
by one bridge at a time, client event ids recognised on any bridge, one pusher, records announced."""

from __future__ import annotations

import functools
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, cast

import pytest

from bridge.conftest import BRIDGE_BIN
from pushgateway_bridge.domain import event_batch
from pushgateway_bridge.domain.events import EVENTS
from pushgateway_bridge.domain.kinds import State
from pushgateway_bridge.storage.base import EntityWrite, OutboxItem, SpoolFull, Storage
from pushgateway_bridge.storage.group_commit import Waiter
from pushgateway_bridge.storage.outbox import DECODE_ROWS
from pushgateway_bridge.storage.postgres import PostgresStorage
from pushgateway_bridge.storage.records import Page, RecordWrite
from pushgateway_bridge.storage.sqlite import SQLiteStorage
from stack import free_port, postgres, wait_until


def job(runs: int) -> State:
    return cast(State, {"site": "s", "app": "a", "entity_type": "job", "business_key": "k", "runs": runs})


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    opened: Storage
    if request.param == "sqlite":
        opened = SQLiteStorage(tmp_path / "bridge.sqlite3", 100)
    else:
        opened = PostgresStorage(request.getfixturevalue("postgres_url"), 100)
    try:
        yield opened
    finally:
        opened.close()


def submit(storage: Storage, **kwargs: Any) -> None:
    waiter = Waiter()
    storage.submit(kwargs.pop("writes", ()), kwargs.pop("outbox", ()), waiter.done, **kwargs)
    waiter.wait()


def test_entities_read_back_and_what_needs_a_push(storage: Storage) -> None:
    storage.commit([EntityWrite("sidecar", "a", job(1)), EntityWrite("sidecar", "b", job(2))], [])
    assert storage.get("sidecar", "a") == job(1)
    assert storage.snapshot("sidecar", "b") == job(2)
    assert storage.entities("sidecar") == {"a": job(1), "b": job(2)}
    assert storage.get("sidecar", "missing") is None
    dirty = {(kind, key): version for kind, key, version in storage.dirty()}
    assert set(dirty) == {("sidecar", "a"), ("sidecar", "b")}
    storage.mark_pushed("sidecar", "a", dirty[("sidecar", "a")])
    assert [key for _, key, _ in storage.dirty()] == ["b"]
    storage.commit([EntityWrite("sidecar", "a", job(3))], [])  # written again: behind Pushgateway again
    assert {key for _, key, _ in storage.dirty()} == {"a", "b"}
    storage.mark_all_dirty()
    assert len(storage.dirty()) == 2


def test_deleted_and_expired_entities_become_tombstones_until_forgotten(storage: Storage) -> None:
    storage.commit([EntityWrite("sidecar", "old", job(1)), EntityWrite("sidecar", "gone", job(2))], [])
    storage.commit([EntityWrite("sidecar", "gone", None)], [])
    assert storage.get("sidecar", "gone") is None
    assert storage.expire("sidecar", older_than=0.0) == []  # nothing that old
    expired = storage.expire("sidecar", older_than=float("inf"))
    assert expired == [("old", job(1))]
    assert sorted(storage.tombstones()) == [("sidecar", "gone", job(2)), ("sidecar", "old", job(1))]
    assert storage.entities("sidecar") == {}
    storage.forget_tombstone("sidecar", "gone")
    assert storage.tombstones() == [("sidecar", "old", job(1))]


def test_client_event_ids_are_claimed_once_and_released_for_a_resend(storage: Storage) -> None:
    assert storage.claim(["e1", "e2"]) == [True, True]
    assert storage.claim(["e2", "e3"]) == [False, True]
    storage.release(["e3"])  # its submission was refused
    assert storage.claim(["e3"]) == [True]
    submit(storage, writes=[EntityWrite("sidecar", "a", job(1))], seen=["e1"])
    storage.release(["e1"])  # committed: releasing a committed id is too late (PostgreSQL) or forgets it
    assert storage.claim(["e2"]) == [False]


def test_outbox_items_are_due_in_order_retried_later_and_dead_lettered(storage: Storage) -> None:
    items = [OutboxItem("alertmanager", f"k{i}", {"n": i}) for i in range(4)]
    storage.commit([], items)
    assert storage.pending_total() == 4
    due = storage.due("alertmanager", now=float("inf"), limit=3)
    assert [item.payload for item in due] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert storage.due("other", now=float("inf"), limit=10) == []
    storage.delivered([due[0]])
    storage.retry_later([due[1].id], next_attempt=float("inf"), error="503")
    storage.dead_letter([due[2]], "400 bad request")
    assert storage.dead_letters("alertmanager") == [("alertmanager", "k2", "400 bad request")]
    assert storage.pending_stats()["alertmanager"][0] == 2
    assert storage.pending_total() == 2


def test_an_item_holding_several_deliveries_counts_as_them(storage: Storage) -> None:
    """A sidecar batch is one row holding its events (domain/event_batch.py): the spool limit, the backlog
    and a delivery step count the events, and a step never splits a row."""
    batches = [OutboxItem("alertmanager", f"b{i}", {"n": i}, deliveries=30) for i in range(3)]
    storage.commit([], [*batches, OutboxItem("alertmanager", "one", {"n": 3})])
    assert storage.pending_total() == 91
    assert storage.pending_stats()["alertmanager"][0] == 91
    due = storage.due(
        "alertmanager", now=float("inf"), limit=50
    )  # 30 so far is short of 50: the second one too
    assert [(item.payload, item.deliveries) for item in due] == [({"n": 0}, 30), ({"n": 1}, 30)]
    storage.delivered(due[:1])
    storage.dead_letter(due[1:], "400 bad request")
    assert storage.pending_total() == 31
    assert storage.pending_stats()["alertmanager"][0] == 31
    assert [item.payload for item in storage.due("alertmanager", now=float("inf"), limit=1)] == [{"n": 2}]
    with pytest.raises(SpoolFull):  # 31 + 70 > the fixture's spool_max_events of 100
        storage.commit([], [OutboxItem("alertmanager", "big", {"n": 4}, deliveries=70)])
    storage.commit([], [OutboxItem("alertmanager", "fits", {"n": 5}, deliveries=69)])
    assert storage.pending_total() == 100


def test_the_events_of_a_commit_share_a_row_in_order_around_a_sidecar_batch(storage: Storage) -> None:
    """Neutral events for the event sinks that follow each other in a transaction are one row
    (storage/base.py `outbox_rows`); a sidecar request's batch, already one row, keeps its place between
    them, and other downstreams' items keep a row each."""
    sidecar = event_batch.encoded(
        b'[{"kind":"started","app":{"name":"x"}},{"kind":"finished","app":{"name":"x"}}]',
        ["s1", "s2"],
        1.0,
        None,
    )
    storage.commit(
        [],
        [
            OutboxItem(EVENTS, "a", {"event_id": "e1"}),
            OutboxItem("alertmanager", "a", {"alert": 1}),
            OutboxItem(EVENTS, "b", {"event_id": "e2"}),
            OutboxItem(EVENTS, "c", sidecar, 2),
            OutboxItem(EVENTS, "d", {"event_id": "e3"}),
        ],
    )
    assert storage.pending_total() == 6
    due = storage.due(EVENTS, now=float("inf"), limit=100)
    assert [(item.key, item.deliveries) for item in due] == [("a", 2), ("c", 2), ("d", 1)]
    events = event_batch.expanded([item.payload for item in due])
    assert [event["event_id"] for event in events] == ["e1", "e2", "s1", "s2", "e3"]
    assert [item.payload for item in storage.due("alertmanager", now=float("inf"), limit=100)] == [
        {"alert": 1}
    ]


def test_the_backlog_is_counted_in_deliveries_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "bridge.sqlite3"
    storage = SQLiteStorage(path, 1000)
    storage.commit(
        [],
        [
            OutboxItem("alertmanager", "b", {"n": 0}, deliveries=100),
            OutboxItem("alertmanager", "one", {"n": 1}),
        ],
    )
    storage.close()
    again = SQLiteStorage(path, 1000)
    try:
        assert again.pending_total() == 101
    finally:
        again.close()


def test_an_outbox_from_before_batches_is_read_one_delivery_a_row(tmp_path: Path) -> None:
    """A file made before the `deliveries` column: its rows count one each, and new rows hold more."""
    path = tmp_path / "bridge.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(OLD_OUTBOX)
        db.executemany(
            "INSERT INTO outbox (downstream, key, payload, next_attempt, created) VALUES (?, ?, ?, 0, 0)",
            [("alertmanager", "k0", '{"n":0}'), ("alertmanager", "k1", '{"n":1}')],
        )
        db.commit()
    storage = SQLiteStorage(path, 1000)
    try:
        assert storage.pending_total() == 2
        storage.commit([], [OutboxItem("alertmanager", "b", {"n": 2}, deliveries=30)])
        due = storage.due("alertmanager", now=float("inf"), limit=100)
        assert [(item.payload["n"], item.deliveries) for item in due] == [(0, 1), (1, 1), (2, 30)]
        storage.dead_letter(due[2:], "400 bad request")
        assert storage.dead_letters() == [("alertmanager", "b", "400 bad request")]
        assert storage.pending_total() == 2
    finally:
        storage.close()


# The outbox and dead letters as 0.1.0 made them.
OLD_OUTBOX = """
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, downstream TEXT NOT NULL, key TEXT NOT NULL,
    payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,
    created REAL NOT NULL, last_error TEXT
);
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY, downstream TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL,
    attempts INTEGER NOT NULL, created REAL NOT NULL, failed REAL NOT NULL, error TEXT NOT NULL
);
"""


def test_a_long_run_of_due_items_is_read_whole_in_order_past_those_not_due(tmp_path: Path) -> None:
    """More items than one read decodes at a time (storage/outbox.py reads SQLite's in parts): every due
    one, in order, up to the limit; one retried later is skipped wherever it falls."""
    count = 3 * DECODE_ROWS + 7
    storage = SQLiteStorage(tmp_path / "bridge.sqlite3", count)
    try:
        long_run_of_due_items(storage, count)
    finally:
        storage.close()


def long_run_of_due_items(storage: Storage, count: int) -> None:
    storage.commit([], [OutboxItem("alertmanager", f"k{i}", {"n": i}) for i in range(count)])
    retried = storage.due("alertmanager", now=float("inf"), limit=count)
    assert [item.payload["n"] for item in retried] == list(range(count))
    later = {n for n in range(count) if n % 97 == 0}
    storage.retry_later([item.id for item in retried if item.payload["n"] in later], float("inf"), "503")
    due = storage.due("alertmanager", now=time.time() + 3600, limit=count)
    assert [item.payload["n"] for item in due] == [n for n in range(count) if n not in later]
    limited = storage.due("alertmanager", now=time.time() + 3600, limit=DECODE_ROWS + 3)
    assert [item.id for item in limited] == [item.id for item in due[: DECODE_ROWS + 3]]


def test_records_are_paged_filtered_and_changed_with_their_deliveries(storage: Storage) -> None:
    notes = [
        RecordWrite("notification", "a", "u1", 1.0, {"id": "a", "type": "email", "channels": ["email"]}),
        RecordWrite("notification", "b", "u2", 2.0, {"id": "b", "type": "email", "channels": ["sms"]}),
        RecordWrite("notification", "c", "u1", 3.0, {"id": "c", "type": "job", "channels": ["sms"]}),
    ]
    submit(storage, records=notes)

    def keys(query: Page) -> list[str]:
        return [key for _, key, _ in storage.records(query)]

    assert keys(Page("notification")) == ["c", "b", "a"]
    assert keys(Page("notification", owner="u1")) == ["c", "a"]
    assert keys(Page("notification", fields={"type": "email"})) == ["b", "a"]
    assert keys(Page("notification", contains={"channels": "sms"})) == ["c", "b"]
    assert keys(Page("notification", before=(3.0, "c"), limit=1)) == ["b"]
    assert keys(Page("notification", fields={"type": "x' OR '1'='1"})) == []

    ack = OutboxItem("notifications", "a", {"id": "a"})
    assert storage.update_record("notification", "a", lambda body: {**body, "acked": True}, [ack])
    assert storage.record("notification", "a") == {**notes[0].body, "acked": True}
    assert not storage.update_record("notification", "a", lambda body: None, [ack])  # left as it is
    assert not storage.update_record("notification", "nope", lambda body: body, [ack])
    assert storage.pending_total() == 1  # only the change that was made brought its delivery


# --- several bridges on one PostgreSQL ----------------------------------------------------------------


@pytest.fixture
def two(postgres_url: str) -> Iterator[tuple[PostgresStorage, PostgresStorage]]:
    first = PostgresStorage(postgres_url, 100_000, lease_seconds=60, bridge_id="first")
    second = PostgresStorage(postgres_url, 100_000, lease_seconds=60, bridge_id="second")
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def counted(previous: State | None) -> State:
    """One more run."""
    return job(runs(previous) + 1)


def runs(state: State | None) -> int:
    return int(cast(dict[str, Any], state)["runs"]) if state else 0


def test_a_field_filter_reaches_into_nested_objects_by_a_dotted_path(storage: Storage) -> None:
    """The alert history of one API alert filters on `labels.alert_id` (api/routes/alerts.py)."""
    events = [
        RecordWrite("alert_event", "e1", "", 1.0, {"labels": {"alert_id": "a1"}, "status": "firing"}),
        RecordWrite("alert_event", "e2", "", 2.0, {"labels": {"alert_id": "a2"}, "status": "firing"}),
        RecordWrite("alert_event", "e3", "", 3.0, {"labels.alert_id": "a1", "status": "firing"}),
    ]
    submit(storage, records=events)
    found = storage.records(Page("alert_event", fields={"labels.alert_id": "a1"}))
    assert [key for _, key, _ in found] == ["e1"]


def test_concurrent_read_modify_writes_on_two_bridges_lose_no_run(
    two: tuple[PostgresStorage, PostgresStorage],
) -> None:
    """Each thread reads the state, counts one run and writes: through the stale read of the other bridge's
    state, only the transition applied again under the row lock keeps every run."""

    def count(storage: PostgresStorage, runs: int) -> None:
        for _ in range(runs):
            state = counted(storage.get("sidecar", "k"))
            storage.commit([EntityWrite("sidecar", "k", state, counted)], [])

    threads = [threading.Thread(target=count, args=(storage, 100)) for storage in two for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs(two[0].get("sidecar", "k")) == 400


def test_outbox_items_go_to_one_bridge_at_a_time_and_to_another_after_the_lease(
    two: tuple[PostgresStorage, PostgresStorage],
) -> None:
    first, second = two
    first.commit([], [OutboxItem("alertmanager", f"k{i}", {"n": i}) for i in range(200)])
    taken: list[list[int]] = [[], []]
    now = time.time() + 1  # the items are due from their commit on

    # Each takes its first batch before either goes on: left to the scheduler, one thread could take all
    # 200 before the other started (it did once, on a loaded machine).
    first_taken = threading.Barrier(2, timeout=30)

    def take(index: int, storage: PostgresStorage) -> None:
        for step in range(60):  # 200 items in batches of 7: enough for one bridge to take all
            due = storage.due("alertmanager", now=now, limit=7)
            taken[index] += [item.id for item in due]
            if step == 0:
                first_taken.wait()
            if not due:
                return

    threads = [threading.Thread(target=take, args=pair) for pair in enumerate(two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken[0] and taken[1]  # both took some...
    assert not set(taken[0]) & set(taken[1])  # ...and none was taken twice
    assert len(taken[0]) + len(taken[1]) == 200
    # The first bridge never settles its items (it died): once its lease ends they are due elsewhere.
    assert second.due("alertmanager", now=now + 59, limit=500) == []
    again = second.due("alertmanager", now=now + 61, limit=500)
    assert sorted(item.id for item in again) == sorted(taken[0] + taken[1])


def test_a_client_event_id_is_recognised_on_another_bridge_and_freed_when_its_claimer_died(
    postgres_url: str, two: tuple[PostgresStorage, PostgresStorage]
) -> None:
    first, second = two
    assert first.claim(["sent-to-first"]) == [True]
    assert second.claim(["sent-to-first"]) == [False]  # a resend to the other bridge, while in flight
    submit(first, writes=[EntityWrite("sidecar", "a", job(1))], seen=["sent-to-first"])
    assert second.claim(["sent-to-first"]) == [False]  # committed: a resend for good

    dying = PostgresStorage(postgres_url, 100, bridge_id="dying")
    assert dying.claim(["never-committed"]) == [True]
    assert second.claim(["never-committed"]) == [False]
    dying.close()  # its connections end, as a killed bridge's do: its claim can never commit
    wait_until(lambda: second.claim(["never-committed"]) == [True], what="the dead bridge's claim freed")


def test_one_bridge_at_a_time_does_the_pushgateway_work(two: tuple[PostgresStorage, PostgresStorage]) -> None:
    first, second = two
    first.commit([EntityWrite("sidecar", "a", job(1))], [])
    second.commit([EntityWrite("sidecar", "gone", job(1))], [])
    second.commit([EntityWrite("sidecar", "gone", None)], [])
    assert [key for _, key, _ in first.dirty()] == ["a"]  # the first to ask leads
    assert first.tombstones() == [("sidecar", "gone", job(1))]
    assert second.dirty() == [] and second.tombstones() == []
    first.pusher.db.close()  # type: ignore[union-attr]  # its session ends: the lock is let go
    wait_until(lambda: [key for _, key, _ in second.dirty()] == ["a"], what="the second bridge leading")
    assert first.dirty() == []


def test_records_of_a_broadcast_kind_are_heard_by_the_other_bridges(postgres_url: str) -> None:
    heard: list[tuple[str, str, str]] = []

    def hear(name: str, kind: str, key: str) -> None:
        heard.append((name, kind, key))

    bridges = [
        PostgresStorage(postgres_url, 100, bridge_id=name, broadcast=frozenset({"notification"}))
        for name in ("first", "second")
    ]
    try:
        for storage in bridges:
            storage.listen(functools.partial(hear, storage.bridge_id))
            assert storage.listener is not None
            wait_until(storage.listener.listening.is_set, what="listening")
        submit(bridges[0], records=[RecordWrite("notification", "n1", "u1", 1.0, {"id": "n1"})])
        submit(bridges[0], records=[RecordWrite("preference", "p1", "u1", 1.0, {"id": "p1"})])
        submit(bridges[1], records=[RecordWrite("notification", "n2", "u1", 2.0, {"id": "n2"})])
        wait_until(lambda: len(heard) >= 2, what="two records heard")
        assert sorted(heard) == [("first", "notification", "n2"), ("second", "notification", "n1")]
    finally:
        for storage in bridges:
            storage.close()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "mysql://bridge:secret@db/bridge",
            "must be a postgresql:// URL (unset: SQLite in data_dir), got scheme 'mysql'",
        ),
        ("/var/lib/bridge.db", "must be a postgresql:// URL (unset: SQLite in data_dir), got no scheme"),
        ("postgresql://postgres@127.0.0.1:1/none", "cannot use PostgreSQL: connection failed"),
    ],
)
def test_a_storage_url_the_bridge_cannot_use_stops_the_start_naming_it(
    url: str, reason: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    env |= {"BRIDGE_STORAGE_URL": url, "BRIDGE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [BRIDGE_BIN, f"--web.listen-address=127.0.0.1:{free_port()}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("pushgateway-bridge: bad config: storage_url: ")
    assert reason in done.stderr
    assert "secret" not in done.stderr


def test_without_postgresql_the_tests_skip_and_under_ci_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stack.postgres.glob.glob", lambda pattern: [])
    monkeypatch.setattr("stack.postgres.shutil.which", lambda name: None)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL not found"):
        postgres.postgres_bin()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL not found"):
        postgres.postgres_bin()
