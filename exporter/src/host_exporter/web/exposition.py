"""The text exposition (format 0.0.4), written directly: the bytes prometheus_client's generate_latest
gives, in about a third of its time.

generate_latest checks and escapes every metric and label name of every sample on every scrape; about
half of a scrape's CPU went there. Here a family's HELP and TYPE lines, and a sample's name-and-labels
text, are built once and then reused while they do not change (names never do; label values of these
collectors seldom). Anything this writer does not handle as generate_latest does (a name that needs
escaping, a timestamp, OpenMetrics' _created, _gsum or _gcount samples, a type other than counter, gauge or
untyped) makes the whole exposition come from generate_latest instead, so the output is always the same.
The collectors' own families (host_exporter.family) are written from their (label values, value) pairs,
without the Sample objects and label dicts that other Metrics carry.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from host_exporter.family import Family

LEGACY_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LEGACY_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter": "counter", "gauge": "gauge", "unknown": "untyped"}
FamilyKey = tuple[str, str, str, tuple[str, ...]]  # name, type, help, label names
MAX_CACHED = 20_000  # sample prefixes kept; past it the cache starts again (label values that churn)


class Fallback(Exception):
    """Something only generate_latest writes as it should."""


class TextExposition:
    """`encode(registry)`: the exposition of every metric the registry collects."""

    def __init__(self) -> None:
        self.headers: dict[tuple[str, str, str], str] = {}
        self.prefixes: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        # A Family's header and its prefixes by label values, keyed by what makes them.
        self.families: dict[FamilyKey, tuple[str, dict[tuple[str, ...], str]]] = {}
        self.cached = 0  # prefixes held in self.families

    def encode(self, registry: Collector) -> bytes:
        try:
            return self._encode(registry.collect())
        except Fallback:
            return generate_latest(registry)

    def _encode(self, metrics: Iterable[Metric]) -> bytes:
        out: list[str] = []
        headers, prefixes = self.headers, self.prefixes
        for metric in metrics:
            if isinstance(metric, Family):
                self._write_family(metric, out)
                continue
            name, kind, documentation = metric.name, metric.type, metric.documentation
            header = headers.get((name, kind, documentation))
            if header is None:
                header = headers[(name, kind, documentation)] = _header(name, kind, documentation)
            out.append(header)
            for sample in metric.samples:
                if sample.timestamp is not None or sample.exemplar is not None or sample.native_histogram:
                    raise Fallback
                key = (sample.name, tuple(sample.labels.items()))
                prefix = prefixes.get(key)
                if prefix is None:
                    if len(prefixes) >= MAX_CACHED:
                        prefixes.clear()
                    prefix = prefixes[key] = _sample_prefix(sample.name, sample.labels)
                value = float(sample.value)
                # floatToGoString's own work is for the rest: infinities, NaN, a million and more.
                out.append(f"{prefix}{value!r}\n" if -1e6 < value < 1e6 else f"{prefix}{_go_float(value)}\n")
        return "".join(out).encode()

    def _write_family(self, family: Family, out: list[str]) -> None:
        """A Family's samples from its (label values, value) pairs, never built as Samples."""
        key = (family.name, family.type, family.documentation, family.labelnames)
        entry = self.families.get(key)
        if entry is None:
            entry = self.families[key] = (_header(*key[:3]), {})
        header, prefixes = entry
        out.append(header)
        name, labelnames = family.sample_name, family.labelnames
        for values, raw in family.series:
            prefix = prefixes.get(values)
            if prefix is None:
                if self.cached >= MAX_CACHED:
                    self.families.clear()  # `prefixes` stays valid for the rest of this family
                    self.cached = 0
                self.cached += 1
                prefix = prefixes[values] = _sample_prefix(name, dict(zip(labelnames, values, strict=False)))
            value = float(raw)
            out.append(f"{prefix}{value!r}\n" if -1e6 < value < 1e6 else f"{prefix}{_go_float(value)}\n")


def _header(name: str, kind: str, documentation: str) -> str:
    if kind not in TYPES or not LEGACY_NAME.fullmatch(name):
        raise Fallback
    exposed = name + "_total" if kind == "counter" else name
    help_text = documentation.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {exposed} {help_text}\n# TYPE {exposed} {TYPES[kind]}\n"


def _sample_prefix(name: str, labels: dict[str, str]) -> str:
    if name.endswith(("_created", "_gsum", "_gcount")) or not LEGACY_NAME.fullmatch(name):
        raise Fallback  # OpenMetrics' samples, which generate_latest moves into families of their own
    if not labels:
        return name + " "
    pairs = []
    for label, value in sorted(labels.items()):
        if not LEGACY_LABEL.fullmatch(label):
            raise Fallback
        escaped = value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
        pairs.append(f'{label}="{escaped}"')
    return f"{name}{{{','.join(pairs)}}} "


# Called only for values of a million and more, so 0.0 and -0.0 (equal keys) never meet here. Most of
# these values (45 of 68 on a test VM: sizes, totals, limits, boot and start times) repeat every scrape.
@functools.lru_cache(maxsize=1024)
def _go_float(value: float) -> str:
    return str(floatToGoString(value))  # type: ignore[no-untyped-call]
