"""The server's TLS context from a tls_server_config, with exporter-toolkit's (Go's crypto/tls) names.

Go's names map to OpenSSL's here, and only here. What Python's ssl module cannot do is refused when the
web config is loaded (webconfig.py), never ignored.
"""

from __future__ import annotations

import ipaddress
import ssl
import warnings
from typing import TYPE_CHECKING, Any, NamedTuple

from host_exporter.config import ConfigError
from host_exporter.web.openssl import UnsupportedPython, accept_any_client_certificate

if TYPE_CHECKING:
    from host_exporter.web.webconfig import TLSConfig

TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# The suites exporter-toolkit accepts (Go's tls.CipherSuites()) up to TLS 1.2, as OpenSSL names them.
TLS12_CIPHER_SUITES = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
}
# Go accepts these names but, like OpenSSL's cipher list, never lets TLS 1.3 suites be chosen: no effect.
TLS13_CIPHER_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
CURVES = {"CurveP256": "prime256v1", "CurveP384": "secp384r1", "CurveP521": "secp521r1", "X25519": "X25519"}


class ClientAuth(NamedTuple):
    verify_mode: ssl.VerifyMode
    verify_chain: bool  # False: any certificate is taken, as Go's RequestClientCert and RequireAnyClientCert


CLIENT_AUTH_TYPES = {
    "NoClientCert": ClientAuth(ssl.CERT_NONE, verify_chain=True),
    "RequestClientCert": ClientAuth(ssl.CERT_OPTIONAL, verify_chain=False),
    "RequireAnyClientCert": ClientAuth(ssl.CERT_REQUIRED, verify_chain=False),
    "VerifyClientCertIfGiven": ClientAuth(ssl.CERT_OPTIONAL, verify_chain=True),
    "RequireAndVerifyClientCert": ClientAuth(ssl.CERT_REQUIRED, verify_chain=True),
}
# Only these make a client send a certificate, so only these can check client_allowed_sans (as upstream).
SAN_CHECKING_CLIENT_AUTH_TYPES = ("RequireAnyClientCert", "RequireAndVerifyClientCert")


def _cipher_string(config: TLSConfig) -> str | None:
    names = [TLS12_CIPHER_SUITES[name] for name in config.cipher_suites if name in TLS12_CIPHER_SUITES]
    legacy = TLS_VERSIONS[config.min_version] < ssl.TLSVersion.TLSv1_2
    if legacy and not names:
        # Python's default list has no suite that TLS 1.0 and 1.1 can use; Go's accepted ones do.
        names = list(TLS12_CIPHER_SUITES.values())
    if not names:
        return None  # Python's defaults
    # OpenSSL 3 refuses TLS 1.0 and 1.1 above security level 0, whatever the minimum version says.
    return ":".join(names) + (":@SECLEVEL=0" if legacy else "")


def _load(context: ssl.SSLContext, config: TLSConfig) -> None:
    try:
        context.load_cert_chain(config.cert_file, config.key_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"tls_server_config.cert_file: cannot load {config.cert_file} "
            f"with key_file {config.key_file}: {exc}"
        ) from None
    if config.client_ca_file is None:
        return
    try:
        context.load_verify_locations(config.client_ca_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"tls_server_config.client_ca_file: no PEM certificate in {config.client_ca_file}: {exc}"
        ) from None


def server_context(config: TLSConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1 and TLSv1_1, when the user asks for them
        context.minimum_version = TLS_VERSIONS[config.min_version]
        context.maximum_version = TLS_VERSIONS[config.max_version]
    ciphers = _cipher_string(config)
    if ciphers is not None:
        try:
            context.set_ciphers(ciphers)
        except ssl.SSLError:
            raise ConfigError(
                f"tls_server_config.cipher_suites: this OpenSSL ({ssl.OPENSSL_VERSION}) has none of "
                f"{', '.join(config.cipher_suites)}"
            ) from None
    if config.prefer_server_cipher_suites:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    if config.curve is not None:
        context.set_ecdh_curve(CURVES[config.curve])
    _load(context, config)
    client_auth = CLIENT_AUTH_TYPES[config.client_auth_type]
    if config.client_auth_type == "VerifyClientCertIfGiven" and config.client_ca_file is None:
        context.load_default_certs(ssl.Purpose.CLIENT_AUTH)  # Go verifies against the system's roots then
    context.verify_mode = client_auth.verify_mode
    if not client_auth.verify_chain:
        try:
            accept_any_client_certificate(context)
        except UnsupportedPython as exc:
            where = "tls_server_config.client_auth_type"
            raise ConfigError(f"{where}: {config.client_auth_type}: {exc}") from None
    return context


def subject_alt_names(peer_cert: dict[str, Any]) -> set[str]:
    """DNS names, e-mail addresses, IP addresses and URIs, written as Go's x509 package writes them."""
    names = set()
    for kind, value in peer_cert.get("subjectAltName", ()):
        if kind == "IP Address":
            address = ipaddress.ip_address(value.strip())
            mapped = getattr(address, "ipv4_mapped", None)
            names.add(str(mapped or address))  # Go prints ::ffff:a.b.c.d as a.b.c.d, and IPv6 compressed
        elif kind in ("DNS", "email", "URI"):
            names.add(value)
    return names


def client_refusal(peer_cert: dict[str, Any] | None, allowed_sans: tuple[str, ...]) -> str | None:
    """Why a connection's client certificate is not let in, or None when it is (or nothing is asked)."""
    if not allowed_sans:
        return None
    if not peer_cert:
        return "no client certificate to match against client_allowed_sans"
    found = subject_alt_names(peer_cert)
    if found.isdisjoint(allowed_sans):
        return f"none of the client certificate's SANs ({', '.join(sorted(found)) or 'none'}) is allowed"
    return None
