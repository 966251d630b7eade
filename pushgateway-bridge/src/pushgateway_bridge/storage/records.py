"""Records: JSON documents kept for reading back (notifications, preferences, alert history), one table.

Entities are the state the bridge pushes; records are what its APIs list: they are never pushed, never all
held in memory, and are read page by page through the outbox's reading connection. They are written in the
writer's transactions, so a record commits together with the outbox items that deliver it, and an update
(a delivery's status, an acknowledgement) is a read-modify-write inside one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pushgateway_bridge.jsontext import compact

Body = dict[str, Any]

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, key TEXT NOT NULL, owner TEXT NOT NULL, created REAL NOT NULL,
    updated REAL NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, key)
);
-- Newest first, per kind and per owner (a user's notifications): a page walks the index and stops.
CREATE INDEX IF NOT EXISTS records_by_time ON records (kind, created, key);
CREATE INDEX IF NOT EXISTS records_by_owner ON records (kind, owner, created, key);
"""


@dataclass(frozen=True)
class RecordWrite:
    kind: str
    key: str
    owner: str  # who may read it (a user id); "" for records of the whole bridge
    created: float
    body: Body


@dataclass(frozen=True)
class Page:
    """Which records of a kind to list, newest first; `before` is the (created, key) of the last one seen."""

    kind: str
    owner: str | None = None
    fields: Mapping[str, str] | None = None  # top-level body fields that must equal these values
    contains: Mapping[str, str] | None = None  # top-level array fields that must hold these values
    since: float | None = None
    before: tuple[float, str] | None = None
    limit: int = 50


def insert(db: sqlite3.Connection, records: Sequence[RecordWrite], now: float) -> None:
    """Upsert `records` (a record written again is replaced, keeping its creation time)."""
    db.executemany(
        "INSERT INTO records (kind, key, owner, created, updated, body) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body, updated = excluded.updated,"
        " owner = excluded.owner",
        [(r.kind, r.key, r.owner, r.created, now, compact(r.body)) for r in records],
    )


def update_job(
    kind: str, key: str, change: Callable[[Body], Body | None], now: float
) -> Callable[[sqlite3.Connection], bool]:
    """A writer job: `change` gets the stored body and returns the new one (None: leave it). The job
    returns False when it changed nothing (no such record, or `change` left it), so that outbox items
    submitted with it are not written either."""

    def job(db: sqlite3.Connection) -> bool:
        row = db.execute("SELECT body FROM records WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        if row is None:
            return False
        changed = change(json.loads(row[0]))
        if changed is None:
            return False
        db.execute(
            "UPDATE records SET body = ?, updated = ? WHERE kind = ? AND key = ?",
            (compact(changed), now, kind, key),
        )
        return True

    return job


def get(db: sqlite3.Connection, kind: str, key: str) -> Body | None:
    row = db.execute("SELECT body FROM records WHERE kind = ? AND key = ?", (kind, key)).fetchone()
    return json.loads(row[0]) if row else None


def page(db: sqlite3.Connection, query: Page) -> list[tuple[float, str, Body]]:
    """(created, key, body) of the records `query` selects, newest first."""
    sql = ["SELECT created, key, body FROM records WHERE kind = ?"]
    params: list[Any] = [query.kind]
    if query.owner is not None:
        sql.append("AND owner = ?")
        params.append(query.owner)
    if query.since is not None:
        sql.append("AND created >= ?")
        params.append(query.since)
    if query.before is not None:
        sql.append("AND (created < ? OR (created = ? AND key < ?))")
        params += [query.before[0], query.before[0], query.before[1]]
    for field, value in (query.fields or {}).items():
        sql.append("AND json_extract(body, ?) = ?")  # the path is a parameter too: no data in the SQL
        params += [f"$.{field}", value]
    for field, value in (query.contains or {}).items():
        sql.append("AND EXISTS (SELECT 1 FROM json_each(body, ?) WHERE value = ?)")
        params += [f"$.{field}", value]
    sql.append("ORDER BY created DESC, key DESC LIMIT ?")
    params.append(query.limit)
    rows = db.execute(" ".join(sql), params).fetchall()
    return [(created, key, json.loads(body)) for created, key, body in rows]
