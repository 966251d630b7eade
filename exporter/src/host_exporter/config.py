"""The optional YAML config file (--config.file). Its keys are the options' config keys, nested at the
dots, so every flag with a setting has one (README: Flags and config keys); flags override the file.

    web: {listen_address: ":9100"}              # --web.listen-address
    collectors:
      filesystem: {mount_timeout: 10s}          # --collector.filesystem.mount-timeout
      disabled: [hwmon]                         # like --no-collector.hwmon
    process_groups: [{name: nginx, comm: [nginx]}]

An unknown key, or a value of the wrong kind, is an error naming the key: nothing is read and ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from host_exporter.errors import ConfigError
from host_exporter.options import Option
from host_exporter.yamlfile import load_yaml_mapping

__all__ = ["ConfigError", "key_tree", "load_config_file"]  # web/ and its tests import ConfigError from here


def key_tree(options: Iterable[Option[Any]]) -> dict[str, Any]:
    """The file's shape: nested mappings whose leaves are the options their keys set."""
    tree: dict[str, Any] = {}
    for option in options:
        *parents, leaf = option.key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"config key {option.key} lies under another option's key")
        if leaf in node:
            raise ValueError(f"two options declare the config key {option.key}")
        node[leaf] = option
    return tree


def _flatten(raw: dict[Any, Any], tree: dict[str, Any], where: str, into: dict[str, Any]) -> None:
    for key, value in raw.items():
        path = f"{where}.{key}" if where else str(key)
        node = tree.get(key)
        if node is None:
            raise ConfigError(f"{path}: unknown key (allowed: {', '.join(tree)})")
        if isinstance(node, Option):
            into[path] = value  # checked by the option's kind, in options.resolve
        elif isinstance(value, dict):
            _flatten(value, node, path, into)
        else:
            raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__}")


def load_config_file(path: Path, options: Iterable[Option[Any]]) -> dict[str, Any]:
    """The file's values by config key, e.g. {"collectors.netdev.device_exclude": "^lo$"}; a key no option
    declares, or a value where a mapping belongs, is a ConfigError naming the key."""
    values: dict[str, Any] = {}
    _flatten(load_yaml_mapping(path, "--config.file"), key_tree(options), "", values)
    return values
