"""node_thermal_zone_temp from /sys/class/thermal: the Raspberry Pi's CPU temperature is thermal_zone0."""

from __future__ import annotations

import os
from collections.abc import Iterator

from host_exporter.collectors.base import CollectorSpec, HostPaths, entries, read_int, read_text
from host_exporter.family import GaugeFamily


class ThermalZoneCollector:
    def __init__(self, paths: HostPaths) -> None:
        self.base = paths.sys("class", "thermal")

    def collect(self) -> Iterator[GaugeFamily]:
        family = GaugeFamily("node_thermal_zone_temp", "Zone temperature in Celsius", labels=["zone", "type"])
        for zone in sorted(name for name in entries(self.base) if name.startswith("thermal_zone")):
            try:
                millidegrees = read_int(os.path.join(self.base, zone, "temp"))
                zone_type = read_text(os.path.join(self.base, zone, "type")).strip()
            except (OSError, ValueError):
                continue  # a zone whose sensor is absent or asleep, as node_exporter skips it
            family.add_metric((zone.removeprefix("thermal_zone"), zone_type), millidegrees / 1000.0)
        if family.series:
            yield family


SPEC = CollectorSpec(
    name="thermal_zone",
    description="Thermal zone temperatures (the Pi's CPU temperature), from /sys/class/thermal",
    build=lambda paths, _values: ThermalZoneCollector(paths),
)
