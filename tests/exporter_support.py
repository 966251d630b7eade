"""Shared by the exporter tests: fixture trees and a registry holding chosen collectors."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from host_exporter.collectors.base import Collector, HostPaths
from host_exporter.registry import NodeCollector

FIXTURES = Path(__file__).resolve().parent / "exporter" / "fixtures"
PI_PATHS = HostPaths(procfs=FIXTURES / "proc", sysfs=FIXTURES / "sys-pi4", rootfs=Path("/"))
SERVER_PATHS = HostPaths(procfs=FIXTURES / "proc", sysfs=FIXTURES / "sys-server", rootfs=Path("/"))


def registry_with(**collectors: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(collectors))
    return registry
