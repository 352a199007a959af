"""What a user gets from the wheel and the sdist: built for real, installed into a fresh environment, run by git."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from git_kosli import __version__
from git_kosli.cli import cli
from git_kosli.manpage import render

ROOT = Path(__file__).resolve().parents[1]
PAGE = "share/man/man1/git-kosli.1"
SDIST_NEEDS = [
    "Makefile",
    "CHANGELOG.md",
    "LICENSE",
    "README.md",
    ".pre-commit-hooks.yaml",
    "hooks/pre-push",
    "man/git-kosli.1",
]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built from this checkout as `python -m build` builds a release."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return out


def without_this_venv(path: str) -> str:
    """PATH without the folder of the running interpreter, whose share/man holds the developer's page."""
    mine = str(Path(sys.executable).parent)
    return os.pathsep.join(p for p in path.split(os.pathsep) if p != mine)


@pytest.fixture(scope="module")
def fresh(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel installed; its dependencies come from this one's site-packages."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (wheel,) = dist.glob("*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            str(wheel),
        ],
        check=True,
    )
    site = next((venv / "lib").glob("python3*/site-packages"))
    theirs = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (site / "dependencies.pth").write_text(theirs + "\n")  # a plain path: the developer's editable hook is not run
    return venv


def test_the_sdist_holds_what_its_tests_need(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    prefix = f"git_kosli-{__version__}/"
    with tarfile.open(sdist) as tar:
        names = {m.name.removeprefix(prefix) for m in tar.getmembers() if m.isfile()}

    tests = {
        str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=False)
    assert tests - names == set()
    if tracked.returncode == 0:  # a checkout (an unpacked sdist has no git): every tracked file but git's own ships
        assert set(tracked.stdout.splitlines()) - names == {".gitignore"}
    assert {"tests/conftest.py", "tests/factory.py", "tests/fixtures/get_snapshot.json"} <= names
    assert set(SDIST_NEEDS) - names == set()


def test_the_wheel_ships_the_man_page_the_license_and_the_hook(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        page = archive.read(f"git_kosli-{__version__}.data/data/{PAGE}").decode()
        metadata = archive.read(f"git_kosli-{__version__}.dist-info/METADATA").decode()

    assert page == render(cli)
    assert {"git_kosli/pre-push", "git_kosli/py.typed", f"git_kosli-{__version__}.dist-info/licenses/LICENSE"} <= names
    assert "License-Expression: MIT" in metadata
    assert "Project-URL: Source, https://github.com/kosli-dev/git-kosli" in metadata
    assert "Classifier: Topic :: Software Development :: Version Control :: Git" in metadata


@pytest.mark.skipif(shutil.which("man") is None, reason="needs man")
def test_installed_from_the_wheel_git_kosli_help_opens_the_page(fresh: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{fresh / 'bin'}{os.pathsep}{without_this_venv(os.environ['PATH'])}"}
    env.update(MANPAGER="cat", MANWIDTH="80")
    env.pop("MANPATH", None)

    version = subprocess.run(["git", "kosli", "--version"], env=env, capture_output=True, text=True, check=False)
    shown = subprocess.run(
        ["git", "kosli", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    via_git_help = subprocess.run(
        ["git", "help", "kosli"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )

    assert version.stdout == f"git kosli version {__version__}\n", version.stderr
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.lstrip().startswith("GIT-KOSLI(1)")
    assert "git kosli snapshot show" in shown.stdout
    assert via_git_help.stdout == shown.stdout


@pytest.mark.skipif(shutil.which("man") is None, reason="needs man")
def test_where_the_installer_left_the_page_out_install_man_puts_it_beside_the_bin_folder(
    fresh: Path, tmp_path: Path
) -> None:
    """As uv tool installs: the environment elsewhere, only a link to git-kosli in a bin folder on PATH."""
    bin_dir = tmp_path / "local" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "git-kosli").symlink_to(fresh / "bin" / "git-kosli")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{without_this_venv(os.environ['PATH'])}"}
    env.update(MANPAGER="cat", MANWIDTH="80", HOME=str(tmp_path))
    env.pop("MANPATH", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=tmp_path, env=env, capture_output=True, text=True, check=False)

    missing = run("git", "kosli", "--help")
    fallback = run("git-kosli", "--help")
    installed = run("git", "kosli", "install-man")
    shown = run("git", "kosli", "--help")

    assert missing.returncode != 0 and "git-kosli" in missing.stderr  # man's "No manual entry", from git
    assert fallback.stdout.startswith("Usage: git kosli [OPTIONS] COMMAND [ARGS]..."), fallback.stderr
    assert installed.stdout == f"installed {tmp_path / 'local' / 'share' / 'man' / 'man1' / 'git-kosli.1'}\n"
    assert installed.stderr == ""  # man looks there: no hint needed
    assert shown.stdout.lstrip().startswith("GIT-KOSLI(1)"), shown.stderr


def test_the_pre_commit_snippet_names_the_tag_of_this_version() -> None:
    readme = (ROOT / "README.md").read_text()

    assert re.findall(r"^\s*rev: (\S+)$", readme, re.MULTILINE) == [f"v{__version__}"]
