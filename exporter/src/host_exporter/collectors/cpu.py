"""node_cpu_seconds_total and node_cpu_guest_seconds_total from /proc/stat (node_exporter's cpu)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from host_exporter.collectors.base import CollectorSpec, HostPaths, read_text
from host_exporter.family import CounterFamily

# /proc/stat columns after "cpuN", in kernel order; guest time is also counted in user/nice by the
# kernel, which is why node_exporter reports it as a separate metric.
MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
GUEST_MODES = ("user", "nice")


def parse_cpu_lines(stat: str, user_hz: float) -> dict[str, list[float]]:
    """Per-CPU seconds for MODES then GUEST_MODES, keyed by CPU number as a string."""
    per_cpu: dict[str, list[float]] = {}
    for line in stat.splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        name, *fields = line.split()
        ticks = [float(value) for value in fields[: len(MODES) + len(GUEST_MODES)]]
        ticks += [0.0] * (len(MODES) + len(GUEST_MODES) - len(ticks))  # old kernels have fewer columns
        per_cpu[name.removeprefix("cpu")] = [tick / user_hz for tick in ticks]
    return per_cpu


class CPUCollector:
    def __init__(self, paths: HostPaths) -> None:
        self.stat = paths.proc("stat")
        self.user_hz = float(os.sysconf("SC_CLK_TCK"))

    def collect(self) -> Iterator[CounterFamily]:
        per_cpu = parse_cpu_lines(read_text(self.stat), self.user_hz)
        seconds = CounterFamily(
            "node_cpu_seconds", "Seconds the CPUs spent in each mode.", labels=["cpu", "mode"]
        )
        guest = CounterFamily(
            "node_cpu_guest_seconds",
            "Seconds the CPUs spent in guests (VMs) for each mode.",
            labels=["cpu", "mode"],
        )
        for cpu, values in per_cpu.items():
            for mode, value in zip(MODES, values, strict=False):
                seconds.add_metric([cpu, mode], value)
            for mode, value in zip(GUEST_MODES, values[len(MODES) :], strict=False):
                guest.add_metric([cpu, mode], value)
        yield seconds
        yield guest


SPEC = CollectorSpec(
    name="cpu",
    description="CPU seconds per mode, from /proc/stat",
    build=lambda paths, _values: CPUCollector(paths),
)
