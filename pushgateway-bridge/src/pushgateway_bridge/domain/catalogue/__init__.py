"""Every series the bridge writes to Pushgateway, declared once, one module per entity kind.

A row names the metric, its type, HELP and label keys, the entity kind whose group carries it, and how its
samples are read from that entity's state. The exposition (`domain/state.py`) and `docs/metrics.md`
(rendered by `make rules`) read this table; nothing else names a pushed metric. Rows are in exposition
order.
"""

from __future__ import annotations

from pushgateway_bridge.domain.catalogue import pipelines, schedulers, services, sidecar_jobs
from pushgateway_bridge.domain.catalogue.series import Series
from pushgateway_bridge.domain.kinds import PIPELINE, SCHEDULER, SERVICE, SIDECAR

SERIES_BY_KIND: dict[str, tuple[Series, ...]] = {
    SCHEDULER: schedulers.SERIES,
    SERVICE: services.SERIES,
    PIPELINE: pipelines.SERIES,
    SIDECAR: sidecar_jobs.SERIES,
}
SERIES: tuple[Series, ...] = tuple(series for rows in SERIES_BY_KIND.values() for series in rows)

__all__ = ["SERIES", "SERIES_BY_KIND", "Series"]
