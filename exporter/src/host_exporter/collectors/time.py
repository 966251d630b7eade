"""node_time_seconds and node_time_zone_offset_seconds, as node_exporter's time collector."""

from __future__ import annotations

import time
from collections.abc import Iterator

from host_exporter.collectors.base import CollectorSpec
from host_exporter.family import GaugeFamily


class TimeCollector:
    def collect(self) -> Iterator[GaugeFamily]:
        now = time.time()
        yield GaugeFamily("node_time_seconds", "System time in seconds since epoch (1970).", value=now)
        local = time.localtime(now)
        offset = GaugeFamily(
            "node_time_zone_offset_seconds", "System time zone offset in seconds.", labels=["time_zone"]
        )
        offset.add_metric([local.tm_zone], float(local.tm_gmtoff))
        yield offset


SPEC = CollectorSpec(
    name="time", description="System time and time zone offset", build=lambda _paths, _values: TimeCollector()
)
