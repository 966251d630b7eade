"""--web.config.file on the real process: bcrypt basic auth, TLS and headers. What loads and what is refused:
test_web_config.py; handshakes: test_web_tls.py."""

from __future__ import annotations

import base64
from pathlib import Path

import bcrypt
import pytest
import requests

from exporter_support import host_exporter
from host_exporter.web.server import BasicAuth
from stack import Stack, free_port


def start_with_web_config(
    stack: Stack, web_yml: Path, scheme: str = "http", verify: bool | str = True
) -> str:
    port = free_port()
    argv = [host_exporter(), f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={web_yml}"]
    url = f"{scheme}://127.0.0.1:{port}"
    stack.process(
        "host-exporter",
        argv,
        url,
        ready_path="/metrics",
        ready=lambda r: r.status_code in (200, 401),
        verify=verify,
    )
    return url


@pytest.mark.parametrize("prefix", [b"$2b$", b"$2y$"])  # $2y$ is what htpasswd -B writes
def test_basic_auth_rejects_wrong_password_and_accepts_the_right_one(
    stack: Stack, tmp_path: Path, prefix: bytes
) -> None:
    hashed = prefix + bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4))[4:]
    web_yml = tmp_path / "web.yml"
    web_yml.write_text(f"basic_auth_users:\n  prometheus: '{hashed.decode()}'\n")
    url = start_with_web_config(stack, web_yml)
    assert requests.get(f"{url}/metrics", timeout=5).status_code == 401
    wrong = requests.get(f"{url}/metrics", auth=("prometheus", "guess"), timeout=5)
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Basic ")
    assert requests.get(f"{url}/metrics", auth=("nobody", "s3cret"), timeout=5).status_code == 401
    right = requests.get(f"{url}/metrics", auth=("prometheus", "s3cret"), timeout=5)
    assert right.status_code == 200
    assert "node_load1 " in right.text
    # The cached verification must not let a wrong password in after a right one.
    assert requests.get(f"{url}/metrics", auth=("prometheus", "s3cre"), timeout=5).status_code == 401


def test_tls_with_a_self_signed_certificate(
    stack: Stack, tmp_path: Path, self_signed: tuple[Path, Path]
) -> None:
    cert, key = self_signed
    web_yml = tmp_path / "web.yml"
    web_yml.write_text(f"tls_server_config:\n  cert_file: {cert.name}\n  key_file: {key.name}\n")
    web_yml.rename(cert.parent / "web.yml")  # relative file names resolve against the config's directory
    url = start_with_web_config(stack, cert.parent / "web.yml", scheme="https", verify=str(cert))
    response = requests.get(f"{url}/metrics", verify=str(cert), timeout=5)
    assert response.status_code == 200
    assert "node_load1 " in response.text
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{url}/metrics", timeout=5)  # not trusted without the certificate
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url.replace("https", "http") + "/metrics", timeout=5)


def test_headers_exporter_toolkit_allows_are_sent(stack: Stack, tmp_path: Path) -> None:
    web_yml = tmp_path / "web.yml"
    web_yml.write_text(  # exporter-toolkit's web_config_headers.good.yml
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        "    Strict-Transport-Security: max-age=31536000; includeSubDomains\n"
        "    X-Content-Type-Options: nosniff\n    X-XSS-Protection: 1\n"
        "    Content-Security-Policy: \"default-src 'self' *.test.example.net\"\n"
    )
    response = requests.get(f"{start_with_web_config(stack, web_yml)}/metrics", timeout=5)
    assert response.headers["X-Frame-Options"] == "deny"
    assert response.headers["X-XSS-Protection"] == "1"
    assert response.headers["Content-Security-Policy"] == "default-src 'self' *.test.example.net"


def test_an_unknown_user_is_checked_against_a_dummy_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """No timing assertion: the refusal of an unknown name must run bcrypt as a wrong password does."""
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=5))
    auth = BasicAuth({"prometheus": hashed, "grafana": bcrypt.hashpw(b"x", bcrypt.gensalt(rounds=5))})
    checked: list[bytes] = []
    real_checkpw = bcrypt.checkpw

    def spy(password: bytes, hashed_password: bytes) -> bool:
        checked.append(hashed_password)
        return real_checkpw(password, hashed_password)

    monkeypatch.setattr(bcrypt, "checkpw", spy)

    def header(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    assert not auth.allows(header("nobody", "s3cret"))
    assert not auth.allows(header("prometheus", "guess"))
    assert checked == [auth.dummy_hash, hashed]
    assert auth.dummy_hash.startswith(b"$2b$05$")  # the users' cost
