"""`make bench`: git kosli against plain git on synthetic repositories; one table of medians, memory, ratios.

Not part of `make test`. Sizes: `make bench SIZES=10000,100000` (default 10000,100000,1000000).
Each size is measured with a single commit-graph file and with a split chain of layers (rows
`N split`); `GRAPHS=single` (or `split`) measures one kind only.
Every command runs from a real (not editable) install of this checkout in `.bench/venv`, as users
run it, against the embedded store and against the loopback Kosli server (cache warm).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import kosli_requests, synthetic  # noqa: E402 - the checkout's own packages, after the path is set
from git_kosli.model import Snapshot  # noqa: E402
from tests.kosli_server import KosliServer  # noqa: E402

WORK = Path(os.environ.get("BENCH_DIR", ROOT / ".bench"))
VENV = WORK / "venv"
RUNS = 5
ENV = {
    **os.environ,
    "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ['PATH']}",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}
for _name in [n for n in ENV if n.startswith("KOSLI_")]:
    del ENV[_name]  # the embedded store unless a row says otherwise


@dataclass
class Timing:
    """The median of the runs, and the largest resident memory of any process of any run."""

    median: float
    peak_mb: float


@dataclass
class Row:
    """One line of the table; `met` is None where the issue sets no target for this size."""

    command: str
    source: str
    size: str
    ours: Timing
    base: Timing | None
    target: str
    met: bool | None

    def cells(self) -> list[str]:
        ratio = f"{self.ours.median / self.base.median:.2f}x" if self.base and self.base.median else "-"
        met = "-" if self.met is None else ("yes" if self.met else "no")
        return [
            self.command,
            self.source,
            self.size,
            f"{self.ours.median * 1000:.0f} ms",
            f"{self.ours.peak_mb:.0f} MB",
            f"{self.base.median * 1000:.0f} ms" if self.base else "-",
            ratio,
            self.target,
            met,
        ]


def install() -> None:
    """This checkout, installed as a user would (`pip install .`, bytecode compiled) into `.bench/venv`."""
    if not (VENV / "bin" / "git-kosli").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT)], check=True)
    else:  # dependencies are there: reinstall only the package, so the figures are of this checkout
        subprocess.run(
            [
                str(VENV / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--force-reinstall",
                str(ROOT),
            ],
            check=True,
        )


def measure(
    command: list[str] | Callable[[], None],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    setup: Callable[[], None] | None = None,
    stdin: str | None = None,
    runs: int = RUNS,
    warm: bool = False,
) -> Timing:
    """Median wall time of `runs` runs, and the peak resident memory of the command's processes.

    `warm`: one run first that is not counted (fills the Kosli cache).
    """
    times, peaks = [], []
    for run in range(runs + warm):
        if setup:
            setup()
        if callable(command):
            start = time.perf_counter()
            command()
            times.append(time.perf_counter() - start)
            peaks.append(0.0)
            continue
        probe = (
            "import resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, "
            "input=sys.stdin.read().encode()); "
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode, "
            "r.stderr.decode()[-300:].replace(chr(10), ' '))"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe, *command],
            cwd=cwd,
            env=env or ENV,
            input=stdin or "",
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split(maxsplit=3)
        if int(out[2]) not in (0, 1):  # 1 is a "no" answer (diff); anything else means the figure is meaningless
            raise SystemExit(f"{' '.join(command)} failed (exit {out[2]}): {out[3] if len(out) > 3 else ''}")
        if warm and run == 0:
            continue
        times.append(float(out[0]))
        peaks.append(int(out[1]) / 1024)
    return Timing(statistics.median(times), max(peaks))


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` and return its stdout."""
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=True).stdout


def where_baseline(repo: Path, snapshots: list[Snapshot], sha: str) -> Callable[[], None]:
    """The same answer as `git kosli where`, with one `git merge-base --is-ancestor` per snapshot."""
    runs = [[p.git_commit for a in s.artifacts for p in a.provenance if p.flow == "service-ci"] for s in snapshots]

    def run() -> None:
        for commits in runs:
            for commit in commits:
                subprocess.run(["git", "merge-base", "--is-ancestor", sha, commit], cwd=repo, env=ENV)

    return run


def diff_baseline(repo: Path, left: str, right: str) -> Callable[[], None]:
    """`git rev-list --count` both ways for the one artifact of this repository that differs."""

    def run() -> None:
        git(repo, "rev-list", "--count", left, f"^{right}")
        git(repo, "rev-list", "--count", right, f"^{left}")

    return run


def log_baseline(repo: Path, snapshots: list[Snapshot], env: str) -> Callable[[], None]:
    """What `git kosli log ENV` says of each deploy, by hand: `git rev-list --count --left-right` per snapshot."""
    commits = [s.artifacts[0].provenance[0].git_commit for s in snapshots if s.ref.env == env]
    pairs = [(old, new) for old, new in pairwise(commits) if old != new]

    def run() -> None:
        for old, new in pairs:
            git(repo, "rev-list", "--count", "--left-right", f"{old}...{new}")

    return run


def within_bisect_target(ours: Timing, base: Timing | None) -> bool:
    """The issue's bisect target: within 1.5x of `git bisect start`, plus 0.2 s."""
    return base is not None and ours.median <= 1.5 * base.median + 0.2


def _snapshots(repo: Path) -> list[Snapshot]:
    """Every snapshot of the three synthetic environments, read once per repository."""
    from git_kosli.model import EnvName
    from git_kosli.sources.store import Store, store_path

    with Store(store_path(repo / ".git"), create=False) as store:
        return [s for env in synthetic.ENVIRONMENTS for s in store.history(EnvName(env))]


def _latest_commit(snapshots: list[Snapshot], env: str) -> str:
    return next(s for s in reversed(snapshots) if s.ref.env == env).artifacts[0].provenance[0].git_commit


@contextmanager
def sources(snapshots: list[Snapshot], good: str, bad: str) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """The two ways to read the snapshots: the embedded store, and a loopback Kosli org serving the same ones."""
    with KosliServer(org="bench") as server:
        server.add(*snapshots)
        server.add(*synthetic.range_snapshots(good, bad))
        yield [("store", ENV), ("kosli", {**ENV, **server.env()})]


def measure_size(size: int, rows: list[Row], notes: list[str], *, split: bool = False) -> float:
    """Every measure at one repository size; returns the median `where` time from the store.

    `split`: the repository's commit-graph is a chain of layers; the measures that do not read
    commit ancestry (notes, request counts, the whole history) are made on the single file only.
    """
    repo = WORK / f"repo-{size}{'-split' if split else ''}"
    started = time.perf_counter()
    builds = synthetic.build(repo, size, split=split)
    print(
        f"# {size} commits ({'split' if split else 'single'} graph) ready in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    drop = lambda: subprocess.run(["git", "update-ref", "-d", "refs/notes/kosli"], cwd=repo, env=ENV)  # noqa: E731
    drop()  # each run starts from the notes its own bisects write
    head = git(repo, "rev-parse", "main").strip()
    target = builds[len(builds) // 2]
    bad = builds[-1]
    good = git(repo, "rev-list", "--first-parent", f"-{min(size // 10 * 9, 10_000)}", bad).split()[-1]
    git(repo, "checkout", "--quiet", "--detach", bad)
    _range_snapshots(repo, good, bad)
    span = len(git(repo, "rev-list", bad, f"^{good}").split())
    snapshots = _snapshots(repo)
    reset = lambda: subprocess.run(["git", "bisect", "reset"], cwd=repo, env=ENV, capture_output=True)  # noqa: E731
    label = f"{size:,}{' split' if split else ''}"

    def add(
        command: str,
        source: str,
        ours: Timing,
        base: Timing | None,
        target: str,
        met: Callable[[Timing, Timing | None], bool],
        *,
        at: int | None = None,
    ) -> None:
        """One row; `at`: the size the issue sets the target for (judged there only)."""
        judged = at is None or at == size
        _add(
            rows,
            Row(
                command,
                source,
                label,
                ours,
                base,
                target if judged else f"({target} at {at:,})",
                met(ours, base) if judged else None,
            ),
        )

    where_base = measure(where_baseline(repo, snapshots, target), repo, runs=1) if size <= 100_000 else None
    prod, beta = _latest_commit(snapshots, "aws-prod"), _latest_commit(snapshots, "aws-beta")
    diff_base = measure(diff_baseline(repo, prod, beta), repo)
    log_base = measure(log_baseline(repo, snapshots, "aws-prod"), repo, runs=1)
    bisect_base = measure(["git", "bisect", "start", "--no-checkout", bad, good], repo, setup=reset)
    where_store = 0.0
    with sources(snapshots, good, bad) as ways:
        for source, env in ways:
            warm = source == "kosli"
            where = measure(["git", "kosli", "where", target], repo, env=env, warm=warm)
            where_store = where.median if source == "store" else where_store
            add(
                "where SHA",
                source,
                where,
                where_base,
                "< 1 s, faster than git",
                lambda t, b: t.median < 1 and (b is None or t.median < b.median),
                at=100_000,
            )
            add(
                "diff aws-prod aws-beta",
                source,
                measure(["git", "kosli", "diff", "aws-prod", "aws-beta"], repo, env=env, warm=warm),
                diff_base,
                "within 2x",
                lambda t, b: b is not None and t.median <= 2 * b.median,
                at=100_000,
            )
            _add(
                rows,
                Row(
                    f"log aws-prod ({synthetic.SNAPSHOTS} snapshots)",
                    source,
                    label,
                    measure(["git", "kosli", "log", "aws-prod"], repo, env=env, warm=warm),
                    log_base,
                    "-",
                    None,
                ),
            )
            line = f"refs/heads/main {head} refs/heads/main {'0' * 40}\n"
            add(
                "pre-push",
                source,
                measure(["git", "kosli", "pre-push", "origin", "url"], repo, env=env, stdin=line, warm=warm),
                None,
                "< 300 ms",
                lambda t, b: t.median < 0.3,
                at=100_000,
            )
            ours = measure(
                ["git", "kosli", "bisect", "bench#1", "bench#2", "--no-checkout"], repo, env=env, setup=reset, warm=warm
            )
            add(f"bisect ({span:,} commits)", source, ours, bisect_base, "within 1.5x + 0.2 s", within_bisect_target)
            reset()
    if size == 10_000 and not split:
        cold = measure(
            ["git", "kosli", "bisect", "bench#1", "bench#2", "--no-checkout"], repo, setup=lambda: (reset(), drop())
        )
        reset()
        add(
            f"first bisect ({span:,} commits, no notes yet)",
            "store",
            cold,
            bisect_base,
            "within 1.5x + 0.2 s",
            within_bisect_target,
        )
        timing = measure(["git", "kosli", "notes"], repo, setup=drop, runs=3)
        commits = int(git(repo, "rev-list", "--count", "refs/notes/kosli").strip())
        add(
            f"notes ({len(git(repo, 'notes', '--ref=kosli', 'list').splitlines()):,} commits)",
            "store",
            timing,
            None,
            "< 5 s, one notes commit",
            lambda t, b: t.median < 5 and commits == 1,
        )
        notes.extend(kosli_requests.report(*kosli_requests.bisect_requests(repo, good, bad, env=ENV)))
    if size == 1_000_000 and not split:
        whole_history(repo, rows, label, bisect_base, reset, drop)
    return where_store


def whole_history(
    repo: Path,
    rows: list[Row],
    label: str,
    bisect_base: Timing,
    reset: Callable[[], object],
    drop: Callable[[], object],
) -> None:
    """`git kosli notes` over every commit (written, then up to date), and a bisect among a million notes."""
    written = measure(["git", "kosli", "notes"], repo, setup=drop, runs=1)
    count = len(git(repo, "notes", "--ref=kosli", "list").splitlines())
    _add(
        rows,
        Row(
            f"notes, whole history ({count:,} commits)",
            "store",
            label,
            written,
            None,
            "< 300 MB",
            written.peak_mb < 300,
        ),
    )
    again = measure(["git", "kosli", "notes"], repo, runs=3)
    _add(rows, Row("notes, whole history, up to date", "store", label, again, None, "< 300 MB", again.peak_mb < 300))
    among = measure(["git", "kosli", "bisect", "bench#1", "bench#2", "--no-checkout"], repo, setup=reset)
    reset()
    _add(
        rows, Row(f"bisect among {count:,} notes", "store", label, among, bisect_base, "< 300 MB", among.peak_mb < 300)
    )
    drop()


def main() -> None:
    """Install, build the repositories, measure every command against its baseline, print the table."""
    sizes = [int(s) for s in os.environ.get("SIZES", "10000,100000,1000000").split(",")]
    began = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    install()
    rows: list[Row] = []
    notes: list[str] = []
    version = measure(["git", "kosli", "--version"], WORK)
    python = measure([str(VENV / "bin" / "python"), "-c", "pass"], WORK)
    _add(rows, Row("--version", "-", "-", version, python, "< 150 ms", version.median < 0.15))
    graphs = os.environ.get("GRAPHS", "single,split").split(",")
    where = {size: measure_size(size, rows, notes) for size in sizes if "single" in graphs}
    for size in sizes if "split" in graphs else []:
        measure_size(size, rows, notes, split=True)
    largest = max(sizes)
    peak = max(r.ours.peak_mb for r in rows if r.size.startswith(f"{largest:,}"))
    notes.append(f"# peak memory of any command at {largest:,} commits: {peak:.0f} MB (target < 300 MB)")
    if 100_000 in where and 1_000_000 in where:
        notes.append(f"# where, 1,000,000 vs 100,000 commits: {where[1_000_000] / where[100_000]:.1f}x (target <= 10x)")
    notes.append(f"# whole benchmark: {time.perf_counter() - began:.0f} s")
    print("\n".join(notes))
    print()
    print("| command | source | commits | median (5 runs) | peak memory | plain git | ratio | target | met |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r.cells()) + " |")


def _add(rows: list[Row], row: Row) -> None:
    """Keep a row for the final table, and print it as soon as it is measured."""
    rows.append(row)
    print(" | ".join(row.cells()), flush=True)


def _range_snapshots(repo: Path, good: str, bad: str) -> None:
    """An environment `bench` whose #1 ran `good` and #2 runs `bad`, for the bisect measure."""
    from git_kosli.model import EnvName
    from git_kosli.sources.store import Store, store_path

    with Store(store_path(repo / ".git")) as store:
        if store.latest_index(EnvName("bench")) == 0:
            store.put_snapshots(synthetic.range_snapshots(good, bad))


if __name__ == "__main__":
    if "--clean" in sys.argv:
        shutil.rmtree(WORK, ignore_errors=True)
    main()
