"""What test_web_tls.py needs: a PKI made with trustme, the exporter's own server in a thread with a given
tls_server_config, and TLS clients that scrape it and report the version and cipher they got."""

from __future__ import annotations

import http.client
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


def make_pki(directory: Path) -> PKI:
    """Server, client CAs and client certificates, written to `directory`."""
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
