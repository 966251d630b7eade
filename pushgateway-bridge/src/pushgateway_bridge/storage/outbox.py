"""The outbox: deliveries committed with the requests that caused them, read and settled by the forwarders.

Reads go through a second connection, which WAL lets run beside the writer, so reading the next batch
never waits for a commit. Settling (delivered, retry later, dead letter) is SQL the group-commit writer
runs in its next transaction. The number of undelivered items is kept in memory for the spool limit.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from pydantic_core import from_json

from pushgateway_bridge.storage.base import Pending, SpoolFull
from pushgateway_bridge.storage.group_commit import Job, chunks, placeholders

DECODE_ROWS = 2_500  # outbox items decoded in one call: about 10 ms of the GIL
# Due rows after an id, at most `?` of them, up to the one that makes the deliveries they hold reach the
# last `?`. The running count is taken over ids and counts alone, before any payload is read.
DUE = """
SELECT json_group_array(json_array(o.id, o.key, json(o.payload), o.attempts, o.created, o.deliveries))
FROM outbox AS o JOIN (
    SELECT id FROM (
        SELECT id, sum(deliveries) OVER (ORDER BY id) - deliveries AS before FROM (
            SELECT id, deliveries FROM outbox WHERE downstream = ? AND id > ? AND next_attempt <= ?
            ORDER BY id LIMIT ?
        )
    ) WHERE before < ?
) AS chosen ON o.id = chosen.id
"""


class Outbox:
    def __init__(self, path: Path, spool_max: int, pending: int, max_params: int) -> None:
        self.lock = threading.Lock()  # the reading connection
        self.reader = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.spool_max = spool_max
        self.pending = pending  # committed, undelivered
        self.queued = 0  # submitted, not yet committed (they count against the spool too)
        self.max_params = max_params

    # --- the spool limit (callers hold the storage's lock) --------------------------------------------

    def reserve(self, count: int) -> None:
        """Room for `count` more items, or SpoolFull."""
        queued = self.pending + self.queued
        if count and queued + count > self.spool_max:
            raise SpoolFull(f"{queued} undelivered events (spool_max_events={self.spool_max})")
        self.queued += count

    def committed(self, added: int, removed: int) -> None:
        self.pending += added - removed
        self.queued -= added

    def none_queued(self) -> None:
        self.queued = 0

    # --- reading --------------------------------------------------------------------------------------

    def due(self, downstream: str, now: float, limit: int) -> list[Pending]:
        """Items in id order, holding `limit` deliveries or a little more: a row is not split (a sidecar
        batch's, OutboxItem.deliveries, holds all its events)."""
        # Read DECODE_ROWS rows a query, each query's rows as one JSON array, not an SQL row an item:
        # each row fetched lets go of the GIL, and waits to get it back. Not one array for all: decoding
        # 10,000 items in one call held the GIL for some 40 ms, which every request waited out.
        rows: list[list[Any]] = []
        taken = 0
        after = 0  # ids start at 1
        while taken < limit:
            asked = min(DECODE_ROWS, limit - taken)  # every row holds one delivery at least
            with self.lock:
                (found,) = self.reader.execute(DUE, (downstream, after, now, asked, limit - taken)).fetchone()
            part = sorted(_decoded(found))
            rows.extend(part)
            taken += sum(row[5] for row in part)
            if len(part) < asked:  # none left, or the rows hold the deliveries asked for
                break
            after = part[-1][0]
        return [Pending(row[0], downstream, row[1], row[2], row[3], row[4], row[5]) for row in rows]

    def dead_letters(self, downstream: str | None = None) -> list[tuple[str, str, str]]:
        with self.lock:
            rows = self.reader.execute(
                "SELECT downstream, key, error FROM dead_letters WHERE ? IS NULL OR downstream = ?",
                (downstream, downstream),
            ).fetchall()
        return [(row[0], row[1], row[2]) for row in rows]

    def pending_stats(self) -> dict[str, tuple[int, float | None]]:
        with self.lock:
            rows = self.reader.execute(
                "SELECT downstream, sum(deliveries), min(created) FROM outbox GROUP BY downstream"
            ).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}

    def close(self) -> None:
        with self.lock:
            self.reader.close()

    # --- settling: jobs for the writer ----------------------------------------------------------------

    def delete_job(self, ids: Sequence[int]) -> Job:
        def delete(db: sqlite3.Connection) -> None:
            for chunk in chunks(list(ids), self.max_params):
                db.execute(f"DELETE FROM outbox WHERE id IN ({placeholders('?', len(chunk))})", chunk)  # noqa: S608

        return delete

    @staticmethod
    def retry_job(ids: Sequence[int], next_attempt: float, error: str) -> Job:
        return lambda db: db.executemany(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?",
            [(next_attempt, error[:2000], i) for i in ids],
        ).close()

    @staticmethod
    def dead_letter_job(ids: Sequence[int], error: str) -> Job:
        """Move the items to dead_letters, where a person can see why."""
        now = time.time()

        def move(db: sqlite3.Connection) -> None:
            for i in ids:
                db.execute(
                    "INSERT INTO dead_letters"
                    " (id, downstream, key, payload, attempts, created, failed, error, deliveries)"
                    " SELECT id, downstream, key, payload, attempts + 1, created, ?, ?, deliveries"
                    " FROM outbox WHERE id = ?",
                    (now, error[:2000], i),
                )
                db.execute("DELETE FROM outbox WHERE id = ?", (i,))

        return move


def _decoded(rows: str) -> list[list[Any]]:
    """pydantic-core's parser, about 1.6 times as fast as json.loads on these rows; it refuses a lone
    surrogate (a request body may carry one as an escape, and it is stored so), which json.loads keeps."""
    try:
        return cast(list[list[Any]], from_json(rows))
    except ValueError:
        return cast(list[list[Any]], json.loads(rows))
