"""The Kosli client against a real HTTP server on 127.0.0.1: retries, timeouts, errors, the token."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from git_kosli.errors import ApiError, KosliError
from git_kosli.sources.kosli.api import KosliClient
from git_kosli.sources.settings import load_settings
from tests.factory import artifact, history
from tests.kosli_server import Fault, KosliServer

TOKEN = "kosli-token-4f1d9e"


@pytest.fixture
def server() -> Iterator[KosliServer]:
    with KosliServer(token=TOKEN) as kosli:
        kosli.add(*history("aws-beta", [[artifact("a" * 40)], [artifact("b" * 40)]]))
        yield kosli


@pytest.fixture
def waits() -> list[float]:
    """The backoff waits the client asked for, instead of sleeping them."""
    return []


MakeClient = Callable[..., KosliClient]
"""Makes a client for the test server; keyword arguments override `KOSLI_*` variables."""


@pytest.fixture
def client(server: KosliServer, waits: list[float], opened: list[KosliClient]) -> MakeClient:
    """A client for the test server, its settings from `KOSLI_*` variables (overridable)."""

    def make(**env: str) -> KosliClient:
        settings = load_settings({}, {**server.env(), **env}, None)
        opened.append(KosliClient(settings, sleep=waits.append))
        return opened[-1]

    return make


def test_a_500_is_retried_and_then_answered(server: KosliServer, waits: list[float], client: MakeClient) -> None:
    server.fail("/snapshots/", Fault("status", 500), Fault("status", 502))

    body = client().snapshot("aws-beta", "%232")

    assert body["index"] == 2
    assert waits == [1.0, 2.0]
    assert server.count("/snapshots/") == 3


def test_retry_after_is_honoured_on_503_and_429(server: KosliServer, waits: list[float], client: MakeClient) -> None:
    server.fail("/snapshots/", Fault("status", 503, {"Retry-After": "7"}), Fault("status", 429, {"Retry-After": "3"}))

    client().snapshot("aws-beta", "%231")

    assert waits == [7.0, 3.0]


def test_waits_are_capped_at_thirty_seconds(server: KosliServer, waits: list[float], client: MakeClient) -> None:
    server.fail("/snapshots/", Fault("status", 429, {"Retry-After": "600"}))

    client().snapshot("aws-beta", "%231")

    assert waits == [30.0]


def test_giving_up_after_the_retries_is_one_line(server: KosliServer, waits: list[float], client: MakeClient) -> None:
    server.fail("/snapshots/", *[Fault("status", 503)] * 4)

    with pytest.raises(ApiError) as raised:
        client().snapshot("aws-beta", "%231")

    url = f"{server.url}/api/v2/snapshots/acme/aws-beta/%231"
    assert str(raised.value) == f"GET {url}: giving up after 4 attempts (HTTP 503)"
    assert waits == [1.0, 2.0, 4.0]


def test_kosli_max_api_retries_sets_the_attempts(server: KosliServer, waits: list[float], client: MakeClient) -> None:
    server.fail("/snapshots/", *[Fault("status", 500)] * 2)

    with pytest.raises(ApiError, match=r"giving up after 2 attempts \(HTTP 500\)"):
        client(KOSLI_MAX_API_RETRIES="1").snapshot("aws-beta", "%231")


def test_501_and_404_are_not_retried(server: KosliServer, waits: list[float], client: MakeClient) -> None:
    server.fail("/snapshots/", Fault("status", 501))
    kosli = client()

    with pytest.raises(ApiError, match=r"^injected 501$"):
        kosli.snapshot("aws-beta", "%231")
    with pytest.raises(ApiError) as missing:
        kosli.snapshot("aws-beta", "%239")

    assert "Snapshot 'aws-beta#9' resolves to 'aws-beta#9'" in str(missing.value)
    assert waits == []


def test_a_slow_answer_times_out_and_is_retried(server: KosliServer, waits: list[float], client: MakeClient) -> None:
    server.fail("/snapshots/", Fault("slow", seconds=0.6))

    body = client(KOSLI_READ_TIMEOUT="0.2").snapshot("aws-beta", "%231")

    assert body["index"] == 1
    assert waits == [1.0]


def test_a_server_that_never_answers_in_time(server: KosliServer, waits: list[float], client: MakeClient) -> None:
    server.fail("/snapshots/", *[Fault("slow", seconds=0.4)] * 2)

    with pytest.raises(ApiError, match=r"giving up after 2 attempts \(timed out\)$"):
        client(KOSLI_READ_TIMEOUT="0.1", KOSLI_MAX_API_RETRIES="1").snapshot("aws-beta", "%231")


def test_nobody_listening_is_reported_plainly(waits: list[float], opened: list[KosliClient]) -> None:
    with KosliServer() as gone:
        settings = load_settings({}, gone.env(KOSLI_MAX_API_RETRIES="0"), None)
    opened.append(KosliClient(settings, sleep=waits.append))
    with pytest.raises(ApiError, match=r"giving up after 1 attempt \(cannot connect\)$"):
        opened[-1].environments()


def test_truncated_json_and_an_html_page_say_what_came(
    server: KosliServer, waits: list[float], client: MakeClient
) -> None:
    server.fail("/snapshots/", Fault("truncated"))
    server.fail("/environments/", Fault("html", 200))
    kosli = client()

    with pytest.raises(ApiError) as truncated:
        kosli.snapshot("aws-beta", "%231")
    with pytest.raises(ApiError) as html:
        kosli.environments()

    assert str(truncated.value) == (
        f"Kosli answered GET {server.url}/api/v2/snapshots/acme/aws-beta/%231 with something that is not JSON "
        "(HTTP 200, application/json, 27 bytes)"
    )
    assert "with something that is not JSON (HTTP 200, text/html, " in str(html.value)


def test_an_html_502_is_retried_then_named(server: KosliServer, waits: list[float], client: MakeClient) -> None:
    server.fail("/environments/", *[Fault("html", 502)] * 4)

    with pytest.raises(ApiError, match=r"giving up after 4 attempts \(HTTP 502\)$"):
        client().environments()


def test_a_wrong_token_names_the_org_and_the_token_setting(
    server: KosliServer, waits: list[float], client: MakeClient
) -> None:
    with pytest.raises(ApiError) as refused:
        client(KOSLI_API_TOKEN="wrong").environments()

    assert str(refused.value) == (
        "Kosli refused access to org 'acme' (HTTP 401: Invalid API token); check the API token (KOSLI_API_TOKEN)"
    )
    assert waits == []


def test_the_token_travels_only_in_the_authorization_header(
    server: KosliServer, waits: list[float], opened: list[KosliClient]
) -> None:
    lines: list[str] = []
    settings = load_settings({}, server.env(KOSLI_DEBUG="true"), None)
    kosli = KosliClient(settings, debug=lines.append, sleep=waits.append)
    opened.append(kosli)
    server.fail("/environments/", Fault("status", 500))

    kosli.environments()

    seen = server.requests[-1]
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert all(TOKEN not in value for name, value in seen.headers.items() if name != "authorization")
    assert TOKEN not in seen.path and TOKEN not in str(seen.query)
    assert lines[0].startswith(f"GET {server.url}/api/v2/environments/acme -> 500 in ")
    assert lines[1] == "retrying in 1 s (HTTP 500; attempt 2 of 4)"
    assert lines[2].startswith(f"GET {server.url}/api/v2/environments/acme -> 200 in ")
    assert not any(TOKEN in line for line in lines)


def test_a_token_is_never_sent_over_plain_http_to_another_machine() -> None:
    settings = load_settings(
        {}, {"KOSLI_ORG": "acme", "KOSLI_API_TOKEN": TOKEN, "KOSLI_HOST": "http://kosli.example.invalid"}, None
    )

    with pytest.raises(KosliError) as refused:
        KosliClient(settings)

    assert str(refused.value) == (
        "refusing to send the API token over plain http to http://kosli.example.invalid; "
        "use https:// (plain http is allowed only to this machine)"
    )
    assert TOKEN not in str(refused.value)


def test_pages_end_on_a_short_page(server: KosliServer, waits: list[float], client: MakeClient) -> None:
    server.add(*history("aws-beta", [[artifact(f"{i:040x}")] for i in range(3, 9)], start=3))

    pages = list(client().events("aws-beta", start=1))

    assert [len(page) for page in pages] == [len(server.events["aws-beta"])]
    by_three = list(client().pages("snapshots/acme/aws-beta", {"reverse": "true"}, per_page=3))
    assert [[s["index"] for s in page] for page in by_three] == [[1, 2, 3], [4, 5, 6], [7, 8]]
