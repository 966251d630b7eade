"""Configuration read once from the environment, as the sidecar seed documents it."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_SIDECAR_URL = "http://localhost:17000"


def check_url(url: str, name: str) -> str:
    """`url` without a trailing slash; ValueError naming `name` unless it is an http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an http:// or https:// URL with a host, not {url!r}")
    return url.rstrip("/")


def _secret(environ: Mapping[str, str], name: str) -> str | None:
    """`name` from the environment, or the contents of the file named by `name`_FILE."""
    value = environ.get(name)
    if value:
        return value
    path = environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip() or None
    return None


@dataclass(frozen=True)
class Settings:
    """SIDECAR_URL, SITE_ID, SIDECAR_API_KEY (or SIDECAR_API_KEY_FILE), SIDECAR_SPOOL_DIR."""

    sidecar_url: str = DEFAULT_SIDECAR_URL
    site_id: str | None = None
    api_key: str | None = None
    spool_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        spool_dir = env.get("SIDECAR_SPOOL_DIR")
        return cls(
            sidecar_url=check_url(env.get("SIDECAR_URL") or DEFAULT_SIDECAR_URL, "SIDECAR_URL"),
            site_id=env.get("SITE_ID") or None,
            api_key=_secret(env, "SIDECAR_API_KEY"),
            spool_dir=Path(spool_dir) if spool_dir else None,
        )

    def spool_path(self, base_url: str) -> Path:
        """One spool file per bridge URL, shared by every process of this user (so a later run resends)."""
        return self._spool_dir() / f"spool-{_digest(base_url)}.sqlite3"

    def legacy_spool_path(self, base_url: str) -> Path:
        """Where SDK versions before 0.4 kept the spool for `base_url` (JSON lines), to import it once."""
        return self._spool_dir() / f"spool-{_digest(base_url)}.jsonl"

    def _spool_dir(self) -> Path:
        if self.spool_dir is not None:
            return self.spool_dir
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(cache) / "monitoring-sdk"


def _digest(base_url: str) -> str:
    return hashlib.sha256(base_url.encode()).hexdigest()[:16]
