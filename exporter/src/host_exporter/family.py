"""Gauge and counter families that keep their samples as (label values, value) pairs.

prometheus_client's GaugeMetricFamily.add_metric builds a label dict and a Sample for every sample, and
its constructor checks the name with a regexp: together about a fifth of a scrape's CPU, for objects
that web/exposition.py only takes apart again. These families store the pairs, check a name once per
process, and build prometheus_client Samples only when something reads `.samples` (generate_latest,
registry.get_sample_value, tests), so every reader of a Metric still sees what it would have seen.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample


@functools.lru_cache(maxsize=1024)  # the collectors' names, and the kernel's meminfo fields
def _checked(name: str, typ: str) -> str:
    Metric(name, "", typ)  # raises ValueError for a bad name, as prometheus_client's families do
    return name


class Family(Metric):
    """A family of one type; `add_metric(label values, value)` as prometheus_client's families take it."""

    typ = "unknown"  # what prometheus_client calls untyped

    def __init__(
        self, name: str, documentation: str, labels: Sequence[str] = (), value: float | None = None
    ) -> None:
        # Metric.__init__ would check the name again and assign `samples`, which is computed here.
        self.name = _checked(name, self.typ)
        self.documentation = documentation
        self.unit = ""
        self.type = self.typ
        self.labelnames = tuple(labels)
        self.sample_name = name
        self.series: list[tuple[tuple[str, ...], float]] = [] if value is None else [((), value)]

    def add_metric(self, labels: Sequence[str], value: float) -> None:
        self.series.append((tuple(labels), value))

    @property
    def samples(self) -> list[Sample]:  # type: ignore[override]  # computed; add_metric adds to it
        names, name = self.labelnames, self.sample_name
        return [Sample(name, dict(zip(names, values, strict=False)), value) for values, value in self.series]


class GaugeFamily(Family):
    typ = "gauge"


class CounterFamily(Family):
    """As CounterMetricFamily: the family's name without `_total`, its samples' with it."""

    typ = "counter"

    def __init__(
        self, name: str, documentation: str, labels: Sequence[str] = (), value: float | None = None
    ) -> None:
        super().__init__(name.removesuffix("_total"), documentation, labels, value)
        self.sample_name = self.name + "_total"
