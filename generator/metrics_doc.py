"""docs/metrics.md, rendered from the bridge's own tables: the series it pushes per entity kind
(`pushgateway_bridge.domain.catalogue`) and the metrics it exposes itself (`pushgateway_bridge.metrics`).
The names, types, HELP and labels are declared there once; this module only lays them out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from pushgateway_bridge import metrics
from pushgateway_bridge.domain.catalogue import SERIES_BY_KIND, Series
from pushgateway_bridge.domain.kinds import PIPELINE, SCHEDULER, SERVICE, SIDECAR
from pushgateway_bridge.domain.state import GROUPS

TEMPLATE = Path(__file__).resolve().parent / "templates" / "metrics.md.j2"
OUT = "docs/metrics.md"

TITLES = {
    SCHEDULER: "Schedulers",
    SERVICE: "Climate services",
    PIPELINE: "Pipelines",
    SIDECAR: "Sidecar jobs",
}
NOTES: dict[str, str] = {
    SCHEDULER: "`DELETE /api/v1/schedulers/{id}` deletes the group (counted in "
    '`bridge_groups_expired_total{job="scheduler"}`).',
}


def _code(value: str) -> str:
    return f"`{value}`"


def _labels(keys: tuple[str, ...], values: dict[str, str] | Any) -> str:
    return ", ".join(f"`{key}` = {values[key]}" if key in values else f"`{key}`" for key in keys)


def _row(*cells: str) -> str:
    """A Markdown table row; an empty cell is written `| |`, as by hand."""
    return "| " + " | ".join(cells).replace("|  |", "| |") + " |"


def _series_row(series: Series) -> str:
    values = {key: ", ".join(options) for key, options in series.label_values.items()}
    shape = f" {series.shape}" if series.shape == "(1)" else f", {series.shape}" if series.shape else ""
    return _row(
        _code(series.name),
        series.type + shape,
        _labels(series.labels, values),
        series.doc.meaning,
        series.doc.set_by,
    )


def render() -> dict[str, str]:
    sections = [
        {
            "title": TITLES[kind],
            "job": GROUPS[kind][0],
            "grouping": GROUPS[kind][1],
            "rows": [_series_row(series) for series in rows],
            "note": NOTES.get(kind, ""),
        }
        for kind, rows in SERIES_BY_KIND.items()
    ]
    own = [
        _row(_code(spec.name), spec.type, _labels(spec.labels, metrics.LABEL_VALUES), spec.help)
        for spec in metrics.OWN_METRICS
    ]
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 (Markdown for a repository file, not HTML for a browser)
    )
    environment.filters["code"] = _code
    text = environment.get_template(TEMPLATE.name).render(sections=sections, own=own)
    return {OUT: text}
