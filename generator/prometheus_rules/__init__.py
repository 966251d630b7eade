"""Prometheus rule files, one module per area; each returns its file's rule groups."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from generator.prometheus_rules import bridge, endpoints, host, pipelines, schedulers, services
from generator.source import Source

RuleFile = dict[str, Any]

RULE_FILES: dict[str, Callable[[Source], RuleFile]] = {
    "rules/host.rules.yml": host.rule_file,
    "rules/schedulers.rules.yml": schedulers.rule_file,
    "rules/services.rules.yml": services.rule_file,
    "rules/pipelines.rules.yml": pipelines.rule_file,
    "rules/endpoints.rules.yml": endpoints.rule_file,
    "rules/bridge.rules.yml": bridge.rule_file,
}


def build_all(source: Source) -> dict[str, RuleFile]:
    """Every rule file's content, by its path."""
    return {path: build(source) for path, build in RULE_FILES.items()}


def alert_names(rule_files: Iterable[RuleFile]) -> set[str]:
    return {
        rule["alert"]
        for rule_file in rule_files
        for rule_group in rule_file["groups"]
        for rule in rule_group["rules"]
        if "alert" in rule
    }
