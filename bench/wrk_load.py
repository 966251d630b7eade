"""wrk, the load generator of the bridge's benchmarks, and reading a figure from the bridge's /metrics."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import requests
from processes import cpu_seconds

WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_ms_per_request: float = 0.0  # the measured server's, when its pid is known


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str, script: str, duration: int, concurrency: int, env: dict[str, str], *, pid: int | None = None
) -> WrkResult:
    threads = min(2, concurrency)
    cpu_before = cpu_seconds(pid) if pid else 0.0
    result = subprocess.run(
        [
            *("wrk", f"-t{threads}", f"-c{concurrency}", f"-d{duration}s", "--latency"),
            *("-s", str(WRK_SCRIPTS / script), url),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    out = result.stdout
    # wrk pads a value in seconds with a space ("1.20s "), one in ms or us not
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    total_errors = int(errors.group(1)) if errors else 0
    if socket_errors:
        total_errors += sum(int(part) for part in socket_errors.groups())
    if "99" not in latency:
        print(f"bench: wrk gave no latency percentiles:\n{out}", file=sys.stderr)
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return WrkResult(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(latency["50"]) if "50" in latency else math.nan,  # none answered in time
        p99_ms=_ms(latency["99"]) if "99" in latency else math.nan,
        requests=count,
        errors=total_errors,
        cpu_ms_per_request=(cpu_seconds(pid) - cpu_before) / max(count, 1) * 1000 if pid else 0.0,
    )


def own_metric(bridge_url: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in requests.get(f"{bridge_url}/metrics", timeout=5).text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total
