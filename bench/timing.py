"""Timing a command, alone or interleaved with its plain-git anchor (A B A B ...).

Interleaving makes a noisy machine (2 shared cores) slow both sides of a pair together, so the
median of the pairwise ratios is steadier than the ratio of two medians taken minutes apart.
Each run is one process started by a small launcher process and reaped with `os.wait4`, which
gives that run's own peak resident memory rather than the largest of any run so far.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
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


LAUNCHER = """
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["stdin"], "rb") as given, open(job["stderr"], "wb") as errors:
        start = time.perf_counter()
        process = subprocess.Popen(
            job["argv"], cwd=job["cwd"], env=job["env"], stdin=given, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    print(json.dumps([elapsed, usage.ru_maxrss, process.returncode]), flush=True)
"""


class Launcher:
    """A small Python process that starts every timed run, so a run's peak memory is its own.

    Linux counts the memory of the process that forks a command in the command's peak resident
    memory (`ru_maxrss`); the benchmark itself grows to hundreds of MB building a large repository,
    the launcher stays at about 10 MB.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None

    def run(self, command: Sequence[str], cwd: Path, env: dict[str, str], stdin: str) -> tuple[float, float, int, str]:
        """Seconds, peak MB, exit code and the end of stderr of one run."""
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
        assert self._process.stdin is not None and self._process.stdout is not None
        with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
            given, errors = Path(folder) / "stdin", Path(folder) / "stderr"
            given.write_text(stdin)
            job = {"argv": list(command), "cwd": str(cwd), "env": env, "stdin": str(given), "stderr": str(errors)}
            self._process.stdin.write(json.dumps(job) + "\n")
            self._process.stdin.flush()
            seconds, peak_kb, code = json.loads(self._process.stdout.readline())
            said = errors.read_text(errors="replace")[-400:].replace("\n", " ")
        return seconds, peak_kb / 1024, code, said


LAUNCH = Launcher()


def run_once(command: Sequence[str], cwd: Path, env: dict[str, str], stdin: str = "") -> tuple[float, float]:
    """Seconds and peak MB of one run; exits the benchmark when the command fails (its figure would mean nothing).

    Exit 1 is a "no" answer (diff, where) and counts as a run.
    """
    seconds, peak, code, said = LAUNCH.run(command, cwd, env, stdin)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed (exit {code}): {said}")
    return seconds, peak


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
