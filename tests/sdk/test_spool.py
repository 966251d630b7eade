"""The spool on its own: order, removal by rowid, several processes, spools left by earlier versions."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from uuid import uuid4

import pytest

from fakes.sidecar_api import EventReceiver
from monitoring_sdk import AppRef, Event, SidecarEmitter
from monitoring_sdk.settings import Settings
from monitoring_sdk.spool import SQLITE_HEADER, Spool

APP = AppRef(app_id=uuid4(), name="spool-test", version="1")


def make(number: int) -> Event:
    return Event(
        site_id="s", app=APP, entity_type="job", business_key="b", entity_id=uuid4(), kind="started",
        metadata={"n": number},
    )  # fmt: skip


def event(number: int) -> dict[str, object]:
    return make(number).to_json()


def numbers(events: list[dict[str, object]]) -> list[int]:
    return [int(e["metadata"]["n"]) for e in events]  # type: ignore[index]


def spooled(spool: Spool) -> list[int]:
    return numbers([row.event for row in spool.peek(100_000)])


def test_oldest_first_and_removal_by_rowid_keeps_later_appends(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    drainer, other = Spool(path), Spool(path)  # two processes sharing the file
    drainer.append([event(0), event(1)])
    drainer.append([event(2)])
    rows = drainer.peek(2)
    assert numbers([row.event for row in rows]) == [0, 1]
    other.append([event(3)])  # while the drainer's batch is in flight
    drainer.remove(row.rowid for row in rows)
    assert spooled(other) == [2, 3]
    assert len(drainer) == 2
    assert drainer.pending()


def test_looking_at_a_missing_spool_creates_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "cache" / "spool.sqlite3")
    assert not spool.pending()
    assert len(spool) == 0
    assert spool.peek(10) == []
    assert not (tmp_path / "cache").exists()


def test_processes_appending_at_once_lose_nothing_and_keep_their_order(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    writer = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from monitoring_sdk.spool import Spool
        spool, name = Spool(Path(sys.argv[1])), sys.argv[2]
        for n in range(300):
            spool.append([{"writer": name, "n": n}])
        """
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", writer, str(path), name], stderr=subprocess.PIPE, text=True)
        for name in ("a", "b", "c")
    ]
    for process in writers:
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
    events = [row.event for row in Spool(path).peek(10_000)]
    assert len(events) == 900
    for name in ("a", "b", "c"):
        assert [e["n"] for e in events if e["writer"] == name] == list(range(300))


def test_unreadable_rows_are_dropped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "spool.sqlite3"
    spool = Spool(path)
    spool.append([event(0)])
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO events (event) VALUES (?)", [("{torn",), ("[1, 2]",)])
    spool.append([event(1)])
    with caplog.at_level(logging.WARNING, logger="monitoring_sdk"):
        assert spooled(spool) == [0, 1]
    assert "dropped 2 unreadable events" in caplog.text
    assert len(spool) == 2


def test_a_json_lines_spool_at_the_path_is_converted_in_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An explicit spool_path that an earlier version filled with JSON lines."""
    path = tmp_path / "spool.jsonl"
    lines = [json.dumps(event(n)) for n in range(3)]
    path.write_text("\n".join(lines) + '\n{"event_id": "torn')
    with caplog.at_level(logging.WARNING, logger="monitoring_sdk"):
        spool = Spool(path)
        assert spooled(spool) == [0, 1, 2]
    assert "dropped 1 unreadable lines" in caplog.text
    assert path.read_bytes().startswith(SQLITE_HEADER)
    spool.append([event(3)])
    assert spooled(Spool(path)) == [0, 1, 2, 3]


def test_an_earlier_versions_spool_is_sent_first_then_removed(receiver: EventReceiver, sdk_env: Path) -> None:
    legacy = Settings(spool_dir=sdk_env).legacy_spool_path(receiver.url)
    legacy.parent.mkdir(parents=True)
    legacy.write_text("".join(json.dumps(event(n)) + "\n" for n in range(3)))
    with SidecarEmitter(receiver.url) as emitter:  # the default spool path for this bridge URL
        emitter.emit(make(3))
        assert emitter.flush(5)
    assert numbers(receiver.events) == [0, 1, 2, 3]
    assert not legacy.exists()
    assert not emitter.spool.pending()
