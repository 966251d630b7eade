"""`integrations.json`, the sidecar seed's format: a list of `{"type", "name", "enabled", "config"}`.

Every entry's envelope is checked; an enabled entry's `config` is checked against its type's model, a
disabled one's is left alone (a migrated file may keep entries meant for another site). Types the bridge
does not speak itself (`aws_cloudwatch`, `zabbix`, `elk`) refuse the start when enabled, with one line
naming the entry and what replaces it: an `otlp` entry and the OpenTelemetry Collector's exporter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from pushgateway_bridge.configfile import ConfigError
from pushgateway_bridge.settings import Secret

KEY = "integrations_file"
DOCS = "docs/integrations.md"
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+\S*$")]
Seconds = Annotated[float, Field(gt=0)]
# The name is part of a metric label value and of the outbox's downstream: short, plain characters.
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]

# The seed's types the bridge refuses, and what replaces each (one line, printed at a refused start).
REPLACEMENTS = {
    "aws_cloudwatch": "an `otlp` entry and the OpenTelemetry Collector's `awscloudwatchlogs` exporter "
    "(X-Ray: its `awsxray` exporter, fed by the SDK's traces)",
    "elk": "an `otlp` entry and the OpenTelemetry Collector's `elasticsearch` exporter",
    "zabbix": "an `otlp` entry to Zabbix 8.0's OTLP endpoint, or through an OpenTelemetry Collector",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookConfig(Strict):
    url: HttpUrl
    secret: Secret  # the HMAC-SHA256 key: {"file": ...}, {"env": ...} or {"value": ...}
    timeout_seconds: Seconds = 5.0
    batch_size: int = Field(default=100, gt=0, le=10_000)


class FileConfig(Strict):
    path: Path
    max_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    backups: int = Field(default=5, ge=0)
    batch_size: int = Field(default=1000, gt=0, le=10_000)


class LocalApiConfig(Strict):
    base_url: HttpUrl
    api_key: Secret | None = None  # sent as x-api-key
    timeout_seconds: Seconds = 5.0
    batch_size: int = Field(default=100, gt=0, le=1000)  # the sidecar API's own batch limit is 1000


class OtlpConfig(Strict):
    endpoint: HttpUrl  # the Collector's OTLP/HTTP base URL (port 4318); logs go to <endpoint>/v1/logs
    headers: dict[str, str] = Field(default_factory=dict)  # e.g. an Authorization for the Collector
    service_name: str = Field(default="pushgateway-bridge", min_length=1)  # the resource's service.name
    timeout_seconds: Seconds = 5.0
    batch_size: int = Field(default=500, gt=0, le=10_000)


TypeConfig = WebhookConfig | FileConfig | LocalApiConfig | OtlpConfig
CONFIGS: dict[str, type[TypeConfig]] = {
    "webhook": WebhookConfig,
    "csv": FileConfig,
    "json": FileConfig,
    "local_api": LocalApiConfig,
    "otlp": OtlpConfig,
}
Type = Literal["webhook", "csv", "json", "local_api", "otlp", "aws_cloudwatch", "zabbix", "elk"]


class Entry(Strict):
    """One entry as the file holds it."""

    type: Type
    name: Name
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)


class Integration(Strict):
    """An enabled entry the bridge delivers to, its config checked."""

    type: str
    name: str
    config: TypeConfig

    @property
    def downstream(self) -> str:
        """The outbox's downstream and the metrics' `downstream` label."""
        return f"integration:{self.name}"


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def parse_integrations(document: Any, where: str) -> list[Integration]:
    """The enabled integrations of a loaded `integrations.json`; ConfigError naming the first bad key."""
    try:
        entries = TypeAdapter(list[Entry]).validate_python(document)
    except ValidationError as exc:
        raise ConfigError(KEY, f"{where}: {_first(exc)}") from None
    names = [entry.name for entry in entries]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(KEY, f"{where}: two entries named {name!r}")
    enabled = []
    for index, entry in enumerate(entries):
        if not entry.enabled:
            continue
        if entry.type in REPLACEMENTS:
            raise ConfigError(
                KEY,
                f"{where}: entry {entry.name!r} (type {entry.type}) is not supported: use "
                f'{REPLACEMENTS[entry.type]}, or set "enabled": false ({DOCS})',
            )
        try:
            config = CONFIGS[entry.type].model_validate(entry.config)
        except ValidationError as exc:
            raise ConfigError(KEY, f"{where}: [{index}] {entry.name}.config.{_first(exc)}") from None
        for key, secret in _secrets(config):
            _check_secret(f"{where}: {entry.name}.config.{key}", secret)
        enabled.append(Integration(type=entry.type, name=entry.name, config=config))
    return enabled


def _check_secret(where: str, secret: Secret) -> None:
    """A secret that cannot be read, or is empty, refuses the start (not the first delivery)."""
    try:
        value = secret.resolve()
    except OSError as exc:
        raise ConfigError(KEY, f"{where}: cannot read {secret.file}: {exc.strerror}") from None
    except ConfigError as exc:
        raise ConfigError(KEY, f"{where}: {exc.key} {exc.reason}") from None
    if not value:
        raise ConfigError(KEY, f"{where}: is empty")


def _secrets(config: TypeConfig) -> list[tuple[str, Secret]]:
    if isinstance(config, WebhookConfig):
        return [("secret", config.secret)]
    if isinstance(config, LocalApiConfig) and config.api_key is not None:
        return [("api_key", config.api_key)]
    return []


def load_integrations(path: Path) -> list[Integration]:
    """Read `path` (JSON, the seed's format); ConfigError naming the file and the first bad key."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(KEY, f"cannot read {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(KEY, f"{path} is not valid JSON: {exc}") from None
    return parse_integrations(document, str(path))
