"""Collectors and their settings, each declared once: a collector module's SPEC is all a new collector takes,
and an option's flag, config key, check and default come from its one declaration."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import host_exporter.collectors
from host_exporter import readme
from host_exporter.cli import build_parser, read_settings
from host_exporter.collectors.base import CollectorSpec
from host_exporter.collectors.filesystem import (
    DEFAULT_MOUNT_POINTS_EXCLUDE,
    MOUNT_POINTS_EXCLUDE,
    MOUNT_TIMEOUT,
)
from host_exporter.config import key_tree
from host_exporter.errors import ConfigError
from host_exporter.options import REGEX, Option
from host_exporter.registry import build_registry, discover

README = Path(__file__).resolve().parents[2] / "exporter" / "README.md"


def readme_example() -> str:
    """The collector module that the README's "How to add a collector" shows."""
    section = README.read_text().split("## How to add a collector", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.fixture
def add_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder that counts as part of host_exporter/collectors/ for the test: write a module into it."""
    folder = tmp_path / "more_collectors"
    folder.mkdir()
    package = host_exporter.collectors
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
    before = set(sys.modules)
    importlib.invalidate_caches()
    yield folder
    for name in set(sys.modules) - before:
        del sys.modules[name]


@pytest.fixture
def with_readme_example(add_module: Path) -> tuple[CollectorSpec, ...]:
    (add_module / "powersupply.py").write_text(readme_example())
    return discover()


@pytest.fixture
def sysfs(tmp_path: Path) -> Path:
    for supply, online in (("AC", "1"), ("BAT0", "0")):
        (tmp_path / "sys" / "class" / "power_supply" / supply).mkdir(parents=True)
        (tmp_path / "sys" / "class" / "power_supply" / supply / "online").write_text(f"{online}\n")
    return tmp_path / "sys"


def online(specs: tuple[CollectorSpec, ...], argv: list[str]) -> dict[str, float | None]:
    values, enabled = read_settings(argv, specs)
    registry = build_registry(enabled, values, specs)
    return {
        supply: registry.get_sample_value("node_power_supply_online", {"power_supply": supply})
        for supply in ("AC", "BAT0")
    }


def test_the_readmes_example_module_is_found_and_gets_its_switch_and_flag(
    with_readme_example: tuple[CollectorSpec, ...], sysfs: Path
) -> None:
    specs = with_readme_example
    assert "powersupply" in [spec.name for spec in specs]
    assert "powersupply" not in read_settings([], specs)[1]  # declared default=False
    help_text = build_parser(specs).format_help()
    assert "--collector.powersupply.ignored-supplies" in help_text
    assert "--no-collector.powersupply" in help_text
    argv = [
        "--collector.powersupply",
        f"--path.sysfs={sysfs}",
        "--collector.powersupply.ignored-supplies=^BAT",
    ]
    assert online(specs, argv) == {"AC": 1.0, "BAT0": None}


def test_the_readmes_example_module_gets_its_config_keys(
    with_readme_example: tuple[CollectorSpec, ...], sysfs: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        f"path: {{sysfs: {sysfs}}}\n"
        "collectors:\n  enabled: [powersupply]\n  powersupply: {ignored_supplies: '^AC$'}\n"
    )
    assert online(with_readme_example, [f"--config.file={config}"]) == {"AC": None, "BAT0": 0.0}


def test_the_readmes_example_module_has_its_value_checked_by_its_kind(
    with_readme_example: tuple[CollectorSpec, ...],
) -> None:
    message = "--collector.powersupply.ignored-supplies: not a valid regular expression"
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_settings(["--collector.powersupply.ignored-supplies=("], with_readme_example)


def test_the_readmes_example_module_gets_its_readme_rows(
    with_readme_example: tuple[CollectorSpec, ...],
) -> None:
    tables = readme.sections(with_readme_example)
    assert (
        "| `powersupply` | Whether each power supply is online, from /sys/class/power_supply | disabled "
        "| `--collector.powersupply.ignored-supplies` |\n"
    ) in tables["collectors"]
    assert (
        "| `--collector.powersupply.ignored-supplies` | `collectors.powersupply.ignored_supplies` "
        "| regexp of power supplies to ignore | `^$` |\n"
    ) in tables["flags"]


def test_a_collector_flag_outside_its_own_name_is_refused(add_module: Path) -> None:
    (add_module / "stray.py").write_text(
        "from host_exporter.collectors.base import CollectorSpec\n"
        "from host_exporter.collectors.cpu import CPUCollector\n"
        "from host_exporter.options import REGEX, Option\n"
        "X = Option(flag='collector.cpu.stray', kind=REGEX, default='', help='h')\n"
        "SPEC = CollectorSpec(name='stray', description='d', build=lambda p, v: CPUCollector(p), options=(X,))\n"
    )
    with pytest.raises(
        ValueError, match=re.escape("stray: flag --collector.cpu.stray is not under --collector.stray.")
    ):
        discover()


def test_two_options_cannot_share_a_config_key() -> None:
    twin = Option(flag="collector.filesystem.mount-timeout", kind=REGEX, default="", help="again")
    with pytest.raises(
        ValueError, match=re.escape("two options declare the config key collectors.filesystem.mount_timeout")
    ):
        key_tree([MOUNT_TIMEOUT, twin])


def test_a_flag_overrides_the_config_file_which_is_still_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("collectors:\n  filesystem: {mount_timeout: 10s}\n")
    values, _ = read_settings([f"--config.file={config}", "--collector.filesystem.mount-timeout=1m30s"])
    assert values[MOUNT_TIMEOUT] == 90.0
    assert read_settings([f"--config.file={config}"])[0][MOUNT_TIMEOUT] == 10.0
    config.write_text("collectors:\n  filesystem: {mount_timeout: soon}\n")
    with pytest.raises(
        ConfigError, match=re.escape("collectors.filesystem.mount_timeout: 'soon' is not a duration")
    ):
        read_settings([f"--config.file={config}", "--collector.filesystem.mount-timeout=1m30s"])


def test_an_empty_value_takes_the_default(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("collectors:\n  filesystem: {mount_timeout: ''}\n")
    values, _ = read_settings([f"--config.file={config}", "--collector.filesystem.mount-points-exclude="])
    assert values[MOUNT_POINTS_EXCLUDE] == DEFAULT_MOUNT_POINTS_EXCLUDE
    assert values[MOUNT_TIMEOUT] == 5.0


def test_an_unknown_config_key_names_the_keys_its_options_declare(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("collectors:\n  filesystem: {mount_timeot: 5s}\n")
    allowed = "mount_points_exclude, fs_types_exclude, mount_timeout"
    message = f"collectors.filesystem.mount_timeot: unknown key (allowed: {allowed})"
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_settings([f"--config.file={config}"])
