"""Boot time, context switches, forks, interrupts and process counts from /proc/stat."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from host_exporter.collectors.base import CollectorSpec, HostPaths, read_text
from host_exporter.family import CounterFamily, GaugeFamily


def parse_stat_fields(stat: str) -> dict[str, float]:
    """The first value of each non-CPU line of /proc/stat: btime, ctxt, processes, intr (total) ..."""
    fields: dict[str, float] = {}
    for line in stat.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].startswith("cpu"):
            fields[parts[0]] = float(parts[1])
    return fields


class StatCollector:
    def __init__(self, paths: HostPaths) -> None:
        self.stat = paths.proc("stat")

    def collect(self) -> Iterator[Metric]:
        fields = parse_stat_fields(read_text(self.stat))
        yield GaugeFamily("node_boot_time_seconds", "Node boot time, in unixtime.", value=fields["btime"])
        yield CounterFamily(
            "node_context_switches", "Total number of context switches.", value=fields.get("ctxt", 0.0)
        )
        yield CounterFamily("node_forks", "Total number of forks.", value=fields.get("processes", 0.0))
        yield CounterFamily(
            "node_intr", "Total number of interrupts serviced.", value=fields.get("intr", 0.0)
        )
        yield GaugeFamily(
            "node_procs_running",
            "Number of processes in runnable state.",
            value=fields.get("procs_running", 0.0),
        )
        yield GaugeFamily(
            "node_procs_blocked",
            "Number of processes blocked waiting for I/O to complete.",
            value=fields.get("procs_blocked", 0.0),
        )


SPEC = CollectorSpec(
    name="stat",
    description="Boot time, context switches, forks, interrupts, from /proc/stat",
    build=lambda paths, _values: StatCollector(paths),
)
