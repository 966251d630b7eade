"""The remote-write path against the Pushgateway path, in one run: intake under load, cost at rest, freshness.

    .venv/bin/python bench/remote_write_bench.py [--duration 10] [--concurrency 16] [--rounds 3]

Two bridges run one after the other on the same machine, each with its own data directory: the anchor
pushes to a real Pushgateway scraped by a Prometheus (1 s), the other writes by remote write to a second
Prometheus (`--web.enable-remote-write-receiver`). For each:

1. 1,000 scheduler registrations, then the time until a query sees all of them (`count(scheduler_info)`,
   polled every 50 ms: through Pushgateway this includes the scrape interval);
2. wrk's scheduler load (heartbeats and status updates, bench/wrk/schedulers.lua) for `--duration` s:
   requests/s, p50, p99, and the bridge's CPU per request (less sensitive to other load on the machine);
3. `--duration` s at rest: the bridge's CPU (user + system, from /proc) per second of wall time, and the
   items its forwarder delivered per second. Pushgateway gets only changed groups; remote write sends
   every series of every entity each flush (1 s), as the protocol needs.

Each path runs `--rounds` times, alternated with the other; the figures are medians, and the ratios remote
write / Pushgateway of those.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml
from bridge_bench import KEY
from processes import cpu_seconds, free_port, wait_ready
from wrk_load import WrkResult, own_metric, wrk

SCHEDULERS = 1000  # the ids bench/wrk/schedulers.lua cycles over
BRIDGE_BIN = str(Path(sys.executable).parent / "pushgateway-bridge")


@dataclass
class PathResult:
    visible_seconds: float
    load: WrkResult
    idle_cpu: float  # CPU seconds per wall second
    idle_items_per_second: float


def start(
    argv: list[str], ready: str, processes: list[subprocess.Popen[bytes]], log: Path, **env: str
) -> None:
    """Start `argv` with its output in `log`, shown when it never becomes ready."""
    with log.open("wb") as out:
        processes.append(
            subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env})
        )
    try:
        wait_ready(ready)
    except SystemExit:
        print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise


def start_prometheus(tmp: Path, name: str, processes: list[subprocess.Popen[bytes]], **extra: object) -> str:
    port = free_port()
    directory = tmp / name
    directory.mkdir()
    config = {"global": {"scrape_interval": "1s"}, **extra}
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    argv = [
        "prometheus",
        f"--config.file={directory / 'prometheus.yml'}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-remote-write-receiver",
    ]
    start(argv, f"http://127.0.0.1:{port}/-/ready", processes, directory / "log")
    return f"http://127.0.0.1:{port}"


def count(prometheus: str, expr: str) -> int:
    result = requests.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=5).json()
    vector = result["data"]["result"]
    return int(float(vector[0]["value"][1])) if vector else 0


def run_path(  # noqa: PLR0917  (one path's whole setup, as main passes it)
    tmp: Path,
    name: str,
    env: dict[str, str],
    prometheus: str,
    downstream: str,
    args: argparse.Namespace,
) -> PathResult:
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
        "events_file": str(tmp / f"{name}-events.jsonl"),
    }
    (tmp / f"{name}.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    bridge = f"http://127.0.0.1:{port}"
    argv = [BRIDGE_BIN, f"--web.listen-address=127.0.0.1:{port}", f"--config={tmp / f'{name}.yml'}"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        start(
            argv,
            f"{bridge}/health",
            processes,
            tmp / f"{name}.log",
            BRIDGE_DATA_DIR=str(tmp / name),
            BRIDGE_LOG_LEVEL="warning",
            **env,
        )
        pid = processes[0].pid
        with requests.Session() as session:
            for index in range(SCHEDULERS):
                session.post(
                    f"{bridge}/api/v1/schedulers/register",
                    json={"scheduler_id": f"bench-{index}", "service_name": name, "job_name": "bench"},
                    headers={"x-api-key": KEY},
                    timeout=10,
                ).raise_for_status()
        registered = time.monotonic()
        deadline = registered + 120
        # Series of an earlier round linger (5 minutes); this round's are told apart by service_name.
        while count(prometheus, f'count(scheduler_info{{service_name="{name}"}})') < SCHEDULERS:
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: {name}: the schedulers never all showed in Prometheus")
            time.sleep(0.05)
        visible = time.monotonic() - registered

        load = wrk(bridge, "schedulers.lua", args.duration, args.concurrency, {"BENCH_API_KEY": KEY}, pid=pid)
        time.sleep(2)  # let the load's last changes drain

        items_before = own_metric(bridge, "bridge_forwarded_total", downstream=downstream)
        cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
        time.sleep(args.duration)
        cpu, wall = cpu_seconds(pid) - cpu_before, time.monotonic() - wall_before
        items = own_metric(bridge, "bridge_forwarded_total", downstream=downstream) - items_before
        return PathResult(visible, load, cpu / wall, items / wall)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load, and of rest")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each path, alternated")
    args = parser.parse_args()
    for tool in ("wrk", "prometheus", "prometheus-pushgateway"):
        if not shutil.which(tool):
            raise SystemExit(
                f"bench: {tool} not found (apt-get install wrk prometheus prometheus-pushgateway)"
            )

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        servers: list[subprocess.Popen[bytes]] = []
        try:
            pg_port = free_port()
            pushgateway = f"http://127.0.0.1:{pg_port}"
            start(
                [
                    "prometheus-pushgateway",
                    f"--web.listen-address=127.0.0.1:{pg_port}",
                    f"--persistence.file={tmp / 'pushgateway.data'}",
                    "--push.disable-consistency-check",  # as docker-compose.yml runs it
                ],
                f"{pushgateway}/-/ready",
                servers,
                tmp / "pushgateway.log",
            )
            scrape = {"job_name": "pushgateway", "honor_labels": True}
            scraping = start_prometheus(
                tmp,
                "scraping",
                servers,
                scrape_configs=[{**scrape, "static_configs": [{"targets": [f"127.0.0.1:{pg_port}"]}]}],
            )
            receiving = start_prometheus(tmp, "receiving", servers)
            anchors, remotes = [], []
            for round_ in range(args.rounds):  # alternated, so both paths see the machine's load alike
                anchors.append(
                    run_path(
                        tmp,
                        f"pushgateway-{round_}",
                        {"BRIDGE_PUSHGATEWAY_URL": pushgateway},
                        scraping,
                        "pushgateway",
                        args,
                    )
                )
                remotes.append(
                    run_path(
                        tmp,
                        f"remote-write-{round_}",
                        {"BRIDGE_REMOTE_WRITE_URL": f"{receiving}/api/v1/write"},
                        receiving,
                        "remote_write",
                        args,
                    )
                )
        finally:
            for process in reversed(servers):
                process.terminate()
                process.wait(timeout=10)

    print(f"\n## Remote write vs Pushgateway, {SCHEDULERS:,} schedulers, concurrency {args.concurrency}\n")
    print("| figure | Pushgateway (anchor) | remote write | ratio |")
    print("| --- | ---: | ---: | ---: |")
    figures: list[tuple[str, Callable[[PathResult], float], str]] = [
        ("registrations -> all visible to a query, s", lambda p: p.visible_seconds, ".2f"),
        ("scheduler load: requests/s", lambda p: p.load.requests_per_second, ",.0f"),
        ("... p50 ms", lambda p: p.load.p50_ms, ".1f"),
        ("... p99 ms", lambda p: p.load.p99_ms, ".1f"),
        ("... bridge CPU ms per request", lambda p: p.load.cpu_ms_per_request, ".2f"),
        ("at rest: bridge CPU, cores", lambda p: p.idle_cpu, ".3f"),
        ("at rest: items delivered/s", lambda p: p.idle_items_per_second, ",.0f"),
    ]
    for name, figure, spec in figures:
        base = statistics.median(figure(p) for p in anchors)
        other = statistics.median(figure(p) for p in remotes)
        ratio = f"{other / base:.2f}" if base else "-"
        print(f"| {name} | {base:{spec}} | {other:{spec}} | {ratio} |")
    errors = sum(p.load.errors for p in anchors), sum(p.load.errors for p in remotes)
    print(f"\nMedians of {args.rounds} rounds. wrk errors: Pushgateway {errors[0]}, remote write {errors[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
