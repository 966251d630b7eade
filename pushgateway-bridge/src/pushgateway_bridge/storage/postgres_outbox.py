"""The outbox's SQL on PostgreSQL: items taken for delivery by one bridge at a time, then settled.

`take` leases a batch: `FOR UPDATE SKIP LOCKED` keeps two bridges taking at once from waiting on each other
or taking the same rows, and `lease_until` keeps an item taken until the lease ends, when a bridge that died
holding it lets it go. Settling (delivered, retried later, dead-lettered) ends the lease.
"""

from __future__ import annotations

from collections.abc import Sequence

from pushgateway_bridge.storage.base import Pending
from pushgateway_bridge.storage.postgres_writer import Connection


def take(db: Connection, downstream: str, now: float, limit: int, lease_seconds: float) -> list[Pending]:
    """Due items in id order, holding `limit` deliveries or a little more (a row is not split: a sidecar
    batch's holds all its events). The rows past the count are locked only until this statement ends."""
    rows = db.execute(
        "WITH locked AS (SELECT id, deliveries FROM outbox"
        " WHERE downstream = %s AND next_attempt <= %s AND lease_until <= %s"
        " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED),"
        " chosen AS (SELECT id FROM (SELECT id, sum(deliveries) OVER (ORDER BY id) - deliveries AS before"
        " FROM locked) AS counted WHERE before < %s)"
        " UPDATE outbox SET lease_until = %s WHERE id IN (SELECT id FROM chosen)"
        " RETURNING id, key, payload, attempts, created, deliveries",
        (downstream, now, now, limit, limit, now + lease_seconds),
    ).fetchall()
    return [Pending(row[0], downstream, row[1], row[2], row[3], row[4], row[5]) for row in sorted(rows)]


def delete(db: Connection, ids: Sequence[int]) -> None:
    db.execute("DELETE FROM outbox WHERE id = ANY(%s)", (list(ids),))


def retry(db: Connection, ids: Sequence[int], next_attempt: float, error: str) -> None:
    db.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt = %s, last_error = %s,"
        " lease_until = 0 WHERE id = ANY(%s)",
        (next_attempt, error[:2000], list(ids)),
    )


def dead_letter(db: Connection, ids: Sequence[int], error: str, now: float) -> None:
    """Move the items to dead_letters, where a person can see why."""
    with db.transaction():
        db.execute(
            "INSERT INTO dead_letters"
            " (id, downstream, key, payload, attempts, created, failed, error, deliveries)"
            " SELECT id, downstream, key, payload, attempts + 1, created, %s, %s, deliveries FROM outbox"
            " WHERE id = ANY(%s) ON CONFLICT (id) DO NOTHING",
            (now, error[:2000], list(ids)),
        )
        delete(db, ids)


def dead_letters(db: Connection, downstream: str | None) -> list[tuple[str, str, str]]:
    rows = db.execute(
        "SELECT downstream, key, error FROM dead_letters"
        " WHERE %s::text IS NULL OR downstream = %s ORDER BY id",
        (downstream, downstream),
    ).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


def stats(db: Connection) -> dict[str, tuple[int, float | None]]:
    rows = db.execute(
        "SELECT downstream, sum(deliveries), min(created) FROM outbox GROUP BY downstream"
    ).fetchall()
    return {row[0]: (int(row[1]), row[2]) for row in rows}
