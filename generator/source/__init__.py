"""The model of monitoring.yml: every key validated, with one clear message for the first bad one.

One module per section (hosts, schedulers, climate, endpoints, bridge, alertmanager, notifications), the
shared value types in `fields`; `load_source` reads the file and names the first bad key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from generator.source.alertmanager import AlertmanagerSource, MuteInterval, Receiver
from generator.source.bridge import Bridge, Logs
from generator.source.climate import Pipelines, Services
from generator.source.endpoints import Endpoints
from generator.source.fields import Strict, seconds
from generator.source.hosts import HostGroup, Hosts, Level
from generator.source.notifications import Notifications
from generator.source.schedulers import Expectation, Schedulers

__all__ = [
    "Expectation",
    "HostGroup",
    "Level",
    "MuteInterval",
    "Receiver",
    "Source",
    "SourceError",
    "load_source",
    "seconds",
]


class SourceError(Exception):
    """monitoring.yml is unreadable or invalid; the message names the key and the reason."""


class Source(Strict):
    runbook_base_url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    bridge_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+$")]
    bridge_api_key_file: str | None = None
    hosts: Hosts
    schedulers: Schedulers
    services: Services
    pipelines: Pipelines
    endpoints: Endpoints
    bridge: Bridge
    alertmanager: AlertmanagerSource
    logs: Logs | None = None
    notifications: Notifications | None = None

    @field_validator("notifications")
    @classmethod
    def _email_through_alertmanager_smtp(
        cls, value: Notifications | None, info: ValidationInfo
    ) -> Notifications | None:
        if value is not None and "alertmanager" in info.data:  # absent: its own error is reported
            value.check_smtp(info.data["alertmanager"].smtp)
        return value


def _location(error_loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in error_loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif not part.startswith(("function-", "list[", "Annotated[")):
            parts.append(("." if parts else "") + part)
    return "".join(parts)


def load_source(path: Path) -> Source:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SourceError(f"{path}: not valid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SourceError(f"{path}: must be a mapping of sections (hosts, schedulers, ...)")
    try:
        return Source.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _location(first["loc"]) or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        raise SourceError(f"{path}: {where}: {message}") from None
