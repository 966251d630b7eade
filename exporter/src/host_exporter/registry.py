"""The table of collectors (which also makes the --collector.NAME flags) and the wrapper that runs them.

As in node_exporter, a collector that raises is reported through node_scrape_collector_success = 0 and
one log line when it starts failing; the scrape itself still succeeds with everything else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.process_collector import ProcessCollector

from host_exporter.collectors.base import Collector, HostPaths
from host_exporter.collectors.cpu import CPUCollector
from host_exporter.collectors.cpufreq import CpufreqCollector
from host_exporter.collectors.diskstats import DEFAULT_DEVICE_EXCLUDE, DiskstatsCollector
from host_exporter.collectors.filesystem import (
    DEFAULT_FS_TYPES_EXCLUDE,
    DEFAULT_MOUNT_POINTS_EXCLUDE,
    DEFAULT_MOUNT_TIMEOUT_SECONDS,
    FilesystemCollector,
)
from host_exporter.collectors.hwmon import HwmonCollector
from host_exporter.collectors.loadavg import LoadavgCollector
from host_exporter.collectors.meminfo import MeminfoCollector
from host_exporter.collectors.netdev import NetdevCollector
from host_exporter.collectors.processes import ProcessesCollector, ProcessGroup
from host_exporter.collectors.rpi_throttled import RpiThrottledCollector
from host_exporter.collectors.stat import StatCollector
from host_exporter.collectors.textfile import TextfileCollector
from host_exporter.collectors.thermal_zone import ThermalZoneCollector
from host_exporter.collectors.time import TimeCollector
from host_exporter.collectors.uname import UnameCollector

log = logging.getLogger(__name__)


@dataclass
class CollectorSettings:
    """Everything collectors are configured with, from flags and the config file."""

    paths: HostPaths = field(default_factory=HostPaths)
    textfile_directory: Path | None = None
    mount_points_exclude: str = DEFAULT_MOUNT_POINTS_EXCLUDE
    fs_types_exclude: str = DEFAULT_FS_TYPES_EXCLUDE
    mount_timeout: float = DEFAULT_MOUNT_TIMEOUT_SECONDS
    diskstats_device_exclude: str = DEFAULT_DEVICE_EXCLUDE
    netdev_device_exclude: str = ""
    netdev_device_include: str = ""
    process_groups: list[ProcessGroup] = field(default_factory=list)


@dataclass(frozen=True)
class CollectorSpec:
    name: str
    description: str
    default: bool
    build: Callable[[CollectorSettings], Collector]


COLLECTORS: tuple[CollectorSpec, ...] = (
    CollectorSpec("cpu", "CPU seconds per mode, from /proc/stat", True, lambda s: CPUCollector(s.paths)),
    CollectorSpec("cpufreq", "CPU frequency scaling, from sysfs", True, lambda s: CpufreqCollector(s.paths)),
    CollectorSpec(
        "diskstats",
        "Disk I/O counters, from /proc/diskstats",
        True,
        lambda s: DiskstatsCollector(s.paths, s.diskstats_device_exclude),
    ),
    CollectorSpec(
        "filesystem",
        "Filesystem size, free space and inodes, from the mount table and statvfs",
        True,
        lambda s: FilesystemCollector(s.paths, s.mount_points_exclude, s.fs_types_exclude, s.mount_timeout),
    ),
    CollectorSpec(
        "hwmon", "Temperature sensors, from /sys/class/hwmon", True, lambda s: HwmonCollector(s.paths)
    ),
    CollectorSpec("loadavg", "Load average, from /proc/loadavg", True, lambda s: LoadavgCollector(s.paths)),
    CollectorSpec(
        "meminfo", "Memory statistics, from /proc/meminfo", True, lambda s: MeminfoCollector(s.paths)
    ),
    CollectorSpec(
        "netdev",
        "Network interface counters, from /proc/net/dev",
        True,
        lambda s: NetdevCollector(s.paths, s.netdev_device_exclude, s.netdev_device_include),
    ),
    CollectorSpec(
        "processes",
        "Named process groups from the config file (namedprocess_namegroup_*)",
        True,
        lambda s: ProcessesCollector(s.paths, s.process_groups),
    ),
    CollectorSpec(
        "rpi_throttled",
        "Raspberry Pi under-voltage and throttling flags (nothing off a Pi)",
        True,
        lambda s: RpiThrottledCollector(s.paths),
    ),
    CollectorSpec(
        "stat",
        "Boot time, context switches, forks, interrupts, from /proc/stat",
        True,
        lambda s: StatCollector(s.paths),
    ),
    CollectorSpec(
        "textfile",
        "Metrics from *.prom files in --collector.textfile.directory",
        True,
        lambda s: TextfileCollector(s.textfile_directory),
    ),
    CollectorSpec(
        "thermal_zone",
        "Thermal zone temperatures (the Pi's CPU temperature), from /sys/class/thermal",
        True,
        lambda s: ThermalZoneCollector(s.paths),
    ),
    CollectorSpec("time", "System time and time zone offset", True, lambda s: TimeCollector()),
    CollectorSpec("uname", "System information from uname(2)", True, lambda s: UnameCollector()),
)
COLLECTOR_NAMES = tuple(spec.name for spec in COLLECTORS)


class NodeCollector:
    """Runs the enabled collectors at scrape time and reports each one's success and duration."""

    def __init__(self, collectors: Mapping[str, Collector]) -> None:
        self.collectors = dict(collectors)
        self._failing: set[str] = set()

    def _run(self, name: str, collector: Collector) -> tuple[list[Metric], bool]:
        try:
            metrics = list(collector.collect())
        except Exception as exc:  # a collector must never break the scrape; it reports through success=0
            if name not in self._failing:
                self._failing.add(name)
                log.error("collector %s failed: %s: %s", name, type(exc).__name__, exc)
            return [], False
        if name in self._failing:
            self._failing.discard(name)
            log.info("collector %s recovered", name)
        return metrics, True

    def collect(self) -> Iterator[Metric]:
        duration = GaugeMetricFamily(
            "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
            labels=["collector"],
        )
        success = GaugeMetricFamily(
            "node_scrape_collector_success",
            "node_exporter: Whether a collector succeeded.",
            labels=["collector"],
        )
        for name, collector in self.collectors.items():
            start = time.perf_counter()
            metrics, ok = self._run(name, collector)
            duration.add_metric([name], time.perf_counter() - start)
            success.add_metric([name], 1.0 if ok else 0.0)
            yield from metrics
        yield duration
        yield success


def build_registry(enabled: list[str], settings: CollectorSettings) -> CollectorRegistry:
    """A registry holding the enabled collectors (in table order) and the exporter's own process metrics."""
    by_name = {spec.name: spec for spec in COLLECTORS}
    collectors = {name: by_name[name].build(settings) for name in COLLECTOR_NAMES if name in enabled}
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(collectors))
    ProcessCollector(registry=registry)
    return registry
