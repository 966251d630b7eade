"""A bad setting (ConfigError), and reading a YAML settings file (`--config`, `notifications_file`) with
its failures as one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """A bad config: `key` names the setting, `reason` says what is wrong with it."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def load_yaml_mapping(path: Path, key: str) -> dict[str, Any]:
    """The file's top-level mapping ({} for an empty file); an unreadable file, bad YAML or a top level that
    is not a mapping is a ConfigError naming `key` and the file."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(key, f"{path} is not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(key, f"{path} must hold a mapping, got {type(loaded).__name__}")
    return loaded
