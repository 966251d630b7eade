"""Every rendered alert, run through `promtool test rules`: a case where it fires, with its exact labels and
annotations, and a case where it stays silent.

The cases are in `alert_cases/`, one module per area, their inputs chosen from the committed monitoring.yml's
thresholds; the coverage test at the bottom reads the alert names from the rendered rule files, so a new alert
without cases fails here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules.alert_cases import ALL_CASES
from rules.alert_cases.case import DISK, disk, series
from stack import binary

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"


def rendered_alerts() -> dict[str, Path]:
    """Alert name -> the rendered rule file that defines it."""
    found: dict[str, Path] = {}
    for path in sorted(RULES.glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = path
    return found


def run_promtool(
    rule_file: Path, tests: list[dict[str, Any]], tmp_path: Path, evaluation_interval: str
) -> None:
    test_file = tmp_path / f"{rule_file.stem}.{evaluation_interval}.test.yml"
    document = {"rule_files": [str(rule_file)], "evaluation_interval": evaluation_interval, "tests": tests}
    test_file.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    result = subprocess.run(
        [binary("promtool"), "test", "rules", str(test_file)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule_file", sorted(RULES.glob("*.rules.yml")), ids=lambda path: path.name)
def test_promtool_check_rules(rule_file: Path) -> None:
    result = subprocess.run(
        [binary("promtool"), "check", "rules", str(rule_file)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule_file", sorted({path for path in rendered_alerts().values()}), ids=str)
def test_alerts_fire_and_stay_silent(rule_file: Path, tmp_path: Path) -> None:
    alerts = rendered_alerts()
    cases = [case for case in ALL_CASES if alerts.get(case.alert) == rule_file]
    assert cases, f"no cases for {rule_file.name}"
    for interval in sorted({case.evaluation_interval for case in cases}):
        selected = [case for case in cases if case.evaluation_interval == interval]
        run_promtool(rule_file, [case.promtool_test() for case in selected], tmp_path, interval)


def test_filesystem_usage_is_the_used_share_of_the_space_users_can_have(tmp_path: Path) -> None:
    """df's Use% and psutil's disk_usage().percent: used / (used + avail) with used = size - free."""
    reserved = DISK
    unreserved = {**DISK, "device": "/dev/sdb1", "mountpoint": "/data"}
    empty = {**DISK, "device": "none", "fstype": "ramfs", "mountpoint": "/run/empty"}
    inputs = {
        **disk(size=100, free=25, avail=5, labels=reserved),
        **disk(size=100, free=40, avail=40, labels=unreserved),
        **disk(size=0, free=0, avail=0, labels=empty),
    }
    record = "instance_mountpoint:node_filesystem_utilisation:ratio"
    expected = [
        {"labels": series(record, **reserved), "value": 0.9375},  # 75 used of 80; 1 - avail/size says 0.95
        {"labels": series(record, **unreserved), "value": 0.6},
    ]  # the empty filesystem has no value rather than NaN
    test = {
        "name": "filesystem usage counts root's reserved blocks neither as used nor as available",
        "interval": "1m",
        "input_series": [{"series": name, "values": values} for name, values in inputs.items()],
        "promql_expr_test": [{"expr": record, "eval_time": "2m", "exp_samples": expected}],
    }
    run_promtool(RULES / "host.rules.yml", [test], tmp_path, "1m")


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    alerts = set(rendered_alerts())
    firing = {case.alert for case in ALL_CASES if case.fires}
    silent = {case.alert for case in ALL_CASES if not case.fires}
    assert sorted(alerts - firing) == [], "alerts without a case where they fire"
    assert sorted(alerts - silent) == [], "alerts without a case where they stay silent"
    assert sorted({case.alert for case in ALL_CASES} - alerts) == [], "cases for alerts that are not rendered"


def test_every_alert_links_its_runbook_section() -> None:
    runbooks = (ROOT / "docs" / "runbooks.md").read_text()
    headings = {line[3:].strip() for line in runbooks.splitlines() if line.startswith("## ")}
    assert sorted(set(rendered_alerts()) - headings) == []
