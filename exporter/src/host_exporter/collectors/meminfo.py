"""node_memory_*_bytes from /proc/meminfo, one gauge per field, named as node_exporter names them."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from host_exporter.collectors.base import CollectorSpec, HostPaths, read_text
from host_exporter.family import GaugeFamily

_PARENS = re.compile(r"\((.*)\)")


def parse_meminfo(meminfo: str) -> dict[str, float]:
    """Field name ("Active(anon)" -> "Active_anon", as node_exporter) to value; kB fields get `_bytes`."""
    values: dict[str, float] = {}
    for line in meminfo.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        key = _field_name(parts[0])
        value = float(parts[1])
        if len(parts) == 3 and parts[2] == "kB":
            values[f"{key}_bytes"] = value * 1024
        else:
            values[key] = value
    return values


@functools.lru_cache(maxsize=256)  # the kernel's few dozen field names, the same on every scrape
def _field_name(raw: str) -> str:
    return _PARENS.sub(r"_\1", raw.rstrip(":"))


class MeminfoCollector:
    def __init__(self, paths: HostPaths) -> None:
        self.meminfo = paths.proc("meminfo")

    def collect(self) -> Iterator[GaugeFamily]:
        for key, value in parse_meminfo(read_text(self.meminfo)).items():
            yield GaugeFamily(f"node_memory_{key}", f"Memory information field {key}.", value=value)


SPEC = CollectorSpec(
    name="meminfo",
    description="Memory statistics, from /proc/meminfo",
    build=lambda paths, _values: MeminfoCollector(paths),
)
