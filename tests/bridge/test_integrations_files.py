"""The csv and json exports' crash rules, without a process to kill: a batch written but not noted delivered
is skipped when it comes again; a batch cut off in the middle is cut back and written whole; rotation keeps
the header and the rule."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.integrations_support import csv_ids, csv_rows, exported_files, json_ids
from pushgateway_bridge.integrations.config import FileConfig
from pushgateway_bridge.integrations.files import CSV_COLUMNS, FileExportSink, Format


def events(count: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": str(uuid.uuid4()),
            "source": "sidecar",
            "kind": "progress",
            "name": "etl",
            "level": "info",
            "received": 1_700_000_000.0 + i,
            "fields": {"business_key": f"k{i}", "message": 'a,b\n"c"'},
        }
        for i in range(count)
    ]


def sink(path: Path, fmt: Format, **options: Any) -> FileExportSink:
    return FileExportSink("export", FileConfig(path=path, **options), fmt)


def ids(path: Path, fmt: Format) -> list[str]:
    counted = csv_ids(path) if fmt == "csv" else json_ids(path)
    return list(counted.elements())


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_batch_written_before_a_crash_is_not_written_again(tmp_path: Path, fmt: Format) -> None:
    path = tmp_path / f"events.{fmt}"
    first, second = events(3), events(2)
    sink(path, fmt).send(first)  # written and fsynced; the crash comes before the outbox notes it
    again = sink(path, fmt)  # the restarted bridge
    again.send(first + second)  # the outbox gives the unnoted batch again, with what came after
    again.send(events(1))
    assert len(ids(path, fmt)) == 6
    assert len(set(ids(path, fmt))) == 6
    assert ids(path, fmt)[:5] == [event["event_id"] for event in first + second]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_ids_still_carried_survive_a_second_crash(tmp_path: Path, fmt: Format) -> None:
    path = tmp_path / f"events.{fmt}"
    first, second = events(2), events(2)
    sink(path, fmt).send(first)
    restarted = sink(path, fmt)
    restarted.send(second)  # `first` not due yet (backoff): still carried in the note
    once_more = sink(path, fmt)  # a second crash before anything was noted
    once_more.send(first + second)
    assert sorted(ids(path, fmt)) == sorted(event["event_id"] for event in first + second)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_batch_cut_off_mid_write_is_cut_back_and_written_whole(tmp_path: Path, fmt: Format) -> None:
    path = tmp_path / f"events.{fmt}"
    first, second = events(2), events(3)
    writer = sink(path, fmt)
    writer.send(first)
    before = path.read_bytes()
    writer.send(second)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(before) + (len(whole) - len(before)) // 2])  # killed inside write()
    restarted = sink(path, fmt)
    assert path.read_bytes() == before  # the part is gone
    restarted.send(second)
    assert path.read_bytes() == whole


def test_csv_header_columns_and_rotation(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    writer = sink(path, "csv", max_bytes=600, backups=50)
    sent: list[str] = []
    for _ in range(10):
        batch = events(2)
        writer.send(batch)
        sent.extend(event["event_id"] for event in batch)
    files = exported_files(path)
    assert len(files) > 2
    for part in files:
        assert part.read_text().splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = csv_rows(path)
    assert [row["event_id"] for row in rows] == sent
    assert rows[0]["received"] == "2023-11-14T22:13:20Z"
    assert rows[0]["timestamp"] == ""
    assert json.loads(rows[0]["fields"]) == {"business_key": "k0", "message": 'a,b\n"c"'}


def test_rotation_with_no_backups_keeps_only_the_current_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = sink(path, "json", max_bytes=400, backups=0)
    for _ in range(5):
        writer.send(events(2))
    assert exported_files(path) == [path]
    assert 0 < len(json_ids(path)) < 10


def test_json_lines_are_the_documents(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    [event] = events(1)
    event = {
        **event,
        "at": datetime(2026, 3, 1, 10, tzinfo=UTC).timestamp(),
        "trace_id": "ab" * 16,
    }
    sink(path, "json").send([event])
    [line] = [json.loads(text) for text in path.read_text().splitlines()]
    assert line == {
        "event_id": event["event_id"],
        "source": "sidecar",
        "kind": "progress",
        "name": "etl",
        "level": "info",
        "received": "2023-11-14T22:13:20Z",
        "timestamp": "2026-03-01T10:00:00Z",
        "trace_id": "ab" * 16,
        "fields": event["fields"],
    }
