"""What a row of the catalogue is, and the ways its samples are read from an entity's state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from pushgateway_bridge.domain.entities import State

Labels = dict[str, str]
Samples = Callable[[State], Iterable[tuple[Labels, Any]]]

OUTCOMES = ("success", "failure")


class Doc(NamedTuple):
    """The long form, for docs/metrics.md."""

    meaning: str
    set_by: str  # the requests that change it


@dataclass(frozen=True)
class Series:
    """One pushed metric. `samples` yields (labels, value); a value of None is left out, never sent as 0."""

    kind: str  # the entity kind whose Pushgateway group carries it
    name: str
    type: Literal["gauge", "counter"]
    help: str
    samples: Samples
    doc: Doc
    labels: tuple[str, ...] = ()
    label_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    shape: str = ""  # how docs describe the value: "(1)" for info metrics, "one-hot"


def value(key: str) -> Samples:
    """The state field as the only sample."""
    return lambda state: [({}, state.get(key))]


def gauge(kind: str, name: str, key: str, help_text: str, doc: Doc) -> Series:
    return Series(kind, name, "gauge", help_text, value(key), doc=doc)


def info(kind: str, name: str, help_text: str, labels: tuple[str, ...], doc: Doc) -> Series:
    """Always 1, labelled with state fields of the same names ("" while unknown)."""
    return Series(
        kind,
        name,
        "gauge",
        help_text,
        lambda state: [({label: state.get(label) or "" for label in labels}, 1)],
        labels=labels,
        shape="(1)",
        doc=doc,
    )


def status(
    kind: str, name: str, help_text: str, values: tuple[str, ...], doc: Doc, *, default: str
) -> Series:
    """One series per possible status; 1 for the current one (`default` before any is known)."""

    def samples(state: State) -> Iterable[tuple[Labels, Any]]:
        current = state.get("status", default)
        return [({"status": v}, 1 if v == current else 0) for v in values]

    return Series(
        kind,
        name,
        "gauge",
        help_text,
        samples,
        labels=("status",),
        label_values={"status": values},
        shape="one-hot",
        doc=doc,
    )


def runs_total(kind: str, name: str, doc: Doc) -> Series:
    """Finished runs by outcome, from the state's `runs` counters (kept across restarts)."""

    def samples(state: State) -> Iterable[tuple[Labels, Any]]:
        runs = state.get("runs") or {}
        return [({"outcome": outcome}, runs.get(outcome, 0)) for outcome in OUTCOMES]

    return Series(
        kind,
        name,
        "counter",
        "Finished runs by outcome.",
        samples,
        labels=("outcome",),
        label_values={"outcome": OUTCOMES},
        doc=doc,
    )
