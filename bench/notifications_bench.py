"""The notification API under 1,000 WebSocket clients, beside minimal anchors measured in the same run.

    .venv/bin/python bench/notifications_bench.py [--clients 1000] [--users 10] [--rate 20] [--duration 30]
                                                  [--emails 300]

1. Real time: --clients sockets on one bridge (uvloop, as its CLI runs), spread over --users users (so each
   notification reaches clients/users sockets); notifications posted to the users in turn at --rate per
   second for --duration seconds by a separate process, which notes when it sent each POST. Every client
   notes when each frame arrived: latency is POST sent -> frame received, at every client, p50 and p99.
   Anchor: the same sockets on a minimal `websockets` broadcast server (one process, uvloop, no storage),
   fed by the same schedule over a control socket.
2. Memory: the server's VmRSS (/proc/<pid>/status) before and after the sockets connect, idle; per
   connection = difference / clients. Same for the anchor.
3. Email: --emails notifications on the email channel into a local SMTP server (aiosmtpd, its own
   process): notifications/s from the first POST to the last mail received. Anchor: plain smtplib sending
   the same number of mails to the same server, one connection a mail as the channel does.

Loopback only; every loop is bounded. Reported as a Markdown table with ratios to the anchors.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing as mp
import os
import resource
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import requests
import uvloop
import yaml
from notification_peers import KEY, Schedule, anchor_server, post_schedule, smtp_server
from processes import free_port, rss_bytes, wait_ready
from websockets.asyncio.client import ClientConnection, connect

ID_SLICE = slice(7, 43)  # a frame starts {"id":"<36 characters>": the id without parsing the JSON
SETTLE_SECONDS = 2.0  # after connecting, before reading idle RSS
DRAIN_SECONDS = 15.0  # at most this long after the last POST for frames still on their way


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SystemExit(f"bench: {needed} file descriptors needed, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))  # inherited by the servers started


# --- the clients: one asyncio process, every socket --------------------------------------------------------


@dataclass
class Realtime:
    latencies_ms: list[float]
    answers_ms: list[float]  # POST -> 202 (the bridge), or nothing (the anchor)
    received: int
    expected: int
    rss_per_connection: float
    behind_schedule: int


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else float("nan")


async def realtime_load(
    schedule: Schedule, ws_base: str, pid: int, clients: int, headers: dict[str, str]
) -> Realtime:
    """Connect `clients` sockets (RSS before and after), run the schedule, collect every frame's latency."""
    receipts: list[tuple[str, float]] = []

    async def client(ws: ClientConnection) -> None:
        async for text in ws:
            receipts.append((str(text)[ID_SLICE], time.monotonic()))

    async def open_one(n: int, gate: asyncio.Semaphore) -> ClientConnection:
        async with gate:
            return await connect(
                f"{ws_base}/bench-user-{n % schedule.users}",
                additional_headers=headers,
                compression=None,
                open_timeout=30,
                ping_interval=None,
            )

    warm = await open_one(0, asyncio.Semaphore(1))  # the first socket pays for lazy imports: not counted
    await warm.close()
    await asyncio.sleep(SETTLE_SECONDS)
    before = rss_bytes(pid)
    gate = asyncio.Semaphore(50)
    sockets = await asyncio.gather(*(open_one(n, gate) for n in range(clients)))
    await asyncio.sleep(SETTLE_SECONDS)
    per_connection = (rss_bytes(pid) - before) / clients
    readers = [asyncio.create_task(client(ws)) for ws in sockets]

    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    poster = ctx.Process(target=post_schedule, args=(schedule, out))
    poster.start()
    sent: list[tuple[str, float, float]] = await asyncio.get_running_loop().run_in_executor(
        None, lambda: out.get(timeout=schedule.duration + 120)
    )
    poster.join(10)
    expected = len(sent) * (clients // schedule.users)
    deadline = time.monotonic() + DRAIN_SECONDS
    while len(receipts) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for ws in sockets:
        await ws.close()
    for reader in readers:
        reader.cancel()
    posted = {notification_id: before for notification_id, before, _ in sent}
    latencies = [(at - posted[nid]) * 1000 for nid, at in receipts if nid in posted]
    answers = [(after - before) * 1000 for _, before, after in sent] if schedule.target == "bridge" else []
    starts = [before for _, before, _ in sent]
    late = sum(1 for n, t in enumerate(starts) if t - starts[0] > n / schedule.rate + 0.05)
    return Realtime(latencies, answers, len(latencies), expected, per_connection, late)


# --- email ----------------------------------------------------------------------------------------------


def email_rate(
    count: Synchronized[int], last: Synchronized[float], n: int, send: Callable[[int], None]
) -> float:
    with count.get_lock():
        count.value = 0
    start = time.monotonic()
    for i in range(n):
        send(i)
    deadline = time.monotonic() + 300
    while count.value < n and time.monotonic() < deadline:
        time.sleep(0.05)
    if count.value < n:
        raise SystemExit(f"bench: only {count.value} of {n} mails arrived")
    return n / (last.value - start)


def smtplib_sender(port: int) -> Callable[[int], None]:
    def send(i: int) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "bundle@example.com", f"user{i}@example.com", f"n{i}"
        mail["Message-ID"] = f"<{uuid.uuid4()}@example.com>"
        mail.set_content("bench")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(mail)

    return send


def bridge_sender(session: requests.Session, url: str) -> Callable[[int], None]:
    def send(i: int) -> None:
        body = {"user_id": f"mail-{i}", "channel": "email", "to": f"user{i}@example.com", "subject": f"n{i}"}
        session.post(url, json=body, headers={"x-api-key": KEY}, timeout=10).raise_for_status()

    return send


# --- the run --------------------------------------------------------------------------------------------


def start_bridge(tmp: Path, smtp_port: int, processes: list[subprocess.Popen[bytes]]) -> tuple[str, int]:
    pg_port, port = free_port(), free_port()
    processes.append(
        subprocess.Popen(
            ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{pg_port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    email = {"host": "127.0.0.1", "port": smtp_port, "security": "none", "from_address": "bundle@example.com"}
    (tmp / "notifications.yml").write_text(yaml.safe_dump({"channels": {"email": email}}))
    key = {"name": "bench", "sha256": hashlib.sha256(KEY.encode()).hexdigest(), "rate_per_second": 1e6}
    config = {
        "api_keys": [{**key, "users": ["*"]}],
        "notifications_file": str(tmp / "notifications.yml"),
        "events_file": str(tmp / "events.jsonl"),
        "log_level": "warning",
    }
    (tmp / "bridge.yml").write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        "BRIDGE_PUSHGATEWAY_URL": f"http://127.0.0.1:{pg_port}",
        "BRIDGE_DATA_DIR": str(tmp / "bridge"),
    }
    bridge = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "pushgateway-bridge"),
            f"--web.listen-address=127.0.0.1:{port}",
            f"--config={tmp / 'bridge.yml'}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes.append(bridge)
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/health")
    return url, bridge.pid


def row(name: str, bridge: float, anchor: float, unit: str, target: str = "") -> str:
    ratio = bridge / anchor if anchor else float("nan")
    return f"| {name} | {bridge:,.1f} {unit} | {anchor:,.1f} {unit} | {ratio:.2f} | {target} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--users", type=int, default=10, help="the clients are spread over this many users")
    parser.add_argument("--rate", type=float, default=20.0, help="notifications posted per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of posting")
    parser.add_argument("--emails", type=int, default=300)
    args = parser.parse_args()
    if args.clients % args.users:
        raise SystemExit("bench: --clients must be a multiple of --users")
    raise_fd_limit(args.clients * 2 + 256)
    ctx = mp.get_context("spawn")
    count, last, stop = ctx.Value("i", 0), ctx.Value("d", 0.0), ctx.Event()
    smtp_port, anchor_port = free_port(), free_port()
    helpers = [
        ctx.Process(target=smtp_server, args=(smtp_port, count, last, stop), daemon=True),
        ctx.Process(target=anchor_server, args=(anchor_port,), daemon=True),
    ]
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        try:
            for helper in helpers:
                helper.start()
            url, pid = start_bridge(Path(tmp_dir), smtp_port, processes)
            headers = {"x-api-key": KEY}
            ws_bridge = url.replace("http://", "ws://") + "/api/notifications/ws"
            load = Schedule("bridge", f"{url}/api/notifications/notify", args.users, args.rate, args.duration)
            bridge = uvloop.run(realtime_load(load, ws_bridge, pid, args.clients, headers))
            anchor_pid = helpers[1].pid or 0
            anchor_ws = f"ws://127.0.0.1:{anchor_port}"
            control = Schedule("anchor", f"{anchor_ws}/publish", args.users, args.rate, args.duration)
            anchor = uvloop.run(realtime_load(control, f"{anchor_ws}/ws", anchor_pid, args.clients, {}))
            with requests.Session() as session:
                mails = email_rate(
                    count, last, args.emails, bridge_sender(session, f"{url}/api/notifications/notify")
                )
            smtplib_mails = email_rate(count, last, args.emails, smtplib_sender(smtp_port))
        finally:
            for process in reversed(processes):
                process.terminate()
                process.wait(timeout=10)
            stop.set()
            for helper in helpers:
                helper.terminate()
                helper.join(10)

    fan_out = args.clients // args.users
    print(
        f"\n## Notifications: {args.clients:,} sockets over {args.users} user(s) ({fan_out} a user), "
        f"{args.rate:g}/s for {args.duration:g} s; {args.emails} emails\n"
    )
    print("| figure | bridge | anchor | ratio (bridge / anchor) | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, p in (("p50", 50), ("p99", 99)):
        print(
            row(f"POST -> frame at every client, {name}", percentile(bridge.latencies_ms, p),
                percentile(anchor.latencies_ms, p), "ms", "p99 < 250 ms" if p == 99 else "")
        )  # fmt: skip
    print(
        row("RSS per idle connection", bridge.rss_per_connection / 1024, anchor.rss_per_connection / 1024,
            "KiB", "< 50 KB (48.8 KiB)")
    )  # fmt: skip
    print(row("email notifications/s (anchor: smtplib)", mails, smtplib_mails, "/s"))
    print(
        f"\nFrames received: bridge {bridge.received:,} of {bridge.expected:,}, anchor "
        f"{anchor.received:,} of {anchor.expected:,}. "
        f"POST -> 202 p50 {percentile(bridge.answers_ms, 50):.1f} ms, p99 "
        f"{percentile(bridge.answers_ms, 99):.1f} ms. Posts behind schedule by > 50 ms: bridge "
        f"{bridge.behind_schedule}, anchor {anchor.behind_schedule}."
    )
    return 0 if bridge.received == bridge.expected else 1


if __name__ == "__main__":
    sys.exit(main())
