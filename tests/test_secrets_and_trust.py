"""Secrets stay secret and nothing from outside is trusted: the token never travels in the clear, credentials
are masked, names are checked before they become paths, outside strings are cleaned, and answers have limits.
"""

from __future__ import annotations

import json
import subprocess
import time
import tracemalloc
from pathlib import Path

import pytest

from git_kosli.errors import ApiError, KosliError
from git_kosli.sources.kosli import api
from git_kosli.sources.kosli.api import KosliClient
from git_kosli.sources.settings import load_settings
from tests.conftest import RunCli
from tests.factory import artifact, fingerprint, history
from tests.gitrepo import GitRepo, git
from tests.kosli_server import Fault, KosliServer, snapshot_json

TOKEN = "test-token"  # the test server's (conftest's `server` points git kosli at it)
SECRET = "hunter2-password"


@pytest.fixture(autouse=True)
def beta(server: KosliServer) -> None:
    server.add(*history("aws-beta", [[artifact("a" * 40)], [artifact("b" * 40)]]))


def client(environ: dict[str, str], opened: list[KosliClient]) -> KosliClient:
    opened.append(KosliClient(load_settings({}, environ, None), sleep=lambda wait: None))
    return opened[-1]


BASE = {"KOSLI_ORG": "acme", "KOSLI_API_TOKEN": TOKEN}


@pytest.mark.parametrize(
    ("variables", "refused_to"),
    [
        ({"KOSLI_HOST": "HTTP://remote-host"}, "http://remote-host"),
        ({"KOSLI_HOST": "Http://Remote-Host:8080/"}, "http://remote-host:8080"),
        ({"KOSLI_HOST": "http://127.0.0.1.example.com"}, "http://127.0.0.1.example.com"),
        (
            {"KOSLI_HOST": "http://localhost", "KOSLI_HTTP_PROXY": "http://proxy.example"},
            "the proxy http://proxy.example",
        ),
        (
            {"KOSLI_HOST": "http://127.0.0.1:9", "HTTP_PROXY": "proxy.example:3128"},
            "the proxy http://proxy.example:3128",
        ),
        ({"KOSLI_HOST": "http://[::1]:9", "http_proxy": "http://proxy.example"}, "the proxy http://proxy.example"),
        ({"KOSLI_HOST": "http://localhost", "ALL_PROXY": "https://proxy.example"}, "the proxy https://proxy.example"),
    ],
)
def test_the_token_never_travels_in_the_clear_to_another_machine(
    variables: dict[str, str], refused_to: str, opened: list[KosliClient]
) -> None:
    with pytest.raises(KosliError) as refused:
        client({**BASE, **variables}, opened)

    assert str(refused.value) == (
        f"refusing to send the API token over plain http to {refused_to}; "
        f"use https:// (plain http is allowed only to this machine)"
    )


@pytest.mark.parametrize(
    "variables",
    [
        {"KOSLI_HOST": "HTTP://LOCALHOST:9"},
        {"KOSLI_HOST": "http://127.0.0.2:9", "HTTP_PROXY": "http://127.0.0.1:3128"},  # a proxy on this machine
        {"KOSLI_HOST": "http://127.0.0.1:9", "HTTP_PROXY": "http://proxy.example", "NO_PROXY": "127.0.0.1"},
        {"KOSLI_HOST": "https://kosli.example", "KOSLI_HTTP_PROXY": "http://proxy.example"},  # a TLS tunnel
    ],
)
def test_plain_http_stays_allowed_on_this_machine_and_https_through_any_proxy(
    variables: dict[str, str], opened: list[KosliClient]
) -> None:
    assert client({**BASE, **variables}, opened).token == TOKEN


def test_the_proxy_that_is_checked_is_the_proxy_that_is_used(server: KosliServer, opened: list[KosliClient]) -> None:
    with KosliServer() as gone:
        dead_proxy = gone.url
    through_dead_proxy = client({**server.env(), "HTTP_PROXY": dead_proxy, "KOSLI_MAX_API_RETRIES": "0"}, opened)
    with pytest.raises(ApiError, match=r"\(cannot connect\)$"):
        through_dead_proxy.environments()

    bypassed = client({**server.env(), "HTTP_PROXY": dead_proxy, "NO_PROXY": "localhost,127.0.0.1"}, opened)
    assert [e["name"] for e in bypassed.environments()] == ["aws-beta"]


def test_credentials_in_addresses_are_masked_everywhere_and_never_in_a_path(
    server: KosliServer, repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.linear(1)
    with_password = server.url.replace("http://", f"http://kosli-user:{SECRET}@")
    monkeypatch.setenv("KOSLI_HOST", with_password)
    monkeypatch.setenv("KOSLI_HTTP_PROXY", f"http://proxy-user:{SECRET}@127.0.0.1:9")
    monkeypatch.setenv("KOSLI_MAX_API_RETRIES", "0")

    shown = run_cli("config", cwd=repo.path)
    failed = run_cli("--debug", "snapshot", "list", "aws-beta", cwd=repo.path)

    assert shown.exit_code == 0 and "http://***@127.0.0.1" in shown.stdout
    assert failed.exit_code == 128 and "http://***@127.0.0.1" in failed.stderr
    for text in (shown.stdout, shown.stderr, failed.stdout, failed.stderr):
        assert SECRET not in text and "kosli-user" not in text and TOKEN not in text
    files = [str(p) for p in (repo.path / ".git").rglob("*")]
    assert files and not any(SECRET in f or "user" in f for f in files)


@pytest.mark.parametrize("org", ["../../outside", "a/b", "-rf", "acme\x1b]0;pwned\x07", ".hidden", ""])
def test_the_org_must_be_a_kosli_name_before_it_names_a_file(
    org: str, server: KosliServer, repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo.linear(1)
    monkeypatch.setenv("KOSLI_ORG", org)

    result = run_cli("--source", "kosli", "snapshot", "list", "aws-beta", cwd=repo.path)

    assert result.exit_code == 128
    first = result.stderr.splitlines()[0]
    assert "is not a Kosli org name" in first or "needs an org" in first
    assert "\x1b" not in result.stderr and all(line.startswith("hint: ") for line in result.stderr.splitlines()[1:])
    assert not (repo.path / ".git" / "kosli").exists() and not (tmp_path / "outside.sqlite").exists()
    assert server.requests == []


def test_a_malformed_config_line_never_echoes_its_value(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo.linear(1)
    monkeypatch.delenv("KOSLI_API_TOKEN")
    (tmp_path / "home" / ".kosli.yml").write_text(f"org: acme\napi-token {SECRET}\n")

    shown = run_cli("config", cwd=repo.path)
    needed = run_cli("--source", "kosli", "snapshot", "list", "aws-beta", cwd=repo.path)

    for result in (shown, needed):
        assert SECRET not in result.stdout + result.stderr
    assert "line 2: expected 'key: value' (the line is not shown: it may hold a secret)" in needed.stderr


FORGED = "web\x1b]0;owned\x07\n\x1b[31mfatal: forged"


def test_strings_from_a_server_reach_no_terminal_note_or_list_uncleaned(
    server: KosliServer, repo: GitRepo, run_cli: RunCli
) -> None:
    sha = repo.commit("a")
    server.add(*history("prod", [[artifact(sha, url="https://github.com/acme/web")]]))
    body = server.snapshots["prod"][0]
    body["artifacts"][0]["name"] = FORGED
    body["artifacts"][0]["flows"][0]["flow_name"] = "ci\x1b[2J"
    server.snapshots["evil\x1b[2Jname"] = server.snapshots["prod"]

    listed = run_cli("snapshot", "show", "prod#1", cwd=repo.path)
    noted = run_cli("notes", cwd=repo.path)

    assert listed.exit_code == 0, listed.stderr
    assert "web]0;owned" in listed.stdout and "\x1b" not in listed.stdout
    assert noted.exit_code == 0, noted.stderr
    note = git(repo.path, "notes", "--ref=kosli", "show", sha)
    assert note.count("\n") == 1 and "\x1b" not in note and "fatal" in note  # one line, its text kept, defused
    completion = run_cli("__complete", "--", "where", "--env", "", cwd=repo.path)
    assert "evil" not in completion.stdout and "prod" in completion.stdout


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("fingerprint", "not-a-digest", "fingerprint 'not-a-digest' is not 64 hex digits"),
        ("fingerprint", "ab" * 33, "is not 64 hex digits"),
    ],
)
def test_a_fingerprint_from_a_server_is_64_hex_digits_or_empty(
    field: str, value: str, said: str, server: KosliServer, repo: GitRepo, run_cli: RunCli
) -> None:
    repo.linear(1)
    server.snapshots["aws-beta"][0]["artifacts"][0][field] = value

    result = run_cli("snapshot", "show", "aws-beta#1", cwd=repo.path)

    assert result.exit_code == 128 and said in result.stderr
    assert (
        not list((repo.path / ".git" / "kosli").glob("cache-*"))
        or run_cli("--offline", "snapshot", "show", "aws-beta#1", cwd=repo.path).exit_code == 128
    )  # nothing of it was cached


def test_an_artifact_recorded_or_imported_cannot_forge_a_second_line(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    sha = repo.commit("a")
    recorded = run_cli(
        "snapshot", "record", "prod", "--artifact", f"web\nforged={fingerprint('a')}@{sha}", cwd=repo.path
    )
    assert recorded.exit_code == 129 and "cannot hold control characters" in recorded.stderr

    document = snapshot_json(history("prod", [[artifact(sha)]])[0], None)
    document["artifacts"][0]["name"] = "web\nprod#9 forged"

    (tmp_path / "snap.json").write_text(json.dumps(document))  # the store is local, whatever the source
    assert run_cli("snapshot", "import", "prod", str(tmp_path / "snap.json"), cwd=repo.path).exit_code == 0
    assert run_cli("--source", "local", "notes", cwd=repo.path).exit_code == 0
    assert git(repo.path, "notes", "--ref=kosli", "show", sha) == "prod#1 webprod#9 forged\n"


@pytest.fixture
def limited(server: KosliServer, opened: list[KosliClient]) -> KosliClient:
    """A client with 1 s to connect and 1 s to read, and no retries."""
    settings = {**server.env(), "KOSLI_CONNECT_TIMEOUT": "1", "KOSLI_READ_TIMEOUT": "1", "KOSLI_MAX_API_RETRIES": "0"}
    return client(settings, opened)


@pytest.mark.parametrize("kind", ["huge", "bomb"])
def test_an_answer_past_64_mib_is_refused_in_bounded_memory(
    kind: str, server: KosliServer, limited: KosliClient
) -> None:
    server.fail("/snapshots/", Fault(kind))
    tracemalloc.start()
    try:
        with pytest.raises(ApiError) as refused:
            limited.snapshot("aws-beta", "%231")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert str(refused.value) == (
        f"Kosli answered GET {server.url}/api/v2/snapshots/acme/aws-beta/%231 with more than 64 MiB; stopped"
    )
    assert peak < 200 * 1024 * 1024


def test_a_server_that_drips_a_byte_a_second_is_left_within_the_timeouts(
    server: KosliServer, limited: KosliClient
) -> None:
    server.fail("/snapshots/", Fault("drip", seconds=0.3))
    started = time.monotonic()

    with pytest.raises(ApiError) as refused:
        limited.snapshot("aws-beta", "%231")

    assert time.monotonic() - started < 2 + 1.0  # connect + read timeouts, and a margin for a loaded machine
    assert str(refused.value).endswith("giving up after 1 attempt (no whole answer within 2 s)")


@pytest.mark.parametrize(("pages", "said"), [("same", "the same as page 1"), ("endless", "more than 5 pages")])
def test_a_server_that_pages_forever_is_stopped(
    pages: str, said: str, server: KosliServer, limited: KosliClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "MAX_PAGES", 5)
    server.pages = pages

    with pytest.raises(ApiError, match=said):
        list(limited.events("aws-beta", start=1))

    assert server.count("/events") <= 5


def test_a_certificate_that_is_not_trusted_is_named(
    tmp_path: Path, repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    names = ["-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run([*request, "-keyout", str(key), "-out", str(certificate), *names], check=True, capture_output=True)
    repo.linear(1)
    with KosliServer(token=TOKEN, tls_certificate=(str(certificate), str(key))) as tls:
        tls.add(*history("aws-beta", [[artifact("a" * 40)]]))
        for name, value in tls.env().items():
            monkeypatch.setenv(name, value)

        untrusted = run_cli("snapshot", "list", "aws-beta", cwd=repo.path)
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
        trusted = run_cli("snapshot", "list", "aws-beta", cwd=repo.path)

    assert untrusted.exit_code == 128
    assert "certificate verify failed: self-signed certificate" in untrusted.stderr
    assert "cannot connect" not in untrusted.stderr and "giving up" not in untrusted.stderr  # not retried
    assert trusted.exit_code == 0, trusted.stderr
