"""node_load1, node_load5, node_load15 from /proc/loadavg."""

from __future__ import annotations

from collections.abc import Iterator

from host_exporter.collectors.base import CollectorSpec, HostPaths, read_text
from host_exporter.family import GaugeFamily


def parse_load(loadavg: str) -> tuple[float, float, float]:
    """`parse_load("0.21 0.37 0.39 1/719 19737") == (0.21, 0.37, 0.39)`."""
    one, five, fifteen = (float(value) for value in loadavg.split()[:3])
    return one, five, fifteen


class LoadavgCollector:
    def __init__(self, paths: HostPaths) -> None:
        self.loadavg = paths.proc("loadavg")

    def collect(self) -> Iterator[GaugeFamily]:
        loads = parse_load(read_text(self.loadavg))
        for minutes, value in zip(("1", "5", "15"), loads, strict=True):
            yield GaugeFamily(f"node_load{minutes}", f"{minutes}m load average.", value=value)


SPEC = CollectorSpec(
    name="loadavg",
    description="Load average, from /proc/loadavg",
    build=lambda paths, _values: LoadavgCollector(paths),
)
