"""What delivering the event log and Pushgateway's requests needs of the bridge's Settings, as plain
values: the delivery process unpickles this, not Settings, so it imports no pydantic (about 8 MB of its
memory, bench/README.md, eighth round). The names are Settings' own; `of` copies them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pushgateway_bridge.settings import Settings


@dataclass(frozen=True)
class DeliverySettings:
    log_level: str
    pushgateway_url: str
    request_timeout_seconds: float
    flush_interval_seconds: float
    retry_initial_seconds: float
    retry_max_seconds: float
    loki_url: str | None
    loki_tenant: str | None
    loki_push_max_bytes: int
    loki_batch_max_entries: int
    events_path: Path  # Settings' property: events_file, or events.jsonl in data_dir
    events_file_max_bytes: int
    events_file_backups: int

    @classmethod
    def of(cls, settings: Settings) -> DeliverySettings:
        return cls(**{field.name: getattr(settings, field.name) for field in fields(cls)})
