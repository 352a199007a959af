"""The README's snippets for pre-commit, husky and lefthook, each driven by the real tool on a real push.

pre-commit comes from the test extras (PyPI). husky and lefthook come from the npm registry: those
tests are skipped where npm is not installed (CI has only Python and git).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from git_kosli.model import CommitSha
from tests.conftest import installed_env
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
NEEDS_NPM = pytest.mark.skipif(
    shutil.which("npm") is None, reason="needs npm: husky and lefthook install from the npm registry"
)


def snippet(title: str) -> str:
    """The README's snippet under `# TITLE (...)`, indentation removed."""
    block = re.search(rf"^    # {title} \(.*?\n((?:    \S.*\n|    \s+\S.*\n)+)", README, re.MULTILINE)
    assert block, f"no {title} snippet in the README"
    return "".join(line[4:] + "\n" for line in block.group(1).splitlines())


def without_git_kosli(path: str) -> str:
    """PATH with no folder that holds git-kosli: a teammate who has not installed it."""
    return os.pathsep.join(p for p in path.split(os.pathsep) if not (Path(p) / "git-kosli").exists())


@pytest.fixture
def deployed(repo: GitRepo, tmp_path: Path) -> dict[str, CommitSha]:
    """main a-b; prod runs a; origin is an empty bare repository."""
    c = {"a": repo.commit("a"), "b": repo.commit("b")}
    seed(repo.path, *history("prod", [[artifact(c["a"])]]))
    git(tmp_path, "init", "--quiet", "--bare", "origin.git")
    git(repo.path, "remote", "add", "origin", str(tmp_path / "origin.git"))
    return c


def push(repo: GitRepo, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", *args], cwd=repo.path, env=env, capture_output=True, text=True, check=False)


def test_the_snippets_let_the_push_go_without_git_kosli() -> None:
    assert snippet("husky").startswith("command -v git-kosli >/dev/null || exit 0\n")
    assert "run: command -v git-kosli >/dev/null || exit 0; git kosli pre-push {1} {2}" in snippet("lefthook")


@pytest.fixture(scope="module")
def hook_repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout as a git repository pre-commit can clone, and its commit."""
    path = tmp_path_factory.mktemp("hook-repo") / "git-kosli"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "git_kosli", path / "git_kosli", ignore=ignore)
    shutil.copytree(ROOT / "man", path / "man")
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, path / name)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(path.parent)}
    for args in (
        ["init", "--quiet"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", *args], cwd=path, env=env, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, env=env, capture_output=True, text=True, check=True)
    return path, head.stdout.strip()


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the module: the hook's environment is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def test_pre_commit_shows_status_on_the_first_push_to_an_empty_remote_and_after(
    deployed: dict[str, CommitSha], repo: GitRepo, hook_repository: tuple[Path, str], pre_commit_home: Path
) -> None:
    path, rev = hook_repository
    config = snippet("pre-commit").replace("https://github.com/kosli-dev/git-kosli", str(path))
    config = re.sub(r"rev: \S+", f"rev: {rev}", config)
    (repo.path / ".pre-commit-config.yaml").write_text("repos:\n" + config)
    git(repo.path, "add", ".pre-commit-config.yaml")
    c = repo.commit("c")
    env = installed_env(PRE_COMMIT_HOME=str(pre_commit_home))
    pre_commit = [sys.executable, "-m", "pre_commit"]
    installed = subprocess.run(
        [*pre_commit, "install", "--hook-type", "pre-push"], cwd=repo.path, env=env, capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    first = push(repo, env, "origin", "main")
    d = repo.commit("d")
    second = push(repo, env, "origin", "main")

    assert first.returncode == 0, first.stdout + first.stderr
    assert f"kosli: prod#1 runs {deployed['a'][:7]}: main is 2 ahead, 0 behind" in first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"kosli: prod#1 runs {deployed['a'][:7]}: main is 3 ahead, 0 behind" in second.stdout + second.stderr
    assert git(repo.path, "ls-remote", "origin", "main").split()[0] == d != c


def npm_install(repo: GitRepo, package: str, env: dict[str, str]) -> None:
    """`npm install --save-dev PACKAGE` in the repository; skips when the registry cannot be reached."""
    subprocess.run(["npm", "init", "-y"], cwd=repo.path, env=env, capture_output=True, check=True)
    done = subprocess.run(
        ["npm", "install", "--save-dev", "--no-audit", "--no-fund", package],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"npm install {package} failed (registry unreachable?): {done.stderr.strip()[-300:]}")


@NEEDS_NPM
def test_husky_snippet(deployed: dict[str, CommitSha], repo: GitRepo) -> None:
    env = installed_env()
    npm_install(repo, "husky@9", env)
    subprocess.run(["npx", "husky"], cwd=repo.path, env=env, capture_output=True, check=True)
    hook = repo.path / ".husky" / "pre-push"
    hook.write_text(snippet("husky"))
    repo.commit("c")
    missing = {**env, "PATH": without_git_kosli(env["PATH"])}

    without = push(repo, missing, "origin", "main")
    repo.commit("d")
    shown = push(repo, env, "origin", "main")

    assert git(repo.path, "config", "core.hooksPath").strip() == ".husky/_"
    assert without.returncode == 0, without.stderr
    assert "kosli:" not in without.stderr
    assert shown.returncode == 0, shown.stderr
    assert f"kosli: prod#1 runs {deployed['a'][:7]}: main is 3 ahead, 0 behind" in shown.stderr


@NEEDS_NPM
def test_lefthook_snippet(deployed: dict[str, CommitSha], repo: GitRepo) -> None:
    env = installed_env()
    npm_install(repo, "lefthook@2", env)
    (repo.path / "lefthook.yml").write_text(snippet("lefthook"))
    lefthook = repo.path / "node_modules" / ".bin" / "lefthook"
    subprocess.run([str(lefthook), "install"], cwd=repo.path, env=env, capture_output=True, check=True)
    repo.commit("c")
    missing = {**env, "PATH": without_git_kosli(env["PATH"])}

    without = push(repo, missing, "origin", "main")
    repo.commit("d")
    shown = push(repo, env, "origin", "main")

    assert without.returncode == 0, without.stdout + without.stderr
    assert "kosli:" not in without.stdout + without.stderr
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"kosli: prod#1 runs {deployed['a'][:7]}: main is 3 ahead, 0 behind" in shown.stdout + shown.stderr
