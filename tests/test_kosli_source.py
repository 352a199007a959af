"""Every command against a real Kosli API server on 127.0.0.1, as against the embedded store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git
from tests.kosli_server import KosliServer


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[KosliServer]:
    with KosliServer() as kosli:
        for name, value in kosli.env().items():
            monkeypatch.setenv(name, value)
        yield kosli


def bisect_refs(path) -> dict[str, str]:
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/bisect/")
    return dict(line.split() for line in out.splitlines())


@pytest.mark.parametrize("source", ["local", "kosli"])
def test_bisect_between_two_snapshots_on_either_source(source: str, repo: GitRepo, run_cli, monkeypatch) -> None:
    commits = repo.linear(6)
    snapshots = history("aws-beta", [[artifact(commits[1])], [artifact(commits[5])]])
    if source == "local":
        seed(repo.path, *snapshots)
        kosli = None
    else:
        kosli = KosliServer().__enter__()
        kosli.add(*snapshots)
        for name, value in kosli.env().items():
            monkeypatch.setenv(name, value)

    result = run_cli("bisect", "aws-beta#1", "aws-beta#2", cwd=repo.path)

    if kosli:
        kosli.__exit__()
    assert result.exit_code == 0, result.stderr
    refs = bisect_refs(repo.path)
    assert refs["refs/bisect/bad"] == commits[5]
    assert "4 candidate commits, roughly 2 steps" in result.stdout
