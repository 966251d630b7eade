"""The scheduler load on one bridge on SQLite against bridges on PostgreSQL, in one run on this machine.

    .venv/bin/python bench/storage_bench.py [--duration 10] [--concurrency 16]

The load is bridge_bench.py's first one (heartbeats and status updates over 1,000 scheduler ids, from wrk),
against a real Pushgateway and a real PostgreSQL (started as tests/stack/postgres.py does):

1. the anchor: one bridge on SQLite;
2. one bridge on PostgreSQL;
3. two bridges on one PostgreSQL, each given half the connections by its own wrk, at the same time.

Reported as a Markdown table with ratios to the anchor (requests/s summed over the bridges, p99 the worse
of the two, CPU per request of each bridge). On one machine the bridges, PostgreSQL and wrk share its
cores: the ratio says what PostgreSQL costs a bridge, not what two machines would take.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from bridge_bench import KEY, start_bridge
from processes import free_port, wait_ready
from wrk_load import WrkResult, wrk

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from stack.postgres import start_postgres  # noqa: E402  (the tests' PostgreSQL, stopped by PID)


def register(bridge: str) -> None:
    with requests.Session() as session:
        for index in range(1000):
            session.post(
                f"{bridge}/api/v1/schedulers/register",
                json={"scheduler_id": f"bench-{index}", "service_name": "bench", "job_name": "bench"},
                headers={"x-api-key": KEY},
                timeout=10,
            ).raise_for_status()
    time.sleep(2)  # let the registrations drain before measuring


def together(bridges: list[tuple[str, int]], duration: int, concurrency: int) -> list[WrkResult]:
    """One wrk a bridge, all at once, the connections shared out."""
    results: list[WrkResult | None] = [None] * len(bridges)

    def run(index: int, url: str, pid: int) -> None:
        share = max(1, concurrency // len(bridges))
        results[index] = wrk(url, "schedulers.lua", duration, share, {"BENCH_API_KEY": KEY}, pid=pid)

    threads = [threading.Thread(target=run, args=(i, *bridge)) for i, bridge in enumerate(bridges)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [result for result in results if result is not None]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per load")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    for tool in ("wrk", "prometheus-pushgateway"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} not found (apt-get install wrk prometheus-pushgateway)")

    rows: list[tuple[str, list[WrkResult]]] = []
    postgres = start_postgres()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        processes: list[subprocess.Popen[bytes]] = []
        try:
            port = free_port()
            pushgateway = f"http://127.0.0.1:{port}"
            processes.append(
                subprocess.Popen(
                    [
                        "prometheus-pushgateway",
                        f"--web.listen-address=127.0.0.1:{port}",
                        "--push.disable-consistency-check",
                        f"--persistence.file={tmp / 'pushgateway.data'}",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_ready(f"{pushgateway}/-/ready")
            for name, count, storage_url in (
                ("one bridge, SQLite (anchor)", 1, None),
                ("one bridge, PostgreSQL", 1, postgres.new_database()),
                ("two bridges, one PostgreSQL", 2, postgres.new_database()),
            ):
                bridges: list[tuple[str, int]] = []
                for index in range(count):
                    url = f"http://127.0.0.1:{free_port()}"
                    env = {"BRIDGE_LISTEN": url[7:]}
                    if storage_url:
                        env["BRIDGE_STORAGE_URL"] = storage_url
                    process = start_bridge(tmp, f"{name[:3]}-{len(rows)}-{index}", pushgateway, env)
                    processes.append(process)
                    wait_ready(f"{url}/health")
                    bridges.append((url, process.pid))
                register(bridges[0][0])
                rows.append((name, together(bridges, args.duration, args.concurrency)))
                for _, pid in bridges:
                    process = next(p for p in processes if p.pid == pid)
                    process.terminate()
                    process.wait(timeout=30)
        finally:
            for process in reversed(processes):
                if process.poll() is None:
                    process.terminate()
                    process.wait(timeout=30)
            postgres.stop()
    report(args, rows)
    return 0


def report(args: argparse.Namespace, rows: list[tuple[str, list[WrkResult]]]) -> None:
    print(
        f"\n## Scheduler load: SQLite against PostgreSQL, concurrency {args.concurrency}, {args.duration}s\n"
    )
    print("| bridges | requests/s | p50 ms | p99 ms | errors | CPU ms/request per bridge | ratio to anchor |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    anchor = sum(result.requests_per_second for result in rows[0][1])
    for name, results in rows:
        total = sum(result.requests_per_second for result in results)
        cpu = " / ".join(f"{result.cpu_ms_per_request:.2f}" for result in results)
        print(
            f"| {name} | {total:,.0f} | {max(r.p50_ms for r in results):.1f} | "
            f"{max(r.p99_ms for r in results):.1f} | {sum(r.errors for r in results)} | {cpu} | "
            f"{total / anchor:.2f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
