"""Named process groups (the Pi seed's "process information"), named as process-exporter names them.

Each configured group matches processes by command name, executable, or a command-line regex; a process
counts towards the first group that matches it. With no groups configured the collector reports nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil
from prometheus_client.metrics_core import Metric

from host_exporter.collectors.base import CollectorSpec, HostPaths
from host_exporter.errors import ConfigError
from host_exporter.family import CounterFamily, GaugeFamily
from host_exporter.options import Kind, Option

ATTRS = ["name", "exe", "cmdline", "cpu_times", "memory_info", "num_fds"]


@dataclass(frozen=True)
class ProcessGroup:
    name: str
    comm: tuple[str, ...] = ()
    exe: tuple[str, ...] = ()
    cmdline: tuple[re.Pattern[str], ...] = field(default=())

    def matches(self, comm: str, exe: str, cmdline: Sequence[str]) -> bool:
        if comm in self.comm:
            return True
        if exe and (exe in self.exe or os.path.basename(exe) in self.exe):
            return True
        joined = " ".join(cmdline)
        return any(pattern.search(joined) for pattern in self.cmdline)


def parse_process_groups(where: str, raw: Any) -> list[ProcessGroup]:
    """The config file's list of groups, each a name and lists of comm, exe and cmdline to match."""
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: expected list, got {type(raw).__name__}")
    groups = []
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ConfigError(f"{at}.name: every process group needs a name")
        unknown = set(item) - {"name", "comm", "exe", "cmdline"}
        if unknown:
            raise ConfigError(f"{at}.{sorted(unknown)[0]}: unknown key (allowed: name, comm, exe, cmdline)")
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("comm", "exe", "cmdline"):
            values = item.get(key, [])
            if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
                raise ConfigError(f"{at}.{key}: expected a list of strings")
            lists[key] = tuple(values)
        if not any(lists.values()):
            raise ConfigError(f"{at}: group {item['name']!r} needs at least one of comm, exe, cmdline")
        try:
            patterns = tuple(re.compile(pattern) for pattern in lists["cmdline"])
        except re.error as exc:
            raise ConfigError(f"{at}.cmdline: not a valid regular expression: {exc}") from None
        groups.append(ProcessGroup(name=item["name"], comm=lists["comm"], exe=lists["exe"], cmdline=patterns))
    names = [group.name for group in groups]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"{where}: group name {duplicates[0]!r} is used twice")
    return groups


GROUPS = Option(
    flag=None,
    kind=Kind("list of groups", parse_process_groups),
    default=[],
    help="named process groups: each a `name` and lists of `comm`, `exe` or `cmdline` (regexps) to match",
    config_key="process_groups",
)


@dataclass
class GroupTotals:
    procs: int = 0
    user: float = 0.0
    system: float = 0.0
    resident: float = 0.0
    virtual: float = 0.0
    fds: float = 0.0


class ProcessesCollector:
    def __init__(self, paths: HostPaths, groups: Sequence[ProcessGroup]) -> None:
        self.paths = paths
        self.groups = list(groups)

    def totals(self) -> dict[str, GroupTotals]:
        psutil.PROCFS_PATH = str(self.paths.procfs)
        totals = {group.name: GroupTotals() for group in self.groups}
        for process in psutil.process_iter(ATTRS, ad_value=None):
            info = process.info
            group = next(
                (
                    candidate
                    for candidate in self.groups
                    if candidate.matches(info["name"] or "", info["exe"] or "", info["cmdline"] or [])
                ),
                None,
            )
            if group is None:
                continue
            total = totals[group.name]
            total.procs += 1
            if info["cpu_times"] is not None:
                total.user += info["cpu_times"].user
                total.system += info["cpu_times"].system
            if info["memory_info"] is not None:
                total.resident += info["memory_info"].rss
                total.virtual += info["memory_info"].vms
            if info["num_fds"] is not None:
                total.fds += info["num_fds"]
        return totals

    def collect(self) -> Iterator[Metric]:
        if not self.groups:
            return
        procs = GaugeFamily(
            "namedprocess_namegroup_num_procs", "number of processes in this group", labels=["groupname"]
        )
        cpu = CounterFamily(
            "namedprocess_namegroup_cpu_seconds", "Cpu user usage in seconds", labels=["groupname", "mode"]
        )
        memory = GaugeFamily(
            "namedprocess_namegroup_memory_bytes",
            "number of bytes of memory in use",
            labels=["groupname", "memtype"],
        )
        fds = GaugeFamily(
            "namedprocess_namegroup_open_filedesc",
            "number of open file descriptors for this group",
            labels=["groupname"],
        )
        for name, total in self.totals().items():
            procs.add_metric([name], float(total.procs))
            cpu.add_metric([name, "user"], total.user)
            cpu.add_metric([name, "system"], total.system)
            memory.add_metric([name, "resident"], total.resident)
            memory.add_metric([name, "virtual"], total.virtual)
            fds.add_metric([name], total.fds)
        yield from (procs, cpu, memory, fds)


SPEC = CollectorSpec(
    name="processes",
    description="Named process groups from the config file (namedprocess_namegroup_*)",
    build=lambda paths, values: ProcessesCollector(paths, values[GROUPS]),
    options=(GROUPS,),
)
