"""node_uname_info, as node_exporter's uname collector."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

from host_exporter.collectors.base import CollectorSpec, read_text
from host_exporter.family import GaugeFamily


def nis_domainname() -> str:
    """The kernel's NIS domain name, which uname(2) reports as `domainname` and node_exporter labels."""
    try:
        return read_text("/proc/sys/kernel/domainname").strip()
    except OSError:
        return "(none)"


class UnameCollector:
    def collect(self) -> Iterator[GaugeFamily]:
        uname = os.uname()
        info = GaugeFamily(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            labels=["domainname", "machine", "nodename", "release", "sysname", "version"],
        )
        nodename = uname.nodename or socket.gethostname()
        info.add_metric(
            [nis_domainname(), uname.machine, nodename, uname.release, uname.sysname, uname.version], 1.0
        )
        yield info


SPEC = CollectorSpec(
    name="uname",
    description="System information from uname(2)",
    build=lambda _paths, _values: UnameCollector(),
)
