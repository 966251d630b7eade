"""What the integration tests share: the receivers of every type, the integrations.json naming them, and
readers of the file exports."""

from __future__ import annotations

import csv
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bridge.conftest import ADMIN_KEY, Bridge, BridgeFactory, default_config
from fakes.event_webhook import EventWebhookReceiver
from fakes.loki import LokiReceiver
from fakes.otlp_logs import OtlpLogsReceiver
from fakes.sidecar_api import EventReceiver

WEBHOOK_SECRET = "integration-secret-for-tests"
HEADERS = {"x-api-key": ADMIN_KEY}
APP_ID = str(uuid.uuid4())


@dataclass
class Receivers:
    """One of each: a webhook, an OTLP Collector, a second bridge (with its Loki) for local_api, a
    recording sidecar API for the exact bodies, and the two export files."""

    tmp: Path
    webhook: EventWebhookReceiver = field(default_factory=lambda: EventWebhookReceiver(WEBHOOK_SECRET))
    otlp: OtlpLogsReceiver = field(default_factory=OtlpLogsReceiver)
    sidecar: EventReceiver = field(default_factory=lambda: EventReceiver(api_key=ADMIN_KEY))
    old_loki: LokiReceiver = field(default_factory=LokiReceiver)
    old_bridge: Bridge | None = None

    @property
    def csv_path(self) -> Path:
        return self.tmp / "exports" / "events.csv"

    @property
    def json_path(self) -> Path:
        return self.tmp / "exports" / "events.jsonl"

    def start(self, bridge_factory: BridgeFactory) -> Receivers:
        self.webhook.start()
        self.otlp.start()
        self.sidecar.start()
        self.old_loki.start()
        self.old_bridge = bridge_factory("http://127.0.0.1:9", loki_url=self.old_loki.url)
        return self

    def stop(self) -> None:
        for receiver in (self.webhook, self.otlp, self.sidecar, self.old_loki):
            receiver.stop()

    def entries(self, otlp_endpoint: str | None = None, **file_options: Any) -> list[dict[str, Any]]:
        assert self.old_bridge is not None
        key_file = self.tmp / "old-bridge.key"
        key_file.write_text(ADMIN_KEY + "\n")
        secret_file = self.tmp / "webhook.secret"
        secret_file.write_text(WEBHOOK_SECRET)
        return [
            {
                "type": "webhook",
                "name": "hook",
                "enabled": True,
                "config": {"url": f"{self.webhook.url}/events", "secret": {"file": str(secret_file)}},
            },
            {
                "type": "otlp",
                "name": "collector",
                "enabled": True,
                "config": {"endpoint": otlp_endpoint or self.otlp.url, "service_name": "site-a-bridge"},
            },
            {
                "type": "local_api",
                "name": "old-bridge",
                "enabled": True,
                "config": {"base_url": self.old_bridge.url, "api_key": {"file": str(key_file)}},
            },
            {
                "type": "local_api",
                "name": "recorder",
                "enabled": True,
                "config": {"base_url": self.sidecar.url, "api_key": {"value": ADMIN_KEY}},
            },
            {
                "type": "csv",
                "name": "csv",
                "enabled": True,
                "config": {"path": str(self.csv_path), **file_options},
            },
            {
                "type": "json",
                "name": "json",
                "enabled": True,
                "config": {"path": str(self.json_path), **file_options},
            },
            {"type": "aws_cloudwatch", "name": "cloudwatch", "enabled": False, "config": {}},
        ]

    def config(self, otlp_endpoint: str | None = None, **file_options: Any) -> dict[str, Any]:
        path = self.tmp / "integrations.json"
        path.write_text(json.dumps(self.entries(otlp_endpoint, **file_options)))
        return {**default_config(), "integrations_file": str(path)}


def exported_files(path: Path) -> list[Path]:
    """The export file and its rotated copies, oldest first."""
    rotated = sorted(path.parent.glob(path.name + ".[0-9]*"), key=lambda p: -int(p.suffix[1:]))
    return [*rotated, *([path] if path.exists() else [])]


def csv_rows(path: Path) -> list[dict[str, str]]:
    """Every data row of every file; each file must start with the header."""
    rows: list[dict[str, str]] = []
    for part in exported_files(path):
        with part.open(newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for part in exported_files(path) for line in part.read_text().splitlines()]


def csv_ids(path: Path) -> Counter[str]:
    return Counter(row["event_id"] for row in csv_rows(path))


def json_ids(path: Path) -> Counter[str]:
    return Counter(line["event_id"] for line in json_lines(path))


def sidecar(kind: str, key: str, **extra: Any) -> dict[str, Any]:
    """A sidecar event in the SDK's full form (the recording sidecar API takes nothing less)."""
    return {
        "site_id": "fab-1",
        "app": {"app_id": APP_ID, "name": "etl", "version": "2"},
        "entity_type": "job",
        "business_key": key,
        "entity_id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "kind": kind,
        "timestamp": "2026-03-01T10:00:01Z",
        **extra,
    }


def full_event(key: str, kind: str = "progress") -> dict[str, Any]:
    """A sidecar event with its id and a message a CSV has to quote."""
    return sidecar(kind, key, event_id=str(uuid.uuid4()), message='line one\nline two, "quoted"')


class BatchLoad:
    """Steady load of sidecar batches; remembers the ids of every batch answered 202."""

    def __init__(self, url: str, batch: int = 5) -> None:
        self.url = url
        self.batch = batch
        self.acked: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        session = requests.Session()
        n = 0
        while not self.stopping.is_set():
            events = [full_event(f"job-{(n + i) % 7}") for i in range(self.batch)]
            try:
                answer = session.post(
                    f"{self.url}/v1/events/batch", json={"events": events}, headers=HEADERS, timeout=2
                )
            except requests.RequestException:
                time.sleep(0.02)
                continue
            if answer.status_code == 202:
                self.acked.extend(event["event_id"] for event in events)
                n += self.batch
            time.sleep(0.005)

    def start(self) -> BatchLoad:
        self.thread.start()
        return self

    def stop(self) -> set[str]:
        self.stopping.set()
        self.thread.join(timeout=10)
        return set(self.acked)
