"""The hardware collectors against fixture trees (a Pi 4, a server): temperatures, CPU frequencies, the Pi's
throttling and under-voltage flags, with exact values; None where a metric must be absent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from exporter_support import FIXTURES, PI_PATHS, SERVER_PATHS, registry_with
from host_exporter.collectors.base import HostPaths
from host_exporter.collectors.cpufreq import CpufreqCollector
from host_exporter.collectors.hwmon import HwmonCollector
from host_exporter.collectors.rpi_throttled import RpiThrottledCollector
from host_exporter.collectors.thermal_zone import ThermalZoneCollector


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
