"""The directly written exposition is byte for byte what prometheus_client's generate_latest writes."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    UnknownMetricFamily,
)

from host_exporter.family import CounterFamily, Family, GaugeFamily
from host_exporter.web.exposition import TextExposition

VALUES = [
    0, -0.0, 1, 1.5, -3, 999_999.5, 1e6, 1_234_567.0, 12_345_678_901.0, -2e7, 1e-9, 5e-324, 1.7976931348623157e308,
    2**63, math.inf, -math.inf, math.nan,
]  # fmt: skip


class Fixed:
    """A collector returning the families it was given."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def registry(*families: Metric) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Fixed(list(families)))
    return registry


# The family classes of a gauge, a counter and an untyped metric: prometheus_client's, and the collectors'.
CLIENTS = (GaugeMetricFamily, CounterMetricFamily, UnknownMetricFamily)
OWN = (GaugeFamily, CounterFamily, Family)


def common_families(value_label: str = "a", kinds: tuple[type[Any], ...] = CLIENTS) -> list[Metric]:
    gauge_family, counter_family, unknown_family = kinds
    gauge = gauge_family("node_gauge", 'help with \\ a backslash,\na newline and "quotes"', labels=["b", "a"])
    for index, value in enumerate(VALUES):
        gauge.add_metric([f"{value_label}-{index}", 'esc \\ "q"\nnl é'], value)
    counter = counter_family("node_things", "Things.", labels=["device"])
    counter.add_metric(["sda"], 12)
    counter.add_metric(["sdb"], 1.25e9)
    untyped = unknown_family("node_untyped", "")
    untyped.add_metric([], 7)
    plain = gauge_family("node_plain", "No labels.", value=-0.5)
    return [gauge, counter, untyped, plain]


def test_the_same_bytes_as_generate_latest_and_again_from_the_caches() -> None:
    encoder = TextExposition()
    families = registry(*common_families())
    first = encoder.encode(families)
    assert first == generate_latest(families)
    assert encoder.encode(families) == first  # the second time from the cached headers and prefixes
    changed = registry(*common_families("z"))  # other label values: new prefixes
    assert encoder.encode(changed) == generate_latest(changed)


def with_timestamp() -> Metric:
    family = GaugeMetricFamily("node_stamped", "A timestamp.")
    family.add_metric([], 1.0, timestamp=1_700_000_000.5)
    return family


def info() -> Metric:
    family = InfoMetricFamily("node_os", "An info metric.")
    family.add_metric([], {"name": "Debian"})
    return family


def histogram() -> Metric:
    return HistogramMetricFamily("node_seconds", "A histogram.", buckets=[("1", 2), ("+Inf", 3)], sum_value=4)


def created() -> Metric:
    family = CounterMetricFamily("node_requests", "Created.", created=1_700_000_000.0)
    family.add_metric([], 3, created=1_700_000_000.0)
    return family


def utf8_name() -> Metric:
    return GaugeMetricFamily("node.dotted", "A name that must be escaped.", value=1)


@pytest.mark.parametrize(
    "odd", [with_timestamp, info, histogram, created, utf8_name], ids=lambda f: f.__name__
)
def test_what_it_does_not_write_itself_comes_from_generate_latest(odd: object) -> None:
    families = registry(*common_families(), odd())  # type: ignore[operator]
    assert TextExposition().encode(families) == generate_latest(families)


def own_families(value_label: str = "a") -> list[Metric]:
    """common_families, built with the collectors' own families (host_exporter/family.py)."""
    return common_families(value_label, OWN)


def test_the_collectors_families_give_what_prometheus_clients_give() -> None:
    """The same text as prometheus_client's own families, written directly and by generate_latest alike
    (which reads `.samples`), the first time and again from the caches of headers, prefixes and values."""
    expected = generate_latest(registry(*common_families()))
    own = registry(*own_families())
    assert generate_latest(own) == expected
    encoder = TextExposition()
    assert encoder.encode(own) == expected
    assert encoder.encode(registry(*own_families())) == expected
    assert encoder.encode(registry(*own_families("z"))) == generate_latest(registry(*common_families("z")))
    with pytest.raises(ValueError, match="cannot be empty"):  # the names prometheus_client refuses
        GaugeFamily("", "No name.")
