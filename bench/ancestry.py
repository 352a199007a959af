"""Ancestry on a real history: `where` and `log` on a clone of a large project, against plain git.

    python bench/ancestry.py seed REPO            # builds and three environments in REPO's embedded store
    python bench/ancestry.py time REPO [GIT_KOSLI...] [--runs N]

`seed` makes a build every BUILD_EVERY first-parent commits over the last BUILDS * BUILD_EVERY,
and three environments of SNAPSHOTS snapshots deploying forward through them (a rollback now and
then). `time` runs `where`, `log`, `diff`, `status` and plain-git anchors alternately (A B A B), each
GIT_KOSLI executable given (default: `git-kosli` on PATH) against the same data, and prints the
medians in milliseconds. Not part of `make bench`: a helper for measuring one change by hand.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from git_kosli import model  # noqa: E402 - the checkout's own package, after the path is set
from git_kosli.sources.store import Store, store_path  # noqa: E402

BUILDS = 300
BUILD_EVERY = 20
SNAPSHOTS = 60
ENVIRONMENTS = ("staging", "aws-beta", "aws-prod")
FLOW = "service-ci"
START = 1_700_000_000.0


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return its stdout."""
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def _artifact(sha: str) -> model.Artifact:
    return model.Artifact(
        name=f"registry/service:{sha[:7]}",
        fingerprint=model.Fingerprint(f"{int(sha[:12], 16):064x}"),
        provenance=(model.Provenance(FLOW, model.CommitSha(sha)),),
    )


def seed(repo: Path) -> None:
    """The builds and the environments' snapshots, in the repository's embedded store."""
    mainline = git(repo, "rev-list", "--first-parent", "--reverse", "HEAD").split()
    builds = mainline[-BUILDS * BUILD_EVERY :: BUILD_EVERY]
    rng = random.Random(7)
    snapshots = []
    for lag, env in enumerate(ENVIRONMENTS):
        position, end = 0, len(builds) - 1 - lag * 3
        step = max(1, end // SNAPSHOTS)
        for index in range(1, SNAPSHOTS + 1):
            position = position - step if rng.random() < 0.05 and position > step else min(end, position + step)
            snapshots.append(
                model.Snapshot(
                    model.SnapshotRef(model.EnvName(env), index), START + index * 600, (_artifact(builds[position]),)
                )
            )
    listed = [
        model.FlowArtifact(FLOW, a.name, a.fingerprint, model.CommitSha(sha), None, START + n * 60)
        for n, sha in enumerate(builds)
        for a in [_artifact(sha)]
    ]
    with Store(store_path(Path(git(repo, "rev-parse", "--absolute-git-dir").strip()))) as store:
        store.put_snapshots(snapshots)
        store.put_builds(listed)
    target = git(repo, "rev-parse", f"{builds[len(builds) // 2]}^2~3").strip()
    (repo / "ancestry-target").write_text(target + "\n")
    print(f"{len(builds)} builds, {len(snapshots)} snapshots; where target {target}")


def _timed(command: list[str] | Callable[[], None], repo: Path) -> float:
    start = time.perf_counter()
    if callable(command):
        command()
    else:
        subprocess.run(command, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return (time.perf_counter() - start) * 1000


def anchors(repo: Path, target: str) -> dict[str, Callable[[], None]]:
    """The plain-git commands that answer the same questions."""
    with Store(store_path(Path(git(repo, "rev-parse", "--absolute-git-dir").strip())), create=False) as store:
        prod = [s.artifacts[0].provenance[0].git_commit for s in store.history(model.EnvName("aws-prod"))]
    pairs = [(old, new) for old, new in pairwise(prod) if old != new]

    def loop() -> None:
        for old, new in pairs:
            git(repo, "rev-list", "--count", "--left-right", f"{old}...{new}")

    def contains() -> None:
        git(repo, "for-each-ref", "--contains", target, "--format=%(refname)", "refs/kosli-builds/")

    return {"anchor: for-each-ref --contains": contains, "anchor: rev-list --count loop": loop}


def main() -> None:
    """Seed, or time."""
    args = sys.argv[1:]
    runs = 7
    if "--runs" in args:
        at = args.index("--runs")
        runs = int(args[at + 1])
        del args[at : at + 2]
    action, repo = args[0], Path(args[1]).resolve()
    if action == "seed":
        seed(repo)
        return
    target = (repo / "ancestry-target").read_text().strip()
    programs = args[2:] or ["git-kosli"]
    commands: dict[str, list[str] | Callable[[], None]] = {}
    for program in programs:
        commands[f"{program} where"] = [program, "where", target]
        commands[f"{program} log aws-prod"] = [program, "log", "aws-prod"]
        commands[f"{program} diff aws-beta aws-prod"] = [program, "diff", "aws-beta", "aws-prod"]
        commands[f"{program} status"] = [program, "status"]
    commands.update(anchors(repo, target))
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs + 1):
        for name, command in commands.items():
            times[name].append(_timed(command, repo))
    for name, measured in times.items():
        print(f"{statistics.median(measured[1:]):8.0f} ms  {name}")


if __name__ == "__main__":
    main()
