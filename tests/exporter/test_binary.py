"""The real `host-exporter` process: golden output on fixture trees, promtool lint, CLI errors.

Regenerate the golden file after an intended change with `make exporter-golden`.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import requests

from exporter_support import FIXTURES, host_exporter, start
from stack import Stack, binary, free_port

GOLDEN = FIXTURES / "pi4.golden.prom"
# Lines that differ run to run: timings and the exporter's own process metrics.
VOLATILE = re.compile(r"^(# (HELP|TYPE) )?(node_scrape_collector_duration_seconds|process_)")


def stable(exposition: str) -> str:
    return "".join(line + "\n" for line in exposition.splitlines() if not VOLATILE.match(line))


def test_output_on_a_pi4_fixture_tree_matches_the_golden_file(stack: Stack) -> None:
    url = start(
        stack,
        f"--path.procfs={FIXTURES / 'proc'}",
        f"--path.sysfs={FIXTURES / 'sys-pi4'}",
        "--collector.disable-defaults",
        *(f"--collector.{name}" for name in ("cpu", "cpufreq", "diskstats", "hwmon", "loadavg", "meminfo")),
        *(f"--collector.{name}" for name in ("netdev", "rpi_throttled", "stat", "thermal_zone")),
    )
    output = stable(requests.get(f"{url}/metrics", timeout=5).text)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(output)
    assert output == GOLDEN.read_text(), "output changed; if intended, run `make exporter-golden`"


def test_live_output_passes_promtool_lint_except_node_exporters_own_memory_names(stack: Stack) -> None:
    url = start(stack)
    body = requests.get(f"{url}/metrics", timeout=5).text
    result = subprocess.run(
        [binary("promtool"), "check", "metrics"], input=body, capture_output=True, text=True, check=False
    )
    problems = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    # node_exporter names /proc/meminfo fields as the kernel does (node_memory_MemTotal_bytes); so do we.
    expected = re.compile(r"node_memory_\w+ metric names should be written in 'snake_case'")
    unexpected = [line for line in problems if not expected.match(line)]
    assert unexpected == []
    assert result.returncode in (0, 3)  # 3: lint findings only, all of them the expected ones above


def test_gzip_is_served_when_asked(stack: Stack) -> None:
    url = start(stack)
    response = requests.get(f"{url}/metrics", headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert response.headers["Content-Encoding"] == "gzip"
    assert "node_load1 " in response.text
    assert requests.get(f"{url}/", timeout=5).text.count('href="/metrics"') == 1
    assert requests.get(f"{url}/nope", timeout=5).status_code == 404


def test_telemetry_path_flag(stack: Stack) -> None:
    port = free_port()
    argv = [host_exporter(), f"--web.listen-address=127.0.0.1:{port}", "--web.telemetry-path=/node"]
    stack.process("host-exporter", argv, f"http://127.0.0.1:{port}", ready_path="/node")
    assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [host_exporter(), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["--web.listen-address=nonsense"], "--web.listen-address: 'nonsense' is not HOST:PORT"),
        (
            ["--collector.filesystem.fs-types-exclude=(("],
            "--collector.filesystem.fs-types-exclude: not a valid regular expression",
        ),
        (["--log.level=loud"], "argument --log.level: invalid choice: 'loud'"),
        (
            ["--collector.filesystem.mount-timeout=5"],
            "--collector.filesystem.mount-timeout: '5' is not a duration like 5s, 500ms or 1m",
        ),
        (["--web.telemetry-path=metrics"], "--web.telemetry-path: 'metrics' must start with /"),
        (["--config.file=/nonexistent/config.yml"], "--config.file: cannot read /nonexistent/config.yml"),
        (["--web.config.file=/nonexistent/web.yml"], "--web.config.file: cannot read /nonexistent/web.yml"),
    ],
)
def test_bad_flags_exit_2_with_one_clear_line(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("web: [1, 2]\n", "web: expected a mapping, got list"),
        ("colectors: {}\n", "colectors: unknown key"),
        ("collectors:\n  disabled: [nope]\n", "collectors.disabled: unknown collector 'nope'"),
        ("process_groups:\n  - comm: [nginx]\n", "process_groups[0].name: every process group needs a name"),
        ("process_groups:\n  - name: web\n", "group 'web' needs at least one of comm, exe, cmdline"),
        (
            "process_groups:\n  - name: web\n    cmdline: ['(']\n",
            "process_groups[0].cmdline: not a valid regular",
        ),
        ("collectors:\n  netdev: {device_exclude: '['}\n", "collectors.netdev.device_exclude: not a valid"),
        ("web: {listen_address: 1}\n", "web.listen_address: expected str, got int"),
        (
            "collectors:\n  filesystem: {mount_timeout: soon}\n",
            "collectors.filesystem.mount_timeout: 'soon' is not a duration",
        ),
        ("{{{\n", "is not valid YAML"),
        ("[1, 2]\n", "must hold a mapping, got list"),
        ("web: {telemetry_path: metrics}\n", "web.telemetry_path: 'metrics' must start with /"),
    ],
)
def test_bad_config_file_exits_2_naming_the_key(tmp_path: Path, config: str, message: str) -> None:
    path = tmp_path / "config.yml"
    path.write_text(config)
    result = run_cli(f"--config.file={path}", "--web.listen-address=127.0.0.1:0")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_config_file_that_is_not_utf8_exits_2_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_bytes(b"web: {telemetry_path: /m\xe9trics}\n")  # Latin-1
    result = run_cli(f"--config.file={path}")
    assert result.returncode == 2, result.stderr
    assert f"--config.file: {path} is not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_file_settings_apply_and_flags_override_them(stack: Stack, tmp_path: Path) -> None:
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    (textfiles / "job.prom").write_text("cron_job_ok 1\n")
    config = tmp_path / "config.yml"
    config.write_text(
        f"collectors:\n  textfile: {{directory: {textfiles}}}\n  disabled: [loadavg, netdev]\n"
        "web: {telemetry_path: /from-config}\n"
    )
    url = start(stack, f"--config.file={config}", "--web.telemetry-path=/metrics", "--collector.netdev")
    body = requests.get(f"{url}/metrics", timeout=5).text
    assert "\ncron_job_ok 1.0\n" in body
    assert "\nnode_load1 " not in body  # disabled in the file
    assert "node_network_receive_bytes_total{" in body  # re-enabled by the flag


def test_help_lists_node_exporter_flags() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for flag in ("--web.listen-address", "--web.config.file", "--path.procfs", "--no-collector.hwmon"):
        assert flag in result.stdout
