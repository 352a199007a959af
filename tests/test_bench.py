"""The benchmark's plain-git anchors give the answers git kosli gives, and its real-history copy leaves the clone alone.

No timing is asserted here (figures come from `make bench`); what is checked is that each anchor
is an honest equivalent, so a ratio against it means something.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bench import anchors, real, synthetic
from bench.timing import interleaved
from git_kosli.model import EnvName, Snapshot
from git_kosli.sources.store import Store, store_path
from tests.conftest import RunCli


def built(tmp_path: Path, commits: int = 400) -> tuple[Path, list[str], list[Snapshot]]:
    """A small synthetic repository: its path, its builds and every snapshot of its environments."""
    repo = tmp_path / "repo"
    builds = synthetic.build(repo, commits)
    with Store(store_path(repo / ".git"), create=False) as store:
        snapshots = [s for env in synthetic.ENVIRONMENTS for s in store.history(EnvName(env))]
    return repo, builds, snapshots


def run(anchor: anchors.Anchor, cwd: Path) -> list[str]:
    return subprocess.run(anchor.argv, cwd=cwd, capture_output=True, text=True, check=True).stdout.splitlines()


def test_the_where_anchor_finds_the_first_snapshot_each_environment_ran_the_commit_in(
    tmp_path: Path, run_cli: RunCli
) -> None:
    repo, builds, snapshots = built(tmp_path)
    target = builds[20]
    anchors.where(repo, dict(os.environ), snapshots[:50], builds[0], tmp_path)
    anchor = anchors.where(repo, dict(os.environ), snapshots, target, tmp_path)  # a second run replaces the refs
    first: dict[str, int] = {}
    for ref in run(anchor, repo):
        env, index = ref.split("#")
        first[env] = min(first.get(env, int(index)), int(index))
    answer = json.loads(run_cli("where", "--json", target, cwd=repo).stdout)
    assert first == {e["environment"]: e["first_seen"]["index"] for e in answer["environments"]}
    assert len(first) == len(synthetic.ENVIRONMENTS)


def test_the_log_anchor_counts_each_deploy_as_log_does(tmp_path: Path, run_cli: RunCli) -> None:
    repo, _, snapshots = built(tmp_path)
    prod = [s for s in snapshots if s.env == "aws-prod"]
    anchor, pairs = anchors.log(prod, tmp_path)
    counted = [
        (*pair.split(), *count.split())
        for pair, count in zip((tmp_path / "log.pairs").read_text().splitlines(), run(anchor, repo), strict=True)
    ]
    answer = json.loads(run_cli("log", "--json", "aws-prod", cwd=repo).stdout)
    changes = [c for s in reversed(answer["snapshots"]) for c in s["changes"] if c["old"] and c["flow"] == anchors.FLOW]
    logged = [(c["old"]["git_commit"], c["new"]["git_commit"], str(c["behind"]), str(c["ahead"])) for c in changes]
    assert counted == logged
    assert pairs == len(logged) > 10


def test_a_real_history_is_copied_and_seeded_without_writing_to_the_clone(tmp_path: Path, run_cli: RunCli) -> None:
    source, _, _ = built(tmp_path, 600)
    before = sorted(p.relative_to(source) for p in (source / ".git").rglob("*"))
    copy = real.prepare(source, tmp_path / "work")
    assert sorted(p.relative_to(source) for p in (source / ".git").rglob("*")) == before
    builds = real.builds_of(copy)
    with Store(store_path(copy), create=False) as store:
        prod = store.history(EnvName("aws-prod"))
        recorded = store.builds([anchors.FLOW])
    deployed = {anchors.built_commit(s) for s in prod}
    assert len(prod) == real.SNAPSHOTS == len(deployed)
    assert len(recorded) == len(builds) > len(deployed)  # builds never deployed are listed too
    log = json.loads(run_cli("log", "--json", "aws-prod", cwd=copy).stdout)
    assert len(log["snapshots"]) == real.SNAPSHOTS


def test_a_failing_command_stops_the_benchmark_rather_than_being_timed(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="exit 3"):
        interleaved(["sh", "-c", "echo broken >&2; exit 3"], ["true"], tmp_path, dict(os.environ), pairs=1)
    pair = interleaved(["true"], ["true"], tmp_path, dict(os.environ), pairs=3)
    assert pair.ratio > 0
