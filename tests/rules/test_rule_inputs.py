"""The rendered rules select only series the bridge writes, with label values it writes: a rule on a name or
value nobody produces would never fire, and promtool cannot tell (its tests feed whatever they are given)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from grafana.dashboard_queries import metric_names

from pushgateway_bridge.domain.catalogue import SERIES
from pushgateway_bridge.metrics import LABEL_VALUES, OWN_METRICS

ROOT = Path(__file__).resolve().parents[2]
BRIDGE_PREFIXES = ("bridge_", "scheduler_", "service_", "pipeline_", "sidecar_")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def rule_expressions() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "rules").glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                found.append((rule.get("alert") or rule["record"], rule["expr"]))
    return found


def written_names() -> set[str]:
    names = {series.name for series in SERIES}
    for spec in OWN_METRICS:
        names.add(spec.name)
        if spec.type == "histogram":
            names.update(spec.name + suffix for suffix in HISTOGRAM_SUFFIXES)
    return names


def test_every_bridge_series_a_rule_selects_is_written_by_the_bridge() -> None:
    written = written_names()
    unknown = {
        (rule, name)
        for rule, expr in rule_expressions()
        for name in metric_names(expr)
        if name.startswith(BRIDGE_PREFIXES) and name not in written
    }
    assert sorted(unknown) == []


def known_values() -> dict[tuple[str, str], re.Pattern[str]]:
    """(metric, label) -> the values the bridge writes there, as a pattern (`http_<code>` is http_ and digits)."""

    def pattern(options: list[str]) -> re.Pattern[str]:
        alternatives = [
            re.escape(option).replace("<code>", r"\d{3}").replace("<error>", "[a-z_]+") for option in options
        ]
        return re.compile("|".join(alternatives))

    known = {
        (series.name, label): pattern(list(options))
        for series in SERIES
        for label, options in series.label_values.items()
    }
    for spec in OWN_METRICS:
        for label in spec.labels:
            documented = LABEL_VALUES[label]
            if re.fullmatch(r"[\w<>]+(, [\w<>]+)*", documented):  # a list of values, not a description
                known[(spec.name, label)] = pattern(documented.split(", "))
    return known


def test_every_label_value_a_rule_matches_exactly_is_one_the_bridge_writes() -> None:
    known = known_values()
    assert ("bridge_forward_errors_total", "kind") in known
    wrong = []
    for rule, expr in rule_expressions():
        for name, matchers in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", expr):
            for label, value in re.findall(r'(\w+)\s*=\s*"([^"]*)"', matchers):
                values = known.get((name, label))
                if values is not None and not values.fullmatch(value):
                    wrong.append((rule, name, label, value))
    assert wrong == []
