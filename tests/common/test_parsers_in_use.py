"""The shared parsers where users meet them: the exporter's flags and config keys (exit 2, one line naming
the flag or key) and monitoring.yml's durations (`make rules`: exit 2, one line naming the key)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from exporter_support import host_exporter
from generator.prometheus_rules.common import duration
from generator.source import load_source, seconds
from host_exporter.cli import duration_seconds
from stack import wait_until

ROOT = Path(__file__).resolve().parents[2]
SOURCE_TEXT = (ROOT / "monitoring.yml").read_text()
DOWN_FOR = "exporter_down_for: 5m"  # a duration key of monitoring.yml, replaced by the cases below


def run_exporter(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([host_exporter(), *args], capture_output=True, text=True, timeout=20, check=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--collector.filesystem.mount-timeout=1.5s"],  # the exporter's old float grammar took it
            "--collector.filesystem.mount-timeout: '1.5s' is not a duration like 5s, 500ms or 1m (unknown unit '.'",
        ),
        (
            ["--collector.filesystem.mount-timeout=30s1m"],
            "--collector.filesystem.mount-timeout: '30s1m' is not a duration like 5s, 500ms or 1m (units go from",
        ),
        (
            ["--collector.filesystem.mount-timeout=0"],
            "--collector.filesystem.mount-timeout: must be longer than 0s",
        ),
        (
            ["--web.listen-address=[::1"],
            "--web.listen-address: '[::1' is not HOST:PORT (missing ']' in address)",
        ),
        (
            ["--web.listen-address=:65536"],
            "--web.listen-address: ':65536' is not HOST:PORT (port 65536 is outside",
        ),
        (
            ["--web.listen-address=:http"],
            "--web.listen-address: ':http' is not HOST:PORT (port 'http' is not a",
        ),
    ],
)
def test_the_exporter_refuses_bad_flag_values_in_one_line_with_status_2(
    args: list[str], message: str
) -> None:
    result = run_exporter(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "web: {listen_address: localhost}\n",
            "web.listen_address: 'localhost' is not HOST:PORT (missing port",
        ),
        (
            "collectors:\n  filesystem: {mount_timeout: 5}\n",
            "collectors.filesystem.mount_timeout: expected str, got int",
        ),
        (
            "collectors:\n  filesystem: {mount_timeout: '5'}\n",
            "collectors.filesystem.mount_timeout: '5' is not a duration like 5s, 500ms or 1m (no unit after 5",
        ),
    ],
)
def test_the_exporter_names_the_config_key_of_a_bad_value(tmp_path: Path, config: str, message: str) -> None:
    path = tmp_path / "config.yml"
    path.write_text(config)
    result = run_exporter(f"--config.file={path}")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_exporters_durations_are_prometheus_durations_in_seconds() -> None:
    assert duration_seconds("--collector.filesystem.mount-timeout", "1m30s") == 90.0
    assert duration_seconds("--collector.filesystem.mount-timeout", "500ms") == 0.5
    assert duration_seconds("--collector.filesystem.mount-timeout", "1s500ms") == 1.5


def test_the_exporter_listens_on_port_0_as_exporter_toolkit_does(tmp_path: Path) -> None:
    """Port 0 is a free port the kernel picks; the log line says which."""
    log = tmp_path / "exporter.log"
    with log.open("w") as out:
        process = subprocess.Popen([host_exporter(), "--web.listen-address=127.0.0.1:0"], stderr=out)
    try:
        wait_until(lambda: "listening on http://127.0.0.1:" in log.read_text(), what="the exporter to listen")
        url = log.read_text().split("listening on ")[1].split()[0]
        assert url != "http://127.0.0.1:0/metrics"
        assert "node_load1 " in requests.get(url, timeout=5).text
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_generator(source_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "monitoring.yml"
    source.write_text(source_text)
    return subprocess.run(
        [sys.executable, "-m", "generator", "--source", str(source), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "5m1h",
            "hosts.exporter_down_for: '5m1h' is not a duration like 5s, 500ms or 1m (units go from largest",
        ),
        ("1.5m", "hosts.exporter_down_for: '1.5m' is not a duration like 5s, 500ms or 1m (unknown unit '.'"),
        ("1500ms", "hosts.exporter_down_for: '1500ms' is not a whole number of seconds"),
        ("'0'", "hosts.exporter_down_for: must be longer than 0s"),
        ("''", "hosts.exporter_down_for: '' is not a duration like 5s, 500ms or 1m (empty)"),
    ],
)
def test_make_rules_refuses_a_bad_duration_in_one_line_naming_the_key(
    tmp_path: Path, value: str, message: str
) -> None:
    assert DOWN_FOR in SOURCE_TEXT
    result = run_generator(SOURCE_TEXT.replace(DOWN_FOR, f"exporter_down_for: {value}", 1), tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("value", "expected"), [("1h30m", 5400), ("1y", 365 * 86400), ("2w1d", 15 * 86400)])
def test_monitoring_yml_takes_every_prometheus_duration_in_whole_seconds(
    tmp_path: Path, value: str, expected: int
) -> None:
    path = tmp_path / "monitoring.yml"
    path.write_text(SOURCE_TEXT.replace(DOWN_FOR, f"exporter_down_for: {value}", 1))
    assert seconds(load_source(path).hosts.exporter_down_for) == expected


def test_the_rules_write_durations_as_prometheus_does() -> None:
    assert duration(5400) == "1h30m"
    assert duration(14 * 86400) == "2w"
    assert duration(90 * 86400) == "90d"  # not 12w6d
    assert duration(0) == "0s"
