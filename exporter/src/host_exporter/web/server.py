"""The HTTP(S) server: the exposition at the telemetry path, a landing page, basic auth and TLS.

Collection happens at scrape time. Scrapes that arrive while a collection is running share its result
("singleflight"): under the GIL, concurrent collections would only queue behind each other and each
take longer, while a shared one answers all of them as soon as it is done. A response is therefore
never older than the collection that was running when the request arrived.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import secrets
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import bcrypt
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from host_exporter.web.exposition import TextExposition
from host_exporter.web.tls import client_refusal
from host_exporter.web.webconfig import WebConfig

log = logging.getLogger(__name__)

LANDING_PAGE = """<!DOCTYPE html>
<html><head><title>host-exporter</title></head>
<body><h1>host-exporter</h1><p><a href="{path}">Metrics</a></p></body></html>
"""


class SharedCollection:
    """Runs `produce` once for all callers that arrive while a run is in flight."""

    def __init__(self, produce: Callable[[], bytes]) -> None:
        self._produce = produce
        self._lock = threading.Lock()
        self._inflight: Future[bytes] | None = None

    def get(self) -> bytes:
        with self._lock:
            future = self._inflight
            leader = future is None
            if future is None:
                future = self._inflight = Future()
        if leader:
            try:
                future.set_result(self._produce())
            except BaseException as exc:
                future.set_exception(exc)
            finally:
                with self._lock:
                    self._inflight = None
        return future.result()


class BasicAuth:
    """Checks bcrypt users; remembers good (user, password) pairs so bcrypt's cost is paid once per pair.

    A name that is not a user is checked against a dummy hash, as exporter-toolkit does, so that the time
    a refusal takes does not tell which users exist. The dummy has the cost most users' hashes have (not
    the highest: one user at cost 18 would make every unknown name cost seconds, and the start too).
    """

    MAX_REMEMBERED = 64

    def __init__(self, users: dict[str, bytes]) -> None:
        self.users = users
        self._verified: set[tuple[str, bytes]] = set()
        self._lock = threading.Lock()
        self.dummy_hash = b""
        if users:
            costs = Counter(int(hashed[4:6]) for hashed in users.values())  # $2y$10$...: cost 10
            salt = bcrypt.gensalt(rounds=costs.most_common(1)[0][0])
            self.dummy_hash = bcrypt.hashpw(secrets.token_bytes(16), salt)

    @staticmethod
    def credentials(header: str | None) -> tuple[str, str] | None:
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user, password

    def allows(self, header: str | None) -> bool:
        if not self.users:
            return True
        credentials = self.credentials(header)
        if credentials is None:
            return False
        user, password = credentials
        hashed = self.users.get(user)
        if hashed is None:
            bcrypt.checkpw(password.encode(), self.dummy_hash)
            return False
        key = (user, hashlib.sha256(password.encode()).digest())
        with self._lock:
            if key in self._verified:
                return True
        # bcrypt.checkpw does not take $2y$ (htpasswd's prefix) on every version; it is the same as $2b$.
        normalised = b"$2b$" + hashed[4:] if hashed.startswith(b"$2y$") else hashed
        if not bcrypt.checkpw(password.encode(), normalised):
            return False
        with self._lock:
            if len(self._verified) >= self.MAX_REMEMBERED:
                self._verified.clear()
            self._verified.add(key)
        return True


class ExporterServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        registry: CollectorRegistry,
        telemetry_path: str,
        web: WebConfig,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        text = TextExposition()  # SharedCollection runs one encode at a time: its caches need no lock
        self.exposition = SharedCollection(lambda: text.encode(registry))
        self.telemetry_path = telemetry_path
        self.web = web
        self.auth = BasicAuth(web.basic_auth_users)
        super().__init__(address, Handler)
        if tls is not None:
            # The handshake runs in the request's thread, so a slow client cannot stall accept().
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """In the request's thread: the TLS handshake and the client certificate check, then HTTP."""
        if isinstance(request, ssl.SSLSocket):
            refusal = self._tls_refusal(request)
            if refusal is not None:
                log.info("TLS connection from %s refused: %s", client_address[0], refusal)
                return  # the caller closes the socket
        super().finish_request(request, client_address)

    def _tls_refusal(self, connection: ssl.SSLSocket) -> str | None:
        try:
            connection.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            return f"handshake failed: {exc}"
        allowed_sans = self.web.tls.client_allowed_sans if self.web.tls else ()
        return client_refusal(connection.getpeercert(), allowed_sans)


class Handler(BaseHTTPRequestHandler):
    server: ExporterServer
    protocol_version = "HTTP/1.1"  # keep-alive, as Prometheus scrapes
    # Headers and body leave in two writes; with Nagle on, the second waits for a delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):  # send_response calls this on every request
            log.debug("%s %s", self.address_string(), format % args)

    def _send(
        self, status: HTTPStatus, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in {**self.server.web.headers, **(extra or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if not self.server.auth.allows(self.headers.get("Authorization")):
            self._send(
                HTTPStatus.UNAUTHORIZED,
                b"Unauthorized\n",
                "text/plain; charset=utf-8",
                {"WWW-Authenticate": 'Basic realm="host-exporter"'},
            )
            return
        path = self.path.split("?", 1)[0]
        if path == self.server.telemetry_path:
            self._metrics()
        elif path == "/":
            page = LANDING_PAGE.format(path=self.server.telemetry_path).encode()
            self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"Not Found\n", "text/plain; charset=utf-8")

    def _metrics(self) -> None:
        try:
            body = self.server.exposition.get()
        except Exception as exc:  # the wrapper already isolates collectors; this is exposition itself failing
            log.error("exposition failed: %s", exc)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"exposition failed\n", "text/plain; charset=utf-8")
            return
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            compressed = gzip.compress(body, compresslevel=1)
            self._send(HTTPStatus.OK, compressed, CONTENT_TYPE_LATEST, {"Content-Encoding": "gzip"})
        else:
            self._send(HTTPStatus.OK, body, CONTENT_TYPE_LATEST)
