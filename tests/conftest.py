"""Hermetic git for every test: no user config, fixed identity, UTC, a fresh working folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from git_kosli.cli import main
from git_kosli.sources.kosli.api import KosliClient
from tests.factory import seed
from tests.gitrepo import GitRepo
from tests.kosli_server import KosliServer


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith(("GIT_", "KOSLI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
    monkeypatch.setenv("GIT_EDITOR", "false")
    monkeypatch.setenv("LC_ALL", "C")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[KosliServer]:
    """A Kosli server on 127.0.0.1 that `git kosli` is pointed at through KOSLI_HOST, KOSLI_ORG, KOSLI_API_TOKEN."""
    with KosliServer() as kosli:
        for name, value in kosli.env().items():
            monkeypatch.setenv(name, value)
        yield kosli


@pytest.fixture
def opened() -> Iterator[list[KosliClient]]:
    """Kosli clients made by a test, closed after it."""
    clients: list[KosliClient] = []
    yield clients
    for each in clients:
        each.close()


@pytest.fixture(params=["local", "kosli"])
def publish(request: pytest.FixtureRequest, repo: GitRepo) -> Callable[..., object]:
    """Put snapshots where `git kosli` reads them: the embedded store, or a Kosli org on 127.0.0.1."""
    if request.param == "local":
        return lambda *snapshots: seed(repo.path, *snapshots)
    kosli: KosliServer = request.getfixturevalue("server")
    return kosli.add


@dataclass
class Result:
    """What a `git kosli` run printed and how it exited."""

    exit_code: int
    stdout: str
    stderr: str


class RunCli(Protocol):
    """`git kosli ARGS`, run in-process from a folder, with what it printed and its exit code."""

    def __call__(self, *args: str, cwd: Path | None = None, stdin: str | None = None) -> Result: ...


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run `git kosli ARGS` in-process from a folder; returns its exit code and output."""

    def run(*args: str, cwd: Path | None = None, stdin: str | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        if stdin is not None:
            import io

            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))  # text, and bytes below
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def installed_env(**extra: str) -> dict[str, str]:
    """The environment with this installation's git-kosli first on PATH, as a developer has it."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **extra}


def git_kosli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `git kosli ...` through git itself, as a user does."""
    environ = installed_env(**(env or {}))
    return subprocess.run(["git", "kosli", *args], cwd=cwd, capture_output=True, text=True, env=environ, check=False)
