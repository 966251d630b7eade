"""Each collector against fixture trees, with exact values; None where a metric must be absent."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.metrics_core import Metric

from exporter_support import FIXTURES, PI_PATHS, SERVER_PATHS, registry_with
from host_exporter.collectors.base import HostPaths
from host_exporter.collectors.cpu import CPUCollector
from host_exporter.collectors.cpufreq import CpufreqCollector
from host_exporter.collectors.diskstats import DiskstatsCollector
from host_exporter.collectors.filesystem import FilesystemCollector
from host_exporter.collectors.hwmon import HwmonCollector
from host_exporter.collectors.loadavg import LoadavgCollector
from host_exporter.collectors.meminfo import MeminfoCollector
from host_exporter.collectors.netdev import NetdevCollector
from host_exporter.collectors.processes import ProcessesCollector, ProcessGroup
from host_exporter.collectors.rpi_throttled import RpiThrottledCollector
from host_exporter.collectors.stat import StatCollector
from host_exporter.collectors.textfile import TextfileCollector
from host_exporter.collectors.thermal_zone import ThermalZoneCollector


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


def test_filesystem_reports_root_and_applies_default_excludes(tmp_path: Path) -> None:
    registry = registry_with(filesystem=FilesystemCollector(PI_PATHS))
    labels = {"device": "/dev/root", "fstype": "ext4", "mountpoint": "/"}
    stat = os.statvfs("/")
    assert registry.get_sample_value("node_filesystem_size_bytes", labels) == stat.f_blocks * stat.f_bsize
    assert registry.get_sample_value("node_filesystem_readonly", labels) == 0
    assert registry.get_sample_value("node_filesystem_device_error", labels) == 0
    proc = {"device": "proc", "fstype": "proc", "mountpoint": "/proc"}
    assert registry.get_sample_value("node_filesystem_size_bytes", proc) is None
    # A mount point that does not exist on this machine is reported as a device error, not a failure.
    usb = {"device": "/dev/sdb1", "fstype": "vfat", "mountpoint": "/media/usb stick"}
    assert registry.get_sample_value("node_filesystem_device_error", usb) == 1
    assert registry.get_sample_value("node_scrape_collector_success", {"collector": "filesystem"}) == 1


def one_scrape(collector: FilesystemCollector) -> Callable[[str, dict[str, str]], float | None]:
    """The samples of one collection (each registry.get_sample_value would collect again)."""
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in registry_with(filesystem=collector).collect()
        for sample in family.samples
    }
    return lambda name, labels: samples.get((name, frozenset(labels.items())))


def test_a_stuck_nfs_mount_is_an_error_and_skipped_until_it_answers(tmp_path: Path) -> None:
    """A dead NFS server blocks statvfs; the scrape must not wait on it (node_exporter's mount-timeout).

    The fake statvfs hangs on /mnt/nfs until the test releases it. A scrape that waited for it would end
    only when the fake gives up (GIVE_UP), which then raises, so that such a scrape fails on its metrics,
    not on a clock.
    """
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "mounts").write_text(
        "/dev/root / ext4 rw 0 0\nfiler:/export /mnt/nfs nfs4 rw 0 0\nfiler:/other /mnt/other nfs4 rw 0 0\n"
    )
    paths = HostPaths(procfs=tmp_path / "proc", sysfs=PI_PATHS.sysfs, rootfs=Path("/"))
    give_up = 10.0
    released = threading.Event()
    calls: list[str] = []

    def statvfs(path: Path) -> os.statvfs_result:
        calls.append(str(path))
        if str(path) == "/mnt/nfs" and not released.wait(give_up):
            raise AssertionError("a scrape waited for the stuck mount")
        return os.statvfs("/")

    collector = FilesystemCollector(paths, mount_timeout=0.2, statvfs=statvfs)
    nfs = {"device": "filer:/export", "fstype": "nfs4", "mountpoint": "/mnt/nfs"}
    other = {"device": "filer:/other", "fstype": "nfs4", "mountpoint": "/mnt/other"}
    root = {"device": "/dev/root", "fstype": "ext4", "mountpoint": "/"}
    try:
        scrape = one_scrape(collector)
        assert scrape("node_filesystem_device_error", nfs) == 1
        assert scrape("node_filesystem_size_bytes", nfs) is None
        # The other mounts still report, the healthy NFS one included.
        assert scrape("node_filesystem_device_error", other) == 0
        assert scrape("node_filesystem_device_error", root) == 0
        assert calls.count("/mnt/nfs") == 1

        # Still stuck: the next scrape neither waits for it, however long the timeout, nor calls again.
        collector.statfs.timeout = 3600
        scrape = one_scrape(collector)
        assert scrape("node_filesystem_device_error", nfs) == 1
        assert scrape("node_filesystem_device_error", other) == 0
        assert calls.count("/mnt/nfs") == 1

        # The server comes back: once the stuck call returns, the mount is stat'ed and reported again.
        stuck_call = collector.statfs.stuck["/mnt/nfs"]
        released.set()
        stuck_call.result(timeout=give_up)
        scrape = one_scrape(collector)
        assert scrape("node_filesystem_device_error", nfs) == 0
        assert scrape("node_filesystem_size_bytes", nfs) is not None
        assert calls.count("/mnt/nfs") == 2
    finally:
        released.set()


def test_thermal_zone_reads_the_pi_cpu_temperature() -> None:
    registry = registry_with(thermal_zone=ThermalZoneCollector(PI_PATHS))
    assert registry.get_sample_value("node_thermal_zone_temp", {"zone": "0", "type": "cpu-thermal"}) == 48.686


def test_thermal_zone_reports_nothing_without_zones() -> None:
    registry = registry_with(thermal_zone=ThermalZoneCollector(SERVER_PATHS))
    assert registry.get_sample_value("node_thermal_zone_temp", {"zone": "0", "type": "cpu-thermal"}) is None
    assert registry.get_sample_value("node_scrape_collector_success", {"collector": "thermal_zone"}) == 1


def test_hwmon_temperatures_and_chip_names() -> None:
    registry = registry_with(hwmon=HwmonCollector(SERVER_PATHS))
    labels = {"chip": "hwmon1", "sensor": "temp1"}
    assert registry.get_sample_value("node_hwmon_temp_celsius", labels) == 45.0
    assert registry.get_sample_value("node_hwmon_temp_crit_celsius", labels) == 100.0
    assert registry.get_sample_value("node_hwmon_temp_max_celsius", labels) == 84.0
    assert (
        registry.get_sample_value("node_hwmon_chip_names", {"chip": "hwmon1", "chip_name": "coretemp"}) == 1
    )


def test_cpufreq_in_hertz_per_cpu() -> None:
    registry = registry_with(cpufreq=CpufreqCollector(PI_PATHS))
    assert registry.get_sample_value("node_cpu_scaling_frequency_hertz", {"cpu": "3"}) == 1.5e9
    assert registry.get_sample_value("node_cpu_scaling_frequency_min_hertz", {"cpu": "0"}) == 6e8
    assert (
        registry.get_sample_value("node_cpu_frequency_hertz", {"cpu": "0"}) is None
    )  # root-only file absent


def pi_with_throttled(tmp_path: Path, value: str) -> HostPaths:
    sysfs = tmp_path / "sys"
    shutil.copytree(FIXTURES / "sys-pi4", sysfs)
    (sysfs / "devices/platform/soc/soc:firmware/get_throttled").write_text(value + "\n")
    return HostPaths(procfs=FIXTURES / "proc", sysfs=sysfs)


def test_rpi_healthy_pi_reports_all_flags_zero() -> None:
    registry = registry_with(rpi_throttled=RpiThrottledCollector(PI_PATHS, vcgencmd=None))
    for flag in ("under_voltage", "arm_frequency_capped", "throttled", "soft_temp_limit"):
        assert registry.get_sample_value(f"node_rpi_{flag}") == 0
        assert registry.get_sample_value(f"node_rpi_{flag}_occurred") == 0


def test_rpi_under_voltage_now(tmp_path: Path) -> None:
    paths = pi_with_throttled(tmp_path, "50005")
    registry = registry_with(rpi_throttled=RpiThrottledCollector(paths, vcgencmd=None))
    assert registry.get_sample_value("node_rpi_under_voltage") == 1
    assert registry.get_sample_value("node_rpi_throttled") == 1
    assert registry.get_sample_value("node_rpi_arm_frequency_capped") == 0
    assert registry.get_sample_value("node_rpi_under_voltage_occurred") == 1


def test_rpi_throttled_in_the_past_only(tmp_path: Path) -> None:
    paths = pi_with_throttled(tmp_path, "e0000")  # capped, throttled and soft limit since boot; fine now
    registry = registry_with(rpi_throttled=RpiThrottledCollector(paths, vcgencmd=None))
    assert registry.get_sample_value("node_rpi_throttled") == 0
    assert registry.get_sample_value("node_rpi_throttled_occurred") == 1
    assert registry.get_sample_value("node_rpi_soft_temp_limit_occurred") == 1
    assert registry.get_sample_value("node_rpi_under_voltage_occurred") == 0


def test_rpi_off_pi_reports_nothing_and_succeeds() -> None:
    registry = registry_with(rpi_throttled=RpiThrottledCollector(SERVER_PATHS, vcgencmd=None))
    assert registry.get_sample_value("node_rpi_under_voltage") is None
    assert registry.get_sample_value("node_scrape_collector_success", {"collector": "rpi_throttled"}) == 1


def test_rpi_falls_back_to_vcgencmd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin" / "vcgencmd"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho throttled=0x4\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    registry = registry_with(rpi_throttled=RpiThrottledCollector(SERVER_PATHS))
    assert registry.get_sample_value("node_rpi_throttled") == 1
    assert registry.get_sample_value("node_rpi_throttled_occurred") == 0


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
