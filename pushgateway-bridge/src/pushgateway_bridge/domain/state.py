"""Entity state -> one Pushgateway group (grouping labels and the whole group's exposition text).

Timestamp metrics are left out until known (never 0). Every name keeps one type, one HELP and one set of
label keys across all groups, as Pushgateway requires.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from pushgateway_bridge.domain.catalogue import SERIES_BY_KIND
from pushgateway_bridge.domain.kinds import PIPELINE, SCHEDULER, SERVICE, SIDECAR, State

# kind -> (Pushgateway job, grouping labels). Each grouping label is the state field of the same name
# (read by name, which mypy cannot check: test_domain.py holds them to the kind's state).
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    SCHEDULER: ("scheduler", ("scheduler_id",)),
    SERVICE: ("service", ("service",)),
    PIPELINE: ("pipeline", ("pipeline_type",)),
    SIDECAR: ("sidecar", ("site", "app", "entity_type", "business_key")),
}


def grouping(kind: str, state: State) -> tuple[str, list[tuple[str, str]]]:
    """The Pushgateway job and grouping labels of an entity."""
    if kind not in GROUPS:
        raise ValueError(f"unknown entity kind {kind!r}")
    job, keys = GROUPS[kind]
    fields: Mapping[str, Any] = state
    return job, [(key, fields[key]) for key in keys]


def group_path(job: str, labels: Iterable[tuple[str, str]]) -> str:
    """URL path of a group; every value base64url-encoded so '/' and other characters are safe."""
    parts = [f"/metrics/job/{job}"]
    for name, value in labels:
        encoded = base64.urlsafe_b64encode(value.encode()).decode() if value else "="
        parts.append(f"/{name}@base64/{encoded}")
    return "".join(parts)


def render(kind: str, state: State) -> str:
    """The whole group's exposition text, every series of the kind's catalogue in its order."""
    if kind not in SERIES_BY_KIND:
        raise ValueError(f"unknown entity kind {kind!r}")
    lines: list[str] = []
    for series in SERIES_BY_KIND[kind]:
        rows = [(labels, value) for labels, value in series.samples(state) if value is not None]
        if not rows:
            continue
        lines.append(f"# HELP {series.name} {series.help}")
        lines.append(f"# TYPE {series.name} {series.type}")
        for labels, value in rows:
            label_text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
            number = _number(float(value))
            lines.append(
                f"{series.name}{{{label_text}}} {number}" if label_text else f"{series.name} {number}"
            )
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
