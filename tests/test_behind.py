"""Issue 16, case 3: a clone that lacks the commits the environments run says so, and answers as git does once fetched.

`origin` has moved on (a merge, a commit dated before its parent); this clone has not fetched.
Artifacts are recognised as this repository's by their commit URL, or (no URL, embedded store)
by their flow, learned from the snapshots whose commits are here. Every command says `not
fetched` (JSON: unknown, missing_commits) and `git fetch` in a closing hint, never `gone`,
`never` or `other-repo`; after `git fetch`, git is the oracle.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from git_kosli.model import Artifact, CommitSha
from tests.conftest import RunCli
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git

URL = "https://github.com/acme/web"


@pytest.fixture
def origin(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "origin")


@pytest.fixture(params=["by commit URL", "by flow"])
def behind(
    request: pytest.FixtureRequest, origin: GitRepo, repo: GitRepo, publish: Callable[..., object]
) -> dict[str, CommitSha]:
    """origin: a b c, then M(topic: t1, t2 dated before t1) d e. This clone stopped at c.

    beta ran b, c, then e; prod ran b, then d. Neither d nor e is here.
    """
    c = {name: origin.commit(name) for name in "abc"}
    git(repo.path, "remote", "add", "origin", str(origin.path))
    git(repo.path, "remote", "add", "upstream", f"{URL}.git")
    git(repo.path, "fetch", "--quiet", "origin")
    git(repo.path, "reset", "--quiet", "--hard", "origin/main")
    origin.branch("topic")
    c["t1"] = origin.commit("t1")
    origin.tick -= 200
    c["t2"] = origin.commit("t2")
    origin.tick += 200  # only t2 is skewed: without a commit-graph, `containing` still orders its walk by date (#17)
    origin.checkout("main")
    c["m"] = origin.merge("topic")
    c["d"], c["e"] = origin.commit("d"), origin.commit("e")

    def web(name: str) -> Artifact:
        return artifact(c[name], url=f"{URL}/commit/{c[name]}" if request.param == "by commit URL" else None)

    publish(
        *history("beta", [[web("b")], [web("c")], [web("e")]]),
        *history("prod", [[web("b")], [web("d")]]),
    )
    return c


def fetch(repo: GitRepo) -> None:
    git(repo.path, "fetch", "--quiet", "origin")


def count(repo: GitRepo, new: str, old: str) -> int:
    return int(git(repo.path, "rev-list", "--count", new, f"^{old}").strip())


def is_ancestor(repo: GitRepo, ancestor: str, descendant: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, descendant], cwd=repo.path).returncode == 0


def test_where_says_not_fetched_then_what_git_says(
    behind: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    result = run_cli("where", behind["b"], cwd=repo.path)

    assert result.exit_code == 1  # it runs nowhere that this clone can tell
    rows = {
        line.split()[0]: line.split()[1:3]
        for line in result.stdout.splitlines()[2:]
        if line.startswith(("beta", "prod"))
    }
    assert rows == {"beta": ["not", "fetched"], "prod": ["not", "fetched"]}
    assert result.stdout.splitlines()[-1] == (
        f"hint: commits {behind['e'][:7]}, {behind['d'][:7]} of this repository are not here; run 'git fetch'"
    )
    doc = json.loads(run_cli("where", behind["b"], "--json", cwd=repo.path).stdout)
    assert {e["environment"]: (e["status"], e["missing_commits"]) for e in doc["environments"]} == {
        "beta": ("unknown", [behind["e"]]),
        "prod": ("unknown", [behind["d"]]),
    }

    fetch(repo)
    doc = json.loads(run_cli("where", behind["b"], "--json", cwd=repo.path).stdout)
    for env, latest in (("beta", "e"), ("prod", "d")):
        status = next(e["status"] for e in doc["environments"] if e["environment"] == env)
        assert status == ("contained" if is_ancestor(repo, behind["b"], behind[latest]) else "gone")
    assert doc["missing_commits"] == []


def test_where_never_says_never_or_gone_for_what_it_cannot_know(
    behind: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    repo.commit("local work")  # here only: no build can contain it, but the environments' commits are not here
    doc = json.loads(run_cli("where", "HEAD", "--json", cwd=repo.path).stdout)
    assert {e["status"] for e in doc["environments"]} == {"unknown"}


def test_diff_and_log_say_not_fetched_then_count_the_commits(
    behind: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    c, e = behind["c"], behind["e"]
    diff = run_cli("diff", "beta#2", "beta#3", cwd=repo.path)
    assert diff.exit_code == 1
    row = next(line.split() for line in diff.stdout.splitlines() if line.startswith("web:"))
    assert row[1:] == ["web-ci", c[:7], e[:7], "not", "fetched"]
    assert diff.stdout.splitlines()[-1] == f"hint: commit {e[:7]} of this repository is not here; run 'git fetch'"
    doc = json.loads(run_cli("diff", "beta#2", "beta#3", "--json", cwd=repo.path).stdout)
    assert (doc["artifacts"][0]["relation"], doc["artifacts"][0]["missing_commits"]) == ("unknown", [e])
    log = run_cli("log", "beta", cwd=repo.path)
    assert f"changed   web:{e[:7]}  not fetched ({c[:7]}..{e[:7]})" in log.stdout
    assert log.stdout.splitlines()[-1].endswith("run 'git fetch'")

    fetch(repo)
    diff = run_cli("diff", "beta#2", "beta#3", cwd=repo.path)
    assert f"ahead +{count(repo, e, c)}" in diff.stdout and "hint:" not in diff.stdout
    assert f"+{count(repo, e, c)} commits ({c[:7]}..{e[:7]})" in run_cli("log", "beta", cwd=repo.path).stdout


def test_status_and_pre_push_say_not_fetched_and_never_fail_on_git(
    behind: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    status = run_cli("status", cwd=repo.path)

    assert status.exit_code == 0, status.stderr
    assert status.stderr == ""
    beta = next(line for line in status.stdout.splitlines() if line.startswith("beta"))
    assert "not fetched" in beta and "not-contained" in beta  # a commit this clone lacks is in none of its commits
    assert status.stdout.splitlines()[-1].startswith("hint: ")
    doc = json.loads(run_cli("status", "--json", cwd=repo.path).stdout)
    running = {e["environment"]: e["running"][0] for e in doc["environments"]}
    assert (running["beta"]["status"], running["beta"]["behind"], running["beta"]["ahead"]) == ("unknown", None, None)
    assert sorted(doc["missing_commits"]) == sorted([behind["d"], behind["e"]])

    head = git(repo.path, "rev-parse", "HEAD").strip()
    hook = run_cli(
        "pre-push", "origin", "url", cwd=repo.path, stdin=f"refs/heads/main {head} refs/heads/main {'0' * 40}\n"
    )
    assert hook.exit_code == 0
    assert f"kosli: beta#3 runs {behind['e'][:7]}: not fetched here; run 'git fetch' [not-contained]" in hook.stderr
    assert "unknown" not in hook.stderr

    fetch(repo)
    doc = json.loads(run_cli("status", "--json", cwd=repo.path).stdout)
    running = {e["environment"]: e["running"][0] for e in doc["environments"]}
    assert running["beta"]["ahead"] == count(repo, behind["e"], head)
    assert running["beta"]["behind"] == count(repo, head, behind["e"])


def test_bisect_refuses_with_the_fetch_to_run_and_notes_write_what_is_known(
    behind: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    refused = run_cli("bisect", "beta#2", "beta#3", cwd=repo.path)
    assert refused.exit_code == 128
    assert f"{behind['e']} (web-ci in beta#3) is not in this repository" in refused.stderr
    assert refused.stderr.endswith("git fetch\n")
    assert run_cli("notes", cwd=repo.path).exit_code == 0

    fetch(repo)
    started = run_cli("bisect", "beta#2", "beta#3", cwd=repo.path)
    assert started.exit_code == 0, started.stderr
    assert f"{count(repo, behind['e'], behind['c'])} candidate commits" in started.stdout


def test_a_shallow_clone_is_told_to_unshallow(origin: GitRepo, tmp_path: Path, run_cli: RunCli) -> None:
    c = {name: origin.commit(name) for name in "abcde"}
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{origin.path}", str(shallow))
    seed(shallow, *history("beta", [[artifact(c["b"])], [artifact(c["e"])]]), *history("prod", [[artifact(c["c"])]]))

    diff = run_cli("diff", "beta#1", "beta#2", cwd=shallow)
    status = run_cli("status", cwd=shallow)
    hook = run_cli(
        "pre-push", "origin", "u", cwd=shallow, stdin=f"refs/heads/main {c['e']} refs/heads/main {'0' * 40}\n"
    )

    assert (
        diff.stdout.splitlines()[-1]
        == f"hint: commit {c['b'][:7]} of this repository is not here; run 'git fetch --unshallow'"
    )
    assert status.stdout.splitlines()[-1].endswith("run 'git fetch --unshallow'")
    prod = next(line for line in status.stdout.splitlines() if line.startswith("prod"))
    assert "not-contained" not in prod  # below a shallow boundary it may well be contained: unknown
    assert f"kosli: prod#1 runs {c['c'][:7]}: not fetched here; run 'git fetch --unshallow'" in hook.stderr
