"""Nothing of the user's is lost: arguments never reach git as options, writes never follow links,
the demo never deletes work, a failed `bisect reset` is reported, `notes --env` keeps the other lines.

(A notes writer killed mid-stream is held in test_notes.py.)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from git_kosli import demo as world
from git_kosli.errors import GitCommandError
from git_kosli.git.history import GitHistory
from git_kosli.git.repository import discover
from git_kosli.model import CommitSha
from tests.conftest import RunCli
from tests.factory import artifact, fingerprint, history, seed
from tests.gitrepo import GitRepo, git
from tests.kosli_server import Fault, KosliServer


@pytest.fixture
def ran(repo: GitRepo) -> list[CommitSha]:
    """Six commits; env ran the second and then the sixth."""
    commits = repo.linear(6)
    seed(repo.path, *history("env", [[artifact(commits[1])], [artifact(commits[5])]]))
    return commits


@pytest.mark.parametrize(
    "args",
    [
        ("notes", "--", "--output=VICTIM"),
        ("notes", "--", "--output=NEW"),
        ("where", "--", "--output=VICTIM"),
        ("status", "--", "--output=VICTIM"),
        ("bisect", "reset", "--", "--output=VICTIM"),
        ("snapshot", "record", "env", "--artifact", f"web={fingerprint('x')}@--output=VICTIM"),
        ("bisect", "start", "env#1", "env#2", "--", "--output=VICTIM"),
    ],
)
def test_what_the_user_types_never_reaches_git_as_an_option(
    args: tuple[str, ...], ran: list[CommitSha], repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    victim, new = tmp_path / "victim", tmp_path / "new"
    victim.write_text("keep\n")
    typed = [a.replace("VICTIM", str(victim)).replace("NEW", str(new)) for a in args]

    result = run_cli(*typed, cwd=repo.path)

    assert victim.read_text() == "keep\n"
    assert not new.exists()
    assert "Traceback" not in result.stderr
    if args[1] != "start":  # a pathspec is a pathspec: the bisect starts over no paths of that name
        assert result.exit_code == 128, result.stderr
        assert len(result.stderr.splitlines()) == 1


def test_commits_read_by_git_kosli_reach_git_only_as_full_object_ids(ran: list[CommitSha], repo: GitRepo) -> None:
    with GitHistory(discover(repo.path)) as history_:
        with pytest.raises(GitCommandError, match="not a full object id"):
            history_.log_range(include="--output=x", exclude=ran[0])
        with pytest.raises(GitCommandError):
            history_.subjects(["--all"])
        with pytest.raises(GitCommandError):
            list(history_.ancestry(["--not"]))
    assert not (repo.path / "x").exists()


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file of the user's that a link in .git points at: git kosli must never change it."""
    path = tmp_path / "precious"
    path.write_text("the user's own file\n")
    path.chmod(0o644)
    return path


def _link(place: Path, target: Path) -> None:
    place.parent.mkdir(parents=True, exist_ok=True)
    place.symlink_to(target)


def test_hook_install_over_a_linked_hook_replaces_the_link_not_its_target(
    repo: GitRepo, run_cli: RunCli, victim: Path
) -> None:
    hook = repo.path / ".git" / "hooks" / "pre-push"
    _link(hook, victim)

    assert run_cli("hook", "install", cwd=repo.path).exit_code == 128  # not ours: refused without --force
    result = run_cli("hook", "install", "--force", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert victim.read_text() == "the user's own file\n"
    assert not os.access(victim, os.X_OK)
    assert not hook.is_symlink() and "git-kosli" in hook.read_text() and os.access(hook, os.X_OK)


def test_bisect_state_and_the_notes_memo_replace_links(
    ran: list[CommitSha], repo: GitRepo, run_cli: RunCli, victim: Path
) -> None:
    kosli = repo.path / ".git" / "kosli"
    _link(kosli / "bisect.json", victim)
    _link(kosli / "notes-compared", victim)

    assert run_cli("notes", cwd=repo.path).exit_code == 0
    assert run_cli("notes", cwd=repo.path).exit_code == 0  # nothing to write: the memo is written
    assert run_cli("bisect", "env#1", "env#2", cwd=repo.path).exit_code == 0

    assert victim.read_text() == "the user's own file\n"
    assert not (kosli / "bisect.json").is_symlink() and '"version"' in (kosli / "bisect.json").read_text()
    assert not (kosli / "notes-compared").is_symlink()


@pytest.mark.parametrize("name", ["local.sqlite", "local.sqlite-journal"])
def test_the_store_is_never_written_through_a_link(name: str, repo: GitRepo, run_cli: RunCli, victim: Path) -> None:
    sha = repo.commit("a")
    _link(repo.path / ".git" / "kosli" / name, victim)

    result = run_cli("snapshot", "record", "env", "--artifact", f"web={fingerprint('a')}@{sha}", cwd=repo.path)

    assert result.exit_code == 128
    place = repo.path / ".git" / "kosli" / name
    assert (
        result.stderr == f"fatal: {place} is a symbolic link; git kosli does not write through links (move it aside)\n"
    )
    assert victim.read_text() == "the user's own file\n"


def test_demo_never_deletes_what_is_not_an_untouched_demo(run_cli: RunCli, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    refused = run_cli("demo", "--no-run", str(mine))
    assert refused.exit_code == 128
    assert "is not an earlier demo" in refused.stderr and "--force" in refused.stderr
    assert (mine / "notes.txt").read_text() == "mine\n"

    demo = tmp_path / "d"
    world.build(demo)
    assert run_cli("demo", "--no-run", str(demo)).exit_code == 0  # untouched: rebuilt
    git(demo, "commit", "--quiet", "--allow-empty", "-m", "my own work")
    work = git(demo, "rev-parse", "HEAD").strip()
    refused = run_cli("demo", "--no-run", str(demo))
    assert refused.exit_code == 128
    assert "has commits that are not the demo's" in refused.stderr
    assert git(demo, "rev-parse", "HEAD").strip() == work

    git(demo, "reset", "--quiet", "--hard", "HEAD~1")
    (demo / "scratch.py").write_text("print('mine')\n")
    assert "has local changes or untracked files" in run_cli("demo", "--no-run", str(demo)).stderr
    assert (demo / "scratch.py").exists()

    forced = run_cli("demo", "--no-run", "--force", str(demo))
    assert forced.exit_code == 0 and not (demo / "scratch.py").exists()


def test_demo_replaces_a_link_only_with_force(run_cli: RunCli, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep.txt").write_text("keep\n")
    link = tmp_path / "d"
    link.symlink_to(target)

    assert "is a symbolic link" in run_cli("demo", "--no-run", str(link)).stderr
    assert run_cli("demo", "--no-run", "--force", str(link)).exit_code == 0

    assert not link.is_symlink() and (link / ".git").is_dir()
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]


def test_a_failed_bisect_reset_is_an_error_and_both_bisects_go_on(
    ran: list[CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    assert run_cli("bisect", "env#1", "env#2", cwd=repo.path).exit_code == 0
    state = repo.path / ".git" / "kosli" / "bisect.json"
    lock = repo.path / ".git" / "index.lock"
    lock.write_text("")

    locked = run_cli("bisect", "reset", cwd=repo.path)

    assert locked.exit_code == 128 and locked.stdout == ""
    assert locked.stderr.startswith("fatal: git bisect reset failed: Unable to create ")
    assert "index.lock" in locked.stderr and len(locked.stderr.splitlines()) == 1
    assert state.is_file() and (repo.path / ".git" / "BISECT_START").is_file()
    assert run_cli("bisect", "view", cwd=repo.path).exit_code == 0  # git kosli still knows its bisect

    lock.unlink()
    unknown = run_cli("bisect", "reset", "no-such-commit", cwd=repo.path)
    assert unknown.exit_code == 128 and "unknown revision 'no-such-commit'" in unknown.stderr
    assert state.is_file()

    done = run_cli("bisect", "reset", cwd=repo.path)
    assert done.exit_code == 0 and not state.exists() and not (repo.path / ".git" / "BISECT_START").exists()


def test_bisect_reset_in_a_bare_repository_says_what_it_did(
    ran: list[CommitSha], repo: GitRepo, tmp_path: Path, run_cli: RunCli
) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(repo.path), str(bare))
    seed(bare, *history("env", [[artifact(ran[1])], [artifact(ran[5])]]))
    assert run_cli("bisect", "env#1", "env#2", cwd=bare).exit_code == 0

    result = run_cli("bisect", "reset", cwd=bare)

    assert result.exit_code == 0
    assert result.stdout == "bisect ended: BISECT_HEAD removed (a bare repository has no work tree)\n"
    assert run_cli("bisect", "reset", cwd=bare).stdout == "We are not bisecting.\n"  # git says it


def test_notes_for_one_environment_keep_the_other_environments_lines(repo: GitRepo, run_cli: RunCli) -> None:
    a, b = repo.linear(2)
    seed(
        repo.path,
        *history("beta", [[artifact(a)], [artifact(b)]]),
        *history("prod", [[artifact(a)]]),
    )
    assert run_cli("notes", cwd=repo.path).exit_code == 0
    everything = git(repo.path, "notes", "--ref=kosli", "show", a)

    assert run_cli("notes", "--env", "prod", cwd=repo.path).exit_code == 0

    assert git(repo.path, "notes", "--ref=kosli", "show", a) == everything
    assert everything == "beta#1 registry.example/web:{0}\nprod#1 registry.example/web:{0}\n".format(a[:7])


def test_a_history_that_cannot_be_read_while_git_starts_the_bisect_leaves_no_bisect(
    repo: GitRepo, run_cli: RunCli, server: KosliServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = repo.linear(5)
    server.add(*history("beta", [[artifact(c[1])], [artifact(c[4])]]), *history("prod", [[artifact(c[1])]]))
    monkeypatch.setenv("KOSLI_MAX_API_RETRIES", "0")
    monkeypatch.setenv("KOSLI_FETCH_MAX_AGE", "0")
    server.fail("prod", *[Fault("status", 500)] * 20)  # beta's two snapshots are read; prod's history is not
    trace = repo.path.parent / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))

    result = run_cli("bisect", "beta#1", "beta#2", cwd=repo.path)

    assert result.exit_code == 128 and result.stderr.startswith("fatal: ")
    assert re.search(r"git bisect(--helper)? start", trace.read_text())  # git had started; it was ended again
    assert not (repo.path / ".git" / "BISECT_START").exists()
    assert not (repo.path / ".git" / "kosli" / "bisect.json").exists()
    assert git(repo.path, "rev-parse", "HEAD").strip() == c[4]
    assert git(repo.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
