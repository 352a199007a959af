"""What git counted between two commits is kept, so a hook, `status` or `log` asking again starts no git."""

from __future__ import annotations

from pathlib import Path

import pytest

from git_kosli.git import count_memo
from git_kosli.git.count_memo import CountMemo, memo_path
from git_kosli.git.history import GitHistory
from git_kosli.git.repository import discover
from git_kosli.model import CommitSha, Divergence
from tests.gitrepo import GitRepo, git


def counted(
    repo: Path, pairs: list[tuple[CommitSha, CommitSha]], trace: Path
) -> dict[tuple[CommitSha, CommitSha], Divergence]:
    """The counts of a fresh GitHistory (as a new command would have), with git's processes traced to `trace`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_TRACE", str(trace))
        with GitHistory(discover(repo)) as history:
            return dict(history.divergences(pairs))


def as_git_counts(repo: Path, old: str, new: str) -> Divergence:
    only_old, only_new = git(repo, "rev-list", "--count", "--left-right", f"{old}...{new}").split()
    return Divergence(old_only=int(only_old), new_only=int(only_new))


@pytest.fixture
def far(repo: GitRepo) -> tuple[CommitSha, CommitSha]:
    """Two commits 4,999 apart: counted by git, not walked."""
    commits = repo.imported(5_000)
    git(repo.path, "commit-graph", "write", "--reachable")
    return commits[0], commits[-1]


def test_a_pair_git_counted_is_answered_again_without_git(
    repo: GitRepo, far: tuple[CommitSha, CommitSha], tmp_path: Path
) -> None:
    first = counted(repo.path, [far], tmp_path / "first")
    assert "rev-list --count" in (tmp_path / "first").read_text()
    again = counted(repo.path, [far, far[::-1]], tmp_path / "again")
    assert "rev-list" not in (tmp_path / "again").read_text()
    assert first[far] == again[far] == as_git_counts(repo.path, *far) == Divergence(old_only=0, new_only=4_999)
    assert again[far[::-1]] == as_git_counts(repo.path, *far[::-1])


def test_a_damaged_memo_is_read_past_and_mended_by_the_next_count(
    repo: GitRepo, far: tuple[CommitSha, CommitSha], tmp_path: Path
) -> None:
    path = memo_path(repo.path / ".git")
    path.parent.mkdir(parents=True, exist_ok=True)
    unfinished = f"{far[0]} {far[1]} 0 4"  # a writer killed before its newline: not 4 but 4,999
    path.write_text(f"garbage\n{far[0]} {far[1]} -1 x\n\x1b[31m\n{unfinished}")
    assert counted(repo.path, [far], tmp_path / "trace")[far] == Divergence(old_only=0, new_only=4_999)
    assert "rev-list --count" in (tmp_path / "trace").read_text()
    assert counted(repo.path, [far], tmp_path / "again")[far] == Divergence(old_only=0, new_only=4_999)
    assert "rev-list" not in (tmp_path / "again").read_text()


def test_the_memo_is_never_written_through_a_link(
    repo: GitRepo, far: tuple[CommitSha, CommitSha], tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.write_text("kept\n")
    path = memo_path(repo.path / ".git")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(outside)
    for run in ("first", "second"):
        assert counted(repo.path, [far], tmp_path / run)[far] == Divergence(old_only=0, new_only=4_999)
        assert "rev-list --count" in (tmp_path / run).read_text()  # no memo here: git counts each time
    assert outside.read_text() == "kept\n"


def test_a_shallow_clone_keeps_no_memo(origin_with_far: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "3000", f"file://{origin_with_far}", str(clone))
    tip = CommitSha(git(clone, "rev-parse", "HEAD").strip())
    bottom = CommitSha(git(clone, "rev-list", "--max-parents=0", "HEAD").split()[0])
    assert counted(clone, [(bottom, tip)], tmp_path / "trace")[(bottom, tip)] == as_git_counts(clone, bottom, tip)
    assert not memo_path(clone / ".git").exists()


@pytest.fixture
def origin_with_far(repo: GitRepo, far: tuple[CommitSha, CommitSha]) -> Path:
    return repo.path


def test_a_full_memo_keeps_its_newer_half(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(count_memo, "MAX_BYTES", 2_000)
    path = tmp_path / "counts"
    pairs = [(CommitSha(f"{n:040x}"), CommitSha(f"{n + 1:040x}")) for n in range(40)]
    for n, pair in enumerate(pairs):
        CountMemo(path).add({pair: Divergence(old_only=n, new_only=1)})
    assert path.stat().st_size <= 2_000 + 100  # one line over at most, before it is trimmed
    memo = CountMemo(path)
    assert memo.get(pairs[-1]) == Divergence(old_only=39, new_only=1)
    assert memo.get(pairs[0]) is None


def test_commits_pushed_on_top_of_a_counted_pair_are_walked_not_counted_again(
    repo: GitRepo, far: tuple[CommitSha, CommitSha], tmp_path: Path
) -> None:
    deployed, pushed = far
    counted(repo.path, [(deployed, pushed)], tmp_path / "first")
    repo.checkout(pushed)
    repo.branch("topic")
    side = repo.commit("on a branch")
    repo.checkout("main")
    on_top = [repo.commit("next"), repo.merge("topic"), repo.commit("and next")]
    git(repo.path, "commit-graph", "write", "--reachable")
    asked = [(deployed, on_top[-1]), (on_top[-1], deployed), (side, deployed)]
    counts = counted(repo.path, asked, tmp_path / "trace")
    assert (tmp_path / "trace").read_text().count("rev-list --count") == 2  # the pairs the walk cannot answer
    assert counts == {pair: as_git_counts(repo.path, *pair) for pair in asked}
    assert counts[(deployed, on_top[-1])] == Divergence(old_only=0, new_only=4_999 + 4)
