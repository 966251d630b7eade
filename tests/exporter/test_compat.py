"""Compatibility with the real node_exporter, started beside ours on the same machine.

For every metric both expose: the same name, type and label keys, the same label values where they
identify the same thing (CPUs, devices, mount points), and identical values for constant quantities.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from exporter_support import start
from host_exporter.collectors.filesystem import DEFAULT_FS_TYPES_EXCLUDE, DEFAULT_MOUNT_POINTS_EXCLUDE
from stack import Stack

# The families this exporter promises to share with node_exporter (family names as the parser gives them:
# counters without `_total`).
SHARED = re.compile(
    r"^node_(cpu_seconds|cpu_guest_seconds|load(1|5|15)|memory_\w+|filesystem_\w+|disk_\w+|"
    r"network_(receive|transmit)_\w+|boot_time_seconds|time_seconds|time_zone_offset_seconds|uname_info|"
    r"thermal_zone_temp|hwmon_temp\w*|hwmon_chip_names|cpu_scaling_frequency\w*|cpu_frequency\w*|textfile_\w+|"
    r"scrape_collector_(success|duration_seconds)|context_switches|forks|intr|procs_(running|blocked))$"
)
# Metrics node_exporter 1.5 has that we deliberately do not: udev-derived disk info, the netlink-only
# rx_nohandler counter, and the netclass collector's queue length (netclass is not one of ours).
NOT_OURS = {
    "node_disk_info",
    "node_disk_device_mapper_info",
    "node_filesystem_mount_info",
    "node_network_receive_nohandler",
    "node_network_transmit_queue_length",
}
# Label sets that identify the same object on both sides.
SAME_LABEL_VALUES = (
    "node_cpu_seconds",
    "node_filesystem_size_bytes",
    "node_network_receive_bytes",
    "node_disk_reads_completed",
)


def families(text: str) -> dict[str, Metric]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def label_sets(family: Metric) -> set[frozenset[tuple[str, str]]]:
    return {frozenset(sample.labels.items()) for sample in family.samples}


def value(family: Metric, **labels: str) -> float:
    for sample in family.samples:
        if all(sample.labels.get(key) == wanted for key, wanted in labels.items()):
            return float(sample.value)
    raise AssertionError(f"{family.name}{labels} not found")


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Metric], dict[str, Metric]]]:
    """(ours, node_exporter's) parsed expositions, with the same filters and textfile directory."""
    textfiles: Path = tmp_path_factory.mktemp("textfile")
    (textfiles / "shared.prom").write_text("# TYPE cron_ok gauge\ncron_ok 1\n")
    flags = [
        f"--collector.filesystem.mount-points-exclude={DEFAULT_MOUNT_POINTS_EXCLUDE}",
        f"--collector.filesystem.fs-types-exclude={DEFAULT_FS_TYPES_EXCLUDE}",
        "--collector.netdev.device-exclude=^lo$",
        f"--collector.textfile.directory={textfiles}",
    ]
    servers = Stack(tmp_path_factory.mktemp("stack"))
    try:
        node_exporter = servers.node_exporter(flags)
        ours_url = start(servers, *flags)
        theirs = requests.get(f"{node_exporter.url}/metrics", timeout=10).text
        ours = requests.get(f"{ours_url}/metrics", timeout=10).text
        yield families(ours), families(theirs)
    finally:
        servers.stop_all()


def shared_names(theirs: dict[str, Metric]) -> list[str]:
    return sorted(name for name in theirs if SHARED.match(name) and name not in NOT_OURS)


def test_every_shared_metric_exists_with_the_same_type_and_label_keys(
    both: tuple[dict[str, Metric], dict[str, Metric]],
) -> None:
    ours, theirs = both
    names = shared_names(theirs)
    assert len(names) > 60, "node_exporter exposed fewer shared metrics than expected; is it the real one?"
    missing = [name for name in names if name not in ours]
    assert missing == []
    mismatched = [
        (name, theirs[name].type, ours[name].type) for name in names if theirs[name].type != ours[name].type
    ]
    assert mismatched == []
    for name in names:
        their_keys = {frozenset(sample.labels) for sample in theirs[name].samples}
        our_keys = {frozenset(sample.labels) for sample in ours[name].samples}
        assert our_keys == their_keys, name


def test_the_same_cpus_devices_and_mount_points(both: tuple[dict[str, Metric], dict[str, Metric]]) -> None:
    ours, theirs = both
    for name in SAME_LABEL_VALUES:
        # Absent from node_exporter means this machine cannot check that family: a failure, not a pass.
        assert name in theirs, f"node_exporter exposes no {name} here, so its label values go unchecked"
        assert name in ours, name
        assert label_sets(ours[name]) == label_sets(theirs[name]), name


def test_constant_quantities_are_identical(both: tuple[dict[str, Metric], dict[str, Metric]]) -> None:
    ours, theirs = both
    mem_total = "node_memory_MemTotal_bytes"
    assert value(ours[mem_total]) == value(theirs[mem_total])
    size = "node_filesystem_size_bytes"
    assert value(ours[size], mountpoint="/") == value(theirs[size], mountpoint="/")
    boot = "node_boot_time_seconds"
    assert abs(value(ours[boot]) - value(theirs[boot])) <= 1.0
    assert value(ours["cron_ok"]) == value(theirs["cron_ok"]) == 1.0
    uname = {key: val for key, val in ours["node_uname_info"].samples[0].labels.items()}
    assert uname == theirs["node_uname_info"].samples[0].labels
