"""Everything `make rules` writes, as {relative path: text}; nothing here touches the disk."""

from __future__ import annotations

from generator import alertmanager, dashboards, loki_rules, metrics_doc
from generator.prometheus_rules import alert_names, build_all
from generator.source import Source
from generator.yamlout import dump


def render_all(source: Source, source_name: str = "monitoring.yml") -> dict[str, str]:
    rules = build_all(source)  # built once: the dashboards' runbook links need their alert names
    files = {path: dump(content, source_name) for path, content in rules.items()}
    files["alertmanager/alertmanager.yml"] = dump(alertmanager.render(source), source_name)
    files.update({**dashboards.render(source, alert_names(rules.values())), **loki_rules.render(source)})
    files.update(metrics_doc.render())  # from the bridge's tables, not from the source
    return files
