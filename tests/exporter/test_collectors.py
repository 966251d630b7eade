"""The /proc collectors, textfile and processes against fixture trees, with exact values; None where a metric
must be absent; and a failing collector. Filesystems: test_collectors_filesystem.py; sensors and the Pi:
test_collectors_hardware.py."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.metrics_core import Metric

from exporter_support import PI_PATHS, registry_with
from host_exporter.collectors.base import HostPaths
from host_exporter.collectors.cpu import CPUCollector
from host_exporter.collectors.diskstats import DiskstatsCollector
from host_exporter.collectors.loadavg import LoadavgCollector
from host_exporter.collectors.meminfo import MeminfoCollector
from host_exporter.collectors.netdev import NetdevCollector
from host_exporter.collectors.processes import ProcessesCollector, ProcessGroup
from host_exporter.collectors.stat import StatCollector
from host_exporter.collectors.textfile import TextfileCollector


def test_cpu_seconds_per_cpu_and_mode() -> None:
    registry = registry_with(cpu=CPUCollector(PI_PATHS))
    hz = os.sysconf("SC_CLK_TCK")
    assert registry.get_sample_value("node_cpu_seconds_total", {"cpu": "1", "mode": "idle"}) == 2004 / hz
    assert registry.get_sample_value("node_cpu_seconds_total", {"cpu": "0", "mode": "steal"}) == 4 / hz
    assert registry.get_sample_value("node_cpu_guest_seconds_total", {"cpu": "0", "mode": "nice"}) == 5 / hz
    assert registry.get_sample_value("node_cpu_seconds_total", {"cpu": "", "mode": "idle"}) is None


def test_stat_boot_time_and_counters() -> None:
    registry = registry_with(stat=StatCollector(PI_PATHS))
    assert registry.get_sample_value("node_boot_time_seconds") == 1700000000
    assert registry.get_sample_value("node_context_switches_total") == 987654
    assert registry.get_sample_value("node_forks_total") == 4321
    assert registry.get_sample_value("node_procs_blocked") == 1


def test_loadavg() -> None:
    registry = registry_with(loadavg=LoadavgCollector(PI_PATHS))
    assert [registry.get_sample_value(f"node_load{m}") for m in (1, 5, 15)] == [0.21, 0.37, 0.39]


def test_meminfo_bytes_and_unitless_fields() -> None:
    registry = registry_with(meminfo=MeminfoCollector(PI_PATHS))
    assert registry.get_sample_value("node_memory_MemTotal_bytes") == 3882384 * 1024
    assert registry.get_sample_value("node_memory_MemAvailable_bytes") == 3325028 * 1024
    assert registry.get_sample_value("node_memory_Active_anon_bytes") == 112044 * 1024
    assert registry.get_sample_value("node_memory_HugePages_Total") == 0
    assert registry.get_sample_value("node_memory_HugePages_Total_bytes") is None


def test_diskstats_excludes_partitions_and_loops_and_scales_units() -> None:
    registry = registry_with(diskstats=DiskstatsCollector(PI_PATHS))
    get = registry.get_sample_value
    assert get("node_disk_reads_completed_total", {"device": "mmcblk0"}) == 23850
    assert get("node_disk_read_bytes_total", {"device": "mmcblk0"}) == 1711246 * 512
    assert get("node_disk_read_time_seconds_total", {"device": "mmcblk0"}) == pytest.approx(31.72)
    assert get("node_disk_io_now", {"device": "sda"}) == 2
    assert get("node_disk_reads_completed_total", {"device": "loop0"}) is None
    # mmcblk0p1 is not matched by node_exporter's default exclude, and so is reported like the disk.
    assert get("node_disk_reads_completed_total", {"device": "mmcblk0p1"}) == 160
    # An old kernel's line without discard columns reports no discard sample for that device.
    assert get("node_disk_discards_completed_total", {"device": "sda"}) is None
    assert get("node_disk_flush_requests_total", {"device": "mmcblk0"}) == 120


def test_netdev_counters_with_device_exclude() -> None:
    registry = registry_with(netdev=NetdevCollector(PI_PATHS, device_exclude="^lo$"))
    assert registry.get_sample_value("node_network_receive_bytes_total", {"device": "eth0"}) == 98765432
    assert registry.get_sample_value("node_network_transmit_drop_total", {"device": "eth0"}) == 4
    assert registry.get_sample_value("node_network_receive_multicast_total", {"device": "eth0"}) == 12
    assert registry.get_sample_value("node_network_receive_bytes_total", {"device": "lo"}) is None


def test_netdev_include_wins_over_exclude() -> None:
    registry = registry_with(netdev=NetdevCollector(PI_PATHS, device_exclude="^eth", device_include="^eth0$"))
    assert registry.get_sample_value("node_network_receive_bytes_total", {"device": "eth0"}) == 98765432
    assert registry.get_sample_value("node_network_receive_bytes_total", {"device": "wlan0"}) is None


def test_textfile_exposes_files_and_flags_bad_ones(tmp_path: Path) -> None:
    (tmp_path / "backup.prom").write_text(
        "# HELP backup_last_success_timestamp_seconds Last good backup.\n"
        "# TYPE backup_last_success_timestamp_seconds gauge\n"
        'backup_last_success_timestamp_seconds{job="nightly"} 1.7e9\n'
    )
    (tmp_path / "ignored.txt").write_text("not_read 1\n")
    registry = registry_with(textfile=TextfileCollector(tmp_path))
    assert registry.get_sample_value("backup_last_success_timestamp_seconds", {"job": "nightly"}) == 1.7e9
    assert registry.get_sample_value("node_textfile_mtime_seconds", {"file": "backup.prom"}) is not None
    assert registry.get_sample_value("node_textfile_scrape_error") == 0
    assert registry.get_sample_value("not_read") is None
    (tmp_path / "broken.prom").write_text("this is { not exposition\n")
    assert registry.get_sample_value("node_textfile_scrape_error") == 1
    assert registry.get_sample_value("backup_last_success_timestamp_seconds", {"job": "nightly"}) == 1.7e9


def test_process_groups_count_this_test_process() -> None:
    group = ProcessGroup(name="pytest", cmdline=(re.compile(r"pytest"),))
    registry = registry_with(processes=ProcessesCollector(HostPaths(), [group]))
    labels = {"groupname": "pytest"}
    assert (registry.get_sample_value("namedprocess_namegroup_num_procs", labels) or 0) >= 1
    resident = registry.get_sample_value(
        "namedprocess_namegroup_memory_bytes", {**labels, "memtype": "resident"}
    )
    assert resident is not None and resident > 1e6
    assert (registry.get_sample_value("namedprocess_namegroup_open_filedesc", labels) or 0) >= 3
    assert (
        registry.get_sample_value("namedprocess_namegroup_cpu_seconds_total", {**labels, "mode": "user"}) or 0
    ) > 0


def test_process_groups_match_by_comm_or_exe_basename() -> None:
    by_exe = ProcessGroup(name="python", exe=(Path(sys.executable).resolve().name,))
    assert by_exe.matches("anything", str(Path(sys.executable).resolve()), [])
    assert ProcessGroup(name="nginx", comm=("nginx",)).matches("nginx", "", [])
    assert not ProcessGroup(name="nginx", comm=("nginx",)).matches("nginx-helper", "/usr/bin/x", ["nginx"])


def test_process_groups_report_nothing_when_none_configured() -> None:
    registry = registry_with(processes=ProcessesCollector(HostPaths(), []))
    assert registry.get_sample_value("namedprocess_namegroup_num_procs", {"groupname": "pytest"}) is None


class Exploding:
    def collect(self) -> Iterator[Metric]:
        raise OSError("sensor unplugged")


def test_a_failing_collector_reports_success_zero_logs_once_and_spares_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = registry_with(broken=Exploding(), loadavg=LoadavgCollector(PI_PATHS))
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            assert registry.get_sample_value("node_scrape_collector_success", {"collector": "broken"}) == 0
    assert registry.get_sample_value("node_load1") == 0.21
    assert registry.get_sample_value("node_scrape_collector_success", {"collector": "loadavg"}) == 1
    assert (
        registry.get_sample_value("node_scrape_collector_duration_seconds", {"collector": "broken"})
        is not None
    )
    assert [record.getMessage() for record in caplog.records] == [
        "collector broken failed: OSError: sensor unplugged"
    ]
