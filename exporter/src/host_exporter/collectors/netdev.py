"""node_network_{receive,transmit}_*_total from /proc/net/dev, as node_exporter's netdev collector."""

from __future__ import annotations

import re
from collections.abc import Iterator

from host_exporter.collectors.base import CollectorSpec, HostPaths, read_text
from host_exporter.family import CounterFamily
from host_exporter.options import REGEX, Option

RECEIVE = ("bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast")
TRANSMIT = ("bytes", "packets", "errs", "drop", "fifo", "colls", "carrier", "compressed")

DEVICE_EXCLUDE = Option(
    flag="collector.netdev.device-exclude", kind=REGEX, default="", help="regexp of net devices to exclude"
)
DEVICE_INCLUDE = Option(
    flag="collector.netdev.device-include",
    kind=REGEX,
    default="",
    help="regexp of net devices to include; when set, device-exclude is ignored",
)


def parse_netdev(netdev: str) -> dict[str, dict[str, float]]:
    """Device to {"receive_bytes": ..., "transmit_packets": ...}."""
    devices: dict[str, dict[str, float]] = {}
    for line in netdev.splitlines()[2:]:  # two header lines
        name, _, counters = line.partition(":")
        values = [float(value) for value in counters.split()]
        if len(values) < len(RECEIVE) + len(TRANSMIT):
            continue
        stats = {f"receive_{key}": value for key, value in zip(RECEIVE, values, strict=False)}
        stats |= {
            f"transmit_{key}": value for key, value in zip(TRANSMIT, values[len(RECEIVE) :], strict=False)
        }
        devices[name.strip()] = stats
    return devices


class NetdevCollector:
    def __init__(self, paths: HostPaths, device_exclude: str = "", device_include: str = "") -> None:
        self.netdev = paths.proc("net", "dev")
        self.device_exclude = re.compile(device_exclude) if device_exclude else None
        self.device_include = re.compile(device_include) if device_include else None

    def _wanted(self, device: str) -> bool:
        if self.device_include is not None:
            return bool(self.device_include.search(device))
        return self.device_exclude is None or not self.device_exclude.search(device)

    def collect(self) -> Iterator[CounterFamily]:
        devices = {
            device: stats
            for device, stats in parse_netdev(read_text(self.netdev)).items()
            if self._wanted(device)
        }
        keys = [f"receive_{key}" for key in RECEIVE] + [f"transmit_{key}" for key in TRANSMIT]
        for key in keys:
            family = CounterFamily(
                f"node_network_{key}", f"Network device statistic {key}.", labels=["device"]
            )
            for device, stats in devices.items():
                family.add_metric([device], stats[key])
            yield family


SPEC = CollectorSpec(
    name="netdev",
    description="Network interface counters, from /proc/net/dev",
    build=lambda paths, values: NetdevCollector(paths, values[DEVICE_EXCLUDE], values[DEVICE_INCLUDE]),
    options=(DEVICE_EXCLUDE, DEVICE_INCLUDE),
)
