"""A real Prometheus holding series no test can scrape (cAdvisor's, Tempo's span metrics, blackbox probes):
written as OpenMetrics text, turned into TSDB blocks by `promtool tsdb create-blocks-from openmetrics`
before Prometheus starts (it loads the blocks it finds at start)."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

from stack import Prometheus, Stack, binary
from stack.prometheus import prometheus_config, start_prometheus

STEP_SECONDS = 15  # one sample every 15 s, the bundle's scrape interval
SPAN_SECONDS = 30 * 60  # half an hour of samples before `end`


def _labels(labels: dict[str, str]) -> str:
    # Test labels hold no quotes, backslashes or newlines: written as they are.
    return ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))


@dataclass
class Series:
    """Samples written as OpenMetrics: each series' samples together, in time order."""

    end: int  # Unix seconds of the last sample (a whole second, some time before now)
    lines: list[str] = field(default_factory=list)

    @property
    def times(self) -> range:
        return range(self.end - SPAN_SECONDS, self.end + 1, STEP_SECONDS)

    def add(self, name: str, labels: dict[str, str], value: Callable[[int], float]) -> None:
        """`value(t)` at every sample time t (seconds before `end` are negative: `value(t - end)`)."""
        for moment in self.times:
            sample = value(moment - self.end)
            text = "+Inf" if math.isinf(sample) else repr(float(sample))
            self.lines.append(f"{name}{{{_labels(labels)}}} {text} {moment}")

    def counter(self, name: str, labels: dict[str, str], per_second: float) -> None:
        """A counter rising at `per_second` all along (its rate over any window is exactly that)."""
        self.add(name, labels, lambda t: per_second * (t + SPAN_SECONDS))

    def text(self) -> str:
        return "\n".join([*self.lines, "# EOF", ""])


def prometheus_with(
    stack: Stack, series: Series, scrape_configs: Iterable[dict[str, Any]] = ()
) -> Prometheus:
    """A real Prometheus whose TSDB holds `series` from its start."""
    directory = stack.tmp / f"prometheus-backfilled-{len(stack.started)}"
    data = directory / "data"
    data.mkdir(parents=True)
    source = directory / "series.om.txt"
    source.write_text(series.text())
    made = subprocess.run(
        [binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    config = prometheus_config(
        [],
        scrape_configs=list(scrape_configs),
        rule_files=[],
        alertmanager_url=None,
        interval="1s",
        honor_labels=True,
    )
    process, config_path = start_prometheus(directory, config)
    stack.track(process)
    return Prometheus(process, config_path)


def instant(prometheus: Prometheus, expr: str, at: float) -> list[dict[str, Any]]:
    """Prometheus' own answer to `expr` at `at` (Unix seconds)."""
    body = requests.get(
        f"{prometheus.url}/api/v1/query", params={"query": expr, "time": f"{at:.3f}"}, timeout=10
    ).json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def value_of(prometheus: Prometheus, expr: str, at: float) -> float:
    """The one sample of `expr` at `at`."""
    result = instant(prometheus, expr, at)
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])
