"""Finds the collectors, and the wrapper that runs them.

Every module in host_exporter/collectors/ that declares a `SPEC` (a CollectorSpec) is a collector, as
node_exporter's collectors register themselves from their own files: adding that module is all a new
collector takes. As in node_exporter, a collector that raises is reported through
node_scrape_collector_success = 0 and one log line when it starts failing; the scrape itself still
succeeds with everything else.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import time
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.process_collector import ProcessCollector

import host_exporter.collectors
from host_exporter.collectors.base import Collector, CollectorSpec, host_paths
from host_exporter.family import GaugeFamily
from host_exporter.options import OptionValues

log = logging.getLogger(__name__)


def discover(package: ModuleType = host_exporter.collectors) -> tuple[CollectorSpec, ...]:
    """The SPEC of every module in `package`, by name."""
    specs: dict[str, CollectorSpec] = {}
    for module in pkgutil.iter_modules(package.__path__):
        spec = getattr(importlib.import_module(f"{package.__name__}.{module.name}"), "SPEC", None)
        if not isinstance(spec, CollectorSpec):
            continue  # base.py: what the collectors share
        if spec.name in specs:
            raise ValueError(f"{module.name}: another module already declares the collector {spec.name!r}")
        for option in spec.options:
            if option.flag is not None and not option.flag.startswith(f"collector.{spec.name}."):
                raise ValueError(f"{module.name}: flag --{option.flag} is not under --collector.{spec.name}.")
        specs[spec.name] = spec
    return tuple(specs[name] for name in sorted(specs))


COLLECTORS = discover()


class NodeCollector:
    """Runs the enabled collectors at scrape time and reports each one's success and duration."""

    def __init__(self, collectors: Mapping[str, Collector]) -> None:
        self.collectors = dict(collectors)
        self._failing: set[str] = set()

    def _run(self, name: str, collector: Collector) -> tuple[list[Metric], bool]:
        try:
            metrics = list(collector.collect())
        except Exception as exc:  # a collector must never break the scrape; it reports through success=0
            if name not in self._failing:
                self._failing.add(name)
                log.error("collector %s failed: %s: %s", name, type(exc).__name__, exc)
            return [], False
        if name in self._failing:
            self._failing.discard(name)
            log.info("collector %s recovered", name)
        return metrics, True

    def collect(self) -> Iterator[Metric]:
        duration = GaugeFamily(
            "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
            labels=["collector"],
        )
        success = GaugeFamily(
            "node_scrape_collector_success",
            "node_exporter: Whether a collector succeeded.",
            labels=["collector"],
        )
        for name, collector in self.collectors.items():
            start = time.perf_counter()
            metrics, ok = self._run(name, collector)
            duration.add_metric([name], time.perf_counter() - start)
            success.add_metric([name], 1.0 if ok else 0.0)
            yield from metrics
        yield duration
        yield success


def build_registry(
    enabled: Iterable[str], values: OptionValues, specs: Iterable[CollectorSpec] = COLLECTORS
) -> CollectorRegistry:
    """A registry holding the enabled collectors (by name) and the exporter's own process metrics."""
    wanted = set(enabled)
    paths = host_paths(values)
    collectors = {spec.name: spec.build(paths, values) for spec in specs if spec.name in wanted}
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(collectors))
    ProcessCollector(registry=registry)
    return registry
