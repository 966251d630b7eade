"""The filesystem collector against the mounts of a fixture tree: exact sizes, default excludes, device errors,
and a stuck NFS mount that no scrape waits for."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from exporter_support import PI_PATHS, registry_with
from host_exporter.collectors.base import HostPaths
from host_exporter.collectors.filesystem import FilesystemCollector


def test_filesystem_reports_root_and_applies_default_excludes(tmp_path: Path) -> None:
    registry = registry_with(filesystem=FilesystemCollector(PI_PATHS))
    labels = {"device": "/dev/root", "fstype": "ext4", "mountpoint": "/"}
    stat = os.statvfs("/")
    assert registry.get_sample_value("node_filesystem_size_bytes", labels) == stat.f_blocks * stat.f_bsize
    assert registry.get_sample_value("node_filesystem_readonly", labels) == 0
    assert registry.get_sample_value("node_filesystem_device_error", labels) == 0
    proc = {"device": "proc", "fstype": "proc", "mountpoint": "/proc"}
    assert registry.get_sample_value("node_filesystem_size_bytes", proc) is None
    # A mount point that does not exist on this machine is reported as a device error, not a failure.
    usb = {"device": "/dev/sdb1", "fstype": "vfat", "mountpoint": "/media/usb stick"}
    assert registry.get_sample_value("node_filesystem_device_error", usb) == 1
    assert registry.get_sample_value("node_scrape_collector_success", {"collector": "filesystem"}) == 1


def one_scrape(collector: FilesystemCollector) -> Callable[[str, dict[str, str]], float | None]:
    """The samples of one collection (each registry.get_sample_value would collect again)."""
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in registry_with(filesystem=collector).collect()
        for sample in family.samples
    }
    return lambda name, labels: samples.get((name, frozenset(labels.items())))


def test_a_stuck_nfs_mount_is_an_error_and_skipped_until_it_answers(tmp_path: Path) -> None:
    """A dead NFS server blocks statvfs; the scrape must not wait on it (node_exporter's mount-timeout).

    The fake statvfs hangs on /mnt/nfs until the test releases it. A scrape that waited for it would end
    only when the fake gives up (GIVE_UP), which then raises, so that such a scrape fails on its metrics,
    not on a clock.
    """
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "mounts").write_text(
        "/dev/root / ext4 rw 0 0\nfiler:/export /mnt/nfs nfs4 rw 0 0\nfiler:/other /mnt/other nfs4 rw 0 0\n"
    )
    paths = HostPaths(procfs=tmp_path / "proc", sysfs=PI_PATHS.sysfs, rootfs=Path("/"))
    give_up = 10.0
    released = threading.Event()
    calls: list[str] = []

    def statvfs(path: Path) -> os.statvfs_result:
        calls.append(str(path))
        if str(path) == "/mnt/nfs" and not released.wait(give_up):
            raise AssertionError("a scrape waited for the stuck mount")
        return os.statvfs("/")

    collector = FilesystemCollector(paths, mount_timeout=0.2, statvfs=statvfs)
    nfs = {"device": "filer:/export", "fstype": "nfs4", "mountpoint": "/mnt/nfs"}
    other = {"device": "filer:/other", "fstype": "nfs4", "mountpoint": "/mnt/other"}
    root = {"device": "/dev/root", "fstype": "ext4", "mountpoint": "/"}
    try:
        scrape = one_scrape(collector)
        assert scrape("node_filesystem_device_error", nfs) == 1
        assert scrape("node_filesystem_size_bytes", nfs) is None
        # The other mounts still report, the healthy NFS one included.
        assert scrape("node_filesystem_device_error", other) == 0
        assert scrape("node_filesystem_device_error", root) == 0
        assert calls.count("/mnt/nfs") == 1

        # Still stuck: the next scrape neither waits for it, however long the timeout, nor calls again.
        collector.statfs.timeout = 3600
        scrape = one_scrape(collector)
        assert scrape("node_filesystem_device_error", nfs) == 1
        assert scrape("node_filesystem_device_error", other) == 0
        assert calls.count("/mnt/nfs") == 1

        # The server comes back: once the stuck call returns, the mount is stat'ed and reported again.
        stuck_call = collector.statfs.stuck["/mnt/nfs"]
        released.set()
        stuck_call.result(timeout=give_up)
        scrape = one_scrape(collector)
        assert scrape("node_filesystem_device_error", nfs) == 0
        assert scrape("node_filesystem_size_bytes", nfs) is not None
        assert calls.count("/mnt/nfs") == 2
    finally:
        released.set()
