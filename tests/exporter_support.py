"""Shared by the exporter tests: fixture trees and a registry holding chosen collectors."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry

from host_exporter.collectors.base import Collector, HostPaths
from host_exporter.registry import NodeCollector
from stack import Stack, free_port

FIXTURES = Path(__file__).resolve().parent / "exporter" / "fixtures"
PI_PATHS = HostPaths(procfs=FIXTURES / "proc", sysfs=FIXTURES / "sys-pi4", rootfs=Path("/"))
SERVER_PATHS = HostPaths(procfs=FIXTURES / "proc", sysfs=FIXTURES / "sys-server", rootfs=Path("/"))


def registry_with(**collectors: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(collectors))
    return registry


def host_exporter() -> str:
    found = shutil.which("host-exporter", path=str(Path(sys.executable).parent))
    assert found, "host-exporter is not installed in this venv (make setup)"
    return found


def start(stack: Stack, *flags: str) -> str:
    """Start the real host-exporter on a free loopback port; returns its base URL."""
    port = free_port()
    argv = [host_exporter(), f"--web.listen-address=127.0.0.1:{port}", *flags]
    return stack.process("host-exporter", argv, f"http://127.0.0.1:{port}", ready_path="/metrics").url
