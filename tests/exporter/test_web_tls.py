"""tls_server_config against real handshakes: client auth types, SAN allow-list, versions, ciphers, curves.

The exporter's own server (ExporterServer with the context the web config builds) runs in a thread here,
so that each case costs a handshake, not a process start; the process-level wiring is in test_web.py.
Every refusal has a control: the same client accepted where the feature allows it, so a refusal cannot
come from a broken client.
"""

from __future__ import annotations

import logging
import ssl

import pytest

from exporter.tls_support import PKI, client, legacy_client, make_pki, refused, scrape, serving


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


# client_auth_type -> whether a client is let in with: no certificate, one from client_ca_file, one from
# another CA, a self-signed one. Go's crypto/tls semantics, which exporter-toolkit passes through.
CLIENT_AUTH_OUTCOMES = {
    "NoClientCert": (True, True, True, True),
    "RequestClientCert": (True, True, True, True),
    "RequireAnyClientCert": (False, True, True, True),
    "VerifyClientCertIfGiven": (True, True, False, False),
    "RequireAndVerifyClientCert": (False, True, False, False),
}
PRESENTED = ("no certificate", "from client_ca_file", "from another CA", "self-signed")


@pytest.mark.parametrize("client_auth_type", sorted(CLIENT_AUTH_OUTCOMES))
def test_each_client_auth_type_lets_in_exactly_the_clients_go_does(pki: PKI, client_auth_type: str) -> None:
    ca_line = "" if client_auth_type == "NoClientCert" else "  client_ca_file: client-ca.crt\n"
    identities = (None, pki.client, pki.wrong_ca_client, pki.self_signed)
    with serving(pki, f"  client_auth_type: {client_auth_type}\n{ca_line}") as port:
        outcomes = {}
        for presented, identity in zip(PRESENTED, identities, strict=True):
            try:
                outcomes[presented] = scrape(port, client(pki, identity)).status == 200
            except (ssl.SSLError, ConnectionError):
                outcomes[presented] = False
    assert outcomes == dict(zip(PRESENTED, CLIENT_AUTH_OUTCOMES[client_auth_type], strict=True))


@pytest.mark.parametrize(
    ("san_line", "identity_name"),
    [
        ("[prometheus.example]", "client"),  # DNS
        ("['127.0.0.2']", "client"),  # IP
        ("['2001:db8::1']", "client"),  # IPv6, written as Go writes it
        ("[scraper@prometheus.example]", "client"),  # e-mail
        ("['spiffe://prometheus.example/scraper']", "uri_client"),  # URI
    ],
)
def test_a_client_certificate_with_an_allowed_san_is_let_in(
    pki: PKI, san_line: str, identity_name: str
) -> None:
    identity = getattr(pki, identity_name)
    config = "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client-ca.crt\n"
    with serving(pki, f"{config}  client_allowed_sans: {san_line}\n") as port:
        assert scrape(port, client(pki, identity)).status == 200


def test_a_client_certificate_without_an_allowed_san_is_refused(
    pki: PKI, caplog: pytest.LogCaptureFixture
) -> None:
    config = "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client-ca.crt\n"
    allow_others = f"{config}  client_allowed_sans: [other.example, '127.0.0.9']\n"
    with serving(pki, allow_others) as port, caplog.at_level(logging.INFO, logger="host_exporter"):
        refused(port, client(pki, pki.client))
        refused(port, client(pki, pki.uri_client))
    refusals = [record.getMessage() for record in caplog.records if "refused" in record.getMessage()]
    assert len(refusals) == 2
    assert "SANs (127.0.0.2, 2001:db8::1, prometheus.example, scraper@prometheus.example)" in refusals[0]
    # Control: the same client, with its name allowed, is let in.
    with serving(pki, f"{config}  client_allowed_sans: [other.example, prometheus.example]\n") as port:
        assert scrape(port, client(pki, pki.client)).status == 200


def test_require_any_client_cert_checks_the_san_list_of_an_unverified_certificate(pki: PKI) -> None:
    """As upstream: the SANs are the client's own claim then; RequireAndVerifyClientCert makes them mean it."""
    config = "  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [prometheus.example]\n"
    with serving(pki, config) as port:
        assert scrape(port, client(pki, pki.wrong_ca_client)).status == 200
        refused(port, client(pki, pki.self_signed))  # no SAN at all


def test_tls11_is_refused_when_min_version_is_tls12(pki: PKI) -> None:
    tls11 = legacy_client(pki, ssl.TLSVersion.TLSv1_1)
    with serving(pki, "  min_version: TLS12\n") as port:
        refused(port, tls11)
        assert scrape(port, client(pki)).status == 200
    # Control: the same client is served where TLS 1.1 is allowed.
    with serving(pki, "  min_version: TLS11\n") as port:
        assert scrape(port, tls11).version == "TLSv1.1"


def test_max_version_caps_the_negotiated_version(pki: PKI) -> None:
    tls13_only = client(pki)
    tls13_only.minimum_version = ssl.TLSVersion.TLSv1_3
    with serving(pki, "  max_version: TLS12\n") as port:
        assert scrape(port, client(pki)).version == "TLSv1.2"
        refused(port, tls13_only)
    with serving(pki, "") as port:  # exporter-toolkit's default maximum is TLS 1.3
        assert scrape(port, tls13_only).version == "TLSv1.3"


def test_cipher_suites_limit_tls12_to_the_listed_suites(pki: PKI) -> None:
    """exporter-toolkit's someCiphers case: one listed suite works, an unlisted one finds no common cipher."""
    config = "  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n"
    listed, unlisted = client(pki), client(pki)
    listed.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
    unlisted.set_ciphers("ECDHE-RSA-AES256-SHA")
    with serving(pki, config) as port:
        assert scrape(port, listed).cipher == "ECDHE-RSA-AES128-GCM-SHA256"
        refused(port, unlisted)
    with serving(
        pki, "  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA]\n"
    ) as port:
        assert scrape(port, unlisted).cipher == "ECDHE-RSA-AES256-SHA"


@pytest.mark.parametrize(
    ("prefer_server", "chosen"),
    [("true", "ECDHE-RSA-AES256-GCM-SHA384"), ("false", "ECDHE-RSA-AES128-GCM-SHA256")],
)
def test_prefer_server_cipher_suites_decides_whose_order_wins(
    pki: PKI, prefer_server: str, chosen: str
) -> None:
    config = (
        "  max_version: TLS12\n"
        "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n"
        f"  prefer_server_cipher_suites: {prefer_server}\n"
    )
    client_prefers_aes128 = client(pki)
    client_prefers_aes128.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384")
    with serving(pki, config) as port:
        assert scrape(port, client_prefers_aes128).cipher == chosen


def test_curve_preferences_limits_key_exchange_to_that_curve(pki: PKI) -> None:
    """exporter-toolkit's someCurves case (TLS 1.3, CurveP521): a client without P-521 has no common group."""
    p521, p384 = client(pki), client(pki)
    p521.set_ecdh_curve("secp521r1")
    p384.set_ecdh_curve("secp384r1")
    with serving(pki, "  min_version: TLS13\n  curve_preferences: [CurveP521]\n") as port:
        assert scrape(port, p521).status == 200
        refused(port, p384)
    with serving(pki, "  min_version: TLS13\n") as port:
        assert scrape(port, p384).status == 200
