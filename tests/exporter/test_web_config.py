"""--web.config.file in the exporter-toolkit format: what loads and what is refused (exporter-toolkit's own
test cases), each refusal naming the key. On the real process: test_web.py; handshakes: test_web_tls.py."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from exporter_support import host_exporter
from host_exporter.config import ConfigError
from host_exporter.web.tls import TLS12_CIPHER_SUITES
from host_exporter.web.webconfig import load_web_config

SERVER = "  cert_file: server.crt\n  key_file: server.key\n"


@pytest.mark.parametrize(
    ("web_yml", "message"),
    [
        ("basic_auth_users:\n  alice: plaintext\n", "basic_auth_users.alice: expected a bcrypt hash"),
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
            "tls_server_config.cert_file: no such file",
        ),
        ("tls_server_config:\n  key_file: x\n", "tls_server_config.cert_file: required"),
        ("tls_config: {}\n", "unknown key 'tls_config'"),
        # The two: both used to start without a word.
        (
            f"tls_server_config:\n{SERVER}  max_version: TLS11\n",
            "max_version: TLS11 is below min_version TLS12",
        ),
        (
            f"tls_server_config:\n{SERVER}  cipher_suites: [NOPE]\n",
            "cipher_suites: unknown cipher suite 'NOPE'",
        ),
        (
            f"tls_server_config:\n{SERVER}  curve_preferences: [X25519, CurveP256]\n",
            "curve_preferences: Python's ssl module sets one curve only",
        ),
        (
            f"tls_server_config:\n{SERVER}  client_auth_type: VerifyClientCertIfGiven\n"
            "  client_allowed_sans: [prometheus.example]\n",
            "client_allowed_sans: needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n",
            "tls_server_config.cert_file: cannot load",
        ),
    ],
)
def test_bad_web_config_exits_2_naming_the_key(
    self_signed: tuple[Path, Path], web_yml: str, message: str
) -> None:
    path = self_signed[0].parent / "web.yml"
    path.write_text(web_yml)
    result = subprocess.run(
        [host_exporter(), f"--web.config.file={path}", "--web.listen-address=127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


# exporter-toolkit's web/testdata cases (cert and CA file names adapted), what upstream accepts ...
TOOLKIT_GOOD = {
    "web_config_noAuth_allCiphers.good.yml": "  client_auth_type: VerifyClientCertIfGiven\n  cipher_suites:\n"
    + "".join(
        f"  - {suite}\n"
        for suite in (
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
            "TLS_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_AES_256_CBC_SHA",
            "TLS_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_RSA_WITH_AES_256_GCM_SHA384",
        )
    ),
    "web_config_noAuth_someCiphers.good.yml": "  client_auth_type: VerifyClientCertIfGiven\n"
    "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n"
    "  min_version: TLS12\n  max_version: TLS12\n",
    "web_config_noAuth_someCiphers_noOrder.good.yml": "  client_auth_type: VerifyClientCertIfGiven\n"
    "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n"
    "  prefer_server_cipher_suites: false\n  min_version: TLS12\n  max_version: TLS12\n",
    "web_config_noAuth_someCurves.good.yml": "  client_auth_type: VerifyClientCertIfGiven\n"
    "  min_version: TLS13\n  curve_preferences: [CurveP521]\n",
    "tls_config_noAuth.requireanyclientcert.good.yml": "  client_auth_type: RequireAnyClientCert\n"
    "  client_ca_file: ca.crt\n",
    "tls_config_noAuth.requireandverifyclientcert.good.yml": "  client_auth_type: RequireAndVerifyClientCert\n"
    "  client_ca_file: ca.crt\n",
    "web_config_auth_client_san.good.yaml": "  client_auth_type: RequireAndVerifyClientCert\n"
    "  client_ca_file: ca.crt\n  client_allowed_sans: [one, test3, two]\n",
}
# ... and what it refuses, with the key our message names.
TOOLKIT_BAD = {
    "web_config_noAuth_inventedCiphers.bad.yml": (
        "  client_auth_type: VerifyClientCertIfGiven\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048]\n",
        "tls_server_config.cipher_suites: unknown cipher suite 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048'",
    ),
    "web_config_noAuth_inventedCurves.bad.yml": (
        "  client_auth_type: VerifyClientCertIfGiven\n  curve_preferences: [CurveP257]\n",
        "tls_server_config.curve_preferences: unknown curve 'CurveP257'",
    ),
    "web_config_noAuth_wrongTLSVersion.bad.yml": (
        "  client_auth_type: VerifyClientCertIfGiven\n  min_version: TLS111\n",
        "tls_server_config.min_version: 'TLS111' is not one of TLS10, TLS11, TLS12, TLS13",
    ),
    "web_config_noAuth.bad.yml": (
        "  client_ca_file: ca.crt\n",
        "tls_server_config.client_ca_file: set, but client_auth_type is NoClientCert",
    ),
    "web_config_auth_client_san_no_client_auth.bad.yaml": (
        "  client_allowed_sans: [one]\n",
        "tls_server_config.client_allowed_sans: needs client_auth_type",
    ),
    "web_config_auth_client_san_optional_cert.bad.yaml": (
        "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n  client_allowed_sans: [one]\n",
        "tls_server_config.client_allowed_sans: needs client_auth_type",
    ),
    # Where we refuse what upstream takes (README, "Web config"):
    # more than one curve, which Python's ssl module cannot set ...
    "web_config_noAuth_allCurves.good.yml": (
        "  client_auth_type: VerifyClientCertIfGiven\n"
        "  curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]\n",
        "tls_server_config.curve_preferences: Python's ssl module sets one curve only",
    ),
    # ... and RequireAndVerifyClientCert without a CA file, which Go verifies against every system CA.
    "web_config_noAuth.good.blocking.yml": (
        "  client_auth_type: RequireAndVerifyClientCert\n",
        "tls_server_config.client_ca_file: required with client_auth_type RequireAndVerifyClientCert",
    ),
}
TOOLKIT_BAD_WITHOUT_TLS = {
    "web_config_auth_user_list_invalid.bad.yml": (
        "basic_auth_users:\n  john: doe\n",
        "basic_auth_users.john: expected a bcrypt hash",
    ),
    "web_config_headers_extra_header.bad.yml": (
        "http_server_config:\n  headers:\n    Content-Type: foo\n",
        "http_server_config.headers: 'Content-Type' cannot be set",
    ),
    "web_config_headers_frame_options.bad.yml": (
        "http_server_config:\n  headers:\n    X-Frame-Options: foo\n",
        "http_server_config.headers.X-Frame-Options: 'foo' is not one of deny, sameorigin",
    ),
    "web_config_headers_content_type_options.bad.yml": (
        "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
        "http_server_config.headers.X-Content-Type-Options: 'sniff' is not one of nosniff",
    ),
    "web_config_junk_key.yml": ("tls_server_config:\n  ttls_key: x\n", "unknown key 'ttls_key'"),
    "prefer_server_cipher_suites as a string": (
        f"tls_server_config:\n{SERVER}  prefer_server_cipher_suites: 'yes'\n",
        "tls_server_config.prefer_server_cipher_suites: expected true or false",
    ),
}


@pytest.fixture
def toolkit_dir(self_signed: tuple[Path, Path]) -> Path:
    """A directory with server.crt, server.key and ca.crt, as exporter-toolkit's testdata has."""
    directory = self_signed[0].parent
    shutil.copy(self_signed[0], directory / "ca.crt")
    return directory


@pytest.mark.parametrize("case", sorted(TOOLKIT_GOOD))
def test_what_exporter_toolkit_accepts_loads_and_builds_a_context(toolkit_dir: Path, case: str) -> None:
    path = toolkit_dir / "web.yml"
    path.write_text("tls_server_config:\n" + SERVER + TOOLKIT_GOOD[case])
    web = load_web_config(path)
    assert web.tls is not None
    assert isinstance(web.tls.context(), ssl.SSLContext)


@pytest.mark.parametrize("case", sorted(TOOLKIT_BAD) + sorted(TOOLKIT_BAD_WITHOUT_TLS))
def test_what_exporter_toolkit_refuses_is_refused_naming_the_key(toolkit_dir: Path, case: str) -> None:
    path = toolkit_dir / "web.yml"
    if case in TOOLKIT_BAD:
        body, message = TOOLKIT_BAD[case]
        path.write_text("tls_server_config:\n" + SERVER + body)
    else:
        body, message = TOOLKIT_BAD_WITHOUT_TLS[case]
        path.write_text(body)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_web_config(path)


def test_go_cipher_suite_names_map_to_the_openssl_suites_of_the_same_iana_name() -> None:
    listing = subprocess.run(
        ["openssl", "ciphers", "-stdname", "ALL:@SECLEVEL=0"], capture_output=True, text=True, check=True
    ).stdout
    # Lines read "IANA_NAME - OPENSSL_NAME TLSv1.2 Kx=...".
    openssl = {fields[0]: fields[2] for fields in (line.split() for line in listing.splitlines())}
    assert {name: openssl.get(name) for name in TLS12_CIPHER_SUITES} == TLS12_CIPHER_SUITES
