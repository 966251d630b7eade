"""node_cpu_scaling_frequency_hertz and friends from /sys/devices/system/cpu/cpu*/cpufreq (kHz in sysfs)."""

from __future__ import annotations

from collections.abc import Iterator

from host_exporter.collectors.base import CollectorSpec, HostPaths, read_int
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
        self.paths = paths

    def collect(self) -> Iterator[GaugeFamily]:
        families = {file: GaugeFamily(name, help_text, labels=["cpu"]) for file, name, help_text in FILES}
        base = self.paths.sys("devices", "system", "cpu")
        cpus = sorted(base.glob("cpu[0-9]*"), key=lambda path: int(path.name[3:])) if base.is_dir() else []
        for cpu in cpus:
            cpufreq = cpu / "cpufreq"
            if not cpufreq.is_dir():
                continue
            for file, family in families.items():
                try:
                    family.add_metric([cpu.name[3:]], read_int(cpufreq / file) * 1000.0)
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
