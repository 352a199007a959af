"""`git kosli demo`: the incident is traced to its planted culprit, offline and repeatably."""

from __future__ import annotations

from pathlib import Path

from git_kosli import demo as world
from tests.conftest import git_kosli
from tests.gitrepo import git


def test_the_demo_finds_the_unbuilt_culprit(tmp_path: Path) -> None:
    result = git_kosli("demo", "d", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    culprit = git(tmp_path / "d", "rev-parse", "refs/bisect/bad").strip()
    subject = git(tmp_path / "d", "log", "-1", "--format=%s", culprit).strip()
    assert subject == "Tidy up the step counter"
    assert f"{culprit} is the first bad commit" in result.stdout
    assert f"The culprit is {culprit[:7]}" in result.stdout
    assert f"Answer: {world.ANSWER}." in result.stdout
    assert "$ git kosli bisect aws-beta#5 aws-beta#6" in result.stdout
    # the culprit was never built: the table says which build first contained it
    table_line = next(line for line in result.stdout.splitlines() if line.startswith(culprit[:7]))
    assert "no artifact; first build" in table_line


def test_the_demo_is_deterministic_and_rebuilds_its_own_folder(tmp_path: Path) -> None:
    first = world.build(tmp_path / "one").commits
    second = world.build(tmp_path / "two").commits
    assert first == second


def test_the_demo_will_not_overwrite_a_folder_it_did_not_build(run_cli, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    result = run_cli("demo", str(tmp_path / "mine"))
    assert result.exit_code == 128
    assert "exists and is not an earlier demo" in result.stderr
    assert (tmp_path / "mine" / "precious.txt").read_text() == "keep me"
    again = run_cli("demo", "--no-run", str(tmp_path / "d"))
    assert run_cli("demo", "--no-run", str(tmp_path / "d")).exit_code == again.exit_code == 0
