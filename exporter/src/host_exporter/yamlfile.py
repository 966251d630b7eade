"""Reading a YAML settings file (--config.file, --web.config.file) with its failures as ConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from host_exporter.errors import ConfigError


def load_yaml_mapping(path: Path, flag: str) -> dict[str, Any]:
    """The file's top-level mapping ({} for an empty file); an unreadable file, bad YAML or a top level
    that is not a mapping is a ConfigError naming `flag` and the file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{flag}: cannot read {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{flag}: {path} is not valid YAML: {exc}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{flag}: {path} must hold a mapping, got {type(raw).__name__}")
    return raw
