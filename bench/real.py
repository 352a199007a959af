"""A real history for the benchmark (`BENCH_REPO=path/to/a/clone`), with Kosli data generated over it.

The clone is copied (`git clone --bare`, the user's clone is never written to) into the bench's
work folder, given a commit-graph, and seeded: a build of this repository every STEP first-parent
commits over the last WINDOW mainline commits, three environments of SNAPSHOTS snapshots each
deploying forward through them (so consecutive snapshots span real merge history), and the builds
no environment ran (recorded in their flow all the same). bisect runs between the aws-prod
snapshots that hold about the last BISECT_BUILDS builds between them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench import synthetic
from git_kosli.model import CommitSha, EnvName, FlowArtifact, Snapshot, SnapshotRef
from git_kosli.sources.store import Store, store_path

WINDOW = 3_000
SNAPSHOTS = 60
BISECT_BUILDS = 18
START = 1_700_000_000.0


def prepare(source: Path, work: Path) -> Path:
    """The bench's bare copy of `source` (made again when its HEAD moves), with a commit-graph and Kosli data."""
    name = source.resolve().name.removesuffix(".git") or "repo"
    repo = work / f"real-{name}.git"
    marker = repo / "bench-built"
    head = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout
    if marker.exists() and marker.read_text() == head:
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run(["git", "clone", "--bare", "--quiet", str(source.resolve()), str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "config", "remote.origin.url", f"{synthetic.URL}.git"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit-graph", "write", "--reachable"], check=True, capture_output=True)
    mainline = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--first-parent", f"--max-count={WINDOW}", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[::-1]
    builds = mainline[:: max(1, len(mainline) // (SNAPSHOTS * 5 // 2))]
    (repo / "bench-builds").write_text("\n".join(builds) + "\n")
    with Store(store_path(repo)) as store:
        store.put_snapshots(snapshots(builds))
        store.put_builds(recorded(builds))
    marker.write_text(head)
    return repo


def builds_of(repo: Path) -> list[str]:
    """The built commits, oldest first."""
    return (repo / "bench-builds").read_text().split()


def snapshots(builds: list[str]) -> list[Snapshot]:
    """Each environment deploys forward through the builds, prod furthest behind; a deploy skips builds."""
    made = []
    for lag, env in enumerate(reversed(synthetic.ENVIRONMENTS)):  # aws-prod, aws-beta, staging
        end = len(builds) - 1 - (2 - lag) * 2
        for index in range(1, SNAPSHOTS + 1):
            position = end * index // SNAPSHOTS
            when = START + position * 600 + 60 * (lag + 1)
            made.append(Snapshot(SnapshotRef(EnvName(env), index), when, (synthetic.artifact(builds[position]),)))
    return made


def recorded(builds: list[str]) -> list[FlowArtifact]:
    """Every build as its flow lists it, deployed or not."""
    listed = []
    for position, sha in enumerate(builds):
        art = synthetic.artifact(sha)
        entry = art.provenance[0]
        listed.append(
            FlowArtifact(
                entry.flow, art.name, art.fingerprint, CommitSha(sha), entry.commit_url, START + position * 600
            )
        )
    return listed
