"""`make bench`: git kosli against its plain-git anchor, run alternately; one markdown table.

Not part of `make test`. Every command runs from a real (not editable, bytecode compiled) install
of this checkout in `.bench/venv`, as users run it, against the embedded store and against the
loopback Kosli server (cache warm). Each row runs the git kosli command and its anchor alternately
(A B A B, BENCH_PAIRS pairs, default 7) and gives both medians and the median of the pairwise ratios.

- `SIZES=10000,100000` synthetic sizes (default 10000,100000,1000000; `SIZES=` none), each with a
  single commit-graph file and a split chain of layers (rows `N split`; `GRAPHS=single` or `split`).
- `BENCH_REPO=path/to/a/clone`: the same rows on a real history (see bench/real.py).
- `BENCH_ROWS=where,log`: only the rows whose command starts with one of these words.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import anchors, kosli_requests, real, synthetic  # noqa: E402 - the checkout's own packages
from bench.anchors import Anchor  # noqa: E402
from bench.timing import PAIRS, Pair, Timing, interleaved, repeated  # noqa: E402
from git_kosli.model import EnvName, FlowArtifact, Snapshot  # noqa: E402
from git_kosli.sources.store import Store, store_path  # noqa: E402
from tests.kosli_server import KosliServer  # noqa: E402

WORK = Path(os.environ.get("BENCH_DIR", ROOT / ".bench"))
VENV = WORK / "venv"
MILLION = 1_000_000
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
ENV.pop("PYTHONDONTWRITEBYTECODE", None)


@dataclass
class Row:
    """One line of the table, as printed; `met` is None where no target applies."""

    command: str
    source: str
    commits: str
    ours: str
    anchor: str = "-"
    ratio: str = "-"
    target: str = "-"
    met: bool | None = None

    def cells(self) -> list[str]:
        met = "-" if self.met is None else ("yes" if self.met else "no")
        return [self.command, self.source, self.commits, self.ours, self.anchor, self.ratio, self.target, met]


@dataclass
class Scene:
    """A repository to measure and the Kosli data over it.

    `size`: the synthetic size (None for a real history); `old`/`new`: the snapshots bisected, which
    ran `good` and `bad`; `pushed`: the commit the pre-push row pushes, as `ref`.
    """

    repo: Path
    git_dir: Path
    label: str
    size: int | None
    snapshots: list[Snapshot]
    target: str
    old: str
    new: str
    good: str
    bad: str
    pushed: str
    ref: str
    builds: list[FlowArtifact] = field(default_factory=list)

    @property
    def span(self) -> int:
        """The commits the bisect range holds."""
        return len(git(self.repo, "rev-list", self.bad, f"^{self.good}").split())

    def latest(self, env: str) -> str:
        """The commit of this repository's build the environment runs now."""
        last = next(s for s in reversed(self.snapshots) if s.env == env)
        return anchors.built_commit(last) or ""

    @property
    def environments(self) -> list[str]:
        return list(dict.fromkeys(s.env for s in self.snapshots))


def install() -> None:
    """This checkout, installed as a user would (`pip install .`) into `.bench/venv`, its bytecode compiled."""
    python = str(VENV / "bin" / "python")
    if not (VENV / "bin" / "git-kosli").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", str(ROOT)], check=True)
    else:  # dependencies are there: reinstall only the package, so the figures are of this checkout
        reinstall = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(ROOT)]
        subprocess.run(reinstall, check=True)
    package = subprocess.run(
        [python, "-I", "-c", "import git_kosli, os; print(os.path.dirname(git_kosli.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run([python, "-m", "compileall", "-q", package], check=True)


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` and return its stdout."""
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=True).stdout


def bisect_reset(repo: Path, *, notes: bool = False) -> None:
    """End any bisect (untimed, before each bisect run); `notes`: also drop the notes earlier bisects wrote."""
    subprocess.run(["git", "bisect", "reset"], cwd=repo, env=ENV, capture_output=True, check=False)
    if notes:
        drop_notes(repo)


def drop_notes(repo: Path) -> None:
    """Start from no notes, as a first bisect or `notes` does."""
    subprocess.run(["git", "update-ref", "-d", "refs/notes/kosli"], cwd=repo, env=ENV, check=False)


def wanted(command: str) -> bool:
    """Whether BENCH_ROWS (comma-separated first words) selects this row; all rows when unset."""
    words = [w.strip() for w in os.environ.get("BENCH_ROWS", "").split(",") if w.strip()]
    return not words or any(command.startswith(w) for w in words)


def ms(seconds: float) -> str:
    """A time as the table shows it."""
    return f"{seconds:.1f} s" if seconds >= 10 else f"{seconds * 1000:,.0f} ms"


class Table:
    """The rows measured so far (each printed as it comes) and the anchors they used."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.anchors: dict[str, tuple[list[str], str]] = {}  # shown -> (commands, what its values are)
        self.notes: list[str] = []
        self.peaks: dict[str, float] = {}

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(" | ".join(row.cells()), flush=True)

    def pair(
        self,
        command: str,
        source: str,
        commits: str,
        pair: Pair,
        anchor: Anchor,
        target: str,
        *,
        met: bool | None,
    ) -> None:
        """A row of an interleaved measure."""
        commands = self.anchors.setdefault(anchor.shown, ([], anchor.given))[0]
        if command.split(" (")[0] not in commands:
            commands.append(command.split(" (")[0])
        if commits != "-":
            self.peaks[commits] = max(self.peaks.get(commits, 0.0), pair.ours.peak_mb)
        self.add(
            Row(
                command,
                source,
                commits,
                ms(pair.ours.median),
                ms(pair.anchor.median),
                f"{pair.ratio:.2f}x",
                target,
                met,
            )
        )

    def print(self) -> None:
        print("\n".join(self.notes))
        print()
        print("| command | source | commits | git kosli | plain git | ratio | target | met |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for row in self.rows:
            print("| " + " | ".join(row.cells()) + " |")
        print()
        print("The plain-git anchors (a script runs as `sh -c SCRIPT sh VALUES...`):")
        for shown, (commands, given) in self.anchors.items():
            print(f"- {', '.join(commands)}: `{shown}`" + (f" ({given})" if given else ""))


@contextmanager
def sources(scene: Scene) -> Iterator[list[tuple[str, dict[str, str], KosliServer | None]]]:
    """The two ways to read the snapshots: the embedded store, and a loopback Kosli org serving the same ones."""
    for cache in (scene.git_dir / "kosli").glob("cache-*.sqlite*"):  # each run fills its own cache
        cache.unlink()
    with KosliServer(org="bench") as server:
        server.add(*scene.snapshots)
        server.add_builds(*scene.builds)
        fresh = {"KOSLI_FETCH_MAX_AGE": "86400"}  # a warm read: what was fetched answers, as within kosli.fetch.maxAge
        yield [("store", ENV, None), ("kosli", {**ENV, **server.env(), **fresh}, server)]


def at_million(scene: Scene, rule: str, bound: str) -> str:
    """A target, with the issue's "no slower than today" bound added on the 1M-commit synthetic rows."""
    return f"{rule}; {bound} at 1M" if scene.size == MILLION else rule


@dataclass(frozen=True)
class Check:
    """One row of issue #22: a git kosli command, its plain-git anchor, its target and how it is judged.

    `bisects`: a bisect is reset (untimed) before every run of either side.
    """

    command: str
    ours: tuple[str, ...]
    anchor: Anchor
    target: str
    met: Callable[[Pair], bool]
    stdin: str = ""
    bisects: bool = False


def checks(scene: Scene, folder: Path) -> list[Check]:
    """The rows of the issue's table for this repository (the anchors' refs and files made in `folder`)."""
    big = scene.size == MILLION
    prod = [s for s in scene.snapshots if s.env == "aws-prod"]
    running = [scene.latest(e) for e in scene.environments]
    log_anchor, log_pairs = anchors.log(prod, folder)
    push = f"{scene.ref} {scene.pushed} {scene.ref} {'0' * 40}\n"
    return [
        Check(
            "where SHA",
            ("git", "kosli", "where", scene.target),
            anchors.where(scene.repo, ENV, scene.snapshots, scene.target, folder),
            at_million(scene, "≤ 3x", "≤ 1,010 ms"),
            lambda p: p.ratio <= 3 and (not big or p.ours.median <= 1.010),
        ),
        Check(
            f"status ({len(running)} environments)",
            ("git", "kosli", "status"),
            anchors.counts("HEAD", running),
            "≤ 2x",
            lambda p: p.ratio <= 2,
        ),
        Check(
            "pre-push",
            ("git", "kosli", "pre-push", "origin", "url"),
            anchors.counts(scene.pushed, running),
            at_million(scene, "≤ 2x", "< 150 ms"),
            lambda p: p.ratio <= 2 and (not big or p.ours.median < 0.150),
            stdin=push,
        ),
        Check(
            "diff aws-prod aws-beta",
            ("git", "kosli", "diff", "aws-prod", "aws-beta"),
            anchors.diff(scene.latest("aws-prod"), scene.latest("aws-beta")),
            "≤ 3x",
            lambda p: p.ratio <= 3,
        ),
        Check(
            f"log aws-prod ({len(prod)} snapshots, {log_pairs} pairs)",
            ("git", "kosli", "log", "aws-prod"),
            log_anchor,
            "≤ 1.0x",
            lambda p: p.ratio <= 1.0,
        ),
        Check(
            f"bisect ({scene.span:,} commits)",
            ("git", "kosli", "bisect", scene.old, scene.new, "--no-checkout"),
            anchors.bisect(scene.good, scene.bad),
            at_million(scene, "≤ 1.5x + 0.1 s", "≤ 357 ms"),
            lambda p: within_bisect_target(p) and (not big or p.ours.median <= 0.357),
            bisects=True,
        ),
    ]


def within_bisect_target(pair: Pair) -> bool:
    """The issue's bisect target: within 1.5x of `git bisect start`, plus 0.1 s."""
    return pair.ours.median <= 1.5 * pair.anchor.median + 0.1


def measure_scene(scene: Scene, table: Table) -> float | None:
    """The rows of issue #22 on one repository, from both sources; returns the median `where` from the store."""
    reset = partial(bisect_reset, scene.repo)
    folder = WORK / f"anchors-{scene.repo.name}"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [c for c in checks(scene, folder) if wanted(c.command)]
    drop_notes(scene.repo)  # each run starts from the notes its own bisects write
    where_store = None
    with sources(scene) as ways:
        for source, env, _ in ways:
            for check in rows:
                setup = reset if check.bisects else None
                pair = interleaved(check.ours, check.anchor.argv, scene.repo, env, setup=setup, stdin=check.stdin)
                if check.bisects:
                    reset()
                if check.command == "where SHA" and source == "store":
                    where_store = pair.ours.median
                table.pair(check.command, source, scene.label, pair, check.anchor, check.target, met=check.met(pair))
        server = ways[1][2]
        if server is not None and (wanted("where") or wanted("requests")):
            requests_of_warm_where(scene, ways[1][1], server, table)
    return where_store


def requests_of_warm_where(scene: Scene, env: dict[str, str], server: KosliServer, table: Table) -> None:
    """How many requests a `where` sends to Kosli when the one before it filled the cache just now."""
    command = ["git", "kosli", "where", scene.target]
    subprocess.run(command, cwd=scene.repo, env=env, capture_output=True, check=False)
    server.requests.clear()
    subprocess.run(command, cwd=scene.repo, env=env, capture_output=True, check=False)
    sent = len(server.requests)
    kinds = ", ".join(sorted({kosli_requests.endpoint(r.path) for r in server.requests}))
    ours = f"{sent} requests" + (f" ({kinds})" if kinds else "")
    table.add(Row("where SHA, warm: requests sent", "kosli", scene.label, ours, target="0", met=sent == 0))


def synthetic_scene(size: int, *, split: bool) -> Scene:
    """A synthetic repository (built once), checked out at its last build, with `bench#1`/`bench#2` around a range."""
    repo = WORK / f"repo-{size}{'-split' if split else ''}"
    started = time.perf_counter()
    builds = synthetic.build(repo, size, split=split)
    kind = "split" if split else "single"
    print(f"# {size:,} commits ({kind} graph) ready in {time.perf_counter() - started:.1f} s", flush=True)
    bad = builds[-1]
    good = git(repo, "rev-list", "--first-parent", f"-{min(size // 10 * 9, 10_000)}", bad).split()[-1]
    git(repo, "checkout", "--quiet", "--detach", bad)
    with Store(store_path(repo / ".git")) as store:
        if store.latest_index(EnvName("bench")) == 0:
            store.put_snapshots(synthetic.range_snapshots(good, bad))
        snapshots = [s for env in (*synthetic.ENVIRONMENTS, "bench") for s in store.history(EnvName(env))]
    return Scene(
        repo=repo,
        git_dir=repo / ".git",
        label=f"{size:,}{' split' if split else ''}",
        size=size,
        snapshots=snapshots,
        target=builds[len(builds) // 2],
        old="bench#1",
        new="bench#2",
        good=good,
        bad=bad,
        pushed=git(repo, "rev-parse", "main").strip(),
        ref="refs/heads/main",
    )


def real_scene(source: Path) -> Scene:
    """The bench's copy of a real history, bisecting the aws-prod deploys around its last BISECT_BUILDS builds."""
    started = time.perf_counter()
    repo = real.prepare(source, WORK)
    builds = real.builds_of(repo)
    snapshots = real.snapshots(builds)
    commits = int(git(repo, "rev-list", "--count", "HEAD").strip())
    print(f"# {source} ({commits:,} commits) ready in {time.perf_counter() - started:.1f} s", flush=True)
    prod = [s for s in snapshots if s.env == "aws-prod"]
    position = {sha: n for n, sha in enumerate(builds)}
    newest = position[anchors.built_commit(prod[-1]) or ""]
    old = [s for s in prod if position[anchors.built_commit(s) or ""] <= newest - real.BISECT_BUILDS][-1]
    return Scene(
        repo=repo,
        git_dir=repo,
        label=f"{commits:,} ({source.resolve().name.removesuffix('.git')})",
        size=None,
        snapshots=snapshots,
        target=builds[len(builds) // 2],
        old=str(old.ref),
        new=str(prod[-1].ref),
        good=anchors.built_commit(old) or "",
        bad=anchors.built_commit(prod[-1]) or "",
        pushed=git(repo, "rev-parse", "HEAD").strip(),
        ref=git(repo, "symbolic-ref", "HEAD").strip(),
        builds=real.recorded(builds),
    )


def synthetic_extras(scene: Scene, table: Table) -> None:
    """At 10,000 commits: the first bisect (no notes yet), `notes`, and the requests of a cold and warm bisect."""
    repo = scene.repo
    reset, drop = partial(bisect_reset, repo), partial(drop_notes, repo)
    if wanted("bisect") or wanted("first"):
        both = partial(bisect_reset, repo, notes=True)
        pair = interleaved(
            ["git", "kosli", "bisect", "bench#1", "bench#2", "--no-checkout"],
            anchors.bisect(scene.good, scene.bad).argv,
            repo,
            ENV,
            setup=both,
        )
        reset()
        command = f"first bisect ({scene.span:,} commits, no notes yet)"
        anchor = anchors.bisect(scene.good, scene.bad)
        table.pair(command, "store", scene.label, pair, anchor, "≤ 1.5x + 0.1 s", met=within_bisect_target(pair))
    if wanted("notes"):
        timing = repeated(["git", "kosli", "notes"], repo, ENV, runs=3, setup=drop)
        commits = int(git(repo, "rev-list", "--count", "refs/notes/kosli").strip())
        noted = len(git(repo, "notes", "--ref=kosli", "list").splitlines())
        met = timing.median < 5 and commits == 1
        table.add(
            Row(
                f"notes ({noted:,} commits)",
                "store",
                scene.label,
                ms(timing.median),
                target="< 5 s, one notes commit",
                met=met,
            )
        )
    if wanted("bisect") or wanted("requests"):
        table.notes.extend(kosli_requests.report(*kosli_requests.bisect_requests(repo, scene.good, scene.bad, env=ENV)))


def whole_history(scene: Scene, table: Table) -> None:
    """At 1M: `git kosli notes` over every commit (written, then up to date), and a bisect among a million notes."""
    if not wanted("notes"):
        return
    repo = scene.repo
    reset, drop = partial(bisect_reset, repo), partial(drop_notes, repo)
    written = repeated(["git", "kosli", "notes"], repo, ENV, runs=1, setup=drop)
    count = len(git(repo, "notes", "--ref=kosli", "list").splitlines())
    table.add(
        Row(
            f"notes, whole history ({count:,} commits)",
            "store",
            scene.label,
            with_memory(written),
            target="< 300 MB",
            met=written.peak_mb < 300,
        )
    )
    again = repeated(["git", "kosli", "notes"], repo, ENV, runs=3)
    met = again.median <= 4.3 and again.peak_mb < 300
    table.add(
        Row(
            "notes, whole history, up to date",
            "store",
            scene.label,
            with_memory(again),
            target="≤ 4.3 s, < 300 MB",
            met=met,
        )
    )
    among = repeated(["git", "kosli", "bisect", "bench#1", "bench#2", "--no-checkout"], repo, ENV, runs=5, setup=reset)
    reset()
    met = among.median <= 0.357 and among.peak_mb < 300
    table.add(
        Row(
            f"bisect among {count:,} notes",
            "store",
            scene.label,
            with_memory(among),
            target="≤ 357 ms, < 300 MB",
            met=met,
        )
    )
    drop()


def with_memory(timing: Timing) -> str:
    """A time and the peak memory, for rows whose target is memory."""
    return f"{ms(timing.median)}, {timing.peak_mb:.0f} MB"


def main() -> None:
    """Install, build or copy the repositories, measure every row against its anchor, print the table."""
    sizes = [int(s) for s in os.environ.get("SIZES", "10000,100000,1000000").split(",") if s.strip()]
    graphs = os.environ.get("GRAPHS", "single,split").split(",")
    began = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    install()
    table = Table()
    if wanted("--version"):
        pair = interleaved(["git", "kosli", "--version"], [str(VENV / "bin" / "python"), "-c", "pass"], WORK, ENV)
        anchor = Anchor((), "python -c pass")
        table.pair("--version", "-", "-", pair, anchor, "< 150 ms", met=pair.ours.median < 0.150)
    if os.environ.get("BENCH_REPO"):
        measure_scene(real_scene(Path(os.environ["BENCH_REPO"])), table)
    where: dict[int, float | None] = {}
    for split in [False, True]:
        for size in sizes if ("split" if split else "single") in graphs else []:
            scene = synthetic_scene(size, split=split)
            median = measure_scene(scene, table)
            if split:
                continue
            where[size] = median
            if size == 10_000:
                synthetic_extras(scene, table)
            if size == MILLION:
                whole_history(scene, table)
    small, large = where.get(100_000), where.get(MILLION)
    if small and large:
        table.notes.append(f"# where, 1,000,000 vs 100,000 commits: {large / small:.1f}x (target <= 10x)")
    for label, peak in table.peaks.items():
        table.notes.append(
            f"# peak memory of any git kosli command at {label} commits: {peak:.0f} MB (target < 300 MB)"
        )
    table.notes.append(f"# whole benchmark: {time.perf_counter() - began:.0f} s, {PAIRS} interleaved pairs a row")
    table.print()


if __name__ == "__main__":
    if "--clean" in sys.argv:
        shutil.rmtree(WORK, ignore_errors=True)
    main()
