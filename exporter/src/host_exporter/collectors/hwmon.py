"""node_hwmon_temp_celsius and friends from /sys/class/hwmon, named as node_exporter's hwmon collector."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

from host_exporter.collectors.base import CollectorSpec, HostPaths, read_int, read_text
from host_exporter.family import GaugeFamily

_TEMP_INPUT = re.compile(r"^(temp\d+)_input$")
_UNSAFE = re.compile(r"[^a-z0-9:_]")


def sanitise(name: str) -> str:
    return _UNSAFE.sub("_", name.strip().lower())


def chip_name(hwmon: Path) -> str:
    """node_exporter's chip label: `<bus>_<device>` from the device link, else the dir."""
    device = hwmon / "device"
    try:
        resolved = device.resolve(strict=True)
        subsystem = (device / "subsystem").resolve(strict=True).name
        return sanitise(f"{subsystem}_{resolved.name}")
    except OSError:
        return sanitise(hwmon.name)


class HwmonCollector:
    def __init__(self, paths: HostPaths) -> None:
        self.paths = paths

    def collect(self) -> Iterator[GaugeFamily]:
        labels = ["chip", "sensor"]
        temp = GaugeFamily(
            "node_hwmon_temp_celsius", "Hardware monitor for temperature (input)", labels=labels
        )
        temp_max = GaugeFamily(
            "node_hwmon_temp_max_celsius", "Hardware monitor for temperature (max)", labels=labels
        )
        temp_crit = GaugeFamily(
            "node_hwmon_temp_crit_celsius", "Hardware monitor for temperature (crit)", labels=labels
        )
        names = GaugeFamily(
            "node_hwmon_chip_names",
            "Annotation metric for human-readable chip names",
            labels=["chip", "chip_name"],
        )
        base = self.paths.sys("class", "hwmon")
        for hwmon in sorted(base.iterdir()) if base.is_dir() else []:
            chip = chip_name(hwmon)
            with contextlib.suppress(OSError):
                names.add_metric([chip, read_text(hwmon / "name").strip()], 1.0)
            for entry in sorted(hwmon.iterdir()):
                match = _TEMP_INPUT.match(entry.name)
                if not match:
                    continue
                sensor = match.group(1)
                for family, suffix in ((temp, "input"), (temp_max, "max"), (temp_crit, "crit")):
                    try:
                        family.add_metric([chip, sensor], read_int(hwmon / f"{sensor}_{suffix}") / 1000.0)
                    except (OSError, ValueError):
                        continue
        for family in (temp, temp_max, temp_crit, names):
            if family.series:
                yield family


SPEC = CollectorSpec(
    name="hwmon",
    description="Temperature sensors, from /sys/class/hwmon",
    build=lambda paths, _values: HwmonCollector(paths),
)
