"""Every rendered dashboard decoded with grafana-foundation-sdk's models, generated from Grafana's own schemas.

The SDK's `from_json` is lenient: it drops keys it does not know and copies values without looking at their
type. So the decoded dashboard only tells which model each part is (which panel plugin's options, which
datasource's query); the check below then walks the JSON against those models' type hints: a key the model
has no field for, or a value of the wrong type, is an error naming its path.
"""

from __future__ import annotations

import copy
import enum
import functools
import json
import types
import typing
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import Dashboard

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))

plugins.register_default_plugins()  # panel options and queries decode into their plugins' models


class _Slot:
    """Stands in for an attribute's value, so a model's own to_json() tells the JSON key of each attribute."""

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute


def _is_model(cls: object) -> bool:
    return isinstance(cls, type) and cls.__module__.startswith("grafana_foundation_sdk.models.")


@functools.cache
def fields(cls: type) -> dict[str, tuple[str, Any]]:
    """JSON key -> (attribute, type hint) of a model class."""
    hints = typing.get_type_hints(cls)
    probe: Any = object.__new__(cls)
    for attribute in hints:
        setattr(probe, attribute, _Slot(attribute))
    payload = probe.to_json()
    return {
        key: (slot.attribute, hints[slot.attribute])
        for key, slot in payload.items()
        if isinstance(slot, _Slot)
    }


def _child(decoded: Any, key: int | str) -> Any:
    if isinstance(decoded, list) and isinstance(key, int) and key < len(decoded):
        return decoded[key]
    if isinstance(decoded, dict):
        return decoded.get(key)
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check(value: Any, hint: Any, decoded: Any, path: str, errors: list[str]) -> None:
    """Append to `errors` every way `value` (JSON) does not fit `hint`; `decoded` is the SDK's decoding."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        if _is_model(type(decoded)):  # a plugin's options or field config, decoded by its hook
            check_model(value, type(decoded), decoded, path, errors)
    elif origin in (typing.Union, types.UnionType):
        _check_union(value, args, decoded, path, errors)
    elif origin is typing.Literal:
        if not any(type(value) is type(allowed) and value == allowed for allowed in args):
            errors.append(f"{path}: {value!r} is not one of {list(args)!r}")
    elif origin in (list, dict):
        if not isinstance(value, origin):
            errors.append(f"{path}: expected {origin.__name__}, got {_kind(value)}")
            return
        items = enumerate(value) if isinstance(value, list) else value.items()
        for key, item in items:
            check(item, args[-1], _child(decoded, key), f"{path}[{key!r}]", errors)
    elif isinstance(hint, type):
        _check_class(value, hint, decoded, path, errors)
    else:
        errors.append(f"{path}: the check does not know the type hint {hint!r}")


def _check_union(value: Any, args: tuple[Any, ...], decoded: Any, path: str, errors: list[str]) -> None:
    members = [member for member in args if member is not type(None)]
    if value is None:
        if len(members) == len(args):
            errors.append(f"{path}: null is not allowed")
        return
    chosen = [member for member in members if _is_model(member) and isinstance(decoded, member)]
    attempts: list[list[str]] = []
    for member in chosen or members:
        found: list[str] = []
        check(value, member, decoded, path, found)
        if not found:
            return
        attempts.append(found)
    closest: list[str] = min(attempts, key=len)
    errors.extend(closest)


def _check_class(value: Any, hint: type, decoded: Any, path: str, errors: list[str]) -> None:
    if issubclass(hint, enum.Enum):
        if not any(type(value) is type(member.value) and value == member.value for member in hint):
            errors.append(f"{path}: {value!r} is not a {hint.__name__} ({[m.value for m in hint]!r})")
    elif issubclass(hint, cogvariants.Dataquery) and not _is_model(hint):
        if _is_model(type(decoded)):  # the query model of the panel's datasource type
            check_model(value, type(decoded), decoded, path, errors)
        else:
            errors.append(
                f"{path}: no Grafana model for this query's datasource (decoded as {_kind(decoded)})"
            )
    elif _is_model(hint):
        check_model(value, hint, decoded, path, errors)
    elif not _fits_scalar(value, hint):
        errors.append(f"{path}: expected {hint.__name__}, got {_kind(value)} {value!r}")


def _fits_scalar(value: Any, hint: type) -> bool:
    if hint is bool or isinstance(value, bool):  # JSON true is no number, 1 is no boolean
        return hint is bool and isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float)
    return isinstance(value, hint)


def check_model(value: Any, cls: type, decoded: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object ({cls.__module__}.{cls.__name__}), got {_kind(value)}")
        return
    known = fields(cls)
    for key, item in value.items():
        if key not in known:
            errors.append(
                f"{path}.{key}: {cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__} has no such field"
            )
            continue
        attribute, hint = known[key]
        child = getattr(decoded, attribute, None) if isinstance(decoded, cls) else None
        check(item, hint, child, f"{path}.{key}", errors)


def schema_errors(document: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    check_model(document, Dashboard, Dashboard.from_json(document), "dashboard", errors)
    return errors


def panels(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in document.get("panels", []):
        found += [panel, *panel.get("panels", [])]
    return found


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_every_rendered_dashboard_fits_grafanas_dashboard_model(path: Path) -> None:
    errors = schema_errors(json.loads(path.read_text()))
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_every_panel_and_query_has_a_model_to_be_checked_against(path: Path) -> None:
    document = json.loads(path.read_text())
    for panel in panels(document):
        kind = panel["type"]
        config = cogruntime.panelcfg_config(kind)
        assert kind == "row" or (config and config.options_from_json_hook), f"no model for panel type {kind}"
        for target in panel.get("targets", []):
            decoded = cogruntime.dataquery_from_json(target, panel["datasource"]["type"])
            assert not isinstance(decoded, cogruntime.UnknownDataquery), (panel["title"], target)


def test_the_models_are_those_of_the_grafana_that_docker_compose_runs() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    image = next(
        s["image"] for s in compose["services"].values() if s["image"].startswith("grafana/grafana:")
    )
    grafana = image.split(":", 1)[1].split(".")[:2]
    sdk = version("grafana-foundation-sdk").split("!")[-1].split(".")[:2]
    # PyPI has one build per Grafana version, told apart by the epoch: pip's newest is Grafana 10.1's.
    assert sdk == grafana, (
        f"grafana-foundation-sdk {version('grafana-foundation-sdk')} has Grafana {'.'.join(sdk)}'s models; "
        f"compose runs {image}: pin the SDK's build for {'.'.join(grafana)} in requirements-dev.txt"
    )


def _first(document: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(panel for panel in panels(document) if panel["type"] == kind)


BREAKAGES: list[tuple[str, Any, str]] = [
    # (what breaks, how, the error that must name it)
    (
        "an unknown top-level field",
        lambda d: d.update(colour="red"),
        "dashboard.colour: dashboard.Dashboard has no",
    ),
    (
        "a string for a number",
        lambda d: _first(d, "timeseries")["gridPos"].update(h="8"),
        ".gridPos.h: expected int, got str '8'",
    ),
    ("a number for a boolean", lambda d: d.update(editable=1), "dashboard.editable: expected bool, got int"),
    ("a value outside an enum", lambda d: d.update(graphTooltip=5), "dashboard.graphTooltip: 5 is not a"),
    (
        "an unknown option of a panel plugin",
        lambda d: _first(d, "timeseries")["options"].update(legendd={}),
        ".options.legendd: timeseries.Options has no such field",
    ),
    (
        "a misspelt field of a Prometheus query",
        lambda d: _first(d, "timeseries")["targets"][0].update(legendFromat="x"),
        ".legendFromat: prometheus.Dataquery has no such field",
    ),
    (
        "a wrong type deep in a threshold step",
        lambda d: _first(d, "timeseries")["fieldConfig"]["defaults"]["thresholds"]["steps"][0].update(
            value="90"
        ),
        ".steps[0].value: expected float, got str '90'",
    ),
]


@pytest.mark.parametrize(("what", "breaks", "error"), BREAKAGES, ids=[case[0] for case in BREAKAGES])
def test_a_broken_dashboard_is_named_with_the_path_of_its_fault(what: str, breaks: Any, error: str) -> None:
    document = json.loads((ROOT / "grafana" / "dashboards" / "hosts.json").read_text())
    assert schema_errors(copy.deepcopy(document)) == []
    breaks(document)
    errors = schema_errors(document)
    assert len(errors) == 1 and error in errors[0], errors
