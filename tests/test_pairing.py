"""Pairing artifacts across snapshots and recognising this repository's commits (pure)."""

from __future__ import annotations

import pytest

from git_kosli.pairing import Change, RepoMatcher, diff_snapshots, normalize_repo_url, repo_of_commit_url
from tests.factory import artifact, history


def test_pairs_by_flow_and_classifies() -> None:
    old, new = history(
        "e",
        [
            [artifact("a" * 40, "web"), artifact("b" * 40, "api"), artifact("c" * 40, "gone")],
            [artifact("d" * 40, "web"), artifact("b" * 40, "api"), artifact(None, "miner")],
        ],
    )
    kinds = {(c.name.split("/")[-1].split(":")[0], c.change) for c in diff_snapshots(old=old, new=new)}
    assert kinds == {
        ("web", Change.CHANGED),
        ("api", Change.UNCHANGED),
        ("gone", Change.EXITED),
        ("miner", Change.STARTED),
    }


def test_blue_green_keeps_the_running_twin_unchanged() -> None:
    blue, green = artifact("a" * 40, "web"), artifact("b" * 40, "web")
    old, new = history("e", [[blue], [blue, green]])
    changes = sorted((c.change, c.new.fingerprint if c.new else None) for c in diff_snapshots(old=old, new=new))
    assert changes == sorted([(Change.UNCHANGED, blue.fingerprint), (Change.STARTED, green.fingerprint)])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/web.git", "github.com/acme/web"),
        ("https://user@github.com/acme/web/", "github.com/acme/web"),
        ("git@github.com:acme/web.git", "github.com/acme/web"),
        ("ssh://git@gitlab.example:2222/group/sub/web.git", "gitlab.example/group/sub/web"),
        ("/local/path", None),
    ],
)
def test_remote_urls_normalise(url: str, expected: str | None) -> None:
    assert normalize_repo_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/web/commit/0123abc",
        "https://gitlab.com/acme/web/-/commit/0123abc",
        "https://bitbucket.org/acme/web/commits/0123abc",
    ],
)
def test_commit_urls_name_their_repository(url: str) -> None:
    assert repo_of_commit_url(url).endswith("/acme/web")  # type: ignore[union-attr]


def test_the_flow_of_this_repository_is_chosen_among_several() -> None:
    ours, theirs = "a" * 40, "b" * 40
    promoted = artifact(theirs, "web", flow="promotion", url=f"https://github.com/acme/promo/commit/{theirs}")
    built = artifact(ours, "web", url=f"https://github.com/acme/web/commit/{ours}")
    both = promoted._replace(provenance=promoted.provenance + built.provenance)
    by_url = RepoMatcher(remotes=frozenset({"github.com/acme/web"}), has_commit=lambda sha: False)
    assert by_url.commit_of(both) == ours
    by_object = RepoMatcher(remotes=frozenset(), has_commit=lambda sha: sha == ours)
    assert by_object.commit_of(both) == ours
    assert RepoMatcher(remotes=frozenset(), has_commit=lambda sha: False).commit_of(both) is None
