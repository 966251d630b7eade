"""Records on PostgreSQL: the pages `records.page` reads from SQLite, and the read-modify-write job.

The bodies are JSONB: a field filter is `body #>> path = value`, an array member test
`body #> path ? value`, the path a dotted field's parts (`labels.alert_id`), as SQLite's `$.labels.alert_id`
reads it; paths and values are parameters, never SQL text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pushgateway_bridge.jsontext import compact
from pushgateway_bridge.storage.postgres_writer import Connection, Job
from pushgateway_bridge.storage.records import Body, Page


def page(db: Connection, query: Page) -> list[tuple[float, str, Body]]:
    """(created, key, body) of the records `query` selects, newest first."""
    sql = ["SELECT created, key, body FROM records WHERE kind = %s"]
    params: list[Any] = [query.kind]
    if query.owner is not None:
        sql.append("AND owner = %s")
        params.append(query.owner)
    if query.since is not None:
        sql.append("AND created >= %s")
        params.append(query.since)
    if query.before is not None:
        sql.append("AND (created, key) < (%s, %s)")
        params += [query.before[0], query.before[1]]
    for field, value in (query.fields or {}).items():
        sql.append("AND body #>> %s = %s")
        params += [field.split("."), value]
    for field, value in (query.contains or {}).items():
        sql.append("AND body #> %s ? %s")
        params += [field.split("."), value]
    sql.append("ORDER BY created DESC, key DESC LIMIT %s")
    params.append(query.limit)
    rows = db.execute(" ".join(sql).encode(), params).fetchall()
    return [(created, key, body) for created, key, body in rows]


def update_job(kind: str, key: str, change: Callable[[Body], Body | None], now: float) -> Job:
    """A writer job: `change` gets the stored body (the row locked) and returns the new one, or None to
    leave it; False then, so that outbox items submitted with it are not written either."""

    def job(db: Connection) -> bool:
        row = db.execute(
            "SELECT body FROM records WHERE kind = %s AND key = %s FOR UPDATE", (kind, key)
        ).fetchone()
        if row is None:
            return False
        changed = change(row[0])
        if changed is None:
            return False
        db.execute(
            "UPDATE records SET body = %s::jsonb, updated = %s WHERE kind = %s AND key = %s",
            (compact(changed), now, kind, key),
        )
        return True

    return job
