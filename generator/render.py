"""Everything `make rules` writes, as {relative path: text}; nothing here touches the disk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from generator import alertmanager, dashboards, loki_rules
from generator.rules import bridge, host, pipelines, schedulers, services
from generator.source import Source
from generator.yamlout import dump

RULE_FILES: dict[str, Callable[[Source], dict[str, Any]]] = {
    "rules/host.rules.yml": host.rule_file,
    "rules/schedulers.rules.yml": schedulers.rule_file,
    "rules/services.rules.yml": services.rule_file,
    "rules/pipelines.rules.yml": pipelines.rule_file,
    "rules/bridge.rules.yml": bridge.rule_file,
}


def render_all(source: Source, source_name: str = "monitoring.yml") -> dict[str, str]:
    files = {path: dump(build(source), source_name) for path, build in RULE_FILES.items()}
    files["alertmanager/alertmanager.yml"] = dump(alertmanager.render(source), source_name)
    files.update({**dashboards.render(source), **loki_rules.render(source)})
    return files
