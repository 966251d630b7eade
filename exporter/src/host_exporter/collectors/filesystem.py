"""node_filesystem_* from the mount table and statvfs(), as node_exporter's filesystem collector."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily

from host_exporter.collectors.base import HostPaths, read_text

# node_exporter 1.5's upstream defaults (Debian's package patches its own; pass the flags to align them).
DEFAULT_MOUNT_POINTS_EXCLUDE = (
    r"^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
)
DEFAULT_FS_TYPES_EXCLUDE = (
    r"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|"
    r"overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$"
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mount:
    device: str
    mountpoint: str
    fstype: str
    readonly: bool


def _unescape(field: str) -> str:
    """The mount table escapes space, tab, newline and backslash as octal (\\040 ...)."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def parse_mounts(mounts: str) -> list[Mount]:
    parsed = []
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        options = parts[3].split(",")
        parsed.append(Mount(_unescape(parts[0]), _unescape(parts[1]), parts[2], "ro" in options))
    return parsed


class FilesystemCollector:
    def __init__(
        self,
        paths: HostPaths,
        mount_points_exclude: str = DEFAULT_MOUNT_POINTS_EXCLUDE,
        fs_types_exclude: str = DEFAULT_FS_TYPES_EXCLUDE,
    ) -> None:
        self.paths = paths
        self.mount_points_exclude = re.compile(mount_points_exclude)
        self.fs_types_exclude = re.compile(fs_types_exclude)

    def mounts(self) -> list[Mount]:
        # node_exporter reads PID 1's view so that a containerised exporter sees the host's mounts.
        for candidate in (self.paths.proc("1", "mounts"), self.paths.proc("mounts")):
            try:
                return parse_mounts(read_text(candidate))
            except OSError:
                continue
        raise OSError(f"no readable mount table under {self.paths.procfs}")

    def _visible_mountpoint(self, mountpoint: str) -> str:
        """The mount point as the host names it, with --path.rootfs stripped."""
        root = str(self.paths.rootfs).rstrip("/")
        if root and mountpoint.startswith(root):
            return mountpoint[len(root) :] or "/"
        return mountpoint

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["device", "fstype", "mountpoint"]
        size = GaugeMetricFamily("node_filesystem_size_bytes", "Filesystem size in bytes.", labels=labels)
        free = GaugeMetricFamily(
            "node_filesystem_free_bytes", "Filesystem free space in bytes.", labels=labels
        )
        avail = GaugeMetricFamily(
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
            labels=labels,
        )
        files = GaugeMetricFamily("node_filesystem_files", "Filesystem total file nodes.", labels=labels)
        files_free = GaugeMetricFamily(
            "node_filesystem_files_free", "Filesystem total free file nodes.", labels=labels
        )
        readonly = GaugeMetricFamily(
            "node_filesystem_readonly", "Filesystem read-only status.", labels=labels
        )
        device_error = GaugeMetricFamily(
            "node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device.",
            labels=labels,
        )
        seen: set[tuple[str, str, str]] = set()
        for mount in self.mounts():
            mountpoint = self._visible_mountpoint(mount.mountpoint)
            if self.mount_points_exclude.search(mountpoint) or self.fs_types_exclude.search(mount.fstype):
                continue
            key = (mount.device, mount.fstype, mountpoint)
            if key in seen:
                continue
            seen.add(key)
            values = list(key)
            try:
                stat = os.statvfs(Path(self.paths.rootfs, mountpoint.lstrip("/")))
            except OSError as exc:
                log.debug("statvfs %s failed: %s", mountpoint, exc)
                device_error.add_metric(values, 1.0)
                continue
            device_error.add_metric(values, 0.0)
            # f_bsize, not f_frsize: node_exporter multiplies by statfs(2)'s Bsize.
            size.add_metric(values, float(stat.f_blocks * stat.f_bsize))
            free.add_metric(values, float(stat.f_bfree * stat.f_bsize))
            avail.add_metric(values, float(stat.f_bavail * stat.f_bsize))
            files.add_metric(values, float(stat.f_files))
            files_free.add_metric(values, float(stat.f_ffree))
            readonly.add_metric(values, 1.0 if mount.readonly else 0.0)
        yield from (size, free, avail, files, files_free, readonly, device_error)
