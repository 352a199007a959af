"""Pairing artifacts across snapshots and recognising this repository's commits (pure: no git)."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from git_kosli.model import Artifact, CommitSha, EnvName, Fingerprint, Provenance, Snapshot
from git_kosli.pairing import (
    Change,
    RepoMatcher,
    diff_snapshots,
    flows_to_show,
    normalize_repo_url,
    repo_of_commit_url,
)
from git_kosli.sources.kosli.json import snapshot_from_json
from tests.factory import artifact, fingerprint, history
from tests.recorded import recorded, reorder_flows, scans_first, service

OURS = CommitSha("a" * 40)
RUNNER = RepoMatcher(remotes=frozenset({"github.com/cyber-dojo/runner"}), has_commit=lambda sha: False)


def parsed(body: dict[str, Any]) -> Snapshot:
    return snapshot_from_json(body, EnvName("aws-prod"))


def image_of(a: Artifact | None) -> str | None:
    return None if a is None else a.image.rsplit("/", 1)[-1]


ORDERS = {
    "as recorded": lambda flows: flows,
    "scans first": scans_first,
    "reversed": lambda flows: flows[::-1],
    "shuffled": lambda flows: random.Random(len(flows)).sample(flows, len(flows)),
}


@pytest.mark.parametrize(("old_order", "new_order"), list(itertools.product(ORDERS, repeat=2)))
def test_recorded_snapshots_pair_alike_whatever_the_order_of_flows(old_order: str, new_order: str) -> None:
    old = parsed(reorder_flows(recorded("snapshot-aws-prod-4357.json"), ORDERS[old_order]))
    new = parsed(reorder_flows(recorded("get_snapshot.json"), ORDERS[new_order]))

    changes = diff_snapshots(old=old, new=new, ours=RUNNER.flow_of)

    # In each snapshot every service runs one image, so the image is the oracle for what pairs with what.
    got = {(image_of(c.old), image_of(c.new), c.change, c.flow) for c in changes}
    paired = {image_of(a) for a in old.artifacts} & {image_of(a) for a in new.artifacts}
    assert got == {
        *((name, name, Change.CHANGED, f"{name}-ci") for name in paired),
        (None, "spooler", Change.STARTED, "spooler-ci"),
    }
    assert len(changes) == len(paired) + 1


def test_the_flow_shown_is_the_building_one_wherever_it_stands() -> None:
    snap = parsed(reorder_flows(recorded("get_snapshot.json"), scans_first))
    assert all(snap.artifacts[i].provenance[0].flow.startswith("snyk") for i in range(len(snap.artifacts)))
    assert flows_to_show(snap) == [f"{service_of(a)}-ci" for a in snap.artifacts]
    runner = next(a for a in snap.artifacts if service_of(a) == "runner")
    assert RUNNER.flow_of(runner) == "runner-ci"
    assert (RUNNER.commit_of(runner) or "").startswith("85cac88")


def service_of(a: Artifact) -> str:
    return a.image.rsplit("/", 1)[-1]


def test_the_recorded_previous_fingerprint_is_kept() -> None:
    snap = parsed(recorded("get_snapshot.json"))
    runner = next(a for a in snap.artifacts if service_of(a) == "runner")
    ci = next(p for p in runner.provenance if p.flow == "runner-ci")
    assert (ci.previous_fingerprint or "").startswith("8cd50be3")
    assert service(recorded("get_snapshot.json")["artifacts"][0]) == "runner"


def scan(commit: str, name: str, *, ci: str | None = None, previous: str | None = None) -> Artifact:
    """An artifact of service `name` reported to its CI flow and to a scan flow that holds every service."""
    return Artifact(
        name=f"registry.example/{name}:{commit[:7]}",
        fingerprint=fingerprint(f"{name} {commit}"),
        provenance=(
            Provenance("snyk-scans", CommitSha("5" * 40)),
            Provenance(ci or f"{name}-ci", CommitSha(commit), None, previous),
        ),
    )


def test_a_scan_flow_never_pairs_two_services() -> None:
    old, new = history(
        "e", [[scan("1" * 40, "web"), scan("2" * 40, "spooler")], [scan("3" * 40, "web"), scan("4" * 40, "saver")]]
    )
    got = {(image_of(c.old), image_of(c.new), c.change) for c in diff_snapshots(old=old, new=new)}
    assert got == {("web", "web", Change.CHANGED), ("spooler", None, Change.EXITED), (None, "saver", Change.STARTED)}


def test_a_building_flow_pairs_an_image_that_moved_to_another_registry() -> None:
    before = scan("1" * 40, "web")
    after = scan("2" * 40, "web")._replace(name="ghcr.io/acme/web:2222222")
    old, new = history("e", [[before, scan("3" * 40, "api")], [after, scan("3" * 40, "api")]])
    got = {(c.change, c.flow) for c in diff_snapshots(old=old, new=new)}
    assert got == {(Change.CHANGED, "web-ci"), (Change.UNCHANGED, "api-ci")}


def test_kosli_previous_fingerprint_pairs_canaries_within_a_flow() -> None:
    a, b = scan("1" * 40, "web"), scan("2" * 40, "web")
    c = scan("3" * 40, "web", previous=b.fingerprint)  # Kosli: c followed b
    d = scan("4" * 40, "web", previous=a.fingerprint)
    old, new = history("e", [[a, b], [c, d]])
    pairs = {(x.old.fingerprint, x.new.fingerprint) for x in diff_snapshots(old=old, new=new) if x.old and x.new}
    assert pairs == {(b.fingerprint, c.fingerprint), (a.fingerprint, d.fingerprint)}


def test_this_repositorys_flow_pairs_even_when_it_builds_several_images() -> None:
    web, worker = scan("1" * 40, "web", ci="mono-ci"), scan("1" * 40, "worker", ci="mono-ci")
    web2, worker2 = scan("2" * 40, "web", ci="mono-ci"), scan("2" * 40, "worker", ci="mono-ci")
    old, new = history("e", [[web, worker], [worker2, web2]])
    ours = RepoMatcher(remotes=frozenset(), has_commit=lambda sha: sha in ("1" * 40, "2" * 40))
    changes = diff_snapshots(old=old, new=new, ours=ours.flow_of)
    assert {(image_of(c.old), image_of(c.new), c.flow) for c in changes} == {
        ("web", "web", "mono-ci"),
        ("worker", "worker", "mono-ci"),
    }


def test_artifacts_without_a_digest_pair_by_name() -> None:
    def tagged(name: str) -> Artifact:
        return Artifact(name=name, fingerprint=Fingerprint(""))

    old, new = history("e", [[tagged("web:1.0"), tagged("api:2.0")], [tagged("web:1.1"), tagged("api:2.0")]])
    got = {
        (c.old.name if c.old else None, c.new.name if c.new else None, c.change)
        for c in diff_snapshots(old=old, new=new)
    }
    assert got == {("web:1.0", "web:1.1", Change.CHANGED), ("api:2.0", "api:2.0", Change.UNCHANGED)}


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


@pytest.mark.parametrize("order", [1, -1])
def test_the_flow_of_this_repository_is_chosen_among_several_in_any_order(order: int) -> None:
    theirs = "b" * 40
    promoted = artifact(theirs, "web", flow="promotion", url=f"https://github.com/acme/promo/commit/{theirs}")
    built = artifact(OURS, "web", url=f"https://github.com/acme/web/commit/{OURS}")
    both = promoted._replace(provenance=(promoted.provenance + built.provenance)[::order])
    by_url = RepoMatcher(remotes=frozenset({"github.com/acme/web"}), has_commit=lambda sha: False)
    assert (by_url.commit_of(both), by_url.flow_of(both)) == (OURS, "web-ci")
    by_object = RepoMatcher(remotes=frozenset(), has_commit=lambda sha: sha == OURS)
    assert by_object.commit_of(both) == OURS
    by_flow = RepoMatcher(remotes=frozenset(), has_commit=lambda sha: False, flow="web-ci")
    assert by_flow.commit_of(both) == OURS
    assert RepoMatcher(remotes=frozenset(), has_commit=lambda sha: False).commit_of(both) is None


def test_a_flow_learned_from_the_histories_recognises_an_artifact_not_fetched() -> None:
    here, missing = "1" * 40, "2" * 40
    old, new = artifact(here, "web"), artifact(missing, "web")
    matcher = RepoMatcher(remotes=frozenset(), has_commit=lambda sha: sha == here)
    assert matcher.commit_of(new) is None
    learned = matcher.learning([old, new])
    assert learned.flows == {"web-ci"}
    assert learned.commit_of(new) == missing
    assert learned.repository_flows([history("e", [[old], [new]])]) == ["web-ci"]
    assert RepoMatcher(remotes=frozenset(), has_commit=bool, flow="mine").repository_flows([]) == ["mine"]
