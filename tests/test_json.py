"""Every `--json` document is a documented interface: checked against git_kosli/schema.json on real output."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import click
import pytest
from jsonschema import Draft202012Validator

from git_kosli import demo as world
from git_kosli.cli import cli
from git_kosli.manpage import commands
from tests.conftest import RunCli

SCHEMA: dict[str, Any] = json.loads(resources.files("git_kosli").joinpath("schema.json").read_text())
WITH_JSON = [
    name
    for name, command, _ in commands(cli, click.Context(cli, info_name="git kosli"))
    if any(p.name == "as_json" for p in command.params)
]


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory: pytest.TempPathFactory) -> world.Demo:
    return world.build(tmp_path_factory.mktemp("json") / "d")


def validate(name: str, text: str) -> dict[str, Any]:
    """The document, after checking it against the schema's definition for the command."""
    document: dict[str, Any] = json.loads(text)
    validator = Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{name}"})
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == [], name
    assert next(iter(document)) == "version"
    return document


def test_the_schema_is_valid_and_covers_every_command_with_json() -> None:
    Draft202012Validator.check_schema(SCHEMA)

    assert {name.replace(" start", "").replace(" ", "-") for name in WITH_JSON} <= set(SCHEMA["$defs"])
    assert "bisect start" in WITH_JSON and "snapshot show" in WITH_JSON


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("diff", ["diff", "aws-prod", "aws-beta"]),
        ("diff", ["diff", "aws-prod~1", "aws-prod"]),
        ("log", ["log", "aws-beta"]),
        ("log", ["log", "aws-prod"]),
        ("where", ["where", "CULPRIT"]),
        ("where", ["where", "c8"]),
        ("status", ["status"]),
        ("env", ["env"]),
        ("config", ["config"]),
        ("snapshot-list", ["snapshot", "list", "aws-beta"]),
        ("snapshot-show", ["snapshot", "show", "aws-prod"]),
    ],
)
def test_real_output_matches_the_schema(name: str, args: list[str], demo_repo: world.Demo, run_cli: RunCli) -> None:
    args = [demo_repo.culprit if a == "CULPRIT" else demo_repo.commits.get(a, a) for a in args]

    result = run_cli(*args, "--json", cwd=demo_repo.path)

    assert result.exit_code in (0, 1), result.stderr
    validate(name, result.stdout)


def test_bisect_output_matches_the_schema(tmp_path: Path, run_cli: RunCli) -> None:
    demo = world.build(tmp_path / "d")

    result = run_cli("bisect", "aws-beta#5", "aws-beta#6", "--json", cwd=demo.path)

    assert result.exit_code == 0, result.stderr
    doc = validate("bisect", result.stdout)
    assert doc["old"]["environment"] == "aws-beta" and doc["old"]["index"] == 5
    assert any(c["environments"] for c in doc["commits"])  # an episode's snapshots have their three keys too


def test_one_spelling_across_commands(demo_repo: world.Demo, run_cli: RunCli) -> None:
    """The same snapshot and artifact read the same, whichever command shows them."""
    shown = validate("snapshot-show", run_cli("snapshot", "show", "aws-beta", "--json", cwd=demo_repo.path).stdout)
    listed = validate("snapshot-list", run_cli("snapshot", "list", "aws-beta", "--json", cwd=demo_repo.path).stdout)
    status = validate("status", run_cli("status", "--json", cwd=demo_repo.path).stdout)
    beta = next(e for e in status["environments"] if e["environment"] == "aws-beta")
    snapshot = {key: shown[key] for key in ("environment", "index", "timestamp")}

    assert beta["snapshot"] == snapshot
    assert {key: listed["snapshots"][0][key] for key in snapshot} == snapshot
    running = beta["running"][0]
    same = next(a for a in shown["artifacts"] if a["fingerprint"] == running["fingerprint"])
    assert {k: running[k] for k in ("name", "fingerprint", "flow", "git_commit")} == {
        k: same[k] for k in ("name", "fingerprint", "flow", "git_commit")
    }
