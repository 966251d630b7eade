"""The bridge beside Pushgateway, in one run on this machine: requests/s, events/s, latency, pushes sent.

    .venv/bin/python bench/bridge_bench.py [--duration 10] [--concurrency 16] [--batch-size 100]

Load comes from wrk (Debian package `wrk`), a separate C process, so the client does not compete with the
bridge for the GIL. Three loads run against a real Pushgateway behind the bridge:

1. scheduler heartbeats and status updates over 1,000 scheduler ids (the scheduler guide's calls);
2. sidecar batches of --batch-size events to /v1/events/batch;
3. the anchor: the same 1,000 groups PUT straight to Pushgateway at the same concurrency.

Reported as a Markdown table with ratios to the anchor, plus the pushes the bridge sent to Pushgateway
(bounded by groups x flushes, not by requests).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml
from processes import free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPTS = ROOT / "bench" / "wrk"
KEY = "bench-key"


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, script: str, duration: int, concurrency: int, env: dict[str, str]) -> WrkResult:
    threads = min(2, concurrency)
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
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    total_errors = int(errors.group(1)) if errors else 0
    if socket_errors:
        total_errors += sum(int(part) for part in socket_errors.groups())
    return WrkResult(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        errors=total_errors,
    )


def own_metric(bridge_url: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in requests.get(f"{bridge_url}/metrics", timeout=5).text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def batch_body(size: int) -> str:
    app = {"app_id": str(uuid.uuid4()), "name": "bench-app", "version": "1.0.0"}
    events = [
        {
            "site_id": "site1",
            "app": app,
            "entity_type": "job",
            "business_key": f"batch-{index % 50}",
            "kind": "progress",
            "progress": 0.5,
            "message": "working",
        }
        for index in range(size)
    ]
    return json.dumps({"events": events})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per load")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    for tool in ("wrk", "prometheus-pushgateway"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} not found (apt-get install wrk prometheus-pushgateway)")

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        processes: list[subprocess.Popen[bytes]] = []
        try:
            pg_port, bridge_port = free_port(), free_port()
            pushgateway = f"http://127.0.0.1:{pg_port}"
            bridge = f"http://127.0.0.1:{bridge_port}"
            processes.append(
                subprocess.Popen(
                    [
                        "prometheus-pushgateway",
                        f"--web.listen-address=127.0.0.1:{pg_port}",
                        "--push.disable-consistency-check",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_ready(f"{pushgateway}/-/ready")
            config = {
                "api_keys": [
                    {
                        "name": "bench",
                        "sha256": hashlib.sha256(KEY.encode()).hexdigest(),
                        "services": ["*"],
                        "schedulers": ["*"],
                        "rate_per_second": 1_000_000,
                    }
                ],
                "events_file": str(tmp / "events.jsonl"),
            }
            (tmp / "bridge.yml").write_text(yaml.safe_dump(config))
            env = {
                **os.environ,
                "BRIDGE_PUSHGATEWAY_URL": pushgateway,
                "BRIDGE_DATA_DIR": str(tmp / "bridge"),
            }
            processes.append(
                subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "pushgateway-bridge"),
                        f"--web.listen-address=127.0.0.1:{bridge_port}",
                        f"--config={tmp / 'bridge.yml'}",
                    ],
                    env={**env, "BRIDGE_LOG_LEVEL": "warning"},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_ready(f"{bridge}/health")
            with requests.Session() as session:
                for index in range(1000):
                    session.post(
                        f"{bridge}/api/v1/schedulers/register",
                        json={"scheduler_id": f"bench-{index}", "service_name": "bench", "job_name": "bench"},
                        headers={"x-api-key": KEY},
                        timeout=10,
                    ).raise_for_status()
            time.sleep(2)  # let the registrations drain before measuring

            pushes_before = own_metric(bridge, "bridge_forwarded_total", downstream="pushgateway")
            single = wrk(bridge, "schedulers.lua", args.duration, args.concurrency, {"BENCH_API_KEY": KEY})
            pushes = own_metric(bridge, "bridge_forwarded_total", downstream="pushgateway") - pushes_before

            body_file = tmp / "batch.json"
            body_file.write_text(batch_body(args.batch_size))
            batch = wrk(
                bridge,
                "batch.lua",
                args.duration,
                args.concurrency,
                {"BENCH_API_KEY": KEY, "BENCH_BATCH_BODY": str(body_file)},
            )
            anchor = wrk(pushgateway, "pushgateway.lua", args.duration, args.concurrency, {})
        finally:
            for process in reversed(processes):
                process.terminate()
                process.wait(timeout=10)

    events_per_second = batch.requests_per_second * args.batch_size
    print(f"\n## Bridge vs Pushgateway, concurrency {args.concurrency}, {args.duration}s per load\n")
    print("| load | requests/s | p50 ms | p99 ms | errors | ratio to Pushgateway PUT (req/s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, result in (
        ("bridge: heartbeats + status, 1,000 schedulers", single),
        (f"bridge: /v1/events/batch of {args.batch_size}", batch),
        ("anchor: PUT straight to Pushgateway", anchor),
    ):
        ratio = result.requests_per_second / anchor.requests_per_second
        print(
            f"| {name} | {result.requests_per_second:,.0f} | {result.p50_ms:.1f} | {result.p99_ms:.1f} | "
            f"{result.errors} | {ratio:.2f} |"
        )
    print(f"\nSidecar events/s through the batch endpoint: {events_per_second:,.0f}")
    print(
        f"Pushgateway pushes sent by the bridge during the scheduler load: {pushes:,.0f} for "
        f"{single.requests:,} requests ({pushes / max(single.requests, 1):.3f} pushes per request; "
        f"bounded by 1,000 groups x flushes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
