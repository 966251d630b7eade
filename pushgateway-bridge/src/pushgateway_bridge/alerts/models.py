"""The body of POST and PUT /api/alerts: the seed's fields (name, description, severity, service,
threshold) and what a rule also needs (metric or expr, comparison, for, labels, runbook_url)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from bundle_common.durations import DurationError, parse_duration
from pushgateway_bridge.alerts.catalogue import BY_NAME, METRIC_NAMES, choices, infer
from pushgateway_bridge.domain.models.climate import SEVERITY_NUMBERS, SEVERITY_SCHEMA, Severity
from pushgateway_bridge.domain.models.fields import NAME, Number

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Set by the bridge on every API rule: a request may not change them through `labels`.
RESERVED_LABELS = frozenset({"alertname", "alert_id", "source", "severity", "service"})
MAX_LABELS = 20


class Comparison(StrEnum):
    above = "above"
    below = "below"


def _severity(value: Any) -> Any:
    # The climate seed's 1/2/3, or the words.
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value not in SEVERITY_NUMBERS:
            raise ValueError("severity must be 1 (info), 2 (warning) or 3 (critical)")
        return SEVERITY_NUMBERS[int(value)]
    return value


SeverityField = Annotated[Severity, BeforeValidator(_severity), WithJsonSchema(SEVERITY_SCHEMA)]
LABELS_SCHEMA = {
    "type": "object",
    "description": "extra labels of the alert; not alertname, alert_id, source, severity, service",
    "propertyNames": {"pattern": "^[a-zA-Z][a-zA-Z0-9_]*$"},
    "additionalProperties": {"type": "string", "maxLength": 500},
    "maxProperties": MAX_LABELS,
    "default": {},
}
Labels = Annotated[dict[str, Annotated[str, Field(max_length=500)]], WithJsonSchema(LABELS_SCHEMA)]
METRIC_SCHEMA = {"anyOf": [{"type": "string", "enum": list(METRIC_NAMES)}, {"type": "null"}], "default": None}


class AlertRequest(BaseModel):
    """One API alert. Without `metric` and `expr` the metric is inferred from `name` and `description`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: NAME
    description: str = Field(default="", max_length=2000)
    severity: Annotated[Severity, BeforeValidator(_severity), WithJsonSchema(SEVERITY_SCHEMA)] = (
        Severity.warning
    )
    service: NAME | None = None
    threshold: Number | None = None
    metric: Annotated[str | None, WithJsonSchema(METRIC_SCHEMA)] = None
    expr: str | None = Field(default=None, min_length=1, max_length=10000, description="PromQL")
    comparison: Comparison = Comparison.above
    for_: str | None = Field(default=None, alias="for", description="Prometheus duration, e.g. 5m")
    labels: Labels = Field(default_factory=dict)
    runbook_url: str | None = Field(default=None, max_length=2000)
    _inferred: bool = PrivateAttr(default=False)

    @field_validator("*")
    @classmethod
    def _utf8(cls, value: Any) -> Any:
        # JSON may carry a lone surrogate ("\ud800"), which no rule file can hold.
        texts = [value] if isinstance(value, str) else list(value.items()) if isinstance(value, dict) else []
        for text in texts:
            for part in text if isinstance(text, tuple) else (text,):
                try:
                    part.encode("utf-8")
                except UnicodeEncodeError:
                    raise ValueError("must be UTF-8 text (no lone surrogates)") from None
        return value

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        if value is not None and value not in BY_NAME:
            raise ValueError(f"unknown metric {value!r}; the metrics are: {choices()}")
        return value

    @field_validator("for_")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_duration(value)
            except DurationError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_LABELS:
            raise ValueError(f"at most {MAX_LABELS} labels")
        for label in value:
            if not LABEL_NAME.fullmatch(label) or label.startswith("__"):
                raise ValueError(f"{label!r} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)")
            if label in RESERVED_LABELS:
                raise ValueError(f"label {label!r} is set by the bridge; use the field of that name")
        return value

    @model_validator(mode="after")
    def _what_to_watch(self) -> AlertRequest:
        if self.expr is not None:
            if self.metric is not None:
                raise ValueError("give metric or expr, not both")
            return self
        if self.metric is None:
            found = infer(self.name, self.description)
            if found is None:
                raise ValueError(
                    "metric: name and description name no single metric; give `metric` (one of: "
                    f"{choices()}) or `expr`"
                )
            self.metric = found.name
            self._inferred = True
        if self.threshold is None:
            raise ValueError(f"threshold: required to compare {self.metric} with")
        selects_by = BY_NAME[self.metric].selects_by
        if selects_by is not None and self.service is None:
            raise ValueError(f"service: required, {self.metric} selects its series by {selects_by}")
        return self

    @property
    def inferred(self) -> bool:
        """True when `metric` came from the words of name and description."""
        return self._inferred
