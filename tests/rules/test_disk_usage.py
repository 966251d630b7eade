"""The disk-usage recording rule reads what psutil's disk_usage().percent and df's Use% read.

The Pi seed set its 90 % disk threshold on psutil's percent: used / (used + avail) with used = size - free,
so blocks reserved for root count neither as used nor as room left. Real Prometheus evaluates the rendered
rule here on exporters' output: first on a filesystem fixture with reserved blocks, then on the real
filesystem the tests run on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from prometheus_client import start_http_server

from exporter_support import registry_with
from exporter_support import start as start_host_exporter
from generator.prometheus_rules.host import FILESYSTEM
from generator.source import load_source
from host_exporter.collectors.base import HostPaths
from host_exporter.collectors.filesystem import FilesystemCollector
from stack import Prometheus, Stack, free_port

ROOT = Path(__file__).resolve().parents[2]
HOST_RULES = ROOT / "rules" / "host.rules.yml"
FILESYSTEM_ONLY = ("--collector.disable-defaults", "--collector.filesystem")
# 1000 blocks, 300 free, 120 of them for anyone: used 700 of 820 = 85.4 %; 1 - avail/size would say 88 %.
RESERVED = os.statvfs_result((4096, 4096, 1000, 300, 120, 100, 50, 50, 0, 255))


def prometheus_with_host_rules(stack: Stack, target: str) -> Prometheus:
    """Prometheus scraping `target` as the first host-exporter job of monitoring.yml, with host.rules.yml."""
    job = load_source(ROOT / "monitoring.yml").hosts.exporter_jobs[0]
    scrape = {"job_name": job, "static_configs": [{"targets": [target]}]}
    return stack.prometheus(scrape_configs=[scrape], rule_files=[HOST_RULES])


def rule_percent(prometheus: Prometheus, mountpoint: str) -> float:
    result = prometheus.wait_for(f'{FILESYSTEM}{{mountpoint="{mountpoint}"}}', timeout=30)
    assert len(result) == 1, result
    return float(result[0]["value"][1]) * 100


def test_the_rule_reads_psutils_percent_on_a_filesystem_with_reserved_blocks(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    procfs = tmp_path / "proc"
    procfs.mkdir()
    (procfs / "mounts").write_text("/dev/sdz1 /data ext4 rw,relatime 0 0\n")
    collector = FilesystemCollector(HostPaths(procfs=procfs), statvfs=lambda path: RESERVED)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry_with(filesystem=collector))
    try:
        value = rule_percent(prometheus_with_host_rules(stack, f"127.0.0.1:{port}"), "/data")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    monkeypatch.setattr(os, "statvfs", lambda path: RESERVED)
    assert psutil.disk_usage("/data").percent == 85.4
    assert round(value, 1) == 85.4


def _node_exporter(stack: Stack) -> str:
    return stack.node_exporter(FILESYSTEM_ONLY).url


def _host_exporter(stack: Stack) -> str:
    return start_host_exporter(stack, *FILESYSTEM_ONLY)


def _mountpoint(path: Path) -> Path:
    path = path.resolve()
    while not path.is_mount():
        path = path.parent
    return path


@pytest.mark.parametrize("exporter", [_node_exporter, _host_exporter], ids=["node_exporter", "host-exporter"])
def test_the_rule_reads_psutils_percent_on_the_filesystem_the_tests_run_on(
    stack: Stack, tmp_path: Path, exporter: Callable[[Stack], str]
) -> None:
    mountpoint = _mountpoint(tmp_path)
    before = psutil.disk_usage(str(mountpoint)).percent
    url = exporter(stack)
    value = rule_percent(prometheus_with_host_rules(stack, url.removeprefix("http://")), str(mountpoint))
    after = psutil.disk_usage(str(mountpoint)).percent
    # Other processes write meanwhile; psutil rounds to 0.1.
    assert min(before, after) - 0.15 <= value <= max(before, after) + 0.15, (before, value, after)
