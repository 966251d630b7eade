"""The optional YAML config file (--config.file). Command-line flags override what it says.

web:
  listen_address: ":9100"
  telemetry_path: /metrics
  config_file: /etc/host-exporter/web.yml
path:
  procfs: /proc
  sysfs: /sys
  rootfs: /
collectors:
  textfile: {directory: /var/lib/host-exporter/textfile}
  filesystem: {mount_points_exclude: "...", fs_types_exclude: "...", mount_timeout: 5s}
  diskstats: {device_exclude: "..."}
  netdev: {device_exclude: "^lo$"}
  disabled: [hwmon]             # like --no-collector.hwmon
process_groups:
  - name: nginx
    comm: [nginx]               # /proc/PID/comm
    exe: [/usr/sbin/nginx]      # full path or base name of the executable
    cmdline: ['gunicorn .*app'] # regex searched in the joined command line
log_level: info
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from host_exporter.collectors.processes import ProcessGroup


class ConfigError(Exception):
    """A bad flag or config value; the message names the key and the reason."""


SCHEMA: dict[str, Any] = {
    "web": {"listen_address": str, "telemetry_path": str, "config_file": str},
    "path": {"procfs": str, "sysfs": str, "rootfs": str},
    "collectors": {
        "textfile": {"directory": str},
        "filesystem": {"mount_points_exclude": str, "fs_types_exclude": str, "mount_timeout": str},
        "diskstats": {"device_exclude": str},
        "netdev": {"device_exclude": str, "device_include": str},
        "enabled": list,
        "disabled": list,
    },
    "process_groups": list,
    "log_level": str,
}
REGEX_KEYS = ("mount_points_exclude", "fs_types_exclude", "device_exclude", "device_include")


def _check(value: Any, schema: Any, where: str) -> None:
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        for key, item in value.items():
            if key not in schema:
                raise ConfigError(f"{where}.{key}: unknown key (allowed: {', '.join(schema)})".lstrip("."))
            _check(item, schema[key], f"{where}.{key}".lstrip("."))
    elif not isinstance(value, schema):
        raise ConfigError(f"{where}: expected {schema.__name__}, got {type(value).__name__}")
    elif schema is str and where.rsplit(".", 1)[-1] in REGEX_KEYS:
        try:
            re.compile(value)
        except re.error as exc:
            raise ConfigError(f"{where}: not a valid regular expression: {exc}") from None


def parse_process_groups(raw: list[Any]) -> list[ProcessGroup]:
    groups = []
    for index, item in enumerate(raw):
        where = f"process_groups[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ConfigError(f"{where}.name: every process group needs a name")
        unknown = set(item) - {"name", "comm", "exe", "cmdline"}
        if unknown:
            raise ConfigError(
                f"{where}.{sorted(unknown)[0]}: unknown key (allowed: name, comm, exe, cmdline)"
            )
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("comm", "exe", "cmdline"):
            values = item.get(key, [])
            if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
                raise ConfigError(f"{where}.{key}: expected a list of strings")
            lists[key] = tuple(values)
        if not any(lists.values()):
            raise ConfigError(f"{where}: group {item['name']!r} needs at least one of comm, exe, cmdline")
        try:
            patterns = tuple(re.compile(pattern) for pattern in lists["cmdline"])
        except re.error as exc:
            raise ConfigError(f"{where}.cmdline: not a valid regular expression: {exc}") from None
        groups.append(ProcessGroup(name=item["name"], comm=lists["comm"], exe=lists["exe"], cmdline=patterns))
    names = [group.name for group in groups]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"process_groups: group name {duplicates[0]!r} is used twice")
    return groups


def load_config_file(path: Path) -> dict[str, Any]:
    """The config file as a checked mapping; unknown keys and wrong types are errors, not ignored."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--config.file: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--config.file: {path} is not valid YAML: {exc}") from None
    if raw is None:
        return {}
    _check(raw, SCHEMA, "")
    return dict(raw)
