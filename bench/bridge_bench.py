"""The bridge beside Pushgateway, in one run on this machine: requests/s, events/s, latency, CPU, pushes
sent, and whether delivery to Loki keeps pace with intake.

    .venv/bin/python bench/bridge_bench.py [--duration 10] [--concurrency 16] [--batch-size 100]
                                           [--loki-duration 60] [--json FIGURES.json]

Load comes from wrk (Debian package `wrk`), a separate C process, so the client does not compete with the
bridge for the GIL. Four loads run against a real Pushgateway behind the bridge:

1. scheduler heartbeats and status updates over 1,000 scheduler ids (the scheduler guide's calls);
2. sidecar batches of --batch-size events to /v1/events/batch (events to the events file);
3. the anchor: the same 1,000 groups PUT straight to Pushgateway at the same concurrency;
4. the sidecar batches again for --loki-duration seconds, on a second bridge that sends its events to a
   Loki push receiver (tests/fakes/loki.py: Loki's push protocol, strict, in this process): the outbox
   backlog (bridge_outbox_pending) is read every second, and after the load, how long it takes to drain.

Reported as a Markdown table with ratios to the anchor, the bridge's CPU per request (less sensitive than
requests/s to other processes on the machine), the pushes the bridge sent to Pushgateway (bounded by
groups x flushes, not by requests), and the Loki run's backlog; `--json` also writes the figures by name
(compare_commits.py reads them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml
from processes import free_port, wait_ready
from wrk_load import WrkResult, own_metric, wrk

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key"
sys.path.insert(0, str(ROOT / "tests"))
from fakes.loki import LokiReceiver  # noqa: E402  (the tests' strict receiver of Loki's push API)


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


def start_bridge(tmp: Path, name: str, pushgateway: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A bridge with one key allowed everything, on `env`'s BRIDGE_LISTEN port (see main)."""
    home = tmp / name
    home.mkdir()
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
        "events_file": str(home / "events.jsonl"),
    }
    (home / "bridge.yml").write_text(yaml.safe_dump(config))
    listen = env.pop("BRIDGE_LISTEN")
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "pushgateway-bridge"),
            f"--web.listen-address={listen}",
            f"--config={home / 'bridge.yml'}",
        ],
        env={
            **os.environ,
            "BRIDGE_PUSHGATEWAY_URL": pushgateway,
            "BRIDGE_DATA_DIR": str(home / "data"),
            "BRIDGE_LOG_LEVEL": "warning",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass
class LokiRun:
    load: WrkResult
    backlog: list[float]  # bridge_outbox_pending{downstream="loki"}, once a second during the load
    drain_seconds: float  # from the end of the load until the backlog is empty
    delivered: int  # entries Loki's receiver accepted
    rejected: int  # pushes it refused


@dataclass
class Results:
    single: WrkResult  # heartbeats and status updates
    batch: WrkResult
    anchor: WrkResult
    pushes: float  # sent to Pushgateway during the scheduler load
    loki: LokiRun


@contextmanager
def counting(loki: LokiReceiver) -> Iterator[list[int]]:
    """Counts the receiver's entries and lets go of them (a minute of load would hold a million)."""
    total = [0]
    stop = threading.Event()

    def drop() -> None:
        while not stop.wait(0.5):
            with loki.lock:
                total[0] += len(loki.entries)
                loki.entries.clear()

    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    try:
        yield total
    finally:
        stop.set()
        thread.join()
        with loki.lock:
            total[0] += len(loki.entries)
            loki.entries.clear()


def loki_run(bridge: str, pid: int, body_file: Path, duration: int, concurrency: int) -> LokiRun:
    pending = "bridge_outbox_pending"
    backlog: list[float] = []
    loading = threading.Event()
    loading.set()

    def sample() -> None:
        while loading.is_set():
            backlog.append(own_metric(bridge, pending, downstream="loki"))
            time.sleep(1)

    loki = LOKI
    with counting(loki) as delivered:
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        load = wrk(
            bridge,
            "batch.lua",
            duration,
            concurrency,
            {"BENCH_API_KEY": KEY, "BENCH_BATCH_BODY": str(body_file)},
            pid=pid,
        )
        loading.clear()
        sampler.join()
        ended = time.monotonic()
        while own_metric(bridge, pending, downstream="loki") > 0 and time.monotonic() - ended < 300:
            time.sleep(0.2)
        drain = time.monotonic() - ended
        time.sleep(1)  # the last push's entries reach the counter
    return LokiRun(load, backlog, drain, delivered[0], len(loki.rejections))


LOKI = LokiReceiver()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per load")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--loki-duration", type=int, default=60, help="seconds of the batch load with Loki")
    parser.add_argument("--json", type=Path, help="also write the run's figures to this file, as JSON")
    args = parser.parse_args()
    for tool in ("wrk", "prometheus-pushgateway"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} not found (apt-get install wrk prometheus-pushgateway)")

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        processes: list[subprocess.Popen[bytes]] = []
        LOKI.start()
        try:
            pg_port, bridge_port, loki_bridge_port = free_port(), free_port(), free_port()
            pushgateway = f"http://127.0.0.1:{pg_port}"
            bridge = f"http://127.0.0.1:{bridge_port}"
            loki_bridge = f"http://127.0.0.1:{loki_bridge_port}"
            processes.append(
                subprocess.Popen(
                    [
                        "prometheus-pushgateway",
                        f"--web.listen-address=127.0.0.1:{pg_port}",
                        "--push.disable-consistency-check",
                        f"--persistence.file={tmp / 'pushgateway.data'}",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_ready(f"{pushgateway}/-/ready")
            main_bridge = start_bridge(tmp, "bridge", pushgateway, {"BRIDGE_LISTEN": bridge[7:]})
            processes.append(main_bridge)
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

            pid = main_bridge.pid
            pushes_before = own_metric(bridge, "bridge_forwarded_total", downstream="pushgateway")
            single = wrk(
                bridge, "schedulers.lua", args.duration, args.concurrency, {"BENCH_API_KEY": KEY}, pid=pid
            )
            pushes = own_metric(bridge, "bridge_forwarded_total", downstream="pushgateway") - pushes_before

            body_file = tmp / "batch.json"
            body_file.write_text(batch_body(args.batch_size))
            batch_env = {"BENCH_API_KEY": KEY, "BENCH_BATCH_BODY": str(body_file)}
            batch = wrk(bridge, "batch.lua", args.duration, args.concurrency, batch_env, pid=pid)
            main_bridge.terminate()
            main_bridge.wait(timeout=30)
            # With the bridge stopped: one still delivering its backlog would slow Pushgateway down.
            anchor = wrk(pushgateway, "pushgateway.lua", args.duration, args.concurrency, {})

            with_loki = start_bridge(
                tmp,
                "loki-bridge",
                pushgateway,
                {"BRIDGE_LISTEN": loki_bridge[7:], "BRIDGE_LOKI_URL": LOKI.url},
            )
            processes.append(with_loki)
            wait_ready(f"{loki_bridge}/health")
            loki = loki_run(loki_bridge, with_loki.pid, body_file, args.loki_duration, args.concurrency)
        finally:
            for process in reversed(processes):
                process.terminate()
                process.wait(timeout=30)
            LOKI.stop()

    run = Results(single, batch, anchor, pushes, loki)
    report(args, run)
    if args.json:
        args.json.write_text(json.dumps(figures(args, run)))
    return 0


def report(args: argparse.Namespace, run: Results) -> None:
    single, batch, anchor, pushes, loki = run.single, run.batch, run.anchor, run.pushes, run.loki
    figure = figures(args, run)
    print(f"\n## Bridge vs Pushgateway, concurrency {args.concurrency}, {args.duration}s per load\n")
    print(
        "| load | requests/s | p50 ms | p99 ms | errors | bridge CPU ms/request | ratio to Pushgateway PUT |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, result in (
        ("bridge: heartbeats + status, 1,000 schedulers", single),
        (f"bridge: /v1/events/batch of {args.batch_size}", batch),
        (f"bridge with Loki: /v1/events/batch of {args.batch_size}, {args.loki_duration}s", loki.load),
        ("anchor: PUT straight to Pushgateway", anchor),
    ):
        ratio = result.requests_per_second / anchor.requests_per_second
        cpu = f"{result.cpu_ms_per_request:.2f}" if result.cpu_ms_per_request else "-"
        print(
            f"| {name} | {result.requests_per_second:,.0f} | {result.p50_ms:.1f} | {result.p99_ms:.1f} | "
            f"{result.errors} | {cpu} | {ratio:.3f} |"
        )
    print(f"\nSidecar events/s through the batch endpoint: {figure['batch_events_per_second']:,.0f}")
    print(
        f"Pushgateway pushes sent by the bridge during the scheduler load: {pushes:,.0f} for "
        f"{single.requests:,} requests ({pushes / max(single.requests, 1):.3f} pushes per request; "
        f"bounded by 1,000 groups x flushes)"
    )
    print(
        f"\nWith Loki ({args.loki_duration}s): {figure['loki_events_per_second']:,.0f} events/s accepted, "
        f"{loki.delivered:,} of {figure['loki_events_accepted']:,.0f} delivered ({loki.rejected} pushes "
        f"refused by the receiver); outbox backlog: max {figure['loki_backlog_max']:,.0f}, median of the "
        f"middle third {figure['loki_backlog_middle']:,.0f}, of the last third "
        f"{figure['loki_backlog_last']:,.0f}, at the end {figure['loki_backlog_end']:,.0f}; "
        f"drained {loki.drain_seconds:.1f}s after the load stopped"
    )


def figures(args: argparse.Namespace, run: Results) -> dict[str, float]:
    """The run's figures by name, for the report and for `--json` (compare_commits.py reads them)."""
    single, batch, anchor, loki = run.single, run.batch, run.anchor, run.loki
    accepted = loki.load.requests * args.batch_size
    backlog = loki.backlog or [0.0]
    third = max(1, len(backlog) // 3)
    middle, last = backlog[third : 2 * third] or backlog, backlog[2 * third :] or backlog
    return {
        "scheduler_requests_per_second": single.requests_per_second,
        "scheduler_ratio_to_pushgateway": single.requests_per_second / anchor.requests_per_second,
        "scheduler_p99_ms": single.p99_ms,
        "scheduler_cpu_ms_per_request": single.cpu_ms_per_request,
        "batch_events_per_second": batch.requests_per_second * args.batch_size,
        "batch_p99_ms": batch.p99_ms,
        "batch_cpu_ms_per_batch": batch.cpu_ms_per_request,
        "loki_events_accepted": accepted,
        "loki_events_per_second": accepted / args.loki_duration,
        "loki_p99_ms": loki.load.p99_ms,
        "loki_backlog_max": max(backlog),
        "loki_backlog_middle": statistics.median(middle),
        "loki_backlog_last": statistics.median(last),
        "loki_backlog_end": backlog[-1],
        "loki_drain_seconds": loki.drain_seconds,
        "anchor_requests_per_second": anchor.requests_per_second,
        "pushes": run.pushes,
        "errors": single.errors + batch.errors + loki.load.errors + anchor.errors + loki.rejected,
    }


if __name__ == "__main__":
    sys.exit(main())
