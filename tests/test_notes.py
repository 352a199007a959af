"""refs/notes/kosli as git reads it: written through fast-import, checked with git's own notes commands."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from git_kosli.errors import GitCommandError
from git_kosli.git.notes import read_notes, write_notes
from git_kosli.git.repository import discover
from git_kosli.model import CommitSha
from tests.gitrepo import GitRepo, git


def listed(repo: GitRepo) -> dict[str, str]:
    """`git notes --ref=kosli list`: annotated commit -> note blob."""
    out = git(repo.path, "notes", "--ref=kosli", "list")
    return {commit: blob for blob, commit in (line.split() for line in out.splitlines())}


def show(repo: GitRepo, sha: str) -> str:
    return git(repo.path, "notes", "--ref=kosli", "show", sha)


def notes_commits(repo: GitRepo) -> int:
    return int(git(repo.path, "rev-list", "--count", "refs/notes/kosli").strip())


def test_notes_git_shows_and_one_commit_per_write(repo: GitRepo) -> None:
    first, second = repo.linear(2)
    paths = discover(repo.path)

    assert write_notes(paths, {first: "prod#1 web:1", second: "prod#2 web:2\nbeta#1 web:2\n"}, command="notes")

    assert show(repo, first) == "prod#1 web:1\n"
    assert show(repo, second) == "prod#2 web:2\nbeta#1 web:2\n"
    assert notes_commits(repo) == 1
    message = git(repo.path, "log", "-1", "--format=%cn <%ce>|%s", "refs/notes/kosli")
    # the identity conftest gives git
    assert message.strip() == "Test Committer <committer@example.com>|Notes added by 'git kosli notes'"


def test_writing_the_same_notes_again_makes_no_commit_and_a_change_rewrites_only_that_note(repo: GitRepo) -> None:
    commits = repo.imported(300)
    paths = discover(repo.path)
    texts = {sha: f"prod#{i} web:{sha[:7]}" for i, sha in enumerate(commits)}
    write_notes(paths, texts, command="notes")
    before = listed(repo)

    assert not write_notes(paths, texts, command="notes")
    assert notes_commits(repo) == 1

    assert write_notes(paths, {**texts, commits[5]: "rolled back"}, command="bisect")
    after = listed(repo)
    assert notes_commits(repo) == 2
    assert show(repo, commits[5]) == "rolled back\n"
    assert {sha for sha in after if after[sha] != before[sha]} == {commits[5]}


def test_past_256_notes_the_tree_fans_out_and_a_rewritten_flat_note_moves(repo: GitRepo) -> None:
    commits = repo.imported(300)
    paths = discover(repo.path)
    write_notes(paths, {sha: f"old {sha}" for sha in commits[:10]}, command="notes")
    assert all(len(name) == 40 for name in git(repo.path, "ls-tree", "--name-only", "refs/notes/kosli").split())

    write_notes(paths, {commits[0]: "rewritten", **{sha: f"new {sha}" for sha in commits[10:]}}, command="notes")

    files = git(repo.path, "ls-tree", "-r", "--name-only", "refs/notes/kosli").split()
    assert f"{commits[-1][:2]}/{commits[-1][2:]}" in files  # 2/38, as git lays out a large notes tree
    assert commits[0] not in files and f"{commits[0][:2]}/{commits[0][2:]}" in files  # moved, not copied
    assert len(files) == len(listed(repo)) == 300  # every commit once
    assert show(repo, commits[0]) == "rewritten\n"
    assert show(repo, commits[1]) == f"old {commits[1]}\n"  # untouched flat notes still read, as git reads them
    assert show(repo, commits[-1]) == f"new {commits[-1]}\n"


def test_past_65536_notes_every_tree_stays_small_and_git_still_reads_them(repo: GitRepo) -> None:
    (first,) = repo.linear(1)
    others = [CommitSha(hashlib.sha1(b"%d" % i).hexdigest()) for i in range(1, 70_000)]  # notes may name any object
    paths = discover(repo.path)

    assert write_notes(paths, {first: "prod#1 web:1", **{sha: "beta#2 web:2" for sha in others}}, command="notes")

    files = git(repo.path, "ls-tree", "-r", "--name-only", "refs/notes/kosli").split()
    assert f"{first[:2]}/{first[2:4]}/{first[4:]}" in files  # 2/2/36, as git lays out a very large notes tree
    assert len(files) == len(listed(repo)) == 70_000
    assert len(git(repo.path, "ls-tree", "--name-only", "refs/notes/kosli").split()) == 256
    assert show(repo, first) == "prod#1 web:1\n"
    assert len(set(listed(repo).values())) == 2  # one blob per distinct text
    assert not write_notes(paths, {first: "prod#1 web:1"}, command="notes")  # found where it now lives

    assert write_notes(paths, {first: "prod#2 web:1"}, command="bisect")  # a bisect reads a few trees of 65,792

    files = git(repo.path, "ls-tree", "-r", "--name-only", "refs/notes/kosli").split()
    assert f"{first[:2]}/{first[2:4]}/{first[4:]}" in files and len(files) == 70_000  # nothing else moved
    assert show(repo, first) == "prod#2 web:1\n"


def test_notes_found_up_to_date_once_are_not_compared_again_against_the_same_notes_commit(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = repo.imported(300)
    paths = discover(repo.path)
    texts = {sha: f"prod#1 web:{sha[:7]}" for sha in commits}
    write_notes(paths, texts, command="notes")
    assert not write_notes(paths, texts, command="notes")  # compared in full: nothing to write
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))

    assert not write_notes(paths, texts, command="notes")

    assert "cat-file" not in trace.read_text()  # the notes tree was not read again
    assert notes_commits(repo) == 1


def test_a_note_changed_behind_our_back_is_rewritten_and_a_damaged_record_is_ignored(repo: GitRepo) -> None:
    commits = repo.imported(300)
    paths = discover(repo.path)
    texts = {sha: f"prod#1 web:{sha[:7]}" for sha in commits}
    write_notes(paths, texts, command="notes")
    write_notes(paths, texts, command="notes")
    git(repo.path, "notes", "--ref=kosli", "add", "-f", "-m", "tampered", commits[7])

    assert write_notes(paths, texts, command="notes")  # a new notes commit: compared in full again
    assert show(repo, commits[7]) == f"prod#1 web:{commits[7][:7]}\n"

    (paths.common_dir / "kosli" / "notes-compared").write_bytes(b"\xff\xfe not a record")
    assert not write_notes(paths, texts, command="notes")
    assert write_notes(paths, {**texts, commits[8]: "rolled back"}, command="notes")
    assert show(repo, commits[8]) == "rolled back\n"


def test_a_note_git_moved_into_a_deeper_fanout_is_replaced_not_duplicated(repo: GitRepo) -> None:
    (first,) = repo.linear(1)
    deep = f"{first[:2]}/{first[2:4]}/{first[4:]}"  # the 2/2/36 layout git uses for very large notes trees
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=repo.path,
        input="by git\n",
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    stream = (
        f"commit refs/notes/kosli\ncommitter T <t@example.com> 1790000000 +0000\ndata 0\nM 100644 {blob} {deep}\n\n"
    )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo.path, input=stream, text=True, check=True)
    assert show(repo, first) == "by git\n"

    write_notes(discover(repo.path), {first: "by git kosli"}, command="notes")

    assert git(repo.path, "ls-tree", "-r", "--name-only", "refs/notes/kosli").split() == [first]
    assert show(repo, first) == "by git kosli\n"


def test_notes_someone_added_with_git_notes_are_kept(repo: GitRepo) -> None:
    commits = repo.imported(300)
    git(repo.path, "notes", "--ref=kosli", "add", "-m", "hand-written", commits[0])
    paths = discover(repo.path)

    write_notes(paths, {sha: "deployed" for sha in commits[1:]}, command="notes")  # the tree fans out

    assert show(repo, commits[0]) == "hand-written\n"
    assert show(repo, commits[1]) == "deployed\n"


def test_a_concurrent_writer_makes_us_fail_and_keeps_its_note(repo: GitRepo) -> None:
    first, second = repo.linear(2)
    paths = discover(repo.path)
    write_notes(paths, {first: "ours"}, command="notes")

    def meanwhile(_done: int) -> None:  # called after the notes tree was read, before writing
        git(repo.path, "notes", "--ref=kosli", "add", "-m", "theirs", second)

    with pytest.raises(GitCommandError, match="refs/notes/kosli moved while writing notes"):
        write_notes(paths, {first: "ours, changed"}, command="notes", progress=meanwhile)

    assert show(repo, second) == "theirs\n"
    assert show(repo, first) == "ours\n"


def test_read_notes_returns_the_texts_of_annotated_commits_only(repo: GitRepo) -> None:
    first, second, third = repo.linear(3)
    paths = discover(repo.path)
    assert read_notes(paths, [first]) == {}
    write_notes(paths, {first: "prod#1 café ☕", second: "beta#2 web"}, command="notes")

    assert read_notes(paths, [first, second, third]) == {first: "prod#1 café ☕", second: "beta#2 web"}


def test_without_a_configured_identity_notes_are_still_written(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (first,) = repo.linear(1)
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    git(repo.path, "config", "user.useConfigOnly", "true")
    git(repo.path, "config", "--unset", "user.email", check=False)
    git(repo.path, "config", "--unset", "user.name", check=False)

    assert write_notes(discover(repo.path), {first: "prod#1"}, command="notes")

    assert show(repo, first) == "prod#1\n"
    assert git(repo.path, "log", "-1", "--format=%ce", "refs/notes/kosli").strip() == "git-kosli@localhost"


def test_a_writer_killed_mid_stream_publishes_nothing(repo: GitRepo) -> None:
    commits = repo.imported(12000)
    write_notes(discover(repo.path), {sha: "before" for sha in commits[:10]}, command="notes")
    tip = git(repo.path, "rev-parse", "refs/notes/kosli").strip()
    writer = (
        "import os, signal, sys\n"
        "from git_kosli.git.notes import NotesTree\n"
        "from git_kosli.git.repository import discover\n"
        "shas = sys.stdin.read().split()\n"
        "update = NotesTree(discover('.')).compare({sha: f'note {i % 3}' for i, sha in enumerate(shas)})\n"
        "update.write(command='notes', progress=lambda done: os.kill(os.getpid(), signal.SIGKILL))\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", writer], cwd=repo.path, input="\n".join(commits), text=True, check=False
    )

    assert killed.returncode == -signal.SIGKILL  # it died after sending the first 4,096 notes of 12,000
    assert git(repo.path, "rev-parse", "refs/notes/kosli").strip() == tip
    assert len(listed(repo)) == 10
    assert git(repo.path, "fsck", "--no-dangling").strip() == ""
