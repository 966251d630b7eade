"""An API alert as a Prometheus alerting rule, and the rule file that holds them all.

Everything from the request reaches Prometheus as data: PromQL string literals for matchers, template
literals for labels and annotations, YAML written by a YAML library. The only PromQL a request writes
itself is `expr`, one expression that Prometheus parses (and refuses) on its own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import yaml

from pushgateway_bridge.alerts.catalogue import BY_NAME
from pushgateway_bridge.alerts.escaping import template_text
from pushgateway_bridge.alerts.models import AlertRequest, Comparison

GROUP_NAME = "api.alerts"
SOURCE = "api"
DEFAULT_FOR = "1m"
_WORD = re.compile(r"[A-Za-z0-9]+")
HEADER = (
    "# Written by the bridge from the alerts made over POST /api/alerts. Do not edit: the bridge\n"
    "# rewrites this file from its storage; change the alerts through the API.\n"
)


def alert_name(name: str) -> str:
    """A valid, readable alert name: "High CPU Usage" -> "HighCpuUsage"."""
    camel = "".join(word.capitalize() for word in _WORD.findall(name))
    if not camel:
        return "ApiAlert"
    return camel if camel[0].isalpha() else f"Alert{camel}"


def _number(value: float) -> str:
    # repr round-trips; PromQL reads Python's float repr (1e+20, 0.1) as the same float.
    assert math.isfinite(value)
    return repr(float(value))


def rule_expr(request: AlertRequest) -> str:
    operator = ">" if request.comparison is Comparison.above else "<"
    if request.expr is not None:
        if request.threshold is None:
            return request.expr
        return f"({request.expr}) {operator} {_number(request.threshold)}"
    assert request.metric is not None and request.threshold is not None  # the model saw to it
    watched = BY_NAME[request.metric].expr(request.service or "")
    return f"{watched} {operator} {_number(request.threshold)}"


def build_rule(alert_id: str, request: AlertRequest, default_for: str = DEFAULT_FOR) -> dict[str, Any]:
    """The rule of one API alert, as it goes into the rule file."""
    labels = {name: template_text(value) for name, value in sorted(request.labels.items())}
    labels["severity"] = request.severity.value
    if request.service is not None:
        labels["service"] = template_text(request.service)
    labels["alert_id"] = alert_id  # the bridge's own id: no template text in it
    labels["source"] = SOURCE
    annotations = {
        "summary": template_text(request.name),
        "description": template_text(request.description or request.name),
    }
    if request.runbook_url:
        annotations["runbook_url"] = template_text(request.runbook_url)
    return {
        "alert": alert_name(request.name),
        "expr": rule_expr(request),
        "for": request.for_ or default_for,
        "labels": labels,
        "annotations": annotations,
    }


def render_rule_file(rules: Iterable[dict[str, Any]]) -> str:
    """The whole rule file: one group with every API alert's rule, in the order given."""
    document = {"groups": [{"name": GROUP_NAME, "rules": list(rules)}]}
    return HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)
