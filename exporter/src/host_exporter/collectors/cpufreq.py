"""node_cpu_scaling_frequency_hertz and friends from /sys/devices/system/cpu/cpu*/cpufreq (kHz in sysfs)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from host_exporter.collectors.base import CollectorSpec, HostPaths, entries, read_int
from host_exporter.family import GaugeFamily

FILES = (
    ("scaling_cur_freq", "node_cpu_scaling_frequency_hertz", "Current scaled CPU thread frequency in hertz."),
    (
        "scaling_min_freq",
        "node_cpu_scaling_frequency_min_hertz",
        "Minimum scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_max_freq",
        "node_cpu_scaling_frequency_max_hertz",
        "Maximum scaled CPU thread frequency in hertz.",
    ),
    ("cpuinfo_cur_freq", "node_cpu_frequency_hertz", "Current CPU thread frequency in hertz."),
    ("cpuinfo_min_freq", "node_cpu_frequency_min_hertz", "Minimum CPU thread frequency in hertz."),
    ("cpuinfo_max_freq", "node_cpu_frequency_max_hertz", "Maximum CPU thread frequency in hertz."),
)


class CpufreqCollector:
    def __init__(self, paths: HostPaths) -> None:
        self.base = paths.sys("devices", "system", "cpu")

    def collect(self) -> Iterator[GaugeFamily]:
        families = {file: GaugeFamily(name, help_text, labels=["cpu"]) for file, name, help_text in FILES}
        # cpu0, cpu1 ... (what the glob cpu[0-9]* finds, not cpufreq or cpuidle), in numeric order
        numbers = (name[3:] for name in entries(self.base) if name[:3] == "cpu" and "0" <= name[3:4] <= "9")
        for cpu in sorted(numbers, key=int):
            cpufreq = os.path.join(self.base, f"cpu{cpu}", "cpufreq")
            if not os.path.isdir(cpufreq):
                continue
            for file, family in families.items():
                try:
                    family.add_metric((cpu,), read_int(os.path.join(cpufreq, file)) * 1000.0)
                except (OSError, ValueError):
                    continue  # cpuinfo_cur_freq is root-only on many kernels
        for family in families.values():
            if family.series:
                yield family


SPEC = CollectorSpec(
    name="cpufreq",
    description="CPU frequency scaling, from sysfs",
    build=lambda paths, _values: CpufreqCollector(paths),
)
