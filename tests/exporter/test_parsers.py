"""The pure parsers, on the text the kernel writes."""

from __future__ import annotations

import pytest

from host_exporter.collectors.cpu import parse_cpu_lines
from host_exporter.collectors.diskstats import parse_diskstats
from host_exporter.collectors.filesystem import parse_mounts
from host_exporter.collectors.loadavg import parse_load
from host_exporter.collectors.meminfo import parse_meminfo
from host_exporter.collectors.netdev import parse_netdev
from host_exporter.collectors.rpi_throttled import parse_throttled, throttle_flags


def test_parse_load_takes_the_three_averages() -> None:
    assert parse_load("0.21 0.37 0.39 1/719 19737") == (0.21, 0.37, 0.39)


def test_parse_cpu_lines_skips_the_total_line_and_scales_ticks() -> None:
    per_cpu = parse_cpu_lines("cpu  1 2 3 4\ncpu0 100 0 50 1000 0 0 0 0 7 1\nintr 5\n", user_hz=100)
    assert list(per_cpu) == ["0"]
    assert per_cpu["0"][:4] == [1.0, 0.0, 0.5, 10.0]
    assert per_cpu["0"][8:] == [0.07, 0.01]


def test_parse_cpu_lines_pads_old_kernels_without_steal_and_guest() -> None:
    assert parse_cpu_lines("cpu0 100 0 50 1000 0 0 0\n", user_hz=100)["0"][7:] == [0.0, 0.0, 0.0]


def test_parse_meminfo_names_fields_as_node_exporter() -> None:
    values = parse_meminfo("MemTotal:  100 kB\nActive(anon):  2 kB\nHugePages_Total:  3\n")
    assert values == {"MemTotal_bytes": 102400.0, "Active_anon_bytes": 2048.0, "HugePages_Total": 3.0}


def test_parse_diskstats_keeps_the_counter_columns() -> None:
    devices = parse_diskstats(" 8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n 8 1 short 1 2\n")
    assert devices == {"sda": [float(value) for value in range(1, 12)]}


def test_parse_netdev_pairs_receive_and_transmit_columns() -> None:
    text = "h1\nh2\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
    stats = parse_netdev(text)["eth0"]
    assert stats["receive_bytes"] == 1.0
    assert stats["receive_multicast"] == 8.0
    assert stats["transmit_bytes"] == 9.0
    assert stats["transmit_carrier"] == 15.0


def test_parse_mounts_unescapes_spaces_and_reads_ro() -> None:
    (mount,) = parse_mounts("/dev/sdb1 /media/usb\\040stick vfat ro,relatime 0 0\n")
    assert mount.mountpoint == "/media/usb stick"
    assert mount.readonly


@pytest.mark.parametrize(("raw", "value"), [("50005\n", 0x50005), ("throttled=0x50005\n", 0x50005), ("0", 0)])
def test_parse_throttled_reads_sysfs_and_vcgencmd_forms(raw: str, value: int) -> None:
    assert parse_throttled(raw) == value


def test_throttle_flags_split_now_and_since_boot() -> None:
    flags = throttle_flags(0x50005)  # under-voltage and throttled now; both also "occurred"
    assert flags["node_rpi_under_voltage"] == 1.0
    assert flags["node_rpi_throttled"] == 1.0
    assert flags["node_rpi_arm_frequency_capped"] == 0.0
    assert flags["node_rpi_under_voltage_occurred"] == 1.0
    assert flags["node_rpi_throttled_occurred"] == 1.0
    assert flags["node_rpi_soft_temp_limit_occurred"] == 0.0
