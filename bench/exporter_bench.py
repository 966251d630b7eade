"""host-exporter beside node_exporter, in one run on this machine: latency, throughput, size, memory, CPU.

    .venv/bin/python bench/exporter_bench.py [--scrapes 500] [--soak 10000] [--rounds 5]

Both exporters run on loopback with their default collectors. Load comes from separate client processes
(so the client does not share the exporter's CPU accounting or our GIL), each on a keep-alive connection.
Results are printed as a Markdown table with ratios to node_exporter (ours / theirs; < 1 is better for
latency, memory and CPU). Two anchors run: node_exporter with its default collectors (about twice our
series), and node_exporter limited to the collectors we also have, the fairer comparison of equal work.
The scrapes of each load step are split into --rounds rounds that alternate between the exporters, so a
burst of other work on the machine does not fall on one of them only. RSS is read after warm-up, half-way
through the soak and at its end: growth in the second half is what a leak would show; the first half
includes allocator warm-up.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from processes import cpu_seconds, free_port, rss_bytes

# node_exporter collectors that measure what ours do (ours add rpi_throttled and processes, which export
# nothing on this machine without a Pi or configured groups).
SHARED_COLLECTORS = (
    "cpu",
    "cpufreq",
    "diskstats",
    "filesystem",
    "hwmon",
    "loadavg",
    "meminfo",
    "netdev",
    "stat",
    "textfile",
    "thermal_zone",
    "time",
    "uname",
)


def scrape_loop(port: int, count: int, queue: multiprocessing.Queue[list[float]]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
    queue.put(latencies)


@dataclass
class LoadResult:
    latencies: list[float]
    cpu_seconds: float
    elapsed: float

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(
            self.latencies + other.latencies,
            self.cpu_seconds + other.cpu_seconds,
            self.elapsed + other.elapsed,
        )

    def figures(self, concurrency: int) -> dict[str, float]:
        latencies, total = sorted(self.latencies), len(self.latencies)
        return {
            f"scrapes/s at c={concurrency}": total / self.elapsed,
            f"p50 ms at c={concurrency}": statistics.median(latencies) * 1000,
            f"p99 ms at c={concurrency}": latencies[int(total * 0.99) - 1] * 1000,
            f"CPU s per 1000 scrapes at c={concurrency}": self.cpu_seconds / total * 1000,
        }


def load(pid: int, port: int, concurrency: int, per_client: int) -> LoadResult:
    queue: multiprocessing.Queue[list[float]] = multiprocessing.Queue()
    clients = [
        multiprocessing.Process(target=scrape_loop, args=(port, per_client, queue))
        for _ in range(concurrency)
    ]
    cpu_before = cpu_seconds(pid)
    start = time.perf_counter()
    for client in clients:
        client.start()
    latencies = [value for _ in clients for value in queue.get()]
    elapsed = time.perf_counter() - start
    for client in clients:
        client.join()
    return LoadResult(latencies, cpu_seconds(pid) - cpu_before, elapsed)


def start(argv: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/metrics")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{argv[0]} did not start")


def exposition_size(port: int) -> tuple[int, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics")
    body = connection.getresponse().read().decode()
    series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    return len(body.encode()), series


def measure_all(
    processes: dict[str, subprocess.Popen[bytes]], ports: dict[str, int], args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {name: {} for name in processes}
    for name, process in processes.items():
        load(process.pid, ports[name], 1, 50)  # warm-up
        size, series = exposition_size(ports[name])
        rows[name]["bytes per scrape"] = size
        rows[name]["series per scrape"] = series
    # Rounds alternate between the exporters, so that what else runs on the machine meanwhile falls on
    # all of them alike; each one's figures are over all its rounds.
    for concurrency in (1, 4):
        results: dict[str, LoadResult] = {name: LoadResult([], 0.0, 0.0) for name in processes}
        for _ in range(args.rounds):
            for name, process in processes.items():
                per_client = max(1, args.scrapes // args.rounds)
                results[name] += load(process.pid, ports[name], concurrency, per_client)
        for name, result in results.items():
            rows[name].update(result.figures(concurrency))
    for name, process in processes.items():
        rows[name]["RSS MB after warm-up"] = rss_bytes(process.pid) / 1e6
    for step in (1, 2):
        for name, process in processes.items():
            load(process.pid, ports[name], 4, args.soak // 8)
            rows[name][f"RSS MB after {step * args.soak // 2} more scrapes"] = rss_bytes(process.pid) / 1e6
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scrapes", type=int, default=500, help="scrapes per client in each load step")
    parser.add_argument("--soak", type=int, default=10000, help="scrapes for the RSS growth check")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds the scrapes are split into")
    args = parser.parse_args()
    ours_bin = shutil.which("host-exporter", path=str(Path(sys.executable).parent))
    theirs_bin = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    if not ours_bin or not theirs_bin:
        raise SystemExit("needs host-exporter in this venv and node_exporter on PATH (make setup)")
    ports = {name: free_port() for name in ("ours", "node_exporter", "node_exporter_same")}
    same = ["--collector.disable-defaults", *(f"--collector.{name}" for name in SHARED_COLLECTORS)]
    argv = {"ours": [ours_bin], "node_exporter": [theirs_bin], "node_exporter_same": [theirs_bin, *same]}
    processes = {
        name: start([*command, f"--web.listen-address=127.0.0.1:{ports[name]}"], ports[name])
        for name, command in argv.items()
    }
    try:
        rows = measure_all(processes, ports, args)
    finally:
        for process in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
    print("| measure | host-exporter | node_exporter | ratio | node_exporter, same collectors | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for measure, ours in rows["ours"].items():
        cells = [f"{ours:,.2f}"]
        for anchor in ("node_exporter", "node_exporter_same"):
            theirs = rows[anchor][measure]
            cells += [f"{theirs:,.2f}", f"{ours / theirs:.2f}" if theirs else "n/a"]
        print(f"| {measure} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
