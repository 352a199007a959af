"""Kosli settings as the Kosli CLI reads them, and `git kosli config` showing where each came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git
from tests.kosli_server import KosliServer


def effective(run_cli: RunCli, repo: GitRepo, *options: str) -> dict[str, dict[str, str | None]]:
    result = run_cli(*options, "config", "--json", cwd=repo.path)
    assert result.exit_code == 0, result.stderr
    settings: dict[str, dict[str, str | None]] = json.loads(result.stdout)["settings"]
    return settings


def test_option_beats_environment_beats_git_config_beats_the_kosli_config_file(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo.linear(1)
    kosli_yml = tmp_path / "home" / ".kosli.yml"
    kosli_yml.write_text("org: file-org\nhost: https://kosli.example.com\nMAX-API-RETRIES: 5\n")
    git(repo.path, "config", "kosli.org", "git-org")
    monkeypatch.setenv("KOSLI_ORG", "env-org")

    assert effective(run_cli, repo, "--org", "cli-org")["org"] == {"value": "cli-org", "origin": "--org"}
    assert effective(run_cli, repo)["org"] == {"value": "env-org", "origin": "KOSLI_ORG"}
    monkeypatch.delenv("KOSLI_ORG")
    assert effective(run_cli, repo)["org"] == {"value": "git-org", "origin": "git config kosli.org"}
    git(repo.path, "config", "--unset", "kosli.org")
    settings = effective(run_cli, repo)
    assert settings["org"] == {"value": "file-org", "origin": str(kosli_yml)}
    assert settings["host"] == {"value": "https://kosli.example.com", "origin": str(kosli_yml)}
    assert settings["max-api-retries"] == {"value": "5", "origin": str(kosli_yml)}
    assert settings["read-timeout"] == {"value": "30", "origin": "default"}
    assert settings["flow"] == {"value": None, "origin": None}


def test_kosli_config_file_names_another_file(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo.linear(1)
    (tmp_path / "ci.yaml").write_text('org: "ci-org"\n')
    monkeypatch.setenv("KOSLI_CONFIG_FILE", str(tmp_path / "ci"))

    assert effective(run_cli, repo)["org"] == {"value": "ci-org", "origin": str(tmp_path / "ci.yaml")}


def test_the_table_masks_the_token_and_names_the_source(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.linear(1)
    monkeypatch.setenv("KOSLI_API_TOKEN", "very-secret-token")
    monkeypatch.setenv("KOSLI_ORG", "acme")

    result = run_cli("config", cwd=repo.path)
    local = run_cli("--source", "local", "config", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert "very-secret-token" not in result.stdout + result.stderr
    assert [line.split() for line in result.stdout.splitlines() if line.startswith("api-token")] == [
        ["api-token", "********", "KOSLI_API_TOKEN"]
    ]
    assert result.stdout.endswith("source: Kosli org 'acme' at https://app.kosli.com\n")
    assert local.stdout.endswith("source: the embedded store\n")


def test_config_works_outside_a_repository(run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOSLI_HOST", "https://eu.kosli.example")

    result = run_cli("config", "--json", cwd=tmp_path)

    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["source"] == "local"
    assert doc["settings"]["host"] == {"value": "https://eu.kosli.example", "origin": "KOSLI_HOST"}


def test_a_token_encrypted_by_kosli_config_points_to_the_variable(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo.linear(1)
    kosli_yml = tmp_path / "home" / ".kosli.yml"
    kosli_yml.write_text("org: acme\napi-token: !!binary Dq7sXl0jVd9uF0bRrK2X9w==\n")
    with KosliServer() as server:
        server.add(*history("aws-beta", [[artifact("a" * 40)]]))
        monkeypatch.setenv("KOSLI_HOST", server.url)

        refused = run_cli("snapshot", "show", "aws-beta#1", cwd=repo.path)
        monkeypatch.setenv("KOSLI_API_TOKEN", server.token or "")
        accepted = run_cli("snapshot", "show", "aws-beta#1", cwd=repo.path)

    assert refused.exit_code == 128
    assert refused.stderr == (
        f"fatal: the api-token in {kosli_yml} was encrypted by `kosli config` and only the Kosli CLI can read it; "
        "set KOSLI_API_TOKEN instead\n"
    )
    assert server.count("/snapshots/") == 1, "the refusal came before any request"
    assert accepted.exit_code == 0, accepted.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("KOSLI_MAX_API_RETRIES", "lots", "max-api-retries (from KOSLI_MAX_API_RETRIES) 'lots' is not a whole number"),
        ("KOSLI_READ_TIMEOUT", "0", "read-timeout (from KOSLI_READ_TIMEOUT) '0' is not a positive number of seconds"),
        ("KOSLI_HOST", "app.kosli.com", "host (from KOSLI_HOST) 'app.kosli.com' is not an http:// or https:// address"),
        ("KOSLI_SOURCE", "s3", "source 's3' (from KOSLI_SOURCE) is not one of: kosli, local"),
    ],
)
def test_a_bad_setting_is_one_line_naming_where_it_was_set(
    variable: str, value: str, message: str, repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.linear(1)
    monkeypatch.setenv("KOSLI_ORG", "acme")
    monkeypatch.setenv(variable, value)

    result = run_cli("snapshot", "show", "aws-beta#1", cwd=repo.path)

    assert (result.exit_code, result.stderr) == (128, f"fatal: {message}\n")


@pytest.mark.parametrize(
    ("name", "text", "named"),
    [
        ("ci.json", '{"org": "ci-org", "max-api-retries": 5, "debug": false, "nested": {"x": 1}}', "ci.json"),
        ("ci.toml", 'org = "ci-org"\nmax-api-retries = 5\ndebug = false\n[nested]\nx = 1\n', "ci"),
        ("ci.yml", "org: ci-org\nMAX_API_RETRIES: '5'\ndebug: false\n", "ci.yaml"),  # viper: base name, any format
        ("kosli-conf", "# written by hand\norg = 'ci-org'\nmax-api-retries = 5\ndebug = false\n", "kosli-conf"),
        ("kosli-conf", '{"ORG": "ci-org", "max-api-retries": "5", "debug": "false"}', "kosli-conf"),
        ("kosli-conf", "org: ci-org\nmax-api-retries: 5\ndebug: false\n", "kosli-conf"),
    ],
)
def test_the_kosli_config_file_in_yaml_json_or_toml_with_or_without_extension(
    name: str, text: str, named: str, repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo.linear(1)
    (tmp_path / name).write_text(text)
    monkeypatch.setenv("KOSLI_CONFIG_FILE", str(tmp_path / named))

    settings = effective(run_cli, repo)

    origin = str(tmp_path / name)
    assert settings["org"] == {"value": "ci-org", "origin": origin}
    assert settings["max-api-retries"] == {"value": "5", "origin": origin}
    assert settings["debug"] == {"value": "false", "origin": origin}


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("ci.json", '{"org": "ci-org",}', "is not valid JSON (Expecting property name enclosed in double quotes"),
        ("ci.toml", "org = ci-org\n", "is not valid TOML (Invalid value"),
        (
            "ci.yml",
            "org ci-org\n",
            "is not valid YAML (line 1: expected 'key: value' (the line is not shown: it may hold a secret))",
        ),
        ("ci.json", '["org"]', "does not hold settings (key: value)"),
    ],
)
def test_an_unreadable_config_file_is_a_warning_unless_a_setting_from_it_is_needed(
    name: str,
    text: str,
    reason: str,
    repo: GitRepo,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    commit = repo.linear(1)[0]
    seed(repo.path, *history("aws-beta", [[artifact(commit)]]))
    (tmp_path / name).write_text(text)
    monkeypatch.setenv("KOSLI_CONFIG_FILE", str(tmp_path / name))

    local = run_cli("snapshot", "list", "aws-beta", cwd=repo.path)
    monkeypatch.setenv("KOSLI_ORG", "acme")
    needed = run_cli("snapshot", "list", "aws-beta", cwd=repo.path)

    message = f"the Kosli config file {tmp_path / name} {reason}"
    assert local.exit_code == 0
    assert "#1" in local.stdout
    assert local.stderr.startswith(f"warning: {message}") and local.stderr.endswith("; its settings are ignored\n")
    assert needed.exit_code == 128
    assert needed.stderr.startswith(f"fatal: {message}")
    assert needed.stderr.endswith(", and api-token is set nowhere else\nhint: fix the file, or set KOSLI_API_TOKEN\n")
