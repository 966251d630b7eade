"""Rotation by size, as logrotate names it: `<file>` becomes `<file>.1`, `<file>.1` becomes `<file>.2`, ...
up to `<file>.<backups>`, the oldest dropped. The events file (`sinks/events_file.py`) and the csv/json
exports (`integrations/files.py`) rotate so; `queries/events_file.py` reads the copies back."""

from __future__ import annotations

from pathlib import Path


def backup(path: Path, index: int) -> Path:
    """The `index`th rotated copy of `path` (1: the newest)."""
    return path.with_name(f"{path.name}.{index}")


def rotate(path: Path, backups: int) -> None:
    """Move `path` aside as its newest copy, keeping `backups` copies; with none, remove it."""
    if backups == 0:
        path.unlink()
        return
    for index in range(backups - 1, 0, -1):
        older = backup(path, index)
        if older.exists():
            older.replace(backup(path, index + 1))
    path.replace(backup(path, 1))
