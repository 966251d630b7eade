"""API alerts as Prometheus rules: the request model, metric inference, and a rule no value can widen.

The hostile-value tests run the real `promtool test rules` on the written rule file with hand-written input
series: an alert must fire for the series whose `service` is exactly the hostile text, and for no other.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from pushgateway_bridge.alerts.catalogue import METRIC_NAMES, METRICS
from pushgateway_bridge.alerts.models import AlertRequest
from pushgateway_bridge.alerts.rules import alert_name, build_rule, render_rule_file

SEED_BODY = {
    "name": "High CPU Usage",
    "description": "CPU usage above 90%",
    "severity": "warning",
    "service": "data-processing",
    "threshold": 90,
}
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")


def test_the_seeds_body_infers_host_cpu_and_makes_a_valid_alert_name() -> None:
    request = AlertRequest.model_validate(SEED_BODY)
    assert request.metric == "host_cpu"
    assert request.inferred
    rule = build_rule("a1", request)
    assert rule["alert"] == "HighCpuUsage"
    assert rule["expr"] == "instance:node_cpu_utilisation:rate5m * 100 > 90.0"
    assert rule["labels"] == {
        "severity": "warning",
        "service": "data-processing",
        "alert_id": "a1",
        "source": "api",
    }
    assert rule["annotations"] == {"summary": "High CPU Usage", "description": "CPU usage above 90%"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("High CPU Usage", "HighCpuUsage"),
        ("disk-full!!", "DiskFull"),
        ("5xx rate", "Alert5xxRate"),
        ("¿?", "ApiAlert"),
    ],
)
def test_alert_names_are_made_valid(name: str, expected: str) -> None:
    assert alert_name(name) == expected


def test_nothing_to_infer_is_refused_listing_every_metric() -> None:
    with pytest.raises(ValidationError) as caught:
        AlertRequest.model_validate({**SEED_BODY, "name": "Something odd", "description": "odd"})
    message = str(caught.value)
    assert "name no single metric" in message
    for metric in METRIC_NAMES:
        assert metric in message


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"metric": "gpu"}, "unknown metric 'gpu'"),
        ({"for": "5 minutes"}, "is not a duration"),
        ({"severity": 4}, "severity must be 1 (info), 2 (warning) or 3 (critical)"),
        ({"labels": {"alert_id": "x"}}, "set by the bridge"),
        ({"labels": {"bad-name": "x"}}, "is not a label name"),
        ({"expr": "up == 0", "metric": "host_cpu"}, "metric or expr, not both"),
        ({"threshold": None}, "threshold: required"),
        (
            {"metric": "service_cpu", "service": None},
            "service: required, service_cpu selects its series by service",
        ),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_fields_are_refused_saying_why(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AlertRequest.model_validate({**SEED_BODY, **change})
    assert reason in str(caught.value)


def test_severity_takes_the_climate_seeds_numbers_and_expr_is_compared_when_a_threshold_is_given() -> None:
    request = AlertRequest.model_validate(
        {"name": "Slow", "severity": 3, "expr": "rate(x[5m])", "threshold": 1.5, "comparison": "below"}
    )
    assert request.severity.value == "critical"
    assert build_rule("a2", request)["expr"] == "(rate(x[5m])) < 1.5"


# Each would widen or break an unescaped rule: close the literal and add a matcher, escape the closing
# quote, end the selector and add a vector, or open a Go template action in the label.
HOSTILE_SERVICES = [
    'a", service=~".*',
    "a\\",
    'x"} or vector(1) or {__name__="x',
    '{{ .Labels }} {{ printf "%s" 1 }}',
    "line\nbreak",
]
# The same values as the PromQL series literals of promtool's input, written out by hand.
HOSTILE_LITERALS = [
    '"a\\", service=~\\".*"',
    '"a\\\\"',
    '"x\\"} or vector(1) or {__name__=\\"x"',
    '"{{ .Labels }} {{ printf \\"%s\\" 1 }}"',
    '"line\\nbreak"',
]


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@needs_promtool
@pytest.mark.parametrize(("service", "literal"), list(zip(HOSTILE_SERVICES, HOSTILE_LITERALS, strict=True)))
def test_a_hostile_service_selects_exactly_its_own_series(tmp_path: Path, service: str, literal: str) -> None:
    request = AlertRequest.model_validate(
        {**SEED_BODY, "metric": "service_cpu", "service": service, "for": "0s", "labels": {"team": service}}
    )
    (tmp_path / "api.rules.yml").write_text(render_rule_file([build_rule("a1", request)]))
    checked = _promtool("check", "rules", "api.rules.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rules found" in checked.stdout
    tests = {
        "rule_files": ["api.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": f'service_reported_value{{service={literal}, metric_type="cpu", instance="own"}}',
                        "values": "95x3",
                    },
                    # What an unescaped rule would also select: another service, another metric type. The
                    # rule's own `service` label hides which service fired; `instance` tells them apart.
                    {
                        "series": 'service_reported_value{service="a", metric_type="cpu", instance="a"}',
                        "values": "95x3",
                    },
                    {
                        "series": 'service_reported_value{service="x", metric_type="cpu", instance="x"}',
                        "values": "95x3",
                    },
                    {
                        "series": f'service_reported_value{{service={literal}, metric_type="disk", instance="own"}}',
                        "values": "95x3",
                    },
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "2m",
                        "alertname": "HighCpuUsage",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "service": service,
                                    "metric_type": "cpu",
                                    "instance": "own",
                                    "team": service,
                                    "severity": "warning",
                                    "alert_id": "a1",
                                    "source": "api",
                                },
                                "exp_annotations": {
                                    "summary": "High CPU Usage",
                                    "description": "CPU usage above 90%",
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    tested = _promtool("test", "rules", "test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_promtool
def test_the_rule_file_of_several_alerts_passes_promtool(tmp_path: Path) -> None:
    rules = [
        build_rule(f"a{i}", AlertRequest.model_validate({**SEED_BODY, "metric": metric}))
        for i, metric in enumerate(METRIC_NAMES)
    ]
    (tmp_path / "api.rules.yml").write_text(render_rule_file(rules))
    checked = _promtool("check", "rules", "api.rules.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(METRIC_NAMES)} rules found" in checked.stdout


def test_docs_list_every_metric_with_the_series_it_watches() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "api-alerts.md").read_text()
    for metric in METRICS:
        row = next((line for line in docs.splitlines() if line.startswith(f"| `{metric.name}` |")), None)
        assert row is not None, f"docs/api-alerts.md has no row for {metric.name}"
        series = max(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", metric.expr("<service>")), key=len)
        assert series in row
        assert metric.unit in row
        assert all(word in row for word in metric.words)
