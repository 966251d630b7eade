"""Shared by the exporter tests: fixture trees and a registry holding chosen collectors."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
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


class SteadyCpu:
    """A copy of the fixture procfs whose /proc/stat advances as a host busy at exactly `utilisation`
    (two CPUs, USER_HZ 100): a real exporter reading it gives Prometheus a CPU use that does not depend
    on how loaded the machine running the tests is. Stop it with `stop()`."""

    TICK_SECONDS = 0.2
    USER_HZ = 100

    def __init__(self, root: Path, utilisation: float) -> None:
        self.procfs = root / "proc"
        shutil.copytree(FIXTURES / "proc", self.procfs)
        self.utilisation = utilisation
        self.started = time.monotonic()
        self.stopping = threading.Event()
        self._write()
        self.thread = threading.Thread(target=self._run, name="steady-cpu", daemon=True)
        self.thread.start()

    def _write(self) -> None:
        ticks = (time.monotonic() - self.started) * self.USER_HZ
        busy, idle = int(ticks * self.utilisation), int(ticks * (1 - self.utilisation))
        rows = [f"cpu{n} {1000 + busy} 0 0 {1000 + idle} 0 0 0 0 0 0" for n in (0, 1)]
        total = f"cpu  {2000 + 2 * busy} 0 0 {2000 + 2 * idle} 0 0 0 0 0 0"
        rest = (FIXTURES / "proc" / "stat").read_text().split("\n", 3)[3]
        staged = self.procfs / "stat.new"
        staged.write_text("\n".join([total, *rows, rest]))
        os.replace(staged, self.procfs / "stat")  # the exporter never reads half a file

    def _run(self) -> None:
        while not self.stopping.wait(self.TICK_SECONDS):
            self._write()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
