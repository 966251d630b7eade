"""--web.config.file: bcrypt basic auth and TLS, in the exporter-toolkit format, on the real process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import bcrypt
import pytest
import requests

from exporter_support import host_exporter
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


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


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
    ],
)
def test_bad_web_config_exits_2_naming_the_key(tmp_path: Path, web_yml: str, message: str) -> None:
    path = tmp_path / "web.yml"
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
    assert "Traceback" not in result.stderr
