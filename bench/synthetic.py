"""Synthetic repositories for the benchmarks.

N commits with merges (one git fast-import), artifacts every few commits, and three environments
of a few hundred snapshots in the embedded store. The commit-graph is one file, or (`split`) a
chain of three layers as `git maintenance` and `fetch.writeCommitGraph` leave one: the oldest 80%
of the history, the next 15%, and the newest 5%.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from git_kosli.model import Artifact, CommitSha, EnvName, Fingerprint, Provenance, Snapshot, SnapshotRef
from git_kosli.sources.store import Store, store_path

ENVIRONMENTS = ("staging", "aws-beta", "aws-prod")
SNAPSHOTS = 300
BUILD_EVERY = 7
MERGE_EVERY = 50
URL = "https://github.com/bench/service"
LAYERS = (0.80, 0.95)  # where the lower layers of a split commit-graph end, as shares of the mainline


def build(path: Path, commits: int, *, split: bool = False) -> list[str]:
    """Create the repository (if not already built) and return its built commits, oldest first."""
    path = path.resolve()
    marker = path / ".git" / "bench-built"
    if not marker.exists():
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(path)], check=True)
        subprocess.run(["git", "-C", str(path), "config", "remote.origin.url", f"{URL}.git"], check=True)
        _import(path, commits)
        _write_graph(path, split=split)
        _seed(path)
        marker.write_text("ok\n")
    return (path / ".git" / "bench-builds").read_text().split()


def _write_graph(path: Path, *, split: bool) -> None:
    """One commit-graph file, or a chain of layers written as the history grew."""
    write = ["git", "-C", str(path), "commit-graph", "write"]
    if not split:
        subprocess.run([*write, "--reachable"], check=True, capture_output=True)
        return
    mainline = _mainline(path)
    for layer, share in enumerate(LAYERS):
        tip = mainline[int(len(mainline) * share)]
        mode = "--split" if layer == 0 else "--split=no-merge"
        subprocess.run([*write, mode, "--stdin-commits"], input=tip, text=True, check=True, capture_output=True)
    subprocess.run([*write, "--split=no-merge", "--reachable"], check=True, capture_output=True)


def _import(path: Path, commits: int) -> None:
    """Mainline commits with a two-commit side branch merged every MERGE_EVERY commits."""
    lines: list[str] = []
    when = 1_700_000_000
    mark = 0
    main_tip = 0
    for i in range(commits):
        mark += 1
        when += 60
        message = f"commit {i}"
        if i and i % MERGE_EVERY == 0 and mark > 3:
            side = mark - 1  # the previous commit was written on the side branch
            lines += [
                "commit refs/heads/main",
                f"mark :{mark}",
                f"committer B <b@example.com> {when} +0000",
                f"data {len(message)}",
                message,
                f"from :{main_tip}",
                f"merge :{side}",
                f"M 100644 inline f{i % 10}",
                "data 2",
                f"{i % 9}",
                "",
            ]
            main_tip = mark
            continue
        on_side = i % MERGE_EVERY == MERGE_EVERY - 1
        branch = "side" if on_side else "main"
        lines += [
            f"commit refs/heads/{branch}",
            f"mark :{mark}",
            f"committer B <b@example.com> {when} +0000",
            f"data {len(message)}",
            message,
        ]
        if main_tip:
            lines.append(f"from :{main_tip}")
        lines += [f"M 100644 inline f{i % 10}", "data 2", f"{i % 9}", ""]
        if not on_side:
            main_tip = mark
    marks = path / ".git" / "bench-marks"
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet", f"--export-marks={marks}"],
        input="\n".join(lines) + "\n",
        text=True,
        check=True,
    )
    shas = [line.split()[1] for line in marks.read_text().splitlines()]
    builds = _mainline(path)[::BUILD_EVERY]
    (path / ".git" / "bench-builds").write_text("\n".join(builds) + "\n")
    marks.unlink()
    assert len(shas) == commits


def _mainline(path: Path) -> list[str]:
    """The first-parent commits of main, oldest first."""
    return subprocess.run(
        ["git", "-C", str(path), "rev-list", "--first-parent", "--reverse", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def artifact(sha: str) -> Artifact:
    """The build of `sha`, as this repository's CI flow (`service-ci`) reports it."""
    return Artifact(
        name=f"registry/service:{sha[:7]}",
        fingerprint=Fingerprint(f"{int(sha[:12], 16):064x}"),
        provenance=(Provenance("service-ci", CommitSha(sha), f"{URL}/commit/{sha}"),),
    )


def _seed(path: Path) -> None:
    """Each environment deploys forward through the builds, with an occasional rollback."""
    builds = (path / ".git" / "bench-builds").read_text().split()
    rng = random.Random(7)
    other = Artifact("registry/db:1", Fingerprint("d" * 64), (Provenance("db-ci", CommitSha("e" * 40)),))
    snapshots = []
    for lag, env in enumerate(ENVIRONMENTS):
        position = 0
        end = len(builds) - 1 - lag * 3
        step = max(1, end // SNAPSHOTS)
        for index in range(1, SNAPSHOTS + 1):
            if rng.random() < 0.05 and position > step:
                position -= step  # a rollback
            else:
                position = min(end, position + step)
            arts = (artifact(builds[position]), other)
            snapshots.append(Snapshot(SnapshotRef(EnvName(env), index), 1_700_000_000.0 + index * 600, arts))
    with Store(store_path(path / ".git")) as store:
        store.put_snapshots(snapshots)


def range_snapshots(good: str, bad: str) -> list[Snapshot]:
    """An environment `bench` whose #1 ran `good` and #2 runs `bad`: the two ends of a bisect."""
    env = EnvName("bench")
    return [
        Snapshot(SnapshotRef(env, 1), 1_700_000_000.0, (artifact(good),)),
        Snapshot(SnapshotRef(env, 2), 1_700_000_600.0, (artifact(bad),)),
    ]
