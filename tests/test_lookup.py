"""Starting from what you have in hand: `where` with a fingerprint or an image, and `git kosli env`."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from git_kosli.errors import UnknownRevisionError
from git_kosli.lookup import is_artifact_reference, matching, resolve
from git_kosli.model import Artifact, CommitSha, Fingerprint, Provenance
from git_kosli.sources.store import Store, store_path
from tests.conftest import RunCli
from tests.factory import artifact, fingerprint, history, seed
from tests.gitrepo import GitRepo, git
from tests.kosli_server import KosliServer

Publish = Callable[..., object]


def built(commit: str, name: str, seed: str) -> Artifact:
    return Artifact(name, fingerprint(seed), (Provenance("web-ci", CommitSha(commit)),))


@pytest.fixture
def commits(repo: GitRepo) -> list[CommitSha]:
    return repo.linear(5)


def test_artifact_references_are_hex_prefixes_tags_and_digests() -> None:
    assert is_artifact_reference("8c437aa")
    assert is_artifact_reference("runner:6a29198")
    assert is_artifact_reference("registry/runner@sha256:" + "a" * 64)
    assert not is_artifact_reference("8c437a")  # 6 digits: too short to name a fingerprint
    assert not is_artifact_reference("main")
    assert not is_artifact_reference("origin/main")


def test_matching_by_fingerprint_prefix_digest_and_name_with_or_without_registry() -> None:
    a = Artifact("123.dkr.ecr/runner:6a29198", Fingerprint("8c437aa9" + "0" * 56))
    b = Artifact("docker.io/differ:1", Fingerprint("8c437bb" + "1" * 57))
    both = [a, b, a]

    assert matching("8c437aa9", both) == [a]
    assert matching("8C437", both) == []  # shorter than 7
    assert matching("8c437", both) == []
    assert matching("runner:6a29198", both) == [a]
    assert matching("123.dkr.ecr/runner:6a29198", both) == [a]
    assert matching("unner:6a29198", both) == []
    assert matching("differ@sha256:" + b.fingerprint, both) == [b]


def test_resolution_says_what_is_wrong_in_one_line() -> None:
    def commit_of(a: Artifact) -> CommitSha | None:
        return a.provenance[0].git_commit if a.provenance else None

    ran = [
        built("1" * 40, "r/web:latest", "one"),
        built("2" * 40, "r/web:latest", "two"),
        Artifact("r/miner:latest", fingerprint("miner")),
    ]

    def refused(text: str) -> str:
        with pytest.raises(UnknownRevisionError) as caught:
            resolve(text, ran, commit_of=commit_of, has_commit=lambda sha: True)
        return caught.value.message

    assert refused("web:latest") == (
        f"'web:latest' is ambiguous: web:latest (fingerprint {fingerprint('one')[:7]}, commit 1111111), "
        f"web:latest (fingerprint {fingerprint('two')[:7]}, commit 2222222)"
    )
    assert (
        refused("miner:latest") == "'miner:latest' names miner:latest (no provenance): not built from this repository"
    )
    assert refused("nothing:1").startswith("'nothing:1' is not a revision, and no artifact")
    with pytest.raises(UnknownRevisionError, match="not in this repository; run 'git fetch'"):
        resolve("web:latest", ran[:1], commit_of=commit_of, has_commit=lambda sha: False)


def test_where_answers_for_the_commit_an_image_or_fingerprint_names(
    repo: GitRepo, commits: list[CommitSha], publish: Publish, run_cli: RunCli
) -> None:
    c = commits
    web = artifact(c[2])
    publish(*history("prod", [[artifact(c[1])], [web]]))

    by_commit = run_cli("where", c[2], "--json", cwd=repo.path)
    by_tag = run_cli("where", f"web:{c[2][:7]}", "--json", cwd=repo.path)
    by_prefix = run_cli("where", web.fingerprint[:10], cwd=repo.path)
    by_digest = run_cli("where", f"registry.example/web@sha256:{web.fingerprint}", "--json", cwd=repo.path)
    unknown = run_cli("where", "web:nope", cwd=repo.path)

    expected = json.loads(by_commit.stdout)
    assert expected["artifact"] is None
    for result in (by_tag, by_digest):
        doc = json.loads(result.stdout)
        assert doc["artifact"] == {
            "name": web.name,
            "fingerprint": web.fingerprint,
            "flow": "web-ci",
            "git_commit": c[2],
        }
        assert {**doc, "artifact": None} == expected
    assert by_prefix.stdout.splitlines()[:2] == [
        f"artifact web:{c[2][:7]} (fingerprint {web.fingerprint[:7]}, flow web-ci)",
        f"commit {c[2][:7]} c3",
    ]
    assert (unknown.exit_code, unknown.stdout) == (128, "")
    assert unknown.stderr.startswith("fatal: 'web:nope' is not a revision, and no artifact")


def test_a_string_that_is_a_revision_and_a_fingerprint_prefix_is_the_revision(
    repo: GitRepo, commits: list[CommitSha], run_cli: RunCli
) -> None:
    c = commits
    lookalike = Artifact("r/web:x", Fingerprint(c[0][:12] + "0" * 52), (Provenance("web-ci", c[3]),))
    seed(repo.path, *history("prod", [[lookalike]]))

    result = run_cli("where", c[0][:7], "--json", cwd=repo.path)

    assert json.loads(result.stdout)["git_commit"] == c[0]


def test_env_lists_each_environment_with_its_running_commit_against_head(
    repo: GitRepo, commits: list[CommitSha], publish: Publish, run_cli: RunCli
) -> None:
    c = commits
    repo.branch("hotfix", c[1])
    hotfix = repo.commit("hotfix")
    repo.checkout("main")
    publish(*history("beta", [[artifact(c[1])], [artifact(c[3])]]), *history("prod", [[artifact(hotfix)]]))

    doc = json.loads(run_cli("env", "--json", cwd=repo.path).stdout)
    text = run_cli("environments", cwd=repo.path)

    def counts(commit: str) -> tuple[int, int]:
        behind, ahead = git(repo.path, "rev-list", "--count", "--left-right", f"HEAD...{commit}").split()
        return int(behind), int(ahead)

    assert doc["version"] == 1 and doc["head"] == {"git_commit": c[4]}
    beta, prod = doc["environments"]
    assert beta["snapshot"]["environment"] == "beta" and beta["snapshot"]["index"] == 2
    assert beta["snapshot"]["timestamp"].endswith("Z")
    assert beta["running"][0]["git_commit"] == c[3]
    assert beta["running"][0]["flow"] == "web-ci"
    assert (beta["running"][0]["behind"], beta["running"][0]["ahead"]) == counts(c[3])
    assert (prod["running"][0]["behind"], prod["running"][0]["ahead"]) == counts(hotfix) == (3, 1)
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["environment", "type", "latest", "age", "running", "from", "HEAD"]
    assert lines[1].startswith("beta ") and lines[1].endswith(f"{c[3][:7]} web:{c[3][:7]}  1 behind")
    assert lines[2].endswith("3 behind, 1 ahead")


def test_env_shows_each_environment_s_type_from_kosli_and_from_the_store(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    server.add(*history("prod", [[artifact(commits[1])]]), env_type="K8S")
    with Store(store_path(repo.path / ".git")) as store:
        store.put_snapshots(history("beta", [[artifact(commits[2])]]), env_type="ECS")

    from_kosli = json.loads(run_cli("env", "--json", cwd=repo.path).stdout)
    offline = json.loads(run_cli("--offline", "env", "--json", cwd=repo.path).stdout)
    local = json.loads(run_cli("--source", "local", "env", "--json", cwd=repo.path).stdout)

    assert [(e["environment"], e["type"]) for e in from_kosli["environments"]] == [("prod", "K8S")]
    assert offline["environments"] == from_kosli["environments"]
    assert [(e["environment"], e["type"]) for e in local["environments"]] == [("beta", "ECS")]
