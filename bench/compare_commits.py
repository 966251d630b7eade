"""The bridge bench for several commits, alternating, on this machine: medians and ranges side by side.

    .venv/bin/python bench/compare_commits.py [--rounds 3] COMMIT [COMMIT ...] [-- BRIDGE_BENCH_ARGS ...]

Each commit is checked out in a temporary git worktree; `bridge_bench.py` of this checkout runs against
each one's bridge in turn (`PYTHONPATH=<worktree>/pushgateway-bridge/src:<worktree>/common/src`, so the
bench, wrk's scripts and the strict Loki receiver are the same for all), round after round. On a shared
VM the machine's speed drifts over minutes: alternating spreads that drift over every commit alike, and
the ratios between columns are what to read (bench/README.md). Every run's own report is printed as it
ends; the table of medians comes last. Example, as in bench/README.md's issue 17 rounds:

    .venv/bin/python bench/compare_commits.py 94f3511 HEAD -- --loki-duration 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "bridge_bench.py"
# The figures of bridge_bench.py's --json that the table shows, with their labels, in this order.
SHOWN = {
    "batch_events_per_second": "batches: events/s",
    "batch_p99_ms": "... p99 ms",
    "batch_cpu_ms_per_batch": "... CPU ms a batch (both processes)",
    "loki_events_per_second": "batches with Loki: events/s accepted",
    "loki_p99_ms": "... p99 ms",
    "loki_backlog_middle": "... Loki backlog, median of the middle third",
    "loki_backlog_last": "... of the last third",
    "scheduler_requests_per_second": "heartbeats + status: requests/s",
    "scheduler_ratio_to_pushgateway": "... ratio to the anchor's requests/s",
    "scheduler_p99_ms": "... p99 ms",
    "scheduler_cpu_ms_per_request": "... CPU ms a request (both processes)",
    "anchor_requests_per_second": "anchor: PUT straight to Pushgateway, requests/s",
    "errors": "errors (wrk and Loki refusals)",
}


def short_id(commit: str) -> str | None:
    """The commit's short id, or None if git knows no such commit."""
    found = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", "--short", f"{commit}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() if found.returncode == 0 else None


def worktree(name: str, into: Path) -> Path:
    """Commit `name` checked out under `into`."""
    path = into / name
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), name],
        capture_output=True,
        check=True,
    )
    return path


def run(path: Path, bench_args: list[str], out: Path) -> dict[str, float]:
    src = [path / "pushgateway-bridge" / "src", path / "common" / "src"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(part) for part in src)}
    subprocess.run([sys.executable, str(BENCH), *bench_args, "--json", str(out)], env=env, check=True)
    figures: dict[str, float] = json.loads(out.read_text())
    return figures


def cell(values: list[float]) -> str:
    def number(value: float) -> str:
        # Three decimals below 1: a ratio of 0.197 must not read as 0.20 beside a target of 0.2.
        if abs(value) >= 100 or float(value).is_integer():
            return f"{value:,.0f}"
        return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"

    middle = number(statistics.median(values))
    return middle if len(values) == 1 else f"{middle} ({number(min(values))}-{number(max(values))})"


def table(names: list[str], runs: dict[str, list[dict[str, float]]]) -> str:
    lines = ["| figure | " + " | ".join(names) + f" | {names[-1]} / {names[0]} |"]
    lines.append("| --- |" + " ---: |" * (len(names) + 1))
    for key, label in SHOWN.items():
        values = [[figures[key] for figures in runs[name]] for name in names]
        first, last = statistics.median(values[0]), statistics.median(values[-1])
        ratio = cell([last / first]) if first else "-"
        lines.append(f"| {label} | " + " | ".join(cell(column) for column in values) + f" | {ratio} |")
    return "\n".join(lines)


def main() -> int:
    argv = sys.argv[1:]
    bench_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each commit, alternating")
    parser.add_argument("commits", nargs="+", help="the first is the one the last column divides by")
    args = parser.parse_args(own)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    names = []
    for commit in args.commits:
        name = short_id(commit)
        if name is None:
            parser.error(f"not a commit: {commit}")
        names.append(name)
    if len(set(names)) != len(names):
        parser.error("a commit is named twice")
    with tempfile.TemporaryDirectory(prefix="compare-commits-") as tmp_dir:
        tmp = Path(tmp_dir)
        trees: list[tuple[str, Path]] = []
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        try:
            trees.extend((name, worktree(name, tmp)) for name in names)
            for round_number in range(1, args.rounds + 1):
                for name, path in trees:
                    print(f"\n# {name}, round {round_number} of {args.rounds}", flush=True)
                    runs[name].append(run(path, bench_args, tmp / f"{name}-{round_number}.json"))
        finally:
            for _, path in trees:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                    capture_output=True,
                    check=False,
                )
    print(f"\n## Medians of {args.rounds} rounds (ranges), alternating\n")
    print(table(names, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
