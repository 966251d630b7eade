"""What every collector shares: where the host's files are, and how a collector is called."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from prometheus_client.metrics_core import Metric


@dataclass(frozen=True)
class HostPaths:
    """Mount points of the host's pseudo-filesystems; tests point these at fixture trees."""

    procfs: Path = Path("/proc")
    sysfs: Path = Path("/sys")
    rootfs: Path = Path("/")

    def proc(self, *parts: str) -> Path:
        return self.procfs.joinpath(*parts)

    def sys(self, *parts: str) -> Path:
        return self.sysfs.joinpath(*parts)


class Collector(Protocol):
    """One source of metrics. `collect` raises on failure; "no data on this host" is an empty result."""

    def collect(self) -> Iterable[Metric]: ...


def read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def read_int(path: Path) -> int:
    return int(read_text(path).strip())
