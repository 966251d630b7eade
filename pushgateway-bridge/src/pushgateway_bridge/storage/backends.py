"""The storage backend the settings choose: SQLite in data_dir (one site), or PostgreSQL at storage_url
(several bridges sharing it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from pushgateway_bridge.configfile import ConfigError
from pushgateway_bridge.settings import Settings
from pushgateway_bridge.storage.base import Storage, StorageUnavailable
from pushgateway_bridge.storage.sqlite import SQLiteStorage


@runtime_checkable
class Shared(Protocol):
    """A storage other bridges write too."""

    def listen(self, heard: Callable[[str, str], None]) -> None:
        """Call `heard(kind, key)` for each record of a broadcast kind another bridge commits."""


def open_storage(settings: Settings, broadcast: frozenset[str] = frozenset()) -> Storage:
    """`broadcast`: record kinds other bridges hear of (PostgreSQL only). Raises ConfigError when
    PostgreSQL cannot be used (no driver, not reachable)."""
    if settings.storage_url is None:
        return SQLiteStorage(settings.database_path, settings.spool_max_events, settings.sqlite_synchronous)
    try:
        import psycopg  # noqa: PLC0415 (the `postgres` extra: SQLite needs no driver)

        from pushgateway_bridge.storage.postgres import PostgresStorage  # noqa: PLC0415
    except ImportError:
        raise ConfigError(
            "storage_url", "PostgreSQL needs psycopg: pip install 'pushgateway-bridge[postgres]'"
        ) from None
    try:
        return PostgresStorage(
            settings.storage_url,
            settings.spool_max_events,
            settings.outbox_lease_seconds,
            broadcast=broadcast,
        )
    except StorageUnavailable as exc:  # its text begins "PostgreSQL: "
        raise ConfigError("storage_url", f"cannot use {exc}") from None
    except psycopg.Error as exc:
        raise ConfigError("storage_url", f"cannot use PostgreSQL: {exc}") from None
