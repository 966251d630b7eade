"""tls_server_config against real handshakes: client auth types, SAN allow-list, versions, ciphers, curves.

The exporter's own server (ExporterServer with the context the web config builds) runs in a thread here,
so that each case costs a handshake, not a process start; the process-level wiring is in test_web.py.
Every refusal has a control: the same client accepted where the feature allows it, so a refusal cannot
come from a broken client.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from exporter_support import PI_PATHS, registry_with
from host_exporter.collectors.loadavg import LoadavgCollector
from host_exporter.web.server import ExporterServer
from host_exporter.web.webconfig import load_web_config

SERVER_FILES = "  cert_file: server.crt\n  key_file: server.key\n"


@dataclass(frozen=True)
class Identity:
    """A client certificate and key, as files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class PKI:
    directory: Path  # server.crt, server.key and client-ca.crt, for web.yml files written here
    server_ca: trustme.CA
    client_ca: trustme.CA
    client: Identity  # from client_ca: DNS prometheus.example, IP 127.0.0.2 and 2001:db8::1, an e-mail
    uri_client: Identity  # from client_ca: only a URI
    wrong_ca_client: Identity  # the same names, from a CA the server does not know
    self_signed: Identity


def _identity(directory: Path, name: str, cert_pem: bytes, key_pem: bytes) -> Identity:
    identity = Identity(directory / f"{name}.crt", directory / f"{name}.key")
    identity.cert.write_bytes(cert_pem)
    identity.key.write_bytes(key_pem)
    return identity


def _leaf(directory: Path, name: str, ca: trustme.CA, *identities: str) -> Identity:
    leaf = ca.issue_cert(*identities)
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    return _identity(directory, name, chain, leaf.private_key_pem.bytes())


def _uri_leaf(directory: Path, ca: trustme.CA, uri: str) -> Identity:
    """trustme writes DNS, IP and e-mail SANs only; a URI SAN is built with cryptography, signed by `ca`."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "uri client")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2000, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(3000, 1, 1, tzinfo=UTC))
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return _identity(directory, "uri-client", cert.public_bytes(serialization.Encoding.PEM), key_pem)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    directory = tmp_path_factory.mktemp("pki")
    server_ca = trustme.CA()
    # RSA, so that the ECDHE_RSA suites of exporter-toolkit's test cases apply.
    server = server_ca.issue_cert("127.0.0.1", key_type=trustme.KeyType.RSA)
    server.private_key_pem.write_to_path(str(directory / "server.key"))
    (directory / "server.crt").write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    client_ca, other_ca, lone = trustme.CA(), trustme.CA(), trustme.CA()
    client_ca.cert_pem.write_to_path(str(directory / "client-ca.crt"))
    names = ("prometheus.example", "127.0.0.2", "2001:db8::1", "scraper@prometheus.example")
    return PKI(
        directory=directory,
        server_ca=server_ca,
        client_ca=client_ca,
        client=_leaf(directory, "client", client_ca, *names),
        uri_client=_uri_leaf(directory, client_ca, "spiffe://prometheus.example/scraper"),
        wrong_ca_client=_leaf(directory, "wrong-ca-client", other_ca, *names),
        self_signed=_identity(directory, "self-signed", lone.cert_pem.bytes(), lone.private_key_pem.bytes()),
    )


@contextmanager
def serving(pki: PKI, tls_server_config: str) -> Iterator[int]:
    """The exporter's server with `tls_server_config` (YAML lines under that key); yields its port."""
    web_yml = pki.directory / "web.yml"
    web_yml.write_text("tls_server_config:\n" + SERVER_FILES + tls_server_config)
    web = load_web_config(web_yml)
    assert web.tls is not None
    registry = registry_with(loadavg=LoadavgCollector(PI_PATHS))
    server = ExporterServer(("127.0.0.1", 0), registry, "/metrics", web, web.tls.context())
    # shutdown() returns when serve_forever next looks, every poll_interval (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def client(pki: PKI, identity: Identity | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    pki.server_ca.configure_trust(context)
    if identity is not None:
        context.load_cert_chain(identity.cert, identity.key)
    return context


def legacy_client(pki: PKI, maximum: ssl.TLSVersion) -> ssl.SSLContext:
    """A client that speaks TLS 1.0 up to `maximum` (OpenSSL 3 needs security level 0 for 1.0 and 1.1)."""
    context = client(pki)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = maximum
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


@dataclass(frozen=True)
class Scrape:
    status: int
    version: str | None
    cipher: str | None


def scrape(port: int, context: ssl.SSLContext) -> Scrape:
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        assert b"node_load1 " in response.read()
        sock = connection.sock
        assert isinstance(sock, ssl.SSLSocket)
        cipher = sock.cipher()
        return Scrape(response.status, sock.version(), cipher[0] if cipher else None)
    finally:
        connection.close()


def refused(port: int, context: ssl.SSLContext) -> None:
    # A refused handshake is a TLS alert; a refusal after it (TLS 1.3 client certificates, the SAN list)
    # is a closed connection.
    with pytest.raises((ssl.SSLError, ConnectionError)):
        scrape(port, context)


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
