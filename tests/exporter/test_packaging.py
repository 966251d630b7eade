"""What a Pi owner installs: the distribution's dependencies, the systemd unit, and the README's table."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from exporter_support import host_exporter
from host_exporter.registry import COLLECTORS

ROOT = Path(__file__).resolve().parents[2]
EXPORTER = ROOT / "exporter"


def dependency_names(distribution: Path) -> list[str]:
    project = tomllib.loads((distribution / "pyproject.toml").read_text())["project"]
    return sorted(requirement.split(">")[0].split("=")[0].strip() for requirement in project["dependencies"])


def test_the_distribution_pulls_only_the_promised_dependencies() -> None:
    assert dependency_names(EXPORTER) == ["bcrypt", "bundle-common", "prometheus-client", "psutil", "pyyaml"]
    # bundle-common is this repository's common/, which pulls nothing itself.
    assert (
        tomllib.loads((ROOT / "common" / "pyproject.toml").read_text())["project"]["name"] == "bundle-common"
    )
    assert dependency_names(ROOT / "common") == []


def test_the_readme_documents_every_collector_with_its_default() -> None:
    readme = (EXPORTER / "README.md").read_text()
    for spec in COLLECTORS:
        default = "enabled" if spec.default else "disabled"
        assert f"| `{spec.name}` | {spec.description} | {default} |" in readme


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (package systemd)")
    unit = (EXPORTER / "packaging" / "host-exporter.service").read_text()
    assert "ExecStart=/opt/host-exporter/bin/host-exporter $ARGS" in unit
    local = tmp_path / "host-exporter.service"
    local.write_text(unit.replace("/opt/host-exporter/bin/host-exporter", host_exporter()))
    result = subprocess.run([analyze, "verify", str(local)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "host-exporter.service" not in result.stderr
