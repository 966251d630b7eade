"""What every collector shares: where the host's files are, how a collector is called and declared."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from prometheus_client.metrics_core import Metric

from host_exporter.options import PATH, Option, OptionValues

# Most /proc and sysfs files fit in one read of this; read_text reads on to the end of larger ones.
READ_SIZE = 32 * 1024


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


PROCFS = Option(flag="path.procfs", kind=PATH, default=str(HostPaths.procfs), help="procfs mount point")
SYSFS = Option(flag="path.sysfs", kind=PATH, default=str(HostPaths.sysfs), help="sysfs mount point")
ROOTFS = Option(
    flag="path.rootfs", kind=PATH, default=str(HostPaths.rootfs), help="root filesystem mount point"
)
PATH_OPTIONS = (PROCFS, SYSFS, ROOTFS)


def host_paths(values: OptionValues) -> HostPaths:
    return HostPaths(procfs=values[PROCFS], sysfs=values[SYSFS], rootfs=values[ROOTFS])


@dataclass(frozen=True)
class CollectorSpec:
    """A collector as its module declares it (`SPEC = CollectorSpec(...)`); registry.py finds every module's
    SPEC, and the --collector.NAME flags, the options' flags and config keys and the README's rows follow.
    Each option's flag sits under the collector's name: --collector.NAME.SETTING."""

    name: str  # --collector.NAME, and the `collector` label of node_scrape_collector_success
    description: str  # one line, for --help and the README
    build: Callable[[HostPaths, OptionValues], Collector]
    options: tuple[Option[Any], ...] = ()
    default: bool = True  # enabled unless --no-collector.NAME or --collector.disable-defaults


def read_text(path: str | Path) -> str:
    """The file as UTF-8, bad bytes replaced. Bytes read with os.read and decoded once: Path.read_text's
    text wrapper took twice as long for these small files. Unlike it, this keeps \\r as it is; the
    callers split lines with str.splitlines or strip, which treat it as universal newlines would."""
    chunks = []
    handle = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        while chunk := os.read(handle, READ_SIZE):
            chunks.append(chunk)
    finally:
        os.close(handle)
    return b"".join(chunks).decode("utf-8", errors="replace")


def read_int(path: str | Path) -> int:
    return int(read_text(path).strip())


def entries(directory: str | Path) -> list[str]:
    """The names in a directory, unsorted; none where it is missing or unreadable, as Path.glob finds none.
    os.listdir, filtered by name, takes half the time Path.glob did on /sys/devices/system/cpu."""
    try:
        return os.listdir(directory)
    except OSError:
        return []
