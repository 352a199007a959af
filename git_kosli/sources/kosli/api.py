"""The read side of Kosli API v2 over one pooled httpx client.

Requests are retried as the Kosli CLI retries them (go-retryablehttp): connection
errors, 429, 409 and 5xx except 501; waits of 1, 2, 4 ... seconds, at most 30,
or what `Retry-After` says. After that, one line that says what failed. The token
travels only in the `Authorization` header and never over plain http to another
machine; debug lines carry the method, URL, status and time, never a header.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from git_kosli import __version__
from git_kosli.errors import ApiError, KosliError
from git_kosli.sources.kosli.json import clean_text
from git_kosli.sources.settings import KosliSettings

if TYPE_CHECKING:
    import httpx

MAX_WAIT = 30.0
PER_PAGE = 100
Params = Mapping[str, str | int | list[str]]


class KosliClient:
    """GET requests to one Kosli org, retried, with errors turned into one clear line."""

    def __init__(
        self,
        settings: KosliSettings,
        *,
        debug: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Check the settings now, so a refusal happens before any connection is made."""
        org = settings.org
        if not org:
            raise KosliError("no Kosli org is configured: set KOSLI_ORG or `git config kosli.org ORG`")
        self.org = org
        self.base = f"{settings.host}/api/v2"
        self.token = settings.token
        if self.token and settings.host.startswith("http://") and not settings.host_is_loopback:
            raise KosliError(
                f"refusing to send the API token over plain http to {settings.host}; use https:// "
                f"(plain http is allowed only to this machine)"
            )
        self.max_retries = settings.max_retries
        self._timeouts = (settings.connect_timeout, settings.read_timeout)
        self._proxy = settings.get("http-proxy")
        self._debug = debug if debug is not None else (lambda line: None)
        self._sleep = sleep
        self._http: httpx.Client | None = None
        self._opening = threading.Lock()

    @property
    def http(self) -> httpx.Client:
        """The pooled client, made on first use (httpx is imported only then)."""
        with self._opening:  # threads share one pool: never make a second client
            if self._http is None:
                self._http = self._open()
        return self._http

    def _open(self) -> httpx.Client:
        import httpx

        connect, read = self._timeouts
        headers = {"User-Agent": f"git-kosli/{__version__}", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # Plain http never needs certificates: skip loading the CA bundle, 30-50 ms of every command.
        plain = self.base.startswith("http://") and not self._proxy
        return httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(read, connect=connect),
            verify=not plain,
            proxy=self._proxy or None,
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
        )

    def close(self) -> None:
        """Close the pooled connections."""
        if self._http is not None:
            self._http.close()

    def get(self, path: str, params: Params | None = None) -> Any:
        """The JSON body of `GET {host}/api/v2/{path}`; `path` segments must be quoted already."""
        return self._get(path, params)[0]

    def pages(self, path: str, params: Params | None = None, per_page: int = PER_PAGE) -> Iterator[list[Any]]:
        """Each page of a list endpoint, until an empty page, a short one or the last `X-Total-Pages`."""
        page = 1
        while True:
            body, headers = self._get(path, {**(params or {}), "page": page, "per_page": per_page})
            if not isinstance(body, list):
                raise ApiError(f"Kosli answered GET {self._url(path)} with {type(body).__name__}, expected a list")
            if body:
                yield body
            total = headers.get("x-total-pages")
            last = total.isdigit() and page >= int(total) if total else False
            if len(body) < per_page or last:
                return
            page += 1

    # The endpoints git kosli reads (kosli-api.md §2).

    def environments(self) -> list[Any]:
        """Every environment (a plain array when no page parameters are sent)."""
        return _list(self.get(f"environments/{self._org}"), "environments")

    def snapshot(self, env: str, segment: str) -> Any:
        """One snapshot; `segment` is a number or an expression already in wire form (see `snapshot_segment`)."""
        return self.get(f"snapshots/{self._org}/{_seg(env)}/{segment}")

    def snapshot_summaries(self, env: str, *, per_page: int = PER_PAGE) -> Iterator[list[Any]]:
        """The environment's snapshots, newest first, a page at a time."""
        return self.pages(f"snapshots/{self._org}/{_seg(env)}", {"reverse": "false"}, per_page)

    def events(self, env: str, *, start: int) -> Iterator[list[Any]]:
        """The environment's events from snapshot `start` on, oldest first."""
        return self.pages(f"environments/{self._org}/{_seg(env)}/events", {"start": start, "reverse": "true"})

    def artifacts(self, *, flow: str | None = None, repo: str | None = None) -> Iterator[list[Any]]:
        """Artifacts of a flow or a repository, newest first."""
        params = {"flow_name": flow} if flow else {"repo_name": repo or ""}
        return self.pages(f"artifacts/{self._org}", params)

    @property
    def _org(self) -> str:
        return _seg(self.org)

    def _url(self, path: str) -> str:
        return f"{self.base}/{path}"

    def _get(self, path: str, params: Params | None) -> tuple[Any, httpx.Headers]:
        response = self._send(self._url(path), params)
        return self._decode(response), response.headers

    def _send(self, url: str, params: Params | None) -> httpx.Response:
        import httpx

        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            response: httpx.Response | None = None
            try:
                answer = self.http.get(url, params=params)
            except httpx.TransportError as error:
                problem = _describe(error)
                self._debug(f"GET {_shown(url, params)} failed after {_ms(started)}: {problem}")
            else:
                self._debug(f"GET {answer.url} -> {answer.status_code} in {_ms(started)}")
                if not _retryable(answer.status_code):
                    return answer
                response, problem = answer, f"HTTP {answer.status_code}"
            if attempt == attempts:
                break
            wait = _retry_after(response) if response is not None else None
            wait = min(MAX_WAIT, wait if wait is not None else 2.0 ** (attempt - 1))
            self._debug(f"retrying in {wait:g} s ({problem}; attempt {attempt + 1} of {attempts})")
            self._sleep(wait)
        noun = "attempt" if attempts == 1 else "attempts"
        raise ApiError(f"GET {_shown(url, params)}: giving up after {attempts} {noun} ({problem})")

    def _decode(self, response: httpx.Response) -> Any:
        status = response.status_code
        if status in (401, 403):
            raise ApiError(
                f"Kosli refused access to org '{self.org}' (HTTP {status}: {_message(response)}); "
                f"check the API token (KOSLI_API_TOKEN)",
                status,
            )
        if status >= 400:
            raise ApiError(_message(response), status)
        try:
            return json.loads(response.content)
        except ValueError:
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise ApiError(
                f"Kosli answered GET {response.url} with something that is not JSON "
                f"(HTTP {status}, {kind}, {len(response.content)} bytes)"
            ) from None


def snapshot_segment(suffix: str) -> str:
    """A snapshot expression's suffix (`#40`, `~3`, `@{...}`; empty for the latest) as the Kosli CLI sends it."""
    return quote(suffix, safe="~-@:.") if suffix else "-1"


def _seg(value: str) -> str:
    return quote(value, safe="")


def _list(body: Any, what: str) -> list[Any]:
    if isinstance(body, Mapping) and isinstance(body.get(what), list):
        return list(body[what])
    if not isinstance(body, list):
        raise ApiError(f"Kosli sent {type(body).__name__} where a list of {what} was expected")
    return body


def _retryable(status: int) -> bool:
    return status in (409, 429) or (status >= 500 and status != 501)


def _retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds or as an HTTP date, honoured on 429 and 503 as go-retryablehttp does."""
    value = response.headers.get("retry-after")
    if value is None or response.status_code not in (429, 503):
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _message(response: httpx.Response) -> str:
    """The server's own words: `{"message": ...}`, FastAPI's `detail`, a JSON string, or the status."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        body = body.get("message") or body.get("detail")
        if isinstance(body, list):
            body = "; ".join(str(item.get("msg", item)) if isinstance(item, Mapping) else str(item) for item in body)
    if isinstance(body, str) and body.strip():
        return clean_text(body.strip())
    return f"HTTP {response.status_code} from GET {response.url}"


def _describe(error: Exception) -> str:
    import httpx

    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.ConnectError):
        return "cannot connect"
    return clean_text(str(error)) or type(error).__name__


def _shown(url: str, params: Params | None) -> str:
    import httpx

    return str(httpx.URL(url, params=params or {}))


def _ms(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.0f} ms"
