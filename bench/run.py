"""`make bench`: git kosli against plain git on synthetic repositories; one table of medians, memory, ratios.

Not part of `make test`. Sizes: `make bench SIZES=10000,100000,1000000` (default 10000,100000).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import kosli_requests, synthetic

WORK = Path(os.environ.get("BENCH_DIR", Path(__file__).resolve().parents[1] / ".bench"))
RUNS = 5
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
       "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
       "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}


@dataclass
class Timing:
    median: float
    peak_mb: float


def measure(command: list[str] | Callable[[], None], cwd: Path, *, setup: Callable[[], None] | None = None,
            stdin: str | None = None, runs: int = RUNS) -> Timing:
    """Median wall time of `runs` runs, and the peak resident memory of the command's processes."""
    times, peaks = [], []
    for _ in range(runs):
        if setup:
            setup()
        if callable(command):
            start = time.perf_counter()
            command()
            times.append(time.perf_counter() - start)
            peaks.append(0.0)
            continue
        probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                 "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, "
                 "input=sys.stdin.read().encode()); "
                 "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode, "
                 "r.stderr.decode()[-300:].replace(chr(10), ' '))")
        out = subprocess.run([sys.executable, "-c", probe, *command], cwd=cwd, env=ENV, input=stdin or "",
                             capture_output=True, text=True, check=True).stdout.split(maxsplit=3)
        if int(out[2]) not in (0, 1):  # 1 is a "no" answer (diff); anything else means the figure is meaningless
            raise SystemExit(f"{' '.join(command)} failed (exit {out[2]}): {out[3] if len(out) > 3 else ''}")
        times.append(float(out[0]))
        peaks.append(int(out[1]) / 1024)
    return Timing(statistics.median(times), max(peaks))


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=True).stdout


def where_baseline(repo: Path, sha: str) -> Callable[[], None]:
    """The same answer as `git kosli where`, with one `git merge-base --is-ancestor` per snapshot."""
    from git_kosli.model import EnvName
    from git_kosli.store import Store, store_path

    with Store(store_path(repo / ".git"), create=False) as store:
        runs = [[a.provenance[0].git_commit for a in s.artifacts if a.flow == "service-ci"]
                for env in synthetic.ENVIRONMENTS for s in store.history(EnvName(env))]

    def run() -> None:
        for commits in runs:
            for commit in commits:
                subprocess.run(["git", "merge-base", "--is-ancestor", sha, commit], cwd=repo, env=ENV)

    return run


def diff_baseline(repo: Path, left: str, right: str) -> Callable[[], None]:
    def run() -> None:
        git(repo, "rev-list", "--count", left, f"^{right}")
        git(repo, "rev-list", "--count", right, f"^{left}")

    return run


def main() -> None:
    """Build the repositories, measure every command against its baseline, print the table."""
    # Measure what users run: bytecode compiled once, as pip does on install (even if this
    # shell sets PYTHONDONTWRITEBYTECODE, which would otherwise recompile on every run).
    package = Path(__file__).resolve().parents[1] / "git_kosli"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    sizes = [int(s) for s in os.environ.get("SIZES", "10000,100000").split(",")]
    rows: list[list[str]] = []
    notes: list[str] = []

    def row(name: str, size: int | str, ours: Timing, base: Timing | None, target: str) -> None:
        ratio = f"{ours.median / base.median:.2f}x" if base and base.median else "-"
        rows.append([name, str(size), f"{ours.median * 1000:.0f} ms", f"{ours.peak_mb:.0f} MB",
                     f"{base.median * 1000:.0f} ms" if base else "-", ratio, target])
        print(" | ".join(rows[-1]), flush=True)

    version = measure(["git", "kosli", "--version"], WORK if WORK.exists() else Path.cwd())
    row("git kosli --version", "-", version, measure([sys.executable, "-c", "pass"], Path.cwd()), "< 150 ms")
    where_times: dict[int, float] = {}
    for size in sizes:
        repo = WORK / f"repo-{size}"
        WORK.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        builds = synthetic.build(repo, size)
        print(f"# built {size} commits in {time.perf_counter() - started:.1f} s", flush=True)
        head = git(repo, "rev-parse", "main").strip()
        target = builds[len(builds) // 2]
        where = measure(["git", "kosli", "where", target], repo)
        where_times[size] = where.median
        base = measure(where_baseline(repo, target), repo, runs=1) if size <= 100_000 else None
        row("git kosli where SHA", size, where, base, "< 1 s, faster than plain git")
        diff = measure(["git", "kosli", "diff", "aws-prod", "aws-beta"], repo)
        from git_kosli.model import EnvName
        from git_kosli.store import Store, store_path

        with Store(store_path(repo / ".git"), create=False) as store:
            prod = store.history(EnvName("aws-prod"))[-1].artifacts[0].provenance[0].git_commit
            beta = store.history(EnvName("aws-beta"))[-1].artifacts[0].provenance[0].git_commit
        row("git kosli diff E1 E2", size, diff, measure(diff_baseline(repo, prod, beta), repo), "within 2x")
        line = f"refs/heads/main {head} refs/heads/main {'0' * 40}\n"
        row("git kosli pre-push", size, measure(["git", "kosli", "pre-push", "origin", "url"], repo, stdin=line),
            None, "< 300 ms")
        if size >= 10_000:
            bad = builds[-1]
            span = git(repo, "rev-list", "--first-parent", f"-{min(size // 10 * 9, 10_000)}", bad).split()
            good = span[-1]
            git(repo, "checkout", "--quiet", "--detach", bad)
            _range_snapshots(repo, good, bad)
            reset = lambda repo=repo: subprocess.run(["git", "bisect", "reset"], cwd=repo, env=ENV, capture_output=True)  # noqa: E731
            ours = measure(["git", "kosli", "bisect", "bench#1", "bench#2", "--no-checkout"], repo, setup=reset)
            plain = measure(["git", "bisect", "start", "--no-checkout", bad, good], repo, setup=reset)
            reset()
            row(f"git kosli bisect ({len(git(repo, 'rev-list', bad, f'^{good}').split())} commits)", size, ours,
                plain, "within 1.5x + 0.2 s")
            if size == sizes[0]:
                notes.extend(kosli_requests.report(*kosli_requests.bisect_requests(repo, good, bad)))
        if size == 10_000:
            drop = lambda repo=repo: subprocess.run(["git", "update-ref", "-d", "refs/notes/kosli"], cwd=repo, env=ENV)  # noqa: E731
            row("git kosli notes", size, measure(["git", "kosli", "notes"], repo, setup=drop, runs=3), None,
                "< 5 s, one notes commit")
    if 100_000 in where_times and 1_000_000 in where_times:
        scale = where_times[1_000_000] / where_times[100_000]
        print(f"# where scaling 1,000,000 vs 100,000 commits: {scale:.1f}x (target <= 10x)")
    print("\n".join(notes))
    print()
    print("| command | commits | median (5 runs) | peak memory | plain git | ratio | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def _range_snapshots(repo: Path, good: str, bad: str) -> None:
    """An environment `bench` whose #1 ran `good` and #2 runs `bad`, for the bisect measure."""
    from git_kosli.model import EnvName
    from git_kosli.store import Store, store_path

    with Store(store_path(repo / ".git")) as store:
        if store.latest_index(EnvName("bench")) == 0:
            store.put_snapshots(synthetic.range_snapshots(good, bad))


if __name__ == "__main__":
    if "--clean" in sys.argv:
        shutil.rmtree(WORK, ignore_errors=True)
    main()
