"""`git kosli fetch`: environments as refs under refs/kosli/, checked with plain git, from the store and from Kosli."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from git_kosli.env_refs import artifact_ref_name_or_none, ref_component_or_none
from git_kosli.errors import GitCommandError
from git_kosli.git.refs import RefWrite, read_refs, write_refs
from git_kosli.git.repository import discover
from git_kosli.model import Artifact, CommitSha, Fingerprint
from tests.conftest import RunCli
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git
from tests.kosli_server import KosliServer

Publish = Callable[..., object]
URL = "https://github.com/acme/web"


def refs(path: Path) -> dict[str, str]:
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/kosli/")
    return dict(line.split() for line in out.splitlines())


def reflog(path: Path, ref: str) -> list[str]:
    return git(path, "reflog", "--format=%h %gs", ref, "--").splitlines()


def web(commit: str, name: str = "web") -> Artifact:
    """An artifact this repository built, recognised by its commit URL even where the commit is missing."""
    return artifact(commit, name, url=f"{URL}/commit/{commit}")


@pytest.fixture
def commits(repo: GitRepo) -> list[CommitSha]:
    git(repo.path, "remote", "add", "origin", f"{URL}.git")
    return repo.linear(6)


def test_each_environment_gets_a_ref_at_its_running_commit(
    repo: GitRepo, commits: list[CommitSha], publish: Publish, run_cli: RunCli
) -> None:
    c = commits
    publish(
        *history("beta", [[web(c[1])], [web(c[3]), artifact("9" * 40, "api")]]),
        *history("prod", [[web(c[1])], [web(c[2])], [web(c[2]), artifact(None, "miner")]]),
        *history("other", [[artifact("8" * 40, "api")]]),
    )

    first = run_cli("fetch", cwd=repo.path)
    again = run_cli("fetch", cwd=repo.path)

    assert first.exit_code == 0, first.stderr
    assert refs(repo.path) == {"refs/kosli/beta": c[3], "refs/kosli/prod": c[2]}
    assert first.stderr.splitlines()[1:] == [
        " * [new ref] beta#2 web:" + c[3][:7] + " -> kosli/beta",
        " * [new ref] prod#2 web:" + c[2][:7] + " -> kosli/prod",
    ]
    assert (again.exit_code, again.stderr) == (0, "")
    assert reflog(repo.path, "kosli/prod") == [f"{c[2][:7]} prod#2 web:{c[2][:7]}"]
    brings = git(repo.path, "log", "--format=%H", "kosli/prod..main").split()
    assert brings == git(repo.path, "rev-list", "main", f"^{c[2]}").split()
    assert git(repo.path, "describe", "--contains", "--all", c[1]).strip() == "kosli/prod~1"
    decorated = git(repo.path, "-c", "log.initialDecorationSet=all", "log", "--oneline", "--decorate", "-1", c[2])
    assert decorated.startswith(f"{c[2][:7]} (refs/kosli/prod) ")
    assert git(repo.path, "branch", "--contains", "kosli/prod").split() == ["*", "main"]


def test_deploys_and_rollbacks_move_the_refs_and_the_reflog_tells_them(
    repo: GitRepo, commits: list[CommitSha], publish: Publish, run_cli: RunCli
) -> None:
    c = commits
    publish(*history("prod", [[web(c[1])]]))
    run_cli("fetch", cwd=repo.path)
    publish(*history("prod", [[web(c[4])]], start=2))
    forward = run_cli("fetch", cwd=repo.path)
    publish(*history("prod", [[web(c[4])], [web(c[2])]], start=3))
    back = run_cli("fetch", cwd=repo.path)

    assert forward.stderr.splitlines()[1] == f"   {c[1][:7]}..{c[4][:7]} prod#2 web:{c[4][:7]} -> kosli/prod"
    assert back.stderr.splitlines()[1] == (
        f" + {c[4][:7]}...{c[2][:7]} prod#4 web:{c[2][:7]} -> kosli/prod  (rollback)"
    )
    assert reflog(repo.path, "kosli/prod") == [
        f"{c[2][:7]} prod#4 web:{c[2][:7]}",
        f"{c[4][:7]} prod#2 web:{c[4][:7]}",
        f"{c[1][:7]} prod#1 web:{c[1][:7]}",
    ]
    dated = git(repo.path, "reflog", "--date=unix", "--format=%gd", "kosli/prod", "--").split()
    assert dated[0] == "kosli/prod@{1790014400}"  # when prod#4 started (tests/factory.py: T0 + 4 hours)


def test_switching_between_one_ref_and_a_ref_per_artifact(
    repo: GitRepo, commits: list[CommitSha], publish: Publish, run_cli: RunCli
) -> None:
    c = commits
    publish(*history("prod", [[web(c[1])]]))
    run_cli("fetch", cwd=repo.path)
    publish(*history("prod", [[web(c[2]), web(c[3], "worker")]], start=2))
    split = run_cli("fetch", cwd=repo.path)
    publish(*history("prod", [[web(c[4])]], start=3))
    joined = run_cli("fetch", cwd=repo.path)

    assert split.exit_code == 0, split.stderr
    assert split.stderr.splitlines()[1:] == [
        " - [deleted] (none)                -> kosli/prod",
        f" * [new ref] prod#2 web:{c[2][:7]}    -> kosli/prod/web",
        f" * [new ref] prod#2 worker:{c[3][:7]} -> kosli/prod/worker",
    ]
    assert joined.exit_code == 0, joined.stderr
    assert refs(repo.path) == {"refs/kosli/prod": c[4]}
    assert not (repo.path / ".git" / "refs" / "kosli" / "prod").is_dir()


def test_refs_of_environments_no_longer_running_this_repository_are_deleted_and_others_kept(
    repo: GitRepo, commits: list[CommitSha], publish: Publish, run_cli: RunCli
) -> None:
    c = commits
    publish(*history("beta", [[web(c[1])]]), *history("prod", [[web(c[2])]]))
    run_cli("fetch", cwd=repo.path)
    publish(*history("beta", [[artifact("9" * 40, "api")]], start=2), *history("prod", [[]], start=2))

    only_beta = run_cli("fetch", "beta", cwd=repo.path)
    assert refs(repo.path) == {"refs/kosli/prod": c[2]}
    everything = run_cli("fetch", cwd=repo.path)

    assert only_beta.stderr.splitlines()[1:] == [" - [deleted] (none) -> kosli/beta"]
    assert everything.stderr.splitlines()[1:] == [" - [deleted] (none) -> kosli/prod"]
    assert refs(repo.path) == {}


def test_a_running_commit_not_fetched_here_leaves_the_ref_as_it_was_with_a_hint(
    repo: GitRepo, commits: list[CommitSha], publish: Publish, run_cli: RunCli
) -> None:
    c = commits
    missing = "a" * 40
    publish(*history("prod", [[web(c[1])], [web(missing)]]))
    git(repo.path, "update-ref", "refs/kosli/prod", c[1])

    result = run_cli("fetch", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert refs(repo.path) == {"refs/kosli/prod": c[1]}
    assert result.stderr.splitlines()[1:] == [
        " ! [not fetched] prod#2 web:aaaaaaa -> kosli/prod  (commit aaaaaaa is not in this repository)",
        "hint: run 'git fetch' to get the running commits, then 'git kosli fetch' again",
    ]


def test_a_ref_that_moved_meanwhile_is_refused_and_no_ref_changes(repo: GitRepo, commits: list[CommitSha]) -> None:
    c = commits
    paths = discover(repo.path)
    git(repo.path, "update-ref", "refs/kosli/prod", c[2])

    with pytest.raises(GitCommandError, match="refs/kosli/ not updated"):
        write_refs(
            paths,
            [
                RefWrite("refs/kosli/beta", c[3], None, "beta#1 web", 1_790_000_000.0),
                RefWrite("refs/kosli/prod", c[4], c[1], "prod#2 web", 1_790_000_000.0),  # it is at c[2], not c[1]
            ],
        )

    assert read_refs(paths, "refs/kosli/") == {"refs/kosli/prod": c[2]}


@pytest.mark.parametrize(
    "name",
    ["aws-prod", "a..b", "x.", "x.lock", "v1.2", "_x", "-x", "a b", "a/b", "é", "x@{1}", "prod_2", "A.B-c", "x~1"],
)
def test_ref_names_follow_kosli_s_rules_and_git_s(name: str) -> None:
    kosli = bool(ref_component_or_none(name))
    by_git = subprocess.run(["git", "check-ref-format", f"refs/kosli/{name}"], check=False).returncode == 0

    assert not kosli or by_git  # never a name git refuses
    assert kosli == (by_git and name[0].isalnum() and name.isascii() and "/" not in name and "@" not in name)


def test_artifact_names_become_ref_components_only_when_valid() -> None:
    def named(name: str) -> str | None:
        return artifact_ref_name_or_none(Artifact(name, Fingerprint("0" * 64)))

    assert named("244531986313.dkr.ecr.eu-central-1.amazonaws.com/runner:6a29198@sha256:" + "1" * 64) == "runner"
    assert named("my app.jar") == "my-app.jar"
    assert named("...") is None
    assert named("x\x1b[31m") == "x-31m"


def test_fetch_caches_what_it_read_so_later_commands_work_offline(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    c = commits
    server.add(*history("beta", [[web(c[1])], [web(c[2])]]), *history("prod", [[web(c[1])]]))

    cold = run_cli("fetch", cwd=repo.path)
    before = len(server.requests)
    warm = run_cli("fetch", cwd=repo.path)
    warm_requests = len(server.requests) - before
    offline = run_cli("--offline", "where", c[1], cwd=repo.path)

    assert (cold.exit_code, warm.exit_code, offline.exit_code) == (0, 0, 0)
    assert warm_requests == 4  # the listing, one probe per environment, this repository's builds (its flow's page 1)
    assert "From Kosli org acme (http://127.0.0.1:" in cold.stderr
    assert "contained" in offline.stdout


def test_fetch_notes_setting_refreshes_the_notes(
    repo: GitRepo, commits: list[CommitSha], publish: Publish, run_cli: RunCli
) -> None:
    c = commits
    publish(*history("prod", [[web(c[1])], [web(c[3])]]))
    git(repo.path, "config", "kosli.fetch.notes", "true")

    result = run_cli("fetch", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert "wrote notes for" in result.stderr
    assert git(repo.path, "notes", "--ref=kosli", "show", c[3]).strip() == f"prod#2 registry.example/web:{c[3][:7]}"


def test_quiet_fetch_prints_nothing_but_moves_the_refs(
    repo: GitRepo, commits: list[CommitSha], publish: Publish, run_cli: RunCli
) -> None:
    publish(*history("prod", [[web(commits[1])]]))

    result = run_cli("fetch", "-q", cwd=repo.path)

    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert refs(repo.path) == {"refs/kosli/prod": commits[1]}


def test_a_server_s_name_reaches_the_reflog_without_control_characters(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    evil = web(commits[1])._replace(name="registry.example/web\x1b]0;pwned\x07:1\nfatal: x")
    server.add(*history("prod", [[evil]]))  # from outside: the store refuses such a name, Kosli's is cleaned

    result = run_cli("fetch", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert reflog(repo.path, "kosli/prod") == [f"{commits[1][:7]} prod#1 web]0;pwned:1fatal: x"]


def test_an_environment_whose_name_git_refuses_gets_a_warning_not_a_ref(
    repo: GitRepo, commits: list[CommitSha], run_cli: RunCli
) -> None:
    seed(repo.path, *history("v1..2", [[web(commits[1])]]), *history("prod", [[web(commits[2])]]))

    result = run_cli("fetch", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert refs(repo.path) == {"refs/kosli/prod": commits[2]}
    assert result.stderr.splitlines()[-1] == "warning: no ref for environment 'v1..2': not a valid ref name"
