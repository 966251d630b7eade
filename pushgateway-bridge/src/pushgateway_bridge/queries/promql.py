"""PromQL pieces built from request values: label matchers (every value a string literal), selectors of a
metric name that follows Prometheus' grammar, and samples read back as JSON numbers."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pushgateway_bridge.alerts.escaping import promql_string

# Prometheus' metric name grammar (https://prometheus.io/docs/concepts/data_model/): a name, never PromQL.
METRIC_NAME_PATTERN = "^[a-zA-Z_:][a-zA-Z0-9_:]*$"
METRIC_NAME = re.compile(METRIC_NAME_PATTERN)
Labels = dict[str, str]


def equal(label: str, value: str) -> str:
    return f"{label}={promql_string(value)}"


def matching(label: str, regex: str) -> str:
    return f"{label}=~{promql_string(regex)}"


def one_of(names: Iterable[str]) -> str:
    """An RE2 alternation matching exactly `names` (escaped: a job name is data, not a pattern)."""
    return "|".join(re.escape(name) for name in names) or "a^"


def selector(metric: str, matchers: Iterable[str]) -> str:
    if not METRIC_NAME.fullmatch(metric):
        raise ValueError(f"{metric!r} is not a Prometheus metric name")
    return f"{metric}{{{', '.join(matchers)}}}"


def number(text: str) -> float | None:
    """A sample value as JSON can carry it: NaN and the infinities (no JSON number) become null."""
    value = float(text)
    return value if math.isfinite(value) else None


def vector(data: Mapping[str, Any]) -> list[tuple[Labels, float | None]]:
    """An instant query's samples: (labels, value)."""
    return [(dict(item["metric"]), number(item["value"][1])) for item in data["result"]]


def rfc3339(moment: datetime) -> str:
    """UTC, to the millisecond (Prometheus' resolution), with a Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


MEASURE = "bridge_measure"  # tells the parts of one combined query apart
Parts = dict[str, list[tuple[Labels, float | None]]]


def tagged(exprs: Mapping[str, str]) -> str:
    """Several expressions as one query, so an answer costs one round trip and all its values share one
    evaluation: each part's series get `bridge_measure="<key>"`, which keeps them apart under `or`."""
    return " or ".join(f'label_replace({expr}, "{MEASURE}", "{key}", "", "")' for key, expr in exprs.items())


def parts(data: Mapping[str, Any]) -> Parts:
    """A tagged query's samples by part, the tag removed."""
    found: Parts = {}
    for labels, value in vector(data):
        found.setdefault(labels.pop(MEASURE), []).append((labels, value))
    return found


def keyed(samples: Iterable[tuple[Labels, float | None]], *keys: str) -> dict[tuple[str, ...], float | None]:
    """Values keyed by the values of `keys` (a missing label reads as "")."""
    return {tuple(labels.get(key, "") for key in keys): value for labels, value in samples}
