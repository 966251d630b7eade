"""node_thermal_zone_temp from /sys/class/thermal: the Raspberry Pi's CPU temperature is thermal_zone0."""

from __future__ import annotations

from collections.abc import Iterator

from host_exporter.collectors.base import CollectorSpec, HostPaths, read_int, read_text
from host_exporter.family import GaugeFamily


class ThermalZoneCollector:
    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths

    def collect(self) -> Iterator[GaugeFamily]:
        family = GaugeFamily("node_thermal_zone_temp", "Zone temperature in Celsius", labels=["zone", "type"])
        base = self.paths.sys("class", "thermal")
        zones = sorted(base.glob("thermal_zone*")) if base.is_dir() else []
        for zone in zones:
            try:
                millidegrees = read_int(zone / "temp")
                zone_type = read_text(zone / "type").strip()
            except (OSError, ValueError):
                continue  # a zone whose sensor is absent or asleep, as node_exporter skips it
            family.add_metric([zone.name.removeprefix("thermal_zone"), zone_type], millidegrees / 1000.0)
        if family.series:
            yield family


SPEC = CollectorSpec(
    name="thermal_zone",
    description="Thermal zone temperatures (the Pi's CPU temperature), from /sys/class/thermal",
    build=lambda paths, _values: ThermalZoneCollector(paths),
)
