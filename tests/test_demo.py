"""`git kosli demo`: every chapter of the story shows what it claims, offline and repeatably."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from git_kosli import demo as world
from tests.conftest import RunCli, git_kosli
from tests.gitrepo import git


@pytest.fixture
def demo_repo(tmp_path: Path) -> world.Demo:
    return world.build(tmp_path / "d")


def kosli_json(run_cli: RunCli, path: Path, *args: str) -> Any:
    """The JSON document a `git kosli ... --json` printed."""
    return json.loads(run_cli(*args, "--json", cwd=path).stdout)


def test_the_whole_story_runs_and_finds_the_unbuilt_culprit(tmp_path: Path) -> None:
    result = git_kosli("demo", "d", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    culprit = git(tmp_path / "d", "rev-parse", "refs/bisect/bad").strip()
    assert git(tmp_path / "d", "log", "-1", "--format=%s", culprit).strip() == "Tidy up the step counter"
    assert f"{culprit} is the first bad commit" in result.stdout
    assert f"The culprit is {culprit[:7]}" in result.stdout
    assert f"Answer: {world.ANSWER}." in result.stdout
    for number in range(1, 9):
        assert f"\n== {number}. " in result.stdout
    assert (tmp_path / "d" / "timeline.html").read_text().startswith("<!DOCTYPE html>")
    assert git(tmp_path / "d", "log", "-1", "--format=%s", "kosli/aws-beta").strip() == "Raise the default memory limit"
    assert "6a29198 (refs/kosli/aws-beta) Raise the default memory limit" in result.stdout
    assert git(tmp_path / "d", "status", "--porcelain").strip() == ""  # the picture is ignored there
    for command in (
        "$ git kosli diff aws-prod aws-beta --log",
        "$ git kosli bisect aws-beta#5 aws-beta#6",
        "$ git bisect run ./test.sh",
        f"$ git kosli where {culprit}",
        "$ git kosli notes",
    ):
        assert command in result.stdout
    table_line = next(line for line in result.stdout.splitlines() if line.startswith(culprit[:7]))
    assert "no artifact; first build" in table_line


def test_one_chapter_alone(tmp_path: Path) -> None:
    result = git_kosli("demo", "d", "--chapter", "5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "== 5. Where is that commit now?" in result.stdout
    assert "== 4." not in result.stdout


def test_chapter_1_beta_is_ahead_of_prod_by_a_commit_range(demo_repo: world.Demo, run_cli: RunCli) -> None:
    doc = kosli_json(run_cli, demo_repo.path, "diff", "aws-prod", "aws-beta")
    runner = next(a for a in doc["artifacts"] if a["flow"] == "runner-ci")
    count = int(git(demo_repo.path, "rev-list", "--count", demo_repo.commits["c19"], f"^{demo_repo.commits['c6']}"))
    assert (runner["relation"], runner["ahead"], runner["behind"]) == ("ahead", count, 0)
    assert {a["flow"]: a["relation"] for a in doc["artifacts"]}["saver-ci"] == "other-repo"


def test_chapter_2_the_miner_is_rogue(demo_repo: world.Demo, run_cli: RunCli) -> None:
    doc = kosli_json(run_cli, demo_repo.path, "diff", "aws-prod~1", "aws-prod")
    (miner,) = [a for a in doc["artifacts"] if a["rogue"]]
    assert (miner["name"], miner["relation"], miner["new"]["git_commit"]) == (
        "docker.io/xmrig/xmrig:latest",
        "added",
        None,
    )


def test_chapter_3_saver_is_non_compliant_in_beta(demo_repo: world.Demo, run_cli: RunCli) -> None:
    doc = kosli_json(run_cli, demo_repo.path, "diff", "aws-beta~1", "aws-beta")
    assert [a["flow"] for a in doc["artifacts"] if not a["compliant"]] == ["saver-ci"]


def test_chapter_4_log_shows_the_runner_change_and_bisect_spans_it(demo_repo: world.Demo, run_cli: RunCli) -> None:
    (entry,) = kosli_json(run_cli, demo_repo.path, "log", "aws-beta", "--interval", "6")["snapshots"]
    runner = next(c for c in entry["changes"] if c["flow"] == "runner-ci")
    assert (runner["old"]["git_commit"], runner["new"]["git_commit"]) == (
        demo_repo.commits["c12"],
        demo_repo.commits["c19"],
    )
    plan = kosli_json(run_cli, demo_repo.path, "bisect", "aws-beta#5", "aws-beta#6")
    assert demo_repo.culprit in [c["git_commit"] for c in plan["commits"]]
    culprit = next(c for c in plan["commits"] if c["git_commit"] == demo_repo.culprit)
    assert (culprit["environments"], culprit["first_build"]["git_commit"]) == ([], demo_repo.commits["c19"])


def test_chapter_5_the_culprit_is_in_beta_since_6_and_not_in_prod(demo_repo: world.Demo, run_cli: RunCli) -> None:
    doc = kosli_json(run_cli, demo_repo.path, "where", demo_repo.culprit)
    statuses = {
        e["environment"]: (e["status"], e["first_seen"] and e["first_seen"]["index"]) for e in doc["environments"]
    }
    assert statuses == {"aws-beta": ("contained", 6), "aws-prod": ("never", None)}


def test_chapter_6_prod_rolled_back_at_5_and_the_commits_it_took_out_are_gone(
    demo_repo: world.Demo, run_cli: RunCli
) -> None:
    (entry,) = kosli_json(run_cli, demo_repo.path, "log", "aws-prod", "--interval", "5")["snapshots"]
    runner = next(c for c in entry["changes"] if c["flow"] == "runner-ci")
    assert (runner["relation"], runner["behind"], runner["rollback"]) == ("behind", 4, True)
    doc = kosli_json(run_cli, demo_repo.path, "where", demo_repo.commits["c8"])
    prod = next(e for e in doc["environments"] if e["environment"] == "aws-prod")
    assert (prod["status"], prod["first_seen"]["index"], prod["left"]["index"]) == ("gone", 4, 5)


def test_chapter_7_notes_show_in_git_log(demo_repo: world.Demo, run_cli: RunCli) -> None:
    assert run_cli("notes", cwd=demo_repo.path).exit_code == 0
    shown = git(demo_repo.path, "log", "--oneline", "--notes=kosli", "-1", demo_repo.commits["c10"])
    assert "aws-beta#4 " in shown and "aws-prod#4 " in shown


def test_the_demo_is_deterministic(tmp_path: Path) -> None:
    assert world.build(tmp_path / "one").commits == world.build(tmp_path / "two").commits


def test_the_demo_will_not_overwrite_a_folder_it_did_not_build(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    result = run_cli("demo", str(tmp_path / "mine"))
    assert result.exit_code == 128
    assert "is not an earlier demo" in result.stderr
    assert (tmp_path / "mine" / "precious.txt").read_text() == "keep me"
    assert run_cli("demo", "--no-run", str(tmp_path / "d")).exit_code == 0
    assert run_cli("demo", "--no-run", str(tmp_path / "d")).exit_code == 0  # an earlier demo is rebuilt
