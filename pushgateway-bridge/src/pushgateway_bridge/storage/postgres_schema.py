"""The PostgreSQL tables several bridges share, created on start (`CREATE TABLE IF NOT EXISTS`).

The same tables as the SQLite file's, plus what sharing needs:
- entities: `version` counts committed writes and `pushed_version` is the last one in Pushgateway, so any
  bridge sees which groups are behind; `state` is NULL in a row only taken to lock a new entity.
- outbox: `lease_until`: a bridge that takes items (`FOR UPDATE SKIP LOCKED`) holds them until then; a
  bridge that dies holding them lets them go when the lease ends.
- seen_events: `owner` is the backend PID of the claiming bridge's writer connection, `committed` says the
  event's writes committed: a claim whose owner is gone and never committed can be taken again.
"""

from __future__ import annotations

import psycopg

# Two bridges starting at once would race on CREATE TABLE IF NOT EXISTS (a unique violation in pg_type):
# the schema is created under this transaction-level advisory lock.
SCHEMA_LOCK = 0x6272696467650001
# Held for a session by the bridge that does the Pushgateway work (pushes, deletes) of all bridges.
PUSHER_LOCK = 0x6272696467650002
# NOTIFY channel: "<bridge id> <kind> <key>" for each record of a broadcast kind, sent at commit.
RECORDS_CHANNEL = "bridge_records"

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL, key TEXT NOT NULL, state JSONB, updated DOUBLE PRECISION NOT NULL DEFAULT 0,
    deleted BOOLEAN NOT NULL DEFAULT FALSE, version BIGINT NOT NULL DEFAULT 0,
    pushed_version BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (kind, key)
);
-- What the pusher reads each flush: the few rows behind Pushgateway, and the tombstones.
CREATE INDEX IF NOT EXISTS entities_dirty ON entities (kind, key) WHERE version <> pushed_version;
CREATE INDEX IF NOT EXISTS entities_deleted ON entities (kind, key) WHERE deleted;
CREATE TABLE IF NOT EXISTS outbox (
    id BIGSERIAL PRIMARY KEY, downstream TEXT NOT NULL, key TEXT NOT NULL, payload JSONB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt DOUBLE PRECISION NOT NULL,
    created DOUBLE PRECISION NOT NULL, last_error TEXT, lease_until DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (downstream, id);
-- The deliveries a row holds (OutboxItem.deliveries: a sidecar batch's events), which the spool counts.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS deliveries INTEGER NOT NULL DEFAULT 1;
CREATE TABLE IF NOT EXISTS dead_letters (
    id BIGINT PRIMARY KEY, downstream TEXT NOT NULL, key TEXT NOT NULL, payload JSONB NOT NULL,
    attempts INTEGER NOT NULL, created DOUBLE PRECISION NOT NULL, failed DOUBLE PRECISION NOT NULL,
    error TEXT NOT NULL
);
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS deliveries INTEGER NOT NULL DEFAULT 1;
CREATE TABLE IF NOT EXISTS seen_events (
    event_id TEXT PRIMARY KEY, seen DOUBLE PRECISION NOT NULL, owner INTEGER NOT NULL,
    committed BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX IF NOT EXISTS seen_events_by_time ON seen_events (seen);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, key TEXT NOT NULL, owner TEXT NOT NULL, created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL, body JSONB NOT NULL, PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS records_by_time ON records (kind, created, key);
CREATE INDEX IF NOT EXISTS records_by_owner ON records (kind, owner, created, key);
"""


def create(db: psycopg.Connection[tuple[object, ...]]) -> None:
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        db.execute(SCHEMA)
