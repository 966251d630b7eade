"""--web.config.file in the Prometheus exporter-toolkit format: TLS and bcrypt basic-auth users.

    tls_server_config:
      cert_file: server.crt
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # optional
      client_ca_file: ca.crt                         # optional
      min_version: TLS12                             # optional
    basic_auth_users:
      alice: $2y$10$...                              # bcrypt hash (htpasswd -nBC 10 alice)

Relative file names are resolved against the web config file's directory, as exporter-toolkit does.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from host_exporter.config import ConfigError

TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
CLIENT_AUTH_TYPES = (
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
)
TOP_LEVEL_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users")
TLS_KEYS = (
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
    "cipher_suites",
    "curve_preferences",
    "prefer_server_cipher_suites",
    "client_allowed_sans",
)


@dataclass(frozen=True)
class TLSConfig:
    cert_file: Path
    key_file: Path
    client_auth_type: str = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: str = "TLS12"

    def context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = TLS_VERSIONS[self.min_version]
        context.load_cert_chain(self.cert_file, self.key_file)
        if self.client_auth_type != "NoClientCert":
            if self.client_ca_file is not None:
                context.load_verify_locations(self.client_ca_file)
            verify_optional = self.client_auth_type in ("RequestClientCert", "VerifyClientCertIfGiven")
            context.verify_mode = ssl.CERT_OPTIONAL if verify_optional else ssl.CERT_REQUIRED
        return context


@dataclass(frozen=True)
class WebConfig:
    tls: TLSConfig | None = None
    basic_auth_users: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _unknown(keys: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    extra = sorted(set(keys) - set(allowed))
    if extra:
        raise ConfigError(f"{where}: unknown key {extra[0]!r} (allowed: {', '.join(allowed)})")


def _tls(raw: dict[str, Any], base: Path, where: str) -> TLSConfig:
    _unknown(raw, TLS_KEYS, where)
    for required in ("cert_file", "key_file"):
        if not raw.get(required):
            raise ConfigError(f"{where}.{required}: required when tls_server_config is set")
    paths = {}
    for key in ("cert_file", "key_file", "client_ca_file"):
        if raw.get(key):
            path = base / str(raw[key])
            if not path.is_file():
                raise ConfigError(f"{where}.{key}: no such file: {path}")
            paths[key] = path
    client_auth_type = str(raw.get("client_auth_type", "NoClientCert"))
    if client_auth_type not in CLIENT_AUTH_TYPES:
        raise ConfigError(
            f"{where}.client_auth_type: {client_auth_type!r} is not one of {', '.join(CLIENT_AUTH_TYPES)}"
        )
    if client_auth_type == "RequireAndVerifyClientCert" and "client_ca_file" not in paths:
        raise ConfigError(
            f"{where}.client_ca_file: required with client_auth_type RequireAndVerifyClientCert"
        )
    min_version = str(raw.get("min_version", "TLS12"))
    if min_version not in TLS_VERSIONS:
        raise ConfigError(f"{where}.min_version: {min_version!r} is not one of {', '.join(TLS_VERSIONS)}")
    return TLSConfig(
        cert_file=paths["cert_file"],
        key_file=paths["key_file"],
        client_auth_type=client_auth_type,
        client_ca_file=paths.get("client_ca_file"),
        min_version=min_version,
    )


def load_web_config(path: Path) -> WebConfig:
    """Parse and check a web config file; every problem is a ConfigError naming the key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--web.config.file: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--web.config.file: {path} is not valid YAML: {exc}") from None
    top = _mapping(raw, str(path))
    _unknown(top, TOP_LEVEL_KEYS, str(path))
    base = path.parent
    tls_raw = _mapping(top.get("tls_server_config"), "tls_server_config")
    tls = _tls(tls_raw, base, "tls_server_config") if tls_raw else None
    users: dict[str, bytes] = {}
    for user, hashed in _mapping(top.get("basic_auth_users"), "basic_auth_users").items():
        if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise ConfigError(f"basic_auth_users.{user}: expected a bcrypt hash ($2y$...)")
        users[str(user)] = hashed.encode()
    http = _mapping(top.get("http_server_config"), "http_server_config")
    headers = {
        str(key): str(value)
        for key, value in _mapping(http.get("headers"), "http_server_config.headers").items()
    }
    return WebConfig(tls=tls, basic_auth_users=users, headers=headers)
