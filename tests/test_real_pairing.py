"""Issue 16, case 1: real Kosli snapshots list each artifact in 3 to 5 flows, in orders that vary.

The recorded aws-prod#4357 and #5253 (tests/fixtures) with the runner built from this repository
(merges, clocks that disagree), and model-built histories whose consecutive snapshots list the
flows in different orders; through the embedded store and the loopback Kosli server alike. git is
the oracle for every count.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from git_kosli.model import Artifact, CommitSha, Provenance
from tests.conftest import RunCli
from tests.factory import fingerprint, history
from tests.gitrepo import GitRepo, bisect_refs, git
from tests.kosli_server import KosliServer
from tests.recorded import built_here, recorded, reorder_flows, scans_first

RUNNER = "https://github.com/cyber-dojo/runner"


@pytest.fixture
def runner(repo: GitRepo) -> dict[str, CommitSha]:
    """main: a b M(topic: t1 t2, t2 dated before t1) c M2(fix: f1) d; the runner ran b, then d."""
    git(repo.path, "remote", "add", "origin", "git@github.com:cyber-dojo/runner.git")
    c = {"a": repo.commit("a"), "b": repo.commit("b")}
    repo.branch("topic")
    c["t1"] = repo.commit("t1")
    repo.tick -= 300  # five hours before its parent: a rebase, or a wrong clock
    c["t2"] = repo.commit("t2")
    repo.checkout("main")
    c["m"] = repo.merge("topic")
    c["c"] = repo.commit("c")
    repo.branch("fix", c["b"])
    c["f1"] = repo.commit("f1")
    repo.checkout("main")
    c["m2"] = repo.merge("fix")
    c["d"] = repo.commit("d")
    return c


def count(repo: GitRepo, new: str, old: str) -> int:
    return int(git(repo.path, "rev-list", "--count", new, f"^{old}").strip())


Publish = Callable[..., None]


@pytest.fixture(params=["store", "kosli"])
def recorded_pair(
    request: pytest.FixtureRequest, repo: GitRepo, runner: dict[str, CommitSha], run_cli: RunCli, tmp_path: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """aws-prod#4357 (flows scans first) and #5253 (flows as recorded), the runner built from b and d."""
    old = reorder_flows(built_here(recorded("snapshot-aws-prod-4357.json"), "runner", runner["b"]), scans_first)
    new = built_here(recorded("get_snapshot.json"), "runner", runner["d"])
    if request.param == "kosli":
        server: KosliServer = request.getfixturevalue("server")
        server.add_recorded("aws-prod", old, new)
    else:
        for body in (old, new):
            path = tmp_path / f"{body['index']}.json"
            path.write_text(json.dumps(body))
            assert run_cli("snapshot", "import", "aws-prod", str(path), cwd=repo.path).exit_code == 0
    return old, new


def test_diff_of_recorded_snapshots_counts_the_runner_commits(
    recorded_pair: tuple[dict[str, Any], dict[str, Any]], runner: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    result = run_cli("diff", "aws-prod#4357", "aws-prod#5253", cwd=repo.path)

    assert result.exit_code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "aws-prod#4357 -> aws-prod#5253 (895 snapshots between)"
    row = next(line.split() for line in lines if line.startswith("runner:"))
    ahead = count(repo, runner["d"], runner["b"])
    assert row == ["runner:85cac88", "runner-ci", runner["b"][:7], runner["d"][:7], "ahead", f"+{ahead}"]
    doc = json.loads(run_cli("diff", "aws-prod#4357", "aws-prod#5253", "--json", cwd=repo.path).stdout)
    relations = {a["name"].split("/")[-1].split(":")[0]: (a["flow"], a["relation"]) for a in doc["artifacts"]}
    assert relations.pop("runner") == ("runner-ci", "ahead")
    assert relations.pop("spooler") == ("spooler-ci", "added")
    assert relations == {name: (f"{name}-ci", "other-repo") for name in relations}
    assert len(relations) == 9 and doc["between"] == 895


def test_bisect_of_recorded_snapshots_starts_over_the_runner_range(
    recorded_pair: tuple[dict[str, Any], dict[str, Any]], runner: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    result = run_cli("bisect", "aws-prod#4357", "aws-prod#5253", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert f"artifact: runner:85cac88 (flow runner-ci): {runner['b'][:7]}..{runner['d'][:7]}" in result.stdout
    candidates = count(repo, runner["d"], runner["b"])
    assert f"{candidates} candidate commits" in result.stdout
    refs = bisect_refs(repo.path)
    assert refs["refs/bisect/bad"] == runner["d"]
    assert refs[f"refs/bisect/good-{runner['b']}"] == runner["b"]


def service(name: str, commit: str, flows: list[str], *, ours: bool = False) -> Artifact:
    """An artifact of `name` reported to its CI flow (with `commit`) and to shared flows, listed in `flows`' order."""
    entries = {
        f"{name}-ci": Provenance(
            f"{name}-ci", CommitSha(commit), f"{RUNNER if ours else 'https://github.com/x/' + name}/commit/{commit}"
        ),
        "production-promotion": Provenance(
            "production-promotion", CommitSha("7" * 40), "https://github.com/x/promo/commit/" + "7" * 40
        ),
        "snyk-aws-prod": Provenance(
            "snyk-aws-prod", CommitSha("5" * 40), "https://github.com/x/snyk/commit/" + "5" * 40
        ),
    }
    return Artifact(
        name=f"244531986313.dkr.ecr.eu-central-1.amazonaws.com/{name}:{commit[:7]}",
        fingerprint=fingerprint(f"{name} {commit}"),
        provenance=tuple(entries[f.replace("CI", f"{name}-ci")] for f in flows),
        compliant=True,
    )


SCANS, CI, PROMO = "snyk-aws-prod", "CI", "production-promotion"


@pytest.fixture
def shuffled(repo: GitRepo, runner: dict[str, CommitSha], publish: Publish) -> dict[str, CommitSha]:
    """aws-prod#1..#3: the runner at b, c, d; its flows in another order in each snapshot, the saver's too."""
    saver1, saver2 = "1" * 40, "2" * 40
    publish(
        *history(
            "aws-prod",
            [
                [
                    service("runner", runner["b"], [SCANS, PROMO, CI], ours=True),
                    service("saver", saver1, [CI, SCANS, PROMO]),
                ],
                [
                    service("saver", saver1, [PROMO, CI, SCANS]),
                    service("runner", runner["c"], [CI, SCANS, PROMO], ours=True),
                ],
                [
                    service("runner", runner["d"], [PROMO, CI, SCANS], ours=True),
                    service("saver", saver2, [SCANS, PROMO, CI]),
                ],
            ],
        )
    )
    return runner


def test_log_shows_each_change_as_a_range_whatever_the_order(
    shuffled: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    result = run_cli("log", "aws-prod", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    text = result.stdout
    b, c, d = shuffled["b"], shuffled["c"], shuffled["d"]
    assert f"changed   runner:{d[:7]}  +{count(repo, d, c)} commits ({c[:7]}..{d[:7]})" in text
    assert f"changed   runner:{c[:7]}  +{count(repo, c, b)} commits ({b[:7]}..{c[:7]})" in text
    assert "changed   saver:2222222  another repository" in text
    assert "exited" not in text and text.count("started") == 2  # both services started in #1, nothing else


def test_bisect_and_diff_between_snapshots_listing_flows_in_other_orders(
    shuffled: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    diff = run_cli("diff", "aws-prod#1", "aws-prod#3", cwd=repo.path)
    assert diff.stdout.splitlines()[0] == "aws-prod#1 -> aws-prod#3 (1 snapshot between)"
    assert f"ahead +{count(repo, shuffled['d'], shuffled['b'])}" in diff.stdout

    result = run_cli("bisect", "aws-prod#2", "aws-prod#3", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert "artifact: runner:" in result.stdout and "(flow runner-ci)" in result.stdout
    assert "also changed: saver:2222222 (flow saver-ci) (another repository)" in result.stdout
    assert bisect_refs(repo.path)["refs/bisect/bad"] == shuffled["d"]
