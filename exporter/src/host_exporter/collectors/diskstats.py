"""node_disk_*_total from /proc/diskstats, as node_exporter's diskstats collector."""

from __future__ import annotations

import re
from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from host_exporter.collectors.base import CollectorSpec, HostPaths, read_text
from host_exporter.family import CounterFamily, GaugeFamily
from host_exporter.options import REGEX, Option

DEFAULT_DEVICE_EXCLUDE = r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"
DEVICE_EXCLUDE = Option(
    flag="collector.diskstats.device-exclude",
    kind=REGEX,
    default=DEFAULT_DEVICE_EXCLUDE,
    help="regexp of disk devices to exclude",
)
SECTOR_BYTES = 512.0  # the kernel counts diskstats sectors in 512-byte units whatever the device's

# (column after the device name, metric name, help, scale); io_now is the one gauge.
COUNTERS = (
    (0, "node_disk_reads_completed", "The total number of reads completed successfully.", 1.0),
    (1, "node_disk_reads_merged", "The total number of reads merged.", 1.0),
    (2, "node_disk_read_bytes", "The total number of bytes read successfully.", SECTOR_BYTES),
    (3, "node_disk_read_time_seconds", "The total number of seconds spent by all reads.", 0.001),
    (4, "node_disk_writes_completed", "The total number of writes completed successfully.", 1.0),
    (5, "node_disk_writes_merged", "The number of writes merged.", 1.0),
    (6, "node_disk_written_bytes", "The total number of bytes written successfully.", SECTOR_BYTES),
    (7, "node_disk_write_time_seconds", "This is the total number of seconds spent by all writes.", 0.001),
    (9, "node_disk_io_time_seconds", "Total seconds spent doing I/Os.", 0.001),
    (10, "node_disk_io_time_weighted_seconds", "The weighted # of seconds spent doing I/Os.", 0.001),
    (11, "node_disk_discards_completed", "The total number of discards completed successfully.", 1.0),
    (12, "node_disk_discards_merged", "The total number of discards merged.", 1.0),
    (13, "node_disk_discarded_sectors", "The total number of sectors discarded successfully.", 1.0),
    (
        14,
        "node_disk_discard_time_seconds",
        "This is the total number of seconds spent by all discards.",
        0.001,
    ),
    (15, "node_disk_flush_requests", "The total number of flush requests completed successfully", 1.0),
    (
        16,
        "node_disk_flush_requests_time_seconds",
        "This is the total number of seconds spent by all flush requests.",
        0.001,
    ),
)


def parse_diskstats(diskstats: str) -> dict[str, list[float]]:
    """Device name to its counter columns (those after major, minor and name)."""
    devices = {}
    for line in diskstats.splitlines():
        parts = line.split()
        if len(parts) >= 14:
            devices[parts[2]] = [float(value) for value in parts[3:]]
    return devices


class DiskstatsCollector:
    def __init__(self, paths: HostPaths, device_exclude: str = DEFAULT_DEVICE_EXCLUDE) -> None:
        self.diskstats = paths.proc("diskstats")
        self.device_exclude = re.compile(device_exclude)

    def collect(self) -> Iterator[Metric]:
        devices = {
            name: columns
            for name, columns in parse_diskstats(read_text(self.diskstats)).items()
            if not self.device_exclude.search(name)
        }
        for column, name, help_text, scale in COUNTERS:
            family = CounterFamily(name, help_text, labels=["device"])
            for device, columns in devices.items():
                if column < len(columns):  # discard and flush columns need kernel 4.18 and 5.5
                    family.add_metric([device], columns[column] * scale)
            if family.series:
                yield family
        io_now = GaugeFamily(
            "node_disk_io_now", "The number of I/Os currently in progress.", labels=["device"]
        )
        for device, columns in devices.items():
            io_now.add_metric([device], columns[8])
        yield io_now


SPEC = CollectorSpec(
    name="diskstats",
    description="Disk I/O counters, from /proc/diskstats",
    build=lambda paths, values: DiskstatsCollector(paths, values[DEVICE_EXCLUDE]),
    options=(DEVICE_EXCLUDE,),
)
