"""The bridge's memory with a full dedupe window: RSS while 1,000,000 sidecar events with fresh event ids
are accepted (each id is kept for an hour, up to spool and window limits), after they are delivered,
and after a restart; then the resend of events already accepted, acknowledged as duplicates.

    .venv/bin/python bench/dedupe_window_bench.py [--events 1000000] [--batch 1000] [--senders 4]

The anchor is the same bridge's RSS before the load, in the same run. Target (issue 17): RSS under 150 MB
with a full window. PSS beside it: the two processes' memory with the pages of files they share (libpython,
the extension modules) counted once, which the sum of their RSS counts twice. Events go to the events file
(no Loki), Pushgateway is real.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from bridge_bench import KEY, start_bridge
from processes import free_port, pss_bytes, rss_bytes, wait_ready
from wrk_load import own_metric

MB = 1024 * 1024


def batch(ids: list[str]) -> bytes:
    events = [
        {
            "site_id": "site1",
            "app": {"name": "bench-app"},
            "entity_type": "job",
            "business_key": f"window-{index % 50}",
            "kind": "progress",
            "progress": 0.5,
            "event_id": event_id,
        }
        for index, event_id in enumerate(ids)
    ]
    return json.dumps({"events": events}).encode()


def send(bridge: str, batches: list[list[str]]) -> int:
    """POST the batches in order; the number of duplicates the bridge reported."""
    duplicates = 0
    with requests.Session() as session:
        for ids in batches:
            for _attempt in range(100):  # 503 while the spool is full: as a client would, wait and resend
                answer = session.post(
                    f"{bridge}/v1/events/batch",
                    data=batch(ids),
                    headers={"x-api-key": KEY, "content-type": "application/json"},
                    timeout=60,
                )
                if answer.status_code != 503:
                    break
                time.sleep(float(answer.headers.get("retry-after", "1")))
            answer.raise_for_status()
            duplicates += int(answer.json()["duplicates"])
    return duplicates


# what; RSS of the bridge with its delivery process; RSS of the bridge alone; PSS of the two
Row = tuple[str, int, int, int]


def measured(what: str, pid: int) -> Row:
    return what, rss_bytes(pid), rss_bytes(pid, descendants=False), pss_bytes(pid)


def delivered(bridge: str) -> None:
    while (own_metric(bridge, "bridge_outbox_pending", downstream="loki") or 0) > 0:
        time.sleep(0.2)


def report(args: argparse.Namespace, count: int, seconds: float, resent: int, rows: list[Row]) -> None:
    print(f"\n## Bridge RSS with a full dedupe window ({count:,} event ids, batches of {args.batch})\n")
    print(f"Accepted in {seconds:.1f} s ({count / seconds:,.0f} events/s, {args.senders} senders).")
    print(f"Resent {2 * args.batch:,} events after the restart: {resent:,} acknowledged as duplicates.\n")
    print(
        "| point | RSS MB, with the delivery process | ratio to the anchor | the bridge process alone"
        " | PSS MB of the two |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    anchor = rows[0][1]
    for name, rss, alone, pss in rows:
        print(f"| {name} | {rss / MB:.1f} | {rss / anchor:.2f} | {alone / MB:.1f} | {pss / MB:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args()
    if not shutil.which("prometheus-pushgateway"):
        raise SystemExit("bench: prometheus-pushgateway not found (apt-get install prometheus-pushgateway)")
    ids = [str(uuid.uuid4()) for _ in range(args.events)]
    batches = [ids[start : start + args.batch] for start in range(0, len(ids), args.batch)]
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        pg_port, bridge_port = free_port(), free_port()
        pushgateway = f"http://127.0.0.1:{pg_port}"
        bridge = f"http://127.0.0.1:{bridge_port}"
        gateway = subprocess.Popen(
            [
                "prometheus-pushgateway",
                f"--web.listen-address=127.0.0.1:{pg_port}",
                "--push.disable-consistency-check",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes = [gateway]
        try:
            wait_ready(f"{pushgateway}/-/ready")
            process = start_bridge(tmp, "bridge", pushgateway, {"BRIDGE_LISTEN": bridge[7:]})
            processes.append(process)
            wait_ready(f"{bridge}/health")
            send(bridge, [batches[0][:10]])  # warm: every route module and model used once
            delivered(bridge)  # ... and the delivery process started and used once
            rows = [measured("before the load (anchor)", process.pid)]
            started = time.monotonic()
            step = max(1, len(batches) // 10)
            with multiprocessing.Pool(args.senders) as pool:
                for done in range(0, len(batches), step):
                    part = batches[done : done + step]
                    shares = [part[i :: args.senders] for i in range(args.senders)]
                    pool.starmap(send, [(bridge, share) for share in shares])
                    accepted = min(len(ids), (done + step) * args.batch)
                    rows.append(measured(f"{accepted:,} ids accepted", process.pid))
            seconds = time.monotonic() - started
            delivered(bridge)
            rows.append(measured("all delivered", process.pid))
            process.terminate()
            process.wait(timeout=60)
            same_data = {"BRIDGE_LISTEN": bridge[7:], "BRIDGE_DATA_DIR": str(tmp / "bridge" / "data")}
            restarted = start_bridge(tmp, "bridge-again", pushgateway, same_data)
            processes.append(restarted)
            wait_ready(f"{bridge}/health")
            rows.append(measured("restarted on the same data", restarted.pid))
            resent = send(bridge, batches[:1] + batches[-1:])
            rows.append(measured("after resending the first and last batch", restarted.pid))
        finally:
            for running in reversed(processes):
                if running.poll() is None:
                    running.terminate()
                    running.wait(timeout=60)

    report(args, len(ids), seconds, resent, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
