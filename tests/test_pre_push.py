"""The pre-push hook, installed in a real repository, on real pushes to a bare repository on disk."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from git_kosli.git import hooks
from git_kosli.git.hooks import is_zero, parse_push_lines, pre_commit_refs
from git_kosli.model import CommitSha
from tests.conftest import RunCli, installed_env
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git
from tests.kosli_server import Fault, KosliServer

ZERO = "0" * 40


def push(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    """`git push` with this installation's git-kosli on PATH, as a developer has it."""
    return subprocess.run(
        ["git", "push", *args], cwd=repo.path, capture_output=True, text=True, env=installed_env(), check=False
    )


@pytest.fixture
def deployed(repo: GitRepo, tmp_path: Path, run_cli: RunCli) -> dict[str, CommitSha]:
    """main a-b-c-d; prod runs b; beta runs a hotfix h built on b; the hook is installed; origin is bare."""
    c = {"a": repo.commit("a"), "b": repo.commit("b")}
    repo.branch("hotfix")
    c["h"] = repo.commit("h")
    repo.checkout("main")
    c["c"], c["d"] = repo.commit("c"), repo.commit("d")
    seed(
        repo.path,
        *history("prod", [[artifact(c["a"])], [artifact(c["b"])]]),
        *history("beta", [[artifact(c["h"]), artifact(None, "miner")]]),
    )
    git(tmp_path, "init", "--quiet", "--bare", "origin.git")
    git(repo.path, "remote", "add", "origin", str(tmp_path / "origin.git"))
    assert run_cli("hook", "install", cwd=repo.path).exit_code == 0
    return c


def test_parsing_git_stdin() -> None:
    text = (
        f"refs/heads/main {'1' * 40} refs/heads/main {'2' * 40}\n"
        f"(delete) {ZERO} refs/heads/old {'3' * 40}\n"
        f"HEAD~0 {'4' * 40} refs/heads/new {ZERO}\n"
        "garbage line\n"
    )
    refs = parse_push_lines(text)
    assert [(r.local_ref, r.deleted) for r in refs] == [
        ("refs/heads/main", False),
        ("(delete)", True),
        ("HEAD~0", False),
    ]
    assert parse_push_lines("") == []
    assert is_zero("0" * 64) and not is_zero("")


def test_pre_commit_variables_stand_for_stdin() -> None:
    (ref,) = pre_commit_refs(
        {
            "PRE_COMMIT_TO_REF": "1" * 40,
            "PRE_COMMIT_FROM_REF": "2" * 40,
            "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
            "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
        }
    )
    assert (ref.local_sha, ref.remote_ref) == ("1" * 40, "refs/heads/main")
    assert pre_commit_refs({}) == []
    # a first push to an empty remote: pre-commit runs on all files and names no commit
    (first,) = pre_commit_refs(
        {"PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main", "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main"}
    )
    assert (first.local_ref, first.local_sha, first.remote_ref) == (
        "refs/heads/main",
        "refs/heads/main",
        "refs/heads/main",
    )
    (from_only,) = pre_commit_refs({"PRE_COMMIT_FROM_REF": "2" * 40})
    assert from_only.local_sha == "2" * 40


def test_the_installed_hook_is_the_shipped_file(deployed: dict[str, CommitSha], repo: GitRepo) -> None:
    installed = repo.path / ".git" / "hooks" / "pre-push"
    assert installed.read_text() == (Path(__file__).parents[1] / "hooks" / "pre-push").read_text() == hooks.hook_text()
    assert os.access(installed, os.X_OK)


def test_a_push_shows_each_environment(deployed: dict[str, CommitSha], repo: GitRepo) -> None:
    result = push(repo, "origin", "main")

    assert result.returncode == 0, result.stderr
    assert f"kosli: prod#2 runs {deployed['b'][:7]}: main is 2 ahead, 0 behind" in result.stderr
    assert f"kosli: beta#1 runs {deployed['h'][:7]}: main is 2 ahead, 1 behind [rogue not-contained]" in result.stderr
    assert git(repo.path, "ls-remote", "origin", "main").split()[0] == deployed["d"]


def test_new_branch_tag_fast_forward_delete_and_several_refs(deployed: dict[str, CommitSha], repo: GitRepo) -> None:
    git(repo.path, "tag", "v1", deployed["c"])
    assert push(repo, "origin", f"{deployed['c']}:refs/heads/main").returncode == 0  # new branch
    fast_forward = push(repo, "origin", "main")
    assert fast_forward.returncode == 0 and "main is 2 ahead" in fast_forward.stderr
    tag = push(repo, "origin", "v1")
    assert tag.returncode == 0 and "refs/tags/v1 is 1 ahead" in tag.stderr
    many = push(repo, "origin", "hotfix", "refs/heads/main:refs/heads/other")
    assert many.returncode == 0
    assert "hotfix is 0 ahead, 0 behind" in many.stderr and "other is 2 ahead" in many.stderr
    delete = push(repo, "origin", "--delete", "other")
    assert delete.returncode == 0 and "kosli:" not in delete.stderr
    up_to_date = push(repo, "origin", "main")
    assert up_to_date.returncode == 0 and "kosli:" not in up_to_date.stderr


def test_a_broken_source_lets_the_push_go(deployed: dict[str, CommitSha], repo: GitRepo) -> None:
    (repo.path / ".git" / "kosli" / "local.sqlite").write_bytes(b"this is not a database")
    result = push(repo, "origin", "main")
    assert result.returncode == 0
    assert "kosli: status unknown (offline)" in result.stderr
    assert git(repo.path, "ls-remote", "origin", "main").split()[0] == deployed["d"]


def test_blocking_mode_refuses_a_push_that_drops_a_deployed_hotfix(
    deployed: dict[str, CommitSha], repo: GitRepo
) -> None:
    git(repo.path, "config", "kosli.prePush.block", "missing-deployed")
    git(repo.path, "config", "kosli.prePush.environments", "beta")

    refused = push(repo, "origin", "main")

    assert refused.returncode != 0
    assert (
        f"kosli: refusing to push main: it does not contain {deployed['h'][:7]}, which runs in beta "
        "(kosli.prePush.block=missing-deployed)"
    ) in refused.stderr
    assert git(repo.path, "ls-remote", "origin") == ""  # nothing was sent
    git(repo.path, "merge", "--quiet", "--no-edit", "hotfix")
    assert push(repo, "origin", "main").returncode == 0


def test_install_refuses_a_foreign_hook_and_uninstall_removes_only_ours(repo: GitRepo, run_cli: RunCli) -> None:
    repo.commit("a")
    hooks_dir = repo.path / "custom-hooks"
    git(repo.path, "config", "core.hooksPath", "custom-hooks")
    hooks_dir.mkdir()
    (hooks_dir / "pre-push").write_text("#!/bin/sh\necho mine\n")

    refused = run_cli("hook", "install", cwd=repo.path)
    assert refused.exit_code == 128
    assert refused.stderr == (
        f"fatal: {hooks_dir / 'pre-push'} exists and is not git kosli's; use --force to replace it\n"
    )
    assert run_cli("hook", "uninstall", cwd=repo.path).stdout == "no git kosli pre-push hook installed\n"
    assert (hooks_dir / "pre-push").read_text() == "#!/bin/sh\necho mine\n"
    assert run_cli("hook", "install", "--force", cwd=repo.path).stdout == f"installed {hooks_dir / 'pre-push'}\n"
    assert run_cli("hook", "uninstall", cwd=repo.path).stdout == f"removed {hooks_dir / 'pre-push'}\n"
    assert not (hooks_dir / "pre-push").exists()


def test_status_against_a_revision(deployed: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli) -> None:
    doc = json.loads(run_cli("status", "main", "--json", cwd=repo.path).stdout)
    envs = {e["environment"]: e for e in doc["environments"]}
    (prod,) = envs["prod"]["running"]
    assert (prod["git_commit"], prod["behind"], prod["ahead"], prod["contained"], prod["since"]["index"]) == (
        deployed["b"],
        2,
        0,
        True,
        2,
    )
    (beta,) = envs["beta"]["running"]
    assert (beta["behind"], beta["ahead"], beta["contained"]) == (2, 1, False)
    assert [a["name"] for a in envs["beta"]["rogue"]] == ["registry.example/miner:rogue"]
    assert (doc["revision"], doc["git_commit"]) == ("main", deployed["d"])
    text = run_cli("status", cwd=repo.path).stdout
    assert "not-contained" in text and "rogue" in text


def hook(repo: GitRepo, sha: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """`git kosli pre-push` as git runs it for a push of main to SHA, and how long it took."""
    started = time.monotonic()
    result = subprocess.run(
        ["git", "kosli", "pre-push", "origin", "/nowhere"],
        cwd=repo.path,
        input=f"refs/heads/main {sha} refs/heads/main {ZERO}\n",
        capture_output=True,
        text=True,
        env=installed_env(**env),
        check=False,
    )
    return result, time.monotonic() - started


@pytest.mark.parametrize("read_timeout", ["30", "100"])
def test_a_server_that_never_answers_never_holds_the_push(read_timeout: str, repo: GitRepo) -> None:
    sha = repo.commit("a")
    git(repo.path, "config", "kosli.prePush.timeout", "1")
    with KosliServer() as silent:
        silent.fail("/", *[Fault("silent")] * 100)  # every request: the connection is taken, no byte comes back

        result, seconds = hook(repo, sha, **silent.env(KOSLI_READ_TIMEOUT=read_timeout))

    assert (result.returncode, result.stderr) == (0, "kosli: status unknown (offline)\n")
    assert silent.count("/api/v2/") >= 1  # it did ask
    assert seconds < 1 + 1.5  # the timeout, and a margin for starting Python on a loaded 2-core machine


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "1e308", "soon", "2s"])
def test_any_timeout_setting_gives_a_clear_line_and_the_default_never_a_failed_push(
    value: str, deployed: dict[str, CommitSha], repo: GitRepo
) -> None:
    git(repo.path, "config", "kosli.prePush.timeout", value)

    result, _ = hook(repo, deployed["d"])

    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert lines[0] == f"kosli: kosli.prePush.timeout '{value}' is not a number of seconds from 0 to 60; using 2"
    assert any(line.startswith("kosli: prod#2 runs") for line in lines[1:])


def test_a_misspelled_blocking_environment_is_reported(deployed: dict[str, CommitSha], repo: GitRepo) -> None:
    git(repo.path, "config", "kosli.prePush.block", "missing-deployed")
    git(repo.path, "config", "kosli.prePush.environments", "prod, bteta")

    result, _ = hook(repo, deployed["d"])

    assert result.returncode == 0
    assert (
        "kosli: kosli.prePush.environments names 'bteta', which is not an environment (environments: beta, prod)"
    ) in result.stderr.splitlines()
