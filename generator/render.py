"""Everything `make rules` writes, as {relative path: text}; nothing here touches the disk."""

from __future__ import annotations

from collections.abc import Iterable

from generator import alertmanager, bridge_notifications, dashboards, loki_rules, metrics_doc
from generator.prometheus_rules import alert_names, build_all
from generator.source import Source
from generator.yamlout import dump

# What `make rules` owns: folders (ending in "/") and files. Prometheus, Grafana and Loki load every file of
# their folder, so a file an older render left there would still be loaded; `stale` finds such files.
GENERATED = (
    "rules/",
    "alertmanager/",
    "grafana/dashboards/",
    "loki/rules/",
    "docs/metrics.md",
    bridge_notifications.PATH,
)
HAND_WRITTEN = ("alertmanager/templates/",)  # inside GENERATED, edited by people


def render_all(source: Source, source_name: str = "monitoring.yml") -> dict[str, str]:
    rules = build_all(source)  # built once: the dashboards' runbook links need their alert names
    files = {path: dump(content, source_name) for path, content in rules.items()}
    files["alertmanager/alertmanager.yml"] = dump(alertmanager.render(source), source_name)
    files[bridge_notifications.PATH] = dump(bridge_notifications.render(source), source_name)
    files.update({**dashboards.render(source, alert_names(rules.values())), **loki_rules.render(source)})
    files.update(metrics_doc.render())  # from the bridge's tables, not from the source
    return files


def is_generated(path: str) -> bool:
    """Whether `path` (relative, "/"-separated) is one of the places `make rules` owns, or inside one."""
    owned = any(path == place or (place.endswith("/") and path.startswith(place)) for place in GENERATED)
    return owned and not path.startswith(HAND_WRITTEN)


def stale(rendered: Iterable[str], present: Iterable[str]) -> list[str]:
    """The files of `present` that are generated but not among `rendered`: left over from an older render."""
    return sorted(set(filter(is_generated, present)) - set(rendered))
