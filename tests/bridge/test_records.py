"""Records (notifications, preferences, alert history): upsert, read-modify-write, pages newest first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pushgateway_bridge.storage import records
from pushgateway_bridge.storage.base import OutboxItem
from pushgateway_bridge.storage.group_commit import Waiter
from pushgateway_bridge.storage.records import Page, RecordWrite
from pushgateway_bridge.storage.sqlite import SQLiteStorage


def database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript(records.SCHEMA)
    return db


def note(key: str, owner: str, created: float, **body: object) -> RecordWrite:
    return RecordWrite("notification", key, owner, created, {"id": key, **body})


def test_pages_are_newest_first_and_resume_after_the_last_one_seen() -> None:
    db = database()
    # Two records share a creation time: the key orders them, so a page boundary between them loses none.
    records.insert(db, [note(f"n{i}", "u1", 100.0 + i // 2) for i in range(7)], now=200.0)
    seen: list[str] = []
    before = None
    while True:
        rows = records.page(db, Page("notification", owner="u1", before=before, limit=3))
        if not rows:
            break
        seen += [key for _, key, _ in rows]
        before = (rows[-1][0], rows[-1][1])
    assert seen == ["n6", "n5", "n4", "n3", "n2", "n1", "n0"]


def test_filters_by_owner_field_array_member_and_time() -> None:
    db = database()
    records.insert(
        db,
        [
            note("a", "u1", 1.0, type="email", channels=["email", "slack"]),
            note("b", "u2", 2.0, type="email", channels=["email"]),
            note("c", "u1", 3.0, type="job", channels=["sms"]),
        ],
        now=10.0,
    )

    def keys(query: Page) -> list[str]:
        return [key for _, key, _ in records.page(db, query)]

    assert keys(Page("notification", owner="u1")) == ["c", "a"]
    assert keys(Page("notification", fields={"type": "email"})) == ["b", "a"]
    assert keys(Page("notification", contains={"channels": "slack"})) == ["a"]
    assert keys(Page("notification", since=2.0)) == ["c", "b"]
    # A value that looks like SQL is only a value.
    assert keys(Page("notification", fields={"type": "x' OR '1'='1"})) == []


def test_update_is_a_read_modify_write_and_a_rewrite_keeps_the_creation_time() -> None:
    db = database()
    records.insert(db, [note("a", "u1", 1.0, attempts=0)], now=1.0)
    job = records.update_job(
        "notification", "a", lambda body: {**body, "attempts": body["attempts"] + 1}, 5.0
    )
    job(db)
    job(db)
    assert records.get(db, "notification", "a") == {"id": "a", "attempts": 2}
    records.update_job("notification", "missing", lambda body: body, 5.0)(db)  # nothing to change: no row
    assert records.get(db, "notification", "missing") is None
    records.insert(db, [note("a", "u1", 99.0, attempts=7)], now=6.0)
    ((created, _, body),) = records.page(db, Page("notification"))
    assert (created, body["attempts"]) == (1.0, 7)


def test_records_commit_with_the_outbox_items_that_deliver_them_and_survive_a_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bridge.sqlite3"
    storage = SQLiteStorage(path, 100)
    waiter = Waiter()
    storage.submit(
        [],
        [OutboxItem("notifications", "n1", {"id": "n1", "channel": "email"})],
        waiter.done,
        records=[note("n1", "u1", 1.0, status="queued")],
    )
    waiter.wait()
    assert storage.record("notification", "n1") == {"id": "n1", "status": "queued"}
    assert [item.key for item in storage.due("notifications", 10**10, 10)] == ["n1"]
    storage.update_record("notification", "n1", lambda body: {**body, "status": "sent"})
    storage.close()
    reopened = SQLiteStorage(path, 100)
    assert [body for _, _, body in reopened.records(Page("notification", owner="u1"))] == [
        {"id": "n1", "status": "sent"}
    ]
    reopened.close()
