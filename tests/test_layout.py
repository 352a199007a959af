"""The package's layers, held by reading its imports: a change that breaks a rule names the module and the import."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "git_kosli"
CORE = {
    "runs",
    "lookup",
    "model",
    "errors",
    "files",
    "snapshot_expr",
    "pairing",
    "ranges",
    "locate",
    "facts",
    "deployments",
    "env_refs",
    "bisect.built_first",
}
STANDARD = sys.stdlib_module_names


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name below `git_kosli` (`git.run`, `commands.where`)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path) -> set[str]:
    """What a module imports, anywhere in it (lazy imports in functions too), as absolute names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import"
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def ours(names: set[str]) -> set[str]:
    """The imported modules of this package, relative to it (`git_kosli.git.run` -> `git.run`)."""
    known = modules()
    inside = {n.removeprefix("git_kosli.") for n in names if n.startswith("git_kosli.")}
    return {n for n in inside if n in known}


ALL = modules()


@pytest.mark.parametrize("name", sorted(CORE))
def test_the_core_imports_only_the_standard_library_and_itself(name: str) -> None:
    names = imports(ALL[name])
    outside = {n for n in names if not n.startswith("git_kosli") and n.split(".")[0] not in STANDARD}
    assert not outside, f"{name} imports {outside}"
    assert ours(names) <= CORE, f"{name} imports {ours(names) - CORE}"


@pytest.mark.parametrize("name", sorted(n for n in ALL if n.startswith(("git", "sources"))))
def test_adapters_never_import_click_commands_or_views(name: str) -> None:
    names = imports(ALL[name])
    assert not {n for n in names if n.split(".")[0] == "click"}, f"{name} imports click"
    wrong = {n for n in ours(names) if n.startswith(("commands", "views", "cli", "context", "params", "terminal"))}
    assert not wrong, f"{name} imports {wrong}"


@pytest.mark.parametrize("name", sorted(n for n in ALL if n.startswith("commands.")))
def test_commands_never_import_commands(name: str) -> None:
    wrong = {n for n in ours(imports(ALL[name])) if n.startswith("commands") and n != "commands"}
    assert not wrong, f"{name} imports {wrong}"


@pytest.mark.parametrize("name", sorted(n for n in ALL if n.startswith("views")))
def test_views_are_pure(name: str) -> None:
    names = imports(ALL[name])
    assert not {n for n in names if n.split(".")[0] in ("click", "subprocess", "httpx", "dulwich", "sqlite3")}
    wrong = {n for n in ours(names) if n.startswith(("git", "sources", "commands", "context", "cli"))}
    assert not wrong, f"{name} imports {wrong}"


def test_git_runs_only_from_git() -> None:
    """git processes start in git/; subprocess elsewhere runs a pager, a bisect test command or the demo's steps."""
    allowed = {"terminal", "bisect.session", "commands.demo"}
    starting = {n for n, p in ALL.items() if "subprocess" in imports(p) and not n.startswith("git")}
    assert starting <= allowed, f"subprocess outside git/: {starting - allowed}"
    running = {n for n, p in ALL.items() if "git.run" in ours(imports(p)) and not n.startswith("git")}
    assert not running, f"git.run used outside git/: {running}"
    for name in allowed:
        assert '["git"' not in ALL[name].read_text(), f"{name} starts git itself"


@pytest.mark.parametrize(("library", "home"), [("httpx", "sources.kosli.api"), ("dulwich", "git.history")])
def test_each_outside_library_has_one_home(library: str, home: str) -> None:
    users = {n for n, p in ALL.items() if any(i.split(".")[0] == library for i in imports(p))}
    assert users <= {home}, f"{library} imported by {users - {home}}"
