"""The real PostgreSQL (Debian's `postgresql`): its own data directory, a free loopback port, stopped by PID.

initdb and postgres refuse to run as root: as root they run as the `postgres` user, in a directory under
/tmp that user owns (pytest's tmp paths are private to root). Each test gets its own database of one
server started once a session. With CI=true a missing PostgreSQL is a failure, never a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from stack.processes import free_port, in_ci, wait_until


def postgres_bin() -> Path:
    """The directory of `postgres` and `initdb`: Debian's /usr/lib/postgresql/<major>/bin, or PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).parent
    message = "PostgreSQL not found (install: make setup, or apt-get install postgresql)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class PostgresServer:
    directory: Path  # data/ and the socket
    port: int
    binaries: Path
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def pid(self) -> int:
        """The postmaster's PID (as root, `popen` is runuser's)."""
        return int((self.directory / "data" / "postmaster.pid").read_text().split("\n", 1)[0])

    def log(self) -> str:
        return (self.directory / "postgres.log").read_text(errors="replace")[-4000:]

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}".encode())
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        """Start (again) on the same port and data directory; return once it takes connections."""
        argv = [
            str(self.binaries / "postgres"),
            *("-D", str(self.directory / "data"), "-p", str(self.port), "-k", str(self.directory)),
            *("-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"),
            *("-c", "fsync=off"),  # a test's server: the bridges are killed here, never PostgreSQL
        ]
        with (self.directory / "postgres.log").open("ab") as out:
            popen = self.popen = subprocess.Popen(_as_postgres(argv), stdout=out, stderr=subprocess.STDOUT)

        def ready() -> bool:
            if popen.poll() is not None:
                raise AssertionError(f"postgres exited with {popen.returncode}:\n{self.log()}")
            try:
                with psycopg.connect(self.url, connect_timeout=2) as db:
                    db.execute("SELECT 1")
            except psycopg.OperationalError:
                return False
            return True

        wait_until(ready, timeout=30, what=f"PostgreSQL on port {self.port}")

    def halt(self, timeout: float = 20.0) -> None:
        """Fast shutdown (SIGINT to the postmaster), SIGKILL if it does not end in time; data kept."""
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            pid = self.pid
            os.kill(pid, signal.SIGINT)
        except (OSError, ValueError):
            self.popen.kill()
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        """Halt, and remove the data directory."""
        self.halt()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres() -> PostgresServer:
    binaries = postgres_bin()
    directory = Path(tempfile.mkdtemp(prefix="bridge-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    initdb = [str(binaries / "initdb"), "-D", str(directory / "data"), "-A", "trust", "-U", "postgres"]
    subprocess.run(_as_postgres([*initdb, "--no-sync"]), check=True, capture_output=True)
    server = PostgresServer(directory, free_port(), binaries)
    try:
        server.start()
    except AssertionError:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh database of the session's PostgreSQL."""
    return postgres_server.new_database()
