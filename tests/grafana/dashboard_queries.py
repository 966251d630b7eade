"""Reading the rendered dashboards: their queries with template variables substituted, and metric names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"

# What Grafana puts in for its own variables; user variables get their "All" value.
BUILTIN_VARIABLES = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "1h",
    "__interval_ms": "60000",
    "__range_s": "3600",
}

PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool",
    "inf", "nan", "Inf", "NaN", "atan2",
}  # fmt: skip


@dataclass(frozen=True)
class Query:
    dashboard: str
    where: str  # panel title or variable name
    datasource: str  # datasource uid
    expr: str  # as written in the dashboard
    substituted: str  # template variables replaced


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARD_DIR.glob("*.json"))}


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def substitute(expr: str, variables: dict[str, str]) -> str:
    values = {**BUILTIN_VARIABLES, **variables}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"unknown template variable ${name} in {expr!r}")
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", replace, expr)


def variables(dashboard: dict[str, Any]) -> dict[str, str]:
    """Each variable's value when "All" is chosen (what a query sees by default)."""
    return {var["name"]: var.get("allValue") or ".*" for var in dashboard["templating"]["list"]}


def queries(kind: str) -> list[Query]:
    """Every query of datasource type `kind` ("prometheus" or "loki"), from panels and variables."""
    found = []
    for name, dashboard in dashboards().items():
        values = variables(dashboard)
        for panel in all_panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                if target["datasource"]["type"] == kind and target.get("expr"):
                    expr = target["expr"]
                    found.append(
                        Query(
                            name, panel["title"], target["datasource"]["uid"], expr, substitute(expr, values)
                        )
                    )
        for var in dashboard["templating"]["list"]:
            if var["type"] != "query" or var["datasource"]["type"] != kind:
                continue
            definition = var["query"]["query"]
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", definition)
            assert match, f"{name}: variable {var['name']}: unsupported query {definition!r}"
            inner = match.group(1)
            found.append(
                Query(name, f"${var['name']}", var["datasource"]["uid"], inner, substitute(inner, values))
            )
    return found


def metric_names(promql: str) -> set[str]:
    """The metric names a PromQL expression selects (without a full parser: strings, label matchers,
    ranges and grouping clauses are removed first; what is left that is not a function or keyword is a name)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', promql)
    names = set(re.findall(r'__name__\s*=\s*""', text))  # selecting by __name__ would hide names
    assert not names, f"__name__ matchers are not checked: {promql!r}"
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    found = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word in PROMQL_KEYWORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        found.add(word)
    return found


def stream_selectors(logql: str) -> list[str]:
    """The `{...}` stream selectors of a LogQL query (those at the start of a log or range expression)."""
    return re.findall(r"(?:^|[(\s])(\{[^}]*\})", logql)


def links(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, url) of every link anywhere in the dashboard: dashboard, panel, data and field links."""

    def walk(node: Any, where: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            where = node.get("title", where) if "type" in node else where
            if isinstance(node.get("url"), str) and "title" in node:
                yield where, node["url"]
            for value in node.values():
                yield from walk(value, where)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item, where)

    yield from walk(dashboard, dashboard["title"])
