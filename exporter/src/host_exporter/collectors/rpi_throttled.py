"""Raspberry Pi firmware throttling and under-voltage flags (the firmware's get_throttled bit field).

Read from sysfs where the kernel's firmware driver offers it, else from `vcgencmd get_throttled`. On hosts
that are not Raspberry Pis neither exists, and the collector reports nothing (no data is not a failure).
Where `vcgencmd` is on PATH is looked up once a minute, not on every scrape: off a Pi that walk of PATH
was most of this collector's time, and an install of it is seen within the minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

from host_exporter.collectors.base import CollectorSpec, HostPaths, read_text
from host_exporter.family import GaugeFamily

SYSFS_FILES = (
    ("devices", "platform", "soc", "soc:firmware", "get_throttled"),
    ("devices", "platform", "soc", "soc:firmware", "raspberrypi-hwmon", "get_throttled"),
)

# (bit for "now"; the "has occurred since boot" bit is 16 higher), metric name, what the flag means.
FLAGS = (
    (0, "node_rpi_under_voltage", "under-voltage: the supply is below 4.63 V"),
    (1, "node_rpi_arm_frequency_capped", "ARM frequency capped by the firmware"),
    (2, "node_rpi_throttled", "CPU throttled by the firmware"),
    (3, "node_rpi_soft_temp_limit", "soft temperature limit (60 C by default on a Pi 3B+/4) active"),
)
WHICH_EVERY_SECONDS = 60.0


def parse_throttled(text: str) -> int:
    """`"50005"` (sysfs, hex) or `"throttled=0x50005"` (vcgencmd) -> 0x50005."""
    value = text.strip().rpartition("=")[2]
    return int(value, 16)


def throttle_flags(value: int) -> dict[str, float]:
    flags = {}
    for bit, name, _meaning in FLAGS:
        flags[name] = float(value >> bit & 1)
        flags[f"{name}_occurred"] = float(value >> (bit + 16) & 1)
    return flags


class RpiThrottledCollector:
    def __init__(self, paths: HostPaths, vcgencmd: str | None = "vcgencmd") -> None:
        self.sysfs_files = tuple(str(paths.sys(*parts)) for parts in SYSFS_FILES)
        self.vcgencmd = vcgencmd
        self._which: tuple[float, str | None] | None = None  # (when looked up, the command found)

    def _command(self) -> str | None:
        now = time.monotonic()
        if self._which is None or now - self._which[0] >= WHICH_EVERY_SECONDS:
            self._which = (now, shutil.which(self.vcgencmd) if self.vcgencmd else None)
        return self._which[1]

    def read_raw(self) -> str | None:
        for path in self.sysfs_files:
            if os.path.exists(path):
                return read_text(path)
        command = self._command()
        if command is None:
            return None
        result = subprocess.run(
            [command, "get_throttled"], capture_output=True, text=True, timeout=2, check=True
        )
        return result.stdout

    def collect(self) -> Iterator[GaugeFamily]:
        raw = self.read_raw()
        if raw is None:
            return
        flags = throttle_flags(parse_throttled(raw))
        for _bit, name, meaning in FLAGS:
            yield GaugeFamily(name, f"1 while {meaning}.", value=flags[name])
            yield GaugeFamily(
                f"{name}_occurred",
                f"1 if, since boot, {meaning} has occurred.",
                value=flags[f"{name}_occurred"],
            )


SPEC = CollectorSpec(
    name="rpi_throttled",
    description="Raspberry Pi under-voltage and throttling flags (nothing off a Pi)",
    build=lambda paths, _values: RpiThrottledCollector(paths),
)
