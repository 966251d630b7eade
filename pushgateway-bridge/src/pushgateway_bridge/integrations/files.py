"""`csv` and `json` export: events appended to a local file, rotated by size like logrotate
(`events.csv`, `events.csv.1`, ... `events.csv.<backups>`).

`json`: one JSON document per line (`document.py`). `csv`: RFC 4180 (quoted where needed, `\\n` line
ends), a header row at the top of every file, and these columns, fixed:

    event_id, received, timestamp, source, kind, name, level, trace_id, span_id, fields

`received` and `timestamp` are RFC 3339 UTC (`timestamp` empty when the client gave no time), `trace_id`
and `span_id` empty when absent, `fields` the request's own data as one compact JSON object.

No event twice after a crash. A batch is written, fsynced, and only then noted delivered in the outbox, so
a crash between the two leaves the batch in the file and in the outbox. Before each batch the sink writes,
atomically, `<file>.last-batch`: the file's size before the batch, the batch's length and ids, and the ids
still carried from earlier (in the file, possibly not yet noted delivered). On start it reads that note:
- the file holds the whole batch: those ids and the carried ones are skipped when they come again;
- the file holds part of it (killed in the middle of the write): the part is cut off, to be written again;
- the file holds none of it: nothing to skip but the carried ids.
An id leaves the carried set once a later batch has been sent: the worker notes a batch delivered before it
asks for the next one. The note costs one small write per batch, and nothing on start but reading it.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pushgateway_bridge.domain.events import iso
from pushgateway_bridge.integrations.config import FileConfig
from pushgateway_bridge.integrations.document import document
from pushgateway_bridge.jsontext import compact
from pushgateway_bridge.rotation import rotate
from pushgateway_bridge.sinks.base import SinkError

Format = Literal["csv", "json"]
CSV_COLUMNS = (
    "event_id",
    "received",
    "timestamp",
    "source",
    "kind",
    "name",
    "level",
    "trace_id",
    "span_id",
    "fields",
)


def csv_row(event: Mapping[str, Any]) -> list[str]:
    fields = event["fields"]
    at = event.get("at")
    return [
        event["event_id"],
        iso(event["received"]),
        iso(at) if at is not None else "",
        event["source"],
        event["kind"],
        event["name"],
        event["level"],
        event.get("trace_id") or "",
        str(fields.get("span_id") or ""),
        compact(fields),
    ]


def csv_text(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def encode(events: list[dict[str, Any]], fmt: Format, header: bool) -> bytes:
    if fmt == "json":
        return "".join(compact(document(event)) + "\n" for event in events).encode()
    rows = [csv_row(event) for event in events]
    return csv_text([list(CSV_COLUMNS), *rows] if header else rows).encode()


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class FileExportSink:
    def __init__(self, name: str, config: FileConfig, fmt: Format) -> None:
        self.path = config.path
        self.max_bytes = config.max_bytes
        self.backups = config.backups
        self.fmt = fmt
        self.what = f"{fmt} {name}: {self.path}"
        self.note = self.path.with_name(self.path.name + ".last-batch")
        self.carried: set[str] = set()  # ids in the file whose delivery may not be noted yet
        self.last_sent: set[str] = set()  # the last batch sent: noted delivered before the next send
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.carried = self._recover()
        except OSError as exc:
            raise SinkError(f"{self.what}: {exc.strerror}", kind="io") from None

    def send(self, payloads: list[dict[str, Any]]) -> None:
        self.carried -= self.last_sent
        ids = [payload["event_id"] for payload in payloads]
        fresh = [payload for payload in payloads if payload["event_id"] not in self.carried]
        try:
            if fresh:
                self._append(fresh)
        except OSError as exc:
            raise SinkError(f"{self.what}: {exc.strerror}", kind="io") from None
        self.carried.update(payload["event_id"] for payload in fresh)
        self.last_sent = set(ids)

    def _append(self, events: list[dict[str, Any]]) -> None:
        size = self.path.stat().st_size if self.path.exists() else 0
        data = encode(events, self.fmt, header=size == 0)
        if size and size + len(data) > self.max_bytes:
            rotate(self.path, self.backups)
            size = 0
            data = encode(events, self.fmt, header=True)
        batch = [event["event_id"] for event in events]
        self._write_note(size, len(data), batch)
        with self.path.open("ab") as out:
            try:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            except OSError:
                out.truncate(size)  # nothing of a failed batch stays: it is written again
                raise

    def _write_note(self, offset: int, length: int, batch: list[str]) -> None:
        note = {"offset": offset, "length": length, "batch": batch, "carried": sorted(self.carried)}
        temporary = self.note.with_name(self.note.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            json.dump(note, out)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(self.note)
        _fsync_dir(self.note.parent)

    def _recover(self) -> set[str]:
        """The ids to skip, from the note of the last batch; cuts off a batch written in part."""
        try:
            note = json.loads(self.note.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return set()
        except (ValueError, UnicodeDecodeError):
            return set()  # only a crash inside the atomic replace could do this, and it cannot
        carried = set(note["carried"])
        offset, length = note["offset"], note["length"]
        size = self.path.stat().st_size if self.path.exists() else 0
        if size >= offset + length:
            return carried | set(note["batch"])
        if size > offset:
            with self.path.open("r+b") as out:
                out.truncate(offset)
                os.fsync(out.fileno())
        return carried

    def close(self) -> None:
        return None
