"""What the benchmarks share about the processes they start: a free port, readiness, RSS, CPU.

RSS and CPU are the process's with its descendants': the bridge delivers logs from a child process
(pushgateway_bridge/delivery), and its cost is the bridge's."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import psutil
import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"bench: {url} did not become ready")


def tree(pid: int) -> list[int]:
    """`pid` and its living descendants."""
    return [pid] + [child.pid for child in psutil.Process(pid).children(recursive=True)]


def rss_bytes(pid: int, *, descendants: bool = True) -> int:
    """The resident memory of the process and (unless told not to) its descendants."""
    return sum(_rss(one) for one in (tree(pid) if descendants else [pid]))


def _rss(pid: int) -> int:
    return _kilobytes(Path(f"/proc/{pid}/status"), "VmRSS:")


def _kilobytes(path: Path, field: str) -> int:
    """A `/proc` file's "<field> <n> kB" line, in bytes."""
    for line in path.read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in {path}")


def pss_bytes(pid: int) -> int:
    """The proportional set size of the process and its descendants: each page of a shared file counted once
    over all of them (RSS counts libpython's and the extension modules' pages again in each process)."""
    return sum(_pss(one) for one in tree(pid))


def _pss(pid: int) -> int:
    return _kilobytes(Path(f"/proc/{pid}/smaps_rollup"), "Pss:")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process and its descendants have used so far."""
    return sum(_cpu(one) for one in tree(pid))


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
