"""Where the event log goes: Loki when loki_url is set, else the local events file."""

from __future__ import annotations

from pushgateway_bridge.delivery.settings import DeliverySettings
from pushgateway_bridge.sinks.events_file import EventsFileSink
from pushgateway_bridge.sinks.loki import LokiSink


def log_sink(s: DeliverySettings) -> LokiSink | EventsFileSink:
    if s.loki_url:
        return LokiSink(s.loki_url, s.loki_tenant, s.request_timeout_seconds, s.loki_push_max_bytes)
    return EventsFileSink(s.events_path, s.events_file_max_bytes, s.events_file_backups)
