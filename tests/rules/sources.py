"""monitoring.yml for one test: the committed file, changed by the test, written to the test's own directory."""

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


def without_the_clock(raw: dict[str, Any]) -> None:
    """Removes what makes alerts depend on the date and hour a test runs at.

    The committed scheduler expectations fire on the wall clock (an EOD deadline at 19:00 Europe/London on
    weekdays, cron start windows) and the maintenance mute interval silences routes on Sunday nights. A
    test on the live stack that kept them would pass or fail by the hour it runs at.
    """
    raw["schedulers"]["expectations"] = []
    alertmanager = raw["alertmanager"]
    alertmanager["mute_time_intervals"] = []
    for route in alertmanager["route"].get("routes", []):
        route.pop("mute_time_intervals", None)


def live_source(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Source:
    """A test-local monitoring.yml for tests that run the live stack: committed routes and receivers, no
    clock-bound expectations or mute intervals, then the test's own `change`."""

    def clockless_then(raw: dict[str, Any]) -> None:
        without_the_clock(raw)
        change(raw)

    return source_with(tmp_path, clockless_then)
