"""--web.config.file in the Prometheus exporter-toolkit format: TLS, client certificates, bcrypt users.

    tls_server_config:
      cert_file: server.crt
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # optional
      client_ca_file: ca.crt                         # optional
      client_allowed_sans: [prometheus.example]      # optional
      min_version: TLS12                             # optional, TLS10 .. TLS13
      max_version: TLS13                             # optional
      cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]   # optional, Go's names, TLS 1.2 and below
      prefer_server_cipher_suites: true              # optional
      curve_preferences: [X25519]                    # optional, one curve (Python's ssl sets only one)
    http_server_config:
      headers: {X-Frame-Options: deny}               # the five headers exporter-toolkit allows
    basic_auth_users:
      alice: $2y$10$...                              # bcrypt hash (htpasswd -nBC 10 alice)

Relative file names are resolved against the web config file's directory, as exporter-toolkit does.
Every key is either implemented or refused with a ConfigError naming it: none is read and ignored.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host_exporter.config import ConfigError
from host_exporter.web import tls
from host_exporter.yamlfile import load_yaml_mapping

TOP_LEVEL_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users")
TLS_KEYS = (
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
)
HTTP_KEYS = ("headers", "http2")
# exporter-toolkit's extraHTTPHeaders: the only headers it lets a config set, with their allowed values.
HEADERS: dict[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
BCRYPT_HASH = re.compile(r"^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$")


@dataclass(frozen=True)
class TLSConfig:
    cert_file: Path
    key_file: Path
    client_auth_type: str = "NoClientCert"
    client_ca_file: Path | None = None
    client_allowed_sans: tuple[str, ...] = ()
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    cipher_suites: tuple[str, ...] = ()  # Go's names
    prefer_server_cipher_suites: bool = True
    curve: str | None = None  # Go's name

    def context(self) -> ssl.SSLContext:
        return tls.server_context(self)


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


def _strings(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}.{key}: expected a list of strings")
    if not value:
        raise ConfigError(f"{where}.{key}: an empty list; leave the key out instead")
    return tuple(value)


def _one_of(raw: dict[str, Any], key: str, default: str, allowed: tuple[str, ...], where: str) -> str:
    value = str(raw.get(key, default))
    if value not in allowed:
        raise ConfigError(f"{where}.{key}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _files(raw: dict[str, Any], base: Path, where: str) -> dict[str, Path]:
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
    return paths


def _client_auth(raw: dict[str, Any], has_ca: bool, where: str) -> tuple[str, tuple[str, ...]]:
    client_auth_type = _one_of(raw, "client_auth_type", "NoClientCert", tuple(tls.CLIENT_AUTH_TYPES), where)
    if client_auth_type == "NoClientCert" and has_ca:
        raise ConfigError(f"{where}.client_ca_file: set, but client_auth_type is NoClientCert")
    if client_auth_type == "RequireAndVerifyClientCert" and not has_ca:
        # Go would trust every CA of the system then; say which CA signs the scrapers' certificates.
        raise ConfigError(
            f"{where}.client_ca_file: required with client_auth_type RequireAndVerifyClientCert"
        )
    allowed_sans = _strings(raw, "client_allowed_sans", where)
    if allowed_sans and client_auth_type not in tls.SAN_CHECKING_CLIENT_AUTH_TYPES:
        raise ConfigError(
            f"{where}.client_allowed_sans: needs client_auth_type "
            f"{' or '.join(tls.SAN_CHECKING_CLIENT_AUTH_TYPES)}, not {client_auth_type}"
        )
    return client_auth_type, allowed_sans


def _versions(raw: dict[str, Any], where: str) -> tuple[str, str]:
    versions = tuple(tls.TLS_VERSIONS)
    min_version = _one_of(raw, "min_version", "TLS12", versions, where)
    max_version = _one_of(raw, "max_version", "TLS13", versions, where)
    if tls.TLS_VERSIONS[min_version] > tls.TLS_VERSIONS[max_version]:
        raise ConfigError(f"{where}.max_version: {max_version} is below min_version {min_version}")
    return min_version, max_version


def _ciphers(raw: dict[str, Any], where: str) -> tuple[tuple[str, ...], bool]:
    suites = _strings(raw, "cipher_suites", where)
    for suite in suites:
        if suite not in tls.TLS12_CIPHER_SUITES and suite not in tls.TLS13_CIPHER_SUITES:
            raise ConfigError(
                f"{where}.cipher_suites: unknown cipher suite {suite!r} "
                f"(Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)"
            )
    prefer = raw.get("prefer_server_cipher_suites", True)
    if not isinstance(prefer, bool):
        raise ConfigError(f"{where}.prefer_server_cipher_suites: expected true or false")
    return suites, prefer


def _curve(raw: dict[str, Any], where: str) -> str | None:
    curves = _strings(raw, "curve_preferences", where)
    for curve in curves:
        if curve not in tls.CURVES:
            raise ConfigError(
                f"{where}.curve_preferences: unknown curve {curve!r} (one of {', '.join(tls.CURVES)})"
            )
    if len(curves) > 1:
        raise ConfigError(
            f"{where}.curve_preferences: Python's ssl module sets one curve only; "
            f"list one of {', '.join(curves)}"
        )
    return curves[0] if curves else None


def _tls(raw: dict[str, Any], base: Path, where: str) -> TLSConfig:
    _unknown(raw, TLS_KEYS, where)
    paths = _files(raw, base, where)
    client_auth_type, allowed_sans = _client_auth(raw, "client_ca_file" in paths, where)
    min_version, max_version = _versions(raw, where)
    cipher_suites, prefer_server = _ciphers(raw, where)
    return TLSConfig(
        cert_file=paths["cert_file"],
        key_file=paths["key_file"],
        client_auth_type=client_auth_type,
        client_ca_file=paths.get("client_ca_file"),
        client_allowed_sans=allowed_sans,
        min_version=min_version,
        max_version=max_version,
        cipher_suites=cipher_suites,
        prefer_server_cipher_suites=prefer_server,
        curve=_curve(raw, where),
    )


def _users(raw: dict[str, Any]) -> dict[str, bytes]:
    users: dict[str, bytes] = {}
    for user, hashed in raw.items():
        if not isinstance(hashed, str) or not BCRYPT_HASH.match(hashed):
            raise ConfigError(f"basic_auth_users.{user}: expected a bcrypt hash ($2y$10$ and 53 characters)")
        users[str(user)] = hashed.encode()
    return users


def _headers(raw: dict[str, Any], where: str) -> dict[str, str]:
    _unknown(raw, HTTP_KEYS, where)
    http2 = raw.get("http2", True)
    if not isinstance(http2, bool):
        raise ConfigError(f"{where}.http2: expected true or false")  # HTTP/1.1 is served either way
    headers = {}
    for name, value in _mapping(raw.get("headers"), f"{where}.headers").items():
        if name not in HEADERS:
            raise ConfigError(f"{where}.headers: {name!r} cannot be set (allowed: {', '.join(HEADERS)})")
        if HEADERS[name] and value not in HEADERS[name]:
            raise ConfigError(f"{where}.headers.{name}: {value!r} is not one of {', '.join(HEADERS[name])}")
        headers[str(name)] = str(value)
    return headers


def load_web_config(path: Path) -> WebConfig:
    """Parse and check a web config file; every problem is a ConfigError naming the key."""
    top = load_yaml_mapping(path, "--web.config.file")
    _unknown(top, TOP_LEVEL_KEYS, str(path))
    tls_raw = _mapping(top.get("tls_server_config"), "tls_server_config")
    return WebConfig(
        tls=_tls(tls_raw, path.parent, "tls_server_config") if tls_raw else None,
        basic_auth_users=_users(_mapping(top.get("basic_auth_users"), "basic_auth_users")),
        headers=_headers(_mapping(top.get("http_server_config"), "http_server_config"), "http_server_config"),
    )
