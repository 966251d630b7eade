"""Settings: one object read once at start, from the YAML config file with BRIDGE_* environment overrides."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bundle_common.durations import parse_duration
from pushgateway_bridge.configfile import ConfigError, load_yaml_mapping
from pushgateway_bridge.notifications.realtime import DEFAULT_QUEUE_SIZE

log = logging.getLogger(__name__)

HEX_SHA256_LENGTH = 64


class Scope(BaseModel):
    """What a caller may write: glob patterns of service names (also pipelines and sidecar apps), of
    scheduler ids, of notification relay targets (`teams/<name>`, `sms/<name>`) and of user ids (the
    notification API), whether it may read monitoring data, and its rate limit."""

    model_config = ConfigDict(extra="forbid")

    services: list[str] = Field(default_factory=list)
    schedulers: list[str] = Field(default_factory=list)
    # Empty by default: only the key Alertmanager uses for the relays needs one (e.g. ["*"]).
    notify: list[str] = Field(default_factory=list)
    # The System Service's notifications: whose notifications, preferences and socket the key may use.
    users: list[str] = Field(default_factory=list)
    # Reading monitoring data (metrics, logs, traces, alerts): off by default. What a reader sees is still
    # limited to the services its `services` globs match, by matchers the bridge adds to every query.
    read: bool = False
    rate_per_second: float = Field(default=50.0, gt=0)


class ApiKeyEntry(Scope):
    name: str = Field(min_length=1)
    sha256: str

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        value = value.strip().lower()
        if len(value) != HEX_SHA256_LENGTH or any(c not in "0123456789abcdef" for c in value):
            raise ValueError("must be the 64-character hex SHA-256 digest of the key")
        return value


class GroupTTL(BaseModel):
    """Seconds an entity may stay silent before its Pushgateway group is deleted; 0 keeps it forever."""

    model_config = ConfigDict(extra="forbid")

    scheduler: float = Field(default=0, ge=0)  # schedulers run weekly or monthly: remove with DELETE
    service: float = Field(default=86400, ge=0)
    pipeline: float = Field(default=7 * 86400, ge=0)
    sidecar: float = Field(default=7 * 86400, ge=0)


class Secret(BaseModel):
    """A secret given inline, from a file (`*_file`) or from an environment variable (`*_env`)."""

    model_config = ConfigDict(extra="forbid")

    value: str | None = None
    file: Path | None = None
    env: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Secret:
        if sum(x is not None for x in (self.value, self.file, self.env)) != 1:
            raise ValueError("give exactly one of value, file, env")
        return self

    def resolve(self) -> str:
        import os  # noqa: PLC0415  (secrets are the one place the environment is read directly)

        if self.value is not None:
            return self.value
        if self.file is not None:
            return self.file.read_text().strip()
        assert self.env is not None
        found = os.environ.get(self.env)
        if not found:
            raise ConfigError(f"env {self.env}", "is not set")
        return found


class TeamsTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Secret  # the Workflows webhook URL carries its signature: a secret


class SmsTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://api.twilio.com"
    account_sid: str = Field(min_length=1)
    auth_token: Secret
    from_number: str = Field(min_length=1)
    to: list[str] = Field(min_length=1)
    max_length: int = Field(default=480, gt=0, le=1600)  # Twilio refuses longer bodies


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    teams: dict[str, TeamsTarget] = Field(default_factory=dict)
    sms: dict[str, SmsTarget] = Field(default_factory=dict)


class Settings(BaseSettings):
    """Every setting of the bridge. The YAML file gives values; BRIDGE_<NAME> environment variables win."""

    model_config = SettingsConfigDict(env_prefix="BRIDGE_", extra="forbid", env_nested_delimiter="__")

    pushgateway_url: str = "http://127.0.0.1:9091"
    # Entity series by Prometheus remote write to this URL (e.g. Prometheus' /api/v1/write, Mimir's
    # /api/v1/push) instead of Pushgateway; unset: Pushgateway, as for one site.
    remote_write_url: str | None = None
    remote_write_tenant: str | None = None  # X-Scope-OrgID, for a multi-tenant receiver (Mimir)
    alertmanager_url: str | None = None
    loki_url: str | None = None
    tempo_url: str | None = None  # Tempo's HTTP API (port 3200), which /api/traces reads
    # notifications.yml, rendered by `make rules` from monitoring.yml's `notifications:` section: the
    # channels, templates and escalation policies of the notification API (without it: in-app only).
    notifications_file: Path | None = None
    # The sidecar seed's config/integrations.json: more event outputs (webhook, csv, json, local_api,
    # otlp), each one more outbox sink (docs/integrations.md).
    integrations_file: Path | None = None
    # Notifications a WebSocket may fall behind by before it is closed with 1013 (it resumes with ?since=).
    notification_socket_queue: int = Field(default=DEFAULT_QUEUE_SIZE, gt=0)
    loki_tenant: str | None = None
    # The API alerts (POST /api/alerts): the Prometheus that evaluates them (run with
    # --web.enable-lifecycle, for reloads) and the rule file it loads them from (in its rule_files).
    prometheus_url: str | None = None
    alert_rules_file: Path | None = None  # default: <data_dir>/api.rules.yml
    alert_default_for: str = "1m"  # an API alert's `for` when the request gives none
    # The scrape jobs of the host exporters, as monitoring.yml's hosts.exporter_jobs: /api/monitoring's hosts.
    host_exporter_jobs: list[str] = Field(default_factory=lambda: ["node"], min_length=1)
    data_dir: Path = Path("data")
    # JSON lines written instead of Loki when loki_url is unset; rotated at events_file_max_bytes.
    events_file: Path | None = None
    events_file_max_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    events_file_backups: int = Field(default=5, ge=0)
    api_keys: list[ApiKeyEntry] = Field(default_factory=list)
    anonymous: Scope | None = None  # absent: requests without a key get 401
    auth_disabled: bool = False  # everything allowed for everyone; logged as a warning at start
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    max_batch_events: int = Field(default=1000, gt=0)
    spool_max_events: int = Field(default=1_000_000, gt=0)  # undelivered events before 503
    # Backpressure: with this many undelivered outbox items and every downstream delivering, a write waits
    # (up to backpressure_max_wait_seconds) for delivery to catch up before it is committed. Intake faster
    # than delivery only fills the spool, to end in 503s; a downstream that is failing does not count (its
    # items wait for their retry, and the spool is there to hold them). 0: never wait.
    backpressure_pending_items: int = Field(default=30_000, ge=0)
    backpressure_max_wait_seconds: float = Field(default=2.0, ge=0)
    flush_interval_seconds: float = Field(default=1.0, gt=0)
    retry_initial_seconds: float = Field(default=0.5, gt=0)
    retry_max_seconds: float = Field(default=60.0, gt=0)
    request_timeout_seconds: float = Field(default=5.0, gt=0)
    restore_check_interval_seconds: float = Field(default=5.0, gt=0)
    # Outbox items a Loki (or events file) delivery step takes; sent in pushes of at most
    # loki_push_max_bytes (Alloy's loki.write batch_size default). A step's decoded items are most of the
    # delivery process's memory under load: 2,500 against 10,000 took 22 MB off the bridge's two processes
    # with 300,000 ids, for the same events/s accepted with Loki (bench/README.md, eighth round); below
    # 2,000 the backlog, and the bridge's memory with it, grew again.
    loki_batch_max_entries: int = Field(default=2_500, gt=0)
    loki_push_max_bytes: int = Field(default=1024 * 1024, gt=0)
    # Logs (to Loki or the events file) and Pushgateway's requests made by a second process on the same
    # SQLite file, so that intake and delivery run on two cores instead of taking turns at one GIL
    # (delivery/__init__.py). Off, or with PostgreSQL storage: threads of the bridge.
    delivery_process: bool = True
    alert_resolve_seconds: float = Field(default=3600, gt=0)  # endsAt = now + this, so alerts resolve
    group_ttl_seconds: GroupTTL = Field(default_factory=GroupTTL)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = "NORMAL"  # NORMAL survives a process crash
    # State in PostgreSQL, shared by several bridges (a postgresql:// URL, libpq's form); unset: SQLite in
    # data_dir, as for one site. Needs the `postgres` extra (psycopg).
    storage_url: str | None = None
    # How long a bridge holds outbox items it took for delivery; a bridge that dies holding them lets them
    # go when it ends. Keep it above request_timeout_seconds, or a slow delivery is made twice.
    outbox_lease_seconds: float = Field(default=30.0, gt=0)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment overrides them.
        return (env_settings, init_settings)

    @property
    def events_path(self) -> Path:
        return self.events_file or self.data_dir / "events.jsonl"

    @field_validator("alert_default_for")
    @classmethod
    def _prometheus_duration(cls, value: str) -> str:
        parse_duration(value)  # DurationError is a ValueError: reported naming the key
        return value

    @field_validator("storage_url")
    @classmethod
    def _postgresql_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            # Only the scheme is shown: the rest may hold a password.
            got = f"scheme {value.split('://', 1)[0]!r}" if "://" in value else "no scheme"
            raise ValueError(f"must be a postgresql:// URL (unset: SQLite in data_dir), got {got}")
        return value

    @property
    def alert_rules_path(self) -> Path:
        return self.alert_rules_file or self.data_dir / "api.rules.yml"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "bridge.sqlite3"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (if any), apply BRIDGE_* overrides, validate; raise ConfigError naming the key."""
    data = load_yaml_mapping(config_file, "--config") if config_file is not None else {}
    data.update(overrides)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "config"
        raise ConfigError(key, error["msg"]) from None
    for target_name, target in settings.notify.teams.items():
        _check_secret(f"notify.teams.{target_name}.url", target.url)
    for target_name, sms in settings.notify.sms.items():
        _check_secret(f"notify.sms.{target_name}.auth_token", sms.auth_token)
    return settings


def _check_secret(key: str, secret: Secret) -> None:
    try:
        secret.resolve()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {secret.file}: {exc.strerror}") from None
    except ConfigError as exc:
        raise ConfigError(key, f"{exc.key} {exc.reason}") from None
