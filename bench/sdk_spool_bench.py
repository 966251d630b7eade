"""The SDK's spool: spool and drain 100,000 events, with the SQLite spool and the JSON-lines one it replaced.

    .venv/bin/python bench/sdk_spool_bench.py [--events 100000] [--batch 100] [--dir DIR]

Events are appended in batches of `--batch` (as the emitter spools a batch it could not send), then drained
as the emitter does: peek the oldest batch, remove it by id, until the spool is empty. The anchor is the
previous implementation (`JsonLinesSpool` below, copied from sdk/src/monitoring_sdk/spool.py at commit
169c351), run in the same process on the same events. Three rows:

- JSON lines (anchor): one fsync per append and one file rewrite plus fsync per drained batch.
- SQLite, synchronous=NORMAL (what the SDK uses): WAL, a transaction per batch, no fsync per commit.
- SQLite, synchronous=FULL: the same with an fsync per commit, the old spool's durability, for a fair view
  of what the fsyncs cost.

Ratios are the anchor's time over each row's (> 1: faster than the anchor). Files go to a temporary
directory under `--dir` (default: the system's; where /tmp is a RAM disk fsync is free, so pass a directory
on the disk the spool would live on).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol
from uuid import uuid4

from monitoring_sdk import spool as sqlite_spool
from monitoring_sdk.models import AppRef, Event


class JsonLinesSpool:
    """The anchor: the JSON-lines spool of commit 169c351 (append, peek, remove), as it was."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def append(self, events: list[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in events)
        with self._locked(), self.path.open("a", encoding="utf-8") as spool:
            spool.write(lines)
            spool.flush()
            os.fsync(spool.fileno())

    def _read(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def peek(self, limit: int) -> list[dict[str, Any]]:
        with self._locked():
            lines = self._read()
            events: list[dict[str, Any]] = []
            bad = 0
            for line in lines:
                if len(events) >= limit:
                    break
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                if isinstance(event, dict):
                    events.append(event)
                else:
                    bad += 1
            if bad:
                self._rewrite([line for line in lines if _is_event(line)])
            return events

    def remove(self, event_ids: set[str]) -> None:
        with self._locked():
            kept = [line for line in self._read() if _event_id(line) not in event_ids]
            self._rewrite(kept)

    def _rewrite(self, lines: list[str]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)


def _event_id(line: str) -> str | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return str(event.get("event_id")) if isinstance(event, dict) else None


def _is_event(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


class Drainable(Protocol):
    def append(self, events: list[dict[str, Any]]) -> None: ...


def drain_json_lines(spool: JsonLinesSpool, batch: int) -> int:
    sent = 0
    while events := spool.peek(batch):
        spool.remove({str(event["event_id"]) for event in events})
        sent += len(events)
    return sent


def drain_sqlite(spool: sqlite_spool.Spool, batch: int) -> int:
    sent = 0
    while rows := spool.peek(batch):
        spool.remove(row.rowid for row in rows)
        sent += len(rows)
    return sent


def events(count: int) -> list[dict[str, Any]]:
    """Events as a job sends them: a progress event with a message and a little metadata."""
    app = AppRef(app_id=uuid4(), name="bench-app", version="1.0.0")
    return [
        Event(
            site_id="site1", app=app, entity_type="job", business_key="nightly-batch", entity_id=uuid4(),
            kind="progress", progress=(n % 100) / 100, message=f"step {n}", metadata={"rows": n},
        ).to_json()
        for n in range(count)
    ]  # fmt: skip


def measure(
    spool: Drainable, drain: Callable[[], int], spooled: list[dict[str, Any]], batch: int
) -> tuple[float, float]:
    started = time.perf_counter()
    for start in range(0, len(spooled), batch):
        spool.append(spooled[start : start + batch])
    appended = time.perf_counter()
    drained = drain()
    finished = time.perf_counter()
    if drained != len(spooled):
        raise SystemExit(f"drained {drained} of {len(spooled)} events")
    return appended - started, finished - appended


@contextlib.contextmanager
def synchronous_full() -> Iterator[None]:
    """The SDK's connection with an fsync per commit (bench only: the SDK keeps NORMAL)."""
    connect = sqlite_spool._connect

    def full(path: Path) -> sqlite3.Connection:
        db = connect(path)
        db.execute("PRAGMA synchronous=FULL")
        return db

    sqlite_spool._connect = full
    try:
        yield
    finally:
        sqlite_spool._connect = connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sdk-spool-bench-", dir=args.dir))
    spooled = events(args.events)
    try:
        old = JsonLinesSpool(workdir / "old.jsonl")
        rows = {
            "JSON lines, fsync per batch (anchor)": measure(
                old, lambda: drain_json_lines(old, args.batch), spooled, args.batch
            )
        }
        new = sqlite_spool.Spool(workdir / "new.sqlite3")
        rows["SQLite WAL, synchronous=NORMAL (the SDK)"] = measure(
            new, lambda: drain_sqlite(new, args.batch), spooled, args.batch
        )
        new.close()
        with synchronous_full():
            full = sqlite_spool.Spool(workdir / "full.sqlite3")
            rows["SQLite WAL, synchronous=FULL"] = measure(
                full, lambda: drain_sqlite(full, args.batch), spooled, args.batch
            )
            full.close()
    finally:
        shutil.rmtree(workdir)

    anchor_append, anchor_drain = next(iter(rows.values()))
    print(f"Spool {args.events:,} events in batches of {args.batch}, then drain them")
    print("(seconds; ratio = the anchor's time / the row's, > 1 is faster)\n")
    print("| spool | append s | append ratio | drain s | drain ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, (append_s, drain_s) in rows.items():
        append_ratio, drain_ratio = anchor_append / append_s, anchor_drain / drain_s
        print(f"| {name} | {append_s:.2f} | {append_ratio:.1f} | {drain_s:.2f} | {drain_ratio:.1f} |")


if __name__ == "__main__":
    main()
