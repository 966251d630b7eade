"""Alerting rules as GET /api/alerts shows them: every rule Prometheus evaluates (from monitoring.yml or
made over the API) with its state, active since, value and firing instances, from /api/v1/rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pushgateway_bridge.alerts.rules import SOURCE
from pushgateway_bridge.storage.records import Body

STATES = ("inactive", "pending", "firing")
SOURCES = ("config", SOURCE)


def config_id(group: str, index: int) -> str:
    """A monitoring.yml rule's id: its group and place in it (alert names repeat, e.g. per host group)."""
    return f"{group}:{index}"


def rule_views(groups: list[dict[str, Any]], rule_file: Path) -> list[Body]:
    found: list[Body] = []
    for group in groups:
        from_api = Path(group.get("file", "")).resolve() == rule_file.resolve()
        for index, rule in enumerate(group.get("rules", [])):
            if rule.get("type") != "alerting":
                continue
            labels = rule.get("labels", {})
            api = from_api and labels.get("source") == SOURCE and "alert_id" in labels
            alerts = [
                {
                    "labels": alert.get("labels", {}),
                    "state": alert.get("state"),
                    "active_at": alert.get("activeAt"),
                    "value": alert.get("value"),
                }
                for alert in rule.get("alerts", [])
            ]
            active = sorted(a["active_at"] for a in alerts if a["active_at"])
            found.append(
                {
                    "id": labels["alert_id"] if api else config_id(group["name"], index),
                    "source": SOURCE if api else "config",
                    "name": rule.get("name"),
                    "expr": rule.get("query"),
                    "for_seconds": rule.get("duration"),
                    "labels": labels,
                    "annotations": rule.get("annotations", {}),
                    "state": rule.get("state"),
                    "active_since": active[0] if active else None,
                    "value": alerts[0]["value"] if alerts else None,
                    "alerts": alerts,
                    "health": rule.get("health"),
                    "last_error": rule.get("lastError") or None,
                    "defined_in": group.get("file"),
                    "group": group["name"],
                }
            )
    return found


def matches(
    view: Body, service: str | None, severity: str | None, state: str | None, source: str | None
) -> bool:
    labels = view["labels"]
    return (
        (service is None or labels.get("service") == service)
        and (severity is None or labels.get("severity") == severity)
        and (state is None or view["state"] == state)
        and (source is None or view["source"] == source)
    )


def api_view(stored: Body, live: Body | None) -> Body:
    """An API alert: what was asked and the rule it became, with Prometheus' view when it has loaded it."""
    return {
        "id": stored["id"],
        "source": SOURCE,
        "request": stored["request"],
        "metric": stored["metric"],
        "inferred": stored["inferred"],
        "rule": stored["rule"],
        "created": stored["created"],
        "updated": stored["updated"],
        "loaded": live is not None,
        "state": live["state"] if live else None,
        "active_since": live["active_since"] if live else None,
        "value": live["value"] if live else None,
        "alerts": live["alerts"] if live else [],
    }
