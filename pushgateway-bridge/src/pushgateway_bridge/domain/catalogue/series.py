"""What a row of the catalogue is, and the ways its samples are read from an entity's state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar

from pushgateway_bridge.domain.kinds import (
    Kind,
    PipelineState,
    S,
    SchedulerState,
    ServiceState,
    SidecarJobState,
)

Labels = dict[str, str]
Sample = tuple[Labels, float | None]
Samples = Callable[[S], Iterable[Sample]]
Read = Callable[
    [S], float | None
]  # one value of the state; a misspelt key makes it `object`, which mypy refuses

OUTCOMES: tuple[Literal["success"], Literal["failure"]] = ("success", "failure")
# mypy checks a function of a constrained TypeVar once for each kind, so state["runs"] is checked in each.
AnyState = TypeVar("AnyState", SchedulerState, ServiceState, PipelineState, SidecarJobState)
WithRuns = TypeVar("WithRuns", SchedulerState, PipelineState, SidecarJobState)


class Doc(NamedTuple):
    """The long form, for docs/metrics.md."""

    meaning: str
    set_by: str  # the requests that change it


@dataclass(frozen=True)
class Series:
    """One pushed metric. `samples` yields (labels, value); a value of None is left out, never sent as 0.
    Made by `series` and the helpers below, which check `samples` against the state of `kind`."""

    kind: str  # the entity kind whose Pushgateway group carries it
    name: str
    type: Literal["gauge", "counter"]
    help: str
    samples: Callable[[Any], Iterable[Sample]]
    doc: Doc
    labels: tuple[str, ...] = ()
    label_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    shape: str = ""  # how docs describe the value: "(1)" for info metrics, "one-hot"


def series(  # noqa: PLR0917  (a row of the table, field by field)
    kind: Kind[S],
    name: str,
    type_: Literal["gauge", "counter"],
    help_text: str,
    samples: Samples[S],
    doc: Doc,
    labels: tuple[str, ...] = (),
    label_values: Mapping[str, tuple[str, ...]] | None = None,
    shape: str = "",
) -> Series:
    return Series(kind, name, type_, help_text, samples, doc, labels, label_values or {}, shape)


def gauge(kind: Kind[S], name: str, read: Read[S], help_text: str, doc: Doc) -> Series:
    """`read(state)` as the only sample."""
    return series(kind, name, "gauge", help_text, lambda state: [({}, read(state))], doc)


def info(kind: Kind[S], name: str, help_text: str, labels: tuple[str, ...], doc: Doc) -> Series:
    """Always 1, labelled with state fields of the same names ("" while unknown). The names are read as
    strings, which mypy cannot check: test_domain.py holds them to the kind's state."""
    return series(
        kind,
        name,
        "gauge",
        help_text,
        lambda state: [({label: str(state.get(label) or "") for label in labels}, 1)],
        doc,
        labels=labels,
        shape="(1)",
    )


def status(
    kind: Kind[AnyState], name: str, help_text: str, values: tuple[str, ...], doc: Doc, *, default: str
) -> Series:
    """One series per possible status; 1 for the current one (`default` before any is known)."""

    def samples(state: AnyState) -> Iterable[Sample]:
        current: str = state.get("status", default)
        return [({"status": v}, 1 if v == current else 0) for v in values]

    return series(
        kind,
        name,
        "gauge",
        help_text,
        samples,
        doc,
        labels=("status",),
        label_values={"status": values},
        shape="one-hot",
    )


def runs_total(kind: Kind[WithRuns], name: str, doc: Doc) -> Series:
    """Finished runs by outcome, from the state's `runs` counters (kept across restarts)."""

    def samples(state: WithRuns) -> Iterable[Sample]:
        runs = state["runs"]
        return [({"outcome": outcome}, runs.get(outcome, 0)) for outcome in OUTCOMES]

    return series(
        kind,
        name,
        "counter",
        "Finished runs by outcome.",
        samples,
        doc,
        labels=("outcome",),
        label_values={"outcome": OUTCOMES},
    )
