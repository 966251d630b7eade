"""A strict stand-in for Loki's push API: rejects what Loki rejects, records what it accepts.

Rules (Loki's documentation): JSON body {"streams": [{"stream": {labels}, "values": [[ts, line, {meta}]]}]};
the timestamp is nanoseconds since the epoch as a *string*; label names match [a-zA-Z_][a-zA-Z0-9_]*, do not
start with "__", 1 to 15 per stream, no duplicates; a line is at most 256 KB; entries older than 168 h or more
than 10 minutes ahead are rejected; structured metadata is an optional third element, a string map.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

from fakes.http import Answer, FakeHttpServer, Request

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_LABELS = 15
MAX_LINE_BYTES = 256 * 1024
MAX_AGE_NS = 168 * 3600 * 10**9
MAX_FUTURE_NS = 10 * 60 * 10**9


class Rejected(Exception):
    pass


def validate(body: Any, now_ns: int) -> list[dict[str, Any]]:
    """Entries of a push body, or Rejected with Loki-like reasons."""
    if not isinstance(body, dict) or not isinstance(body.get("streams"), list):
        raise Rejected("body must be an object with a streams list")
    entries: list[dict[str, Any]] = []
    for stream in body["streams"]:
        labels = stream.get("stream")
        check_labels(labels)
        values = stream.get("values")
        if not isinstance(values, list) or not values:
            raise Rejected("stream without values")
        entries.extend(check_entry(labels, value, now_ns) for value in values)
    return entries


def check_labels(labels: Any) -> None:
    if not isinstance(labels, dict) or not labels:
        raise Rejected("stream must have at least one label")
    if len(labels) > MAX_LABELS:
        raise Rejected(f"stream has {len(labels)} labels, more than {MAX_LABELS}")
    for name, value in labels.items():
        if not LABEL_NAME.match(name) or name.startswith("__"):
            raise Rejected(f"invalid label name {name!r}")
        if not isinstance(value, str) or not value:
            raise Rejected(f"label {name} must be a non-empty string")


def check_entry(labels: dict[str, str], value: Any, now_ns: int) -> dict[str, Any]:
    if not isinstance(value, list) or len(value) not in (2, 3):
        raise Rejected("entry must be [ts, line] or [ts, line, metadata]")
    ts, line = value[0], value[1]
    if not isinstance(ts, str) or not ts.isdigit():
        raise Rejected(f"timestamp must be a string of nanoseconds, got {ts!r}")
    if not isinstance(line, str):
        raise Rejected("line must be a string")
    if len(line.encode()) > MAX_LINE_BYTES:
        raise Rejected("line too long")
    if int(ts) < now_ns - MAX_AGE_NS:
        raise Rejected("entry too far behind")
    if int(ts) > now_ns + MAX_FUTURE_NS:
        raise Rejected("entry too far in the future")
    metadata = value[2] if len(value) == 3 else {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise Rejected("structured metadata must be a map of strings")
    return {"labels": labels, "ts": int(ts), "line": line, "metadata": metadata}


class LokiReceiver(FakeHttpServer):
    """`fail_with` makes it answer pushes with an error status instead; `delay_seconds` answer slowly."""

    methods = ("GET", "POST")

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self.port = int(self.server.server_address[1])
        self.entries: list[dict[str, Any]] = []
        self.rejections: list[str] = []
        self.pushes = 0
        self.failed = 0  # pushes answered with `fail_with`
        self.fail_with: int | None = None
        self.delay_seconds = 0.0  # before each push is answered: a Loki slower than the bridge's intake

    def answer(self, request: Request) -> Answer:
        if request.method == "GET":
            return Answer(200 if request.path == "/ready" else 404, b"ready\n")
        if request.path != "/loki/api/v1/push":
            return Answer(404, b"not found\n")
        time.sleep(self.delay_seconds)
        if self.fail_with is not None:
            with self.lock:
                self.failed += 1
            return Answer(self.fail_with, b"injected failure\n")
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return Answer(415, b"unsupported content type\n")
        try:
            entries = validate(request.json(), time.time_ns())
        except (Rejected, ValueError) as exc:
            with self.lock:
                self.rejections.append(str(exc))
            return Answer(400, str(exc).encode())
        with self.lock:
            self.entries.extend(entries)
            self.pushes += 1
        return Answer(204)

    def event_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(entry["metadata"].get("event_id", "") for entry in self.entries)

    def duplicates(self) -> dict[str, int]:
        return {event_id: n for event_id, n in self.event_ids().items() if n > 1}
