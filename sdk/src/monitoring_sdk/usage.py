"""Resources a block of code used: wall time, CPU seconds (with waited-for children), peak memory."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import psutil

if sys.platform != "win32":
    import resource


@dataclass(frozen=True)
class Usage:
    duration_s: float
    cpu_seconds: float
    memory_bytes: int  # the process's peak resident set size up to the end of the block
    memory_peak_delta_bytes: int  # how much that peak grew during the block


def peak_rss_bytes(process: psutil.Process) -> int:
    """High-water mark of resident memory: getrusage where there is one, else the current RSS."""
    if sys.platform == "win32":
        info = process.memory_info()
        return int(getattr(info, "peak_wset", info.rss))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


class UsageMeter:
    """`start()` at the beginning of a block, `stop()` at its end."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._t0 = time.perf_counter()
        self._cpu0 = _cpu_seconds(self._process)
        self._peak0 = peak_rss_bytes(self._process)

    def stop(self) -> Usage:
        duration = time.perf_counter() - self._t0
        cpu = max(0.0, _cpu_seconds(self._process) - self._cpu0)
        peak = peak_rss_bytes(self._process)
        return Usage(
            duration_s=round(duration, 6),
            cpu_seconds=round(cpu, 6),
            memory_bytes=peak,
            memory_peak_delta_bytes=max(0, peak - self._peak0),
        )
