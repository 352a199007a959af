"""`git kosli bisect OLD NEW` on real repositories and the embedded store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from git_kosli.model import CommitSha
from tests.conftest import RunCli, git_kosli
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, bisect_refs, git

URL = "https://github.com/acme/web"


def bisect_state(path: Path) -> dict[str, object]:
    """Everything git keeps of a bisect, plus our notes ref: what a refusal must leave untouched."""
    refs = git(path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/bisect/", "refs/notes/")
    git_dir = Path(git(path, "rev-parse", "--absolute-git-dir").strip())
    files = sorted(p.name for p in git_dir.glob("BISECT_*"))
    return {"refs": refs, "files": files, "head": git(path, "rev-parse", "HEAD").strip()}


def note(path: Path, sha: str) -> str:
    return git(path, "notes", "--ref=kosli", "show", sha, check=False)


@pytest.fixture
def merged(repo: GitRepo) -> dict[str, CommitSha]:
    """main: a b [side: s1 s2] c M d; builds on a (beta#1), c (staging only), d (beta#2)."""
    c = {"a": repo.commit("a"), "b": repo.commit("b")}
    repo.branch("side")
    c["s1"], c["s2"] = repo.commit("s1"), repo.commit("s2")
    repo.checkout("main")
    c["c"] = repo.commit("c")
    c["m"] = repo.merge("side")
    c["d"] = repo.commit("d")
    seed(
        repo.path,
        *history("aws-beta", [[artifact(c["a"])], [artifact(c["d"]), artifact("f" * 40, "db")]]),
        *history("staging", [[artifact(c["a"])], [artifact(c["c"])], [artifact(c["c"])], [artifact(c["d"])]]),
    )
    return c


def test_starts_git_bisect_between_the_commits_of_two_snapshots(
    repo: GitRepo, run_cli: RunCli, publish: Callable[..., object]
) -> None:
    """The same on the embedded store and on a Kosli org (`publish` is parametrised over both)."""
    commits = repo.linear(6)
    publish(*history("aws-beta", [[artifact(commits[1])], [artifact(commits[5])]]))

    result = run_cli("bisect", "aws-beta#1", "aws-beta#2", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    refs = bisect_refs(repo.path)
    assert refs["refs/bisect/bad"] == commits[5]
    assert refs[f"refs/bisect/good-{commits[1]}"] == commits[1]
    assert "4 candidate commits, roughly 2 steps" in result.stdout
    assert "Bisecting: 1 revision left to test after this (roughly 1 step)" in result.stdout
    for sha in git(repo.path, "rev-list", f"{commits[1]}..{commits[5]}").split():
        assert sha[:7] in result.stdout
    assert f"git bisect start '{commits[5]}' '{commits[1]}' '--'" in git(repo.path, "bisect", "log")


def test_table_and_json_name_where_each_commit_ran_and_the_first_build(
    merged: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    result = run_cli("bisect", "start", "aws-beta#1", "aws-beta", "--json", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    expected = git(repo.path, "rev-list", f"{merged['a']}..{merged['d']}").split()
    assert [c["git_commit"] for c in doc["commits"]] == expected  # children first, as git lists them
    assert (doc["old"]["environment"], doc["old"]["index"], doc["new"]["index"]) == ("aws-beta", 1, 2)
    assert doc["artifact"] == {
        "change": "changed",
        "name": f"registry.example/web:{merged['d'][:7]}",
        "flow": "web-ci",
        "old": {
            "name": f"registry.example/web:{merged['a'][:7]}",
            "fingerprint": artifact(merged["a"]).fingerprint,
            "flow": "web-ci",
            "git_commit": merged["a"],
        },
        "new": {
            "name": f"registry.example/web:{merged['d'][:7]}",
            "fingerprint": artifact(merged["d"]).fingerprint,
            "flow": "web-ci",
            "git_commit": merged["d"],
        },
        "repository": "this",
    }
    assert doc["candidates"] == len(expected) == 6
    assert doc["steps"] == 3
    assert doc["other_changes"] == [
        {
            "change": "started",
            "name": "registry.example/db:fffffff",
            "flow": "db-ci",
            "old": None,
            "new": {
                "name": "registry.example/db:fffffff",
                "fingerprint": doc["other_changes"][0]["new"]["fingerprint"],
                "flow": "db-ci",
                "git_commit": "f" * 40,
            },
            "repository": "other",
        }
    ]
    by_commit = {c["git_commit"]: c for c in doc["commits"]}
    runs = [(e["environment"], e["first"]["index"], e["last"]["index"]) for e in by_commit[merged["d"]]["environments"]]
    assert runs == [("aws-beta", 2, 2), ("staging", 4, 4)]
    (run,) = by_commit[merged["c"]]["environments"]
    assert (run["environment"], run["first"]["index"], run["last"]["index"]) == ("staging", 2, 3)
    assert run["first"]["environment"] == "staging" and run["last"]["timestamp"].endswith("Z")
    assert (run["name"], run["fingerprint"]) == (
        f"registry.example/web:{merged['c'][:7]}",
        artifact(merged["c"]).fingerprint,
    )
    assert by_commit[merged["c"]]["first_build"] is None
    # b, s1, s2 were never built: c contains b but not the side branch, which only the merge brings
    assert by_commit[merged["b"]]["first_build"]["git_commit"] == merged["c"]
    assert by_commit[merged["s1"]]["first_build"]["git_commit"] == merged["d"]
    assert by_commit[merged["m"]]["first_build"]["git_commit"] == merged["d"]
    assert "Bisecting:" in result.stderr


def test_notes_hold_the_same_facts_and_writing_again_changes_nothing(
    merged: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    run_cli("bisect", "aws-beta#1", "aws-beta#2", cwd=repo.path)

    assert note(repo.path, merged["c"]) == f"staging#2..#3 registry.example/web:{merged['c'][:7]}\n"
    assert note(repo.path, merged["d"]) == (
        f"aws-beta#2 registry.example/web:{merged['d'][:7]}\nstaging#4 registry.example/web:{merged['d'][:7]}\n"
    )
    assert note(repo.path, merged["s1"]) == (
        f"no artifact; first build {merged['d']} (registry.example/web:{merged['d'][:7]})\n"
    )
    assert "Notes (kosli):" in git(repo.path, "log", "--notes=kosli", "-1", merged["c"])
    notes_commit = git(repo.path, "rev-parse", "refs/notes/kosli").strip()

    git(repo.path, "bisect", "reset")
    run_cli("bisect", "aws-beta#1", "aws-beta#2", cwd=repo.path)

    assert git(repo.path, "rev-parse", "refs/notes/kosli").strip() == notes_commit


def test_first_parent_and_pathspec_pass_through(merged: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli(
        "bisect", "aws-beta#1", "aws-beta#2", "--first-parent", "--json", "--", "s1.txt", "d.txt", cwd=repo.path
    )
    assert result.exit_code == 0, result.stderr
    git_dir = repo.path / ".git"
    assert (git_dir / "BISECT_FIRST_PARENT").exists()
    assert (git_dir / "BISECT_NAMES").read_text().strip() == "'--' 's1.txt' 'd.txt'"
    expected = git(repo.path, "rev-list", "--first-parent", merged["d"], f"^{merged['a']}", "--", "s1.txt", "d.txt")
    assert [c["git_commit"] for c in json.loads(result.stdout)["commits"]] == expected.split()


def test_no_checkout_leaves_the_working_tree_alone(
    merged: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    head = git(repo.path, "rev-parse", "HEAD")
    result = run_cli("bisect", "aws-beta#1", "aws-beta#2", "--no-checkout", cwd=repo.path)
    assert result.exit_code == 0
    assert git(repo.path, "rev-parse", "HEAD") == head
    assert (repo.path / ".git" / "BISECT_HEAD").exists()


def test_several_artifacts_of_this_repository_need_a_choice(repo: GitRepo, run_cli: RunCli) -> None:
    a, b = repo.commit("a"), repo.commit("b")
    seed(
        repo.path,
        *history(
            "aws-beta", [[artifact(a, "web"), artifact(a, "worker")], [artifact(b, "web"), artifact(b, "worker")]]
        ),
    )
    before = bisect_state(repo.path)

    refused = run_cli("bisect", "aws-beta#1", "aws-beta#2", cwd=repo.path)

    assert refused.exit_code == 128
    assert refused.stderr == (
        "fatal: 2 artifacts of this repository changed between aws-beta#1 and aws-beta#2: web-ci, worker-ci; "
        "choose one with --artifact NAME\n"
    )
    assert bisect_state(repo.path) == before
    chosen = run_cli("bisect", "aws-beta#1", "aws-beta#2", "--artifact", "worker-ci", "--json", cwd=repo.path)
    assert json.loads(chosen.stdout)["artifact"]["flow"] == "worker-ci"


def refusal_cases(repo: GitRepo) -> dict[str, tuple[list[str], str]]:
    """Repositories and snapshots that must be refused, with the line each refusal prints."""
    a, b, c = repo.commit("a"), repo.commit("b"), repo.commit("c")
    repo.branch("other", a)
    x = repo.commit("x")
    repo.checkout("main")
    missing = "1" * 40
    seed(
        repo.path,
        *history(
            "env",
            [
                [artifact(a, url=f"{URL}/commit/{a}")],
                [artifact(c, url=f"{URL}/commit/{c}")],
                [artifact(b)],  # 3: a rollback from c
                [artifact(x)],  # 4: diverged from b
                [artifact(missing, url=f"{URL}/commit/{missing}")],  # 5: fetched nowhere
                [artifact(missing, url=f"{URL}/commit/{missing}"), artifact("2" * 40, "saver")],  # 6
                [artifact(missing, url=f"{URL}/commit/{missing}"), artifact("3" * 40, "saver")],  # 7
                [artifact(x)],  # 8: same commit as 4
            ],
        ),
    )
    git(repo.path, "remote", "add", "origin", "git@github.com:acme/web.git")
    return {
        "rollback": (
            ["env#2", "env#3"],
            f"fatal: env#3 runs an older commit of web-ci than env#2 ({b[:7]} is an "
            f"ancestor of {c[:7]}): a rollback, so no commit in between was introduced\n",
        ),
        "diverged": (
            ["env#3", "env#4"],
            f"fatal: web-ci in env#4 ({x[:7]}) does not descend from env#3 ({b[:7]}): "
            f"the histories diverged, so there is no range to bisect\n",
        ),
        "missing": (
            ["env#2", "env#5"],
            f"fatal: commit {missing} (web-ci in env#5) is not in this repository\n"
            "hint: fetch it, then try again: git fetch\n",
        ),
        "other repository only": (
            ["env#6", "env#7"],
            "fatal: no artifact of this repository changed between env#6 "
            "and env#7 (saver-ci changed (another repository))\n",
        ),
        "same commit": (
            ["env#4", "env#8"],
            "fatal: no artifact of this repository changed between env#4 and env#8 "
            "(the two snapshots run the same artifacts)\n",
        ),
        "unknown environment": (["prod#1", "prod#2"], "fatal: environment 'prod' does not exist (environments: env)\n"),
        "out of range": (["env#1", "env#9"], "fatal: snapshot env#9 does not exist: 'env' has 8 snapshots (#1..#8)\n"),
        "wrong artifact": (
            ["env#1", "env#2", "--artifact", "api"],
            "fatal: no artifact 'api' of this repository changed between env#1 and env#2 (changed here: web-ci)\n",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "rollback",
        "diverged",
        "missing",
        "other repository only",
        "same commit",
        "unknown environment",
        "out of range",
        "wrong artifact",
    ],
)
def test_refusals_are_one_line_and_change_nothing(repo: GitRepo, run_cli: RunCli, case: str) -> None:
    args, message = refusal_cases(repo)[case]
    before = bisect_state(repo.path)

    result = run_cli("bisect", *args, cwd=repo.path)

    assert (result.exit_code, result.stderr, result.stdout) == (128, message, "")
    assert bisect_state(repo.path) == before


def test_a_bisect_in_progress_is_refused(repo: GitRepo, run_cli: RunCli) -> None:
    commits = repo.linear(4)
    seed(repo.path, *history("env", [[artifact(commits[0])], [artifact(commits[3])]]))
    git(repo.path, "bisect", "start", commits[2], commits[0])
    before = bisect_state(repo.path)

    result = run_cli("bisect", "env#1", "env#2", cwd=repo.path)

    assert result.exit_code == 128
    assert result.stderr == (
        "fatal: a bisect is already in progress in this worktree (started on main); "
        "end it with 'git bisect reset' or 'git kosli bisect reset' first\n"
    )
    assert bisect_state(repo.path) == before


def test_a_bad_expression_is_a_usage_error(repo: GitRepo, run_cli: RunCli) -> None:
    repo.commit("a")
    result = run_cli("bisect", "aws-beta#forty", "aws-beta#41", cwd=repo.path)
    assert result.exit_code == 129
    assert result.stderr == (
        "error: invalid snapshot expression 'aws-beta#forty' at column 10: "
        "'#' takes a snapshot number, like #41 or #-1\n"
    )


def test_a_shallow_clone_is_told_to_unshallow(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    commits = repo.linear(5)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth=2", f"file://{repo.path}", str(shallow))
    seed(shallow, *history("env", [[artifact(commits[0])], [artifact(commits[4])]]))

    result = run_cli("bisect", "env#1", "env#2", cwd=shallow)

    assert result.exit_code == 128
    assert result.stderr == (
        f"fatal: commit {commits[0]} (web-ci in env#1) is not in this repository\n"
        "hint: fetch it, then try again: git fetch --unshallow\n"
    )
    assert not (shallow / ".git" / "BISECT_START").exists()


def test_a_linked_worktree_bisects_on_its_own(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    commits = repo.linear(5)
    seed(repo.path, *history("env", [[artifact(commits[0])], [artifact(commits[4])]]))
    worktree = tmp_path / "wt"
    git(repo.path, "worktree", "add", "--quiet", "--detach", str(worktree))
    (worktree / "sub").mkdir()

    result = run_cli("bisect", "env#1", "env#2", cwd=worktree / "sub")

    assert result.exit_code == 0, result.stderr
    assert git(worktree, "rev-parse", "refs/bisect/bad").strip() == commits[4]
    assert git(repo.path, "for-each-ref", "refs/bisect/") == ""  # per worktree, as git keeps it
    assert git(worktree, "notes", "--ref=kosli", "show", commits[4]).startswith("env#2 ")


def test_a_bare_repository_bisects_without_checkout(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    commits = repo.linear(4)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(repo.path), str(bare))
    seed(bare, *history("env", [[artifact(commits[0])], [artifact(commits[3])]]))

    result = run_cli("bisect", "env#1", "env#2", cwd=bare)

    assert result.exit_code == 0, result.stderr
    assert (bare / "BISECT_HEAD").exists()
    assert git(bare, "rev-parse", "refs/bisect/bad").strip() == commits[3]


def test_through_git_from_a_subdirectory(repo: GitRepo) -> None:
    commits = repo.linear(4)
    seed(repo.path, *history("env", [[artifact(commits[0])], [artifact(commits[3])]]))
    (repo.path / "deep" / "er").mkdir(parents=True)

    result = git_kosli("bisect", "env#1", "env#2", cwd=repo.path / "deep" / "er")

    assert result.returncode == 0, result.stderr
    assert "3 candidate commits" in result.stdout
    assert git(repo.path, "rev-parse", "refs/bisect/bad").strip() == commits[3]


def test_git_bisect_keeps_working_afterwards(repo: GitRepo, run_cli: RunCli) -> None:
    commits = repo.linear(8)
    (repo.path / "test.sh").write_text("#!/bin/sh\n! test -e c6.txt\n")
    (repo.path / "test.sh").chmod(0o755)
    seed(repo.path, *history("env", [[artifact(commits[0])], [artifact(commits[7])]]))
    run_cli("bisect", "env#1", "env#2", cwd=repo.path)

    out = git(repo.path, "bisect", "run", "./test.sh")

    assert f"{commits[5]} is the first bad commit" in out
    git(repo.path, "bisect", "reset")
    assert not (repo.path / ".git" / "BISECT_START").exists()


def test_outside_a_repository(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("bisect", "env#1", "env#2", cwd=tmp_path)
    assert result.exit_code == 128
    assert result.stderr == "fatal: not a git repository (or any of the parent directories): .git\n"


def test_a_pathspec_typed_in_a_subdirectory_is_relative_to_it(repo: GitRepo, run_cli: RunCli) -> None:
    (repo.path / "src").mkdir()
    a = repo.commit("a")
    (repo.path / "src" / "app.py").write_text("one\n")
    git(repo.path, "add", "src/app.py")
    git(repo.path, "commit", "--quiet", "-m", "touch app")
    touched = repo.head()
    b = repo.commit("b")
    seed(repo.path, *history("env", [[artifact(a)], [artifact(b)]]))

    result = run_cli("bisect", "env#1", "env#2", "--json", "--", "app.py", cwd=repo.path / "src")

    assert result.exit_code == 0, result.stderr
    assert [c["git_commit"] for c in json.loads(result.stdout)["commits"]] == [touched]
    assert (repo.path / ".git" / "BISECT_NAMES").read_text().strip() == "'--' 'src/app.py'"


def test_git_refusing_to_start_leaves_no_bisect_and_no_notes(repo: GitRepo, run_cli: RunCli) -> None:
    commits = [repo.commit("app", f"version {n}\n") for n in range(6)]
    seed(repo.path, *history("env", [[artifact(commits[0])], [artifact(commits[-1])]]))
    (repo.path / "app.txt").write_text("work in progress\n")  # git cannot check out the midpoint over this
    before = bisect_state(repo.path)

    result = run_cli("bisect", "env#1", "env#2", cwd=repo.path)

    assert result.exit_code == 128
    assert result.stderr.startswith("fatal: git bisect start failed: ")
    assert "would be overwritten by checkout" in result.stderr
    assert len(result.stderr.splitlines()) == 1  # git's several lines, as one
    assert "app.txt" in result.stderr
    assert bisect_state(repo.path) == before  # no refs/bisect, no BISECT_* files, no refs/notes/kosli
    assert (repo.path / "app.txt").read_text() == "work in progress\n"
