"""Timing a command, alone or interleaved with its plain-git anchor (A B A B ...).

Interleaving makes a noisy machine (2 shared cores) slow both sides of a pair together, so the
median of the pairwise ratios is steadier than the ratio of two medians taken minutes apart.
Each run is one process started from here and reaped with `os.wait4`, which gives its own peak
resident memory (with the processes it waited for) rather than the largest of any run so far.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PAIRS = int(os.environ.get("BENCH_PAIRS", "7"))


@dataclass
class Timing:
    """The median wall time of the runs, and the largest resident memory of any of them."""

    median: float
    peak_mb: float


@dataclass
class Pair:
    """Both sides of an interleaved measure: their medians and the median of the pairwise ratios."""

    ours: Timing
    anchor: Timing
    ratio: float


def run_once(command: Sequence[str], cwd: Path, env: dict[str, str], stdin: str = "") -> tuple[float, float]:
    """Seconds and peak MB of one run; exits the benchmark when the command fails (its figure would mean nothing).

    Exit 1 is a "no" answer (diff, where) and counts as a run.
    """
    with tempfile.TemporaryFile() as given, tempfile.TemporaryFile() as errors:
        given.write(stdin.encode())
        given.seek(0)
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=given, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0, 1):
            errors.seek(0)
            said = errors.read().decode(errors="replace")[-400:].replace("\n", " ")
            raise SystemExit(f"{' '.join(command)} failed (exit {process.returncode}): {said}")
    return elapsed, usage.ru_maxrss / 1024


def repeated(
    command: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    *,
    runs: int = PAIRS,
    setup: Callable[[], object] | None = None,
    stdin: str = "",
) -> Timing:
    """The median of `runs` runs of one command, with `setup` (untimed) before each."""
    times, peaks = [], []
    for _ in range(runs):
        if setup:
            setup()
        seconds, peak = run_once(command, cwd, env, stdin)
        times.append(seconds)
        peaks.append(peak)
    return Timing(statistics.median(times), max(peaks))


def interleaved(
    ours: Sequence[str],
    anchor: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    *,
    pairs: int = PAIRS,
    setup: Callable[[], object] | None = None,
    stdin: str = "",
) -> Pair:
    """`pairs` runs of each side, alternating A B A B; `setup` (untimed) before every run of either side.

    One run of each side first is not counted: it warms the page cache and the Kosli cache.
    """
    times: tuple[list[float], list[float]] = ([], [])
    peaks: tuple[list[float], list[float]] = ([], [])
    for run in range(pairs + 1):
        for side, command in enumerate((ours, anchor)):
            if setup:
                setup()
            seconds, peak = run_once(command, cwd, env, stdin if side == 0 else "")
            if run:
                times[side].append(seconds)
                peaks[side].append(peak)
    ratio = statistics.median(a / b for a, b in zip(*times, strict=True))
    return Pair(
        Timing(statistics.median(times[0]), max(peaks[0])),
        Timing(statistics.median(times[1]), max(peaks[1])),
        ratio,
    )
