"""monitoring.yml as committed, changed for one test (delivery points on loopback, short waits)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from generator.source import Source, load_source

ROOT = Path(__file__).resolve().parents[2]


def source_with(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Source:
    """The committed source after `change` edits its raw YAML, validated as `make rules` validates it."""
    raw = yaml.safe_load((ROOT / "monitoring.yml").read_text())
    change(raw)
    path = tmp_path / "monitoring.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_source(path)
