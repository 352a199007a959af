"""The read side of Kosli API v2 over one pooled httpx client.

Requests are retried as the Kosli CLI retries them (go-retryablehttp): connection
errors, 429, 409 and 5xx except 501; waits of 1, 2, 4 ... seconds, at most 30,
or what `Retry-After` says. After that, one line that says what failed. The token
travels only in the `Authorization` header and never over plain http to another
machine, nor to a proxy that could read it; redirects are followed, as the CLI's Go
client does, but only on the Kosli host (never from https to http); debug lines carry
the method, URL (credentials masked), status and time, never a header.

An answer has limits, so a broken or hostile server cannot hold a command or its
memory: each attempt ends within the connect and read timeouts together (a server
that drips a byte a second included), a body is at most 64 MiB once decompressed,
and a listing at most 10,000 pages, none the same as the one before. A caller with
a deadline of its own (the pre-push hook) gets no request past it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from git_kosli import __version__
from git_kosli.errors import ApiError, KosliError
from git_kosli.model import clean_text
from git_kosli.sources.kosli.json import loads_strict
from git_kosli.sources.settings import KosliSettings, redact_url

if TYPE_CHECKING:
    import ssl

    import httpx

MAX_WAIT = 30.0
PER_PAGE = 100  # the most Kosli's list endpoints give in a page
MAX_BODY = 64 * 1024 * 1024  # bytes of one answer, decompressed
MAX_PAGES = 10_000  # pages of one listing: a million items
MAX_REDIRECTS = 10  # as Go's http.Client
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
Params = Mapping[str, str | int | list[str]]


class Answer(NamedTuple):
    """A whole answer, read within its time and size limits."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    url: httpx.URL


class _TooLarge(Exception):
    """The answer grew past MAX_BODY."""


class _Overdue(Exception):
    """The attempt did not end within its time."""


class KosliClient:
    """GET requests to one Kosli org, retried, with errors turned into one clear line."""

    def __init__(
        self,
        settings: KosliSettings,
        *,
        debug: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float | None = None,
    ) -> None:
        """Check the settings now, so a refusal happens before any connection is made.

        `deadline` (a `time.monotonic()` value): no request runs past it, retries included.
        """
        org = settings.org
        if not org:
            raise KosliError("no Kosli org is configured: set KOSLI_ORG or `git config kosli.org ORG`")
        self.org = org
        self.base = f"{settings.host}/api/v2"
        self.token = settings.token
        travels_in_clear_to = settings.token_in_clear_to() if self.token else None
        if travels_in_clear_to:
            raise KosliError(
                f"refusing to send the API token over plain http to {travels_in_clear_to}; use https:// "
                f"(plain http is allowed only to this machine)"
            )
        self.max_retries = settings.max_retries
        self._timeouts = (settings.connect_timeout, settings.read_timeout)
        self._proxy = settings.proxy
        self._ca_bundle = settings.ca_bundle
        self._debug = debug if debug is not None else (lambda line: None)
        self._sleep = sleep
        self._deadline = deadline
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
        return httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(read, connect=connect),
            verify=self._verify(),
            proxy=self._proxy,
            trust_env=False,  # the proxy was chosen, and checked, from the settings: httpx reads no variable itself
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
        )

    def _verify(self) -> ssl.SSLContext | bool:
        """The certificates to trust: SSL_CERT_FILE / SSL_CERT_DIR when set, else the default ones.

        Plain http never needs certificates: the CA bundle is not loaded, 30-50 ms of every command.
        """
        cafile, capath = self._ca_bundle
        if self.base.startswith("http://") and not self._proxy:
            return False
        if cafile or capath:
            import ssl

            return ssl.create_default_context(cafile=cafile, capath=capath)
        return True

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
        previous: list[Any] | None = None
        while True:
            body, headers = self._get(path, {**(params or {}), "page": page, "per_page": per_page})
            if not isinstance(body, list):
                raise ApiError(f"Kosli answered GET {self._shown(path)} with {type(body).__name__}, expected a list")
            if body and body == previous:
                raise ApiError(f"Kosli answered GET {self._shown(path)} with page {page} the same as page {page - 1}")
            if page >= MAX_PAGES:
                raise ApiError(f"Kosli answered GET {self._shown(path)} with more than {MAX_PAGES} pages; stopped")
            previous = body
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

    def _shown(self, path: str) -> str:
        return redact_url(self._url(path))

    def _get(self, path: str, params: Params | None) -> tuple[Any, httpx.Headers]:
        response = self._send(self._url(path), params)
        return self._decode(response), response.headers

    def _send(self, url: str, params: Params | None) -> Answer:
        import httpx

        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            response: Answer | None = None
            try:
                answer = self._attempt(url, params)
            except httpx.TransportError as error:
                problem = _describe(error)
                self._debug(f"GET {_shown(url, params)} failed after {_ms(started)}: {problem}")
                if problem.startswith("certificate"):
                    raise ApiError(f"GET {_shown(url, params)}: {problem}") from None  # retrying cannot help
            except _Overdue as overdue:
                problem = f"no whole answer within {overdue} s" if str(overdue) else "out of time"
                self._debug(f"GET {_shown(url, params)} failed after {_ms(started)}: {problem}")
            except _TooLarge:
                raise ApiError(
                    f"Kosli answered GET {_shown(url, params)} with more than {MAX_BODY // (1024 * 1024)} MiB; stopped"
                ) from None
            else:
                self._debug(f"GET {redact_url(str(answer.url))} -> {answer.status_code} in {_ms(started)}")
                if not _retryable(answer.status_code):
                    return answer
                response, problem = answer, f"HTTP {answer.status_code}"
            if attempt == attempts:
                break
            wait = _retry_after(response) if response is not None else None
            wait = min(MAX_WAIT, wait if wait is not None else 2.0 ** (attempt - 1))
            if self._deadline is not None and time.monotonic() + wait >= self._deadline:
                break
            self._debug(f"retrying in {wait:g} s ({problem}; attempt {attempt + 1} of {attempts})")
            self._sleep(wait)
        noun = "attempt" if attempt == 1 else "attempts"
        raise ApiError(f"GET {_shown(url, params)}: giving up after {attempt} {noun} ({problem})")

    def _attempt(self, url: str, params: Params | None) -> Answer:
        """One request, read whole within its time: the connect and read timeouts together, or to the deadline.

        httpx's timeouts bound each read, so a server that sends a byte a second would hold a read
        forever: the request runs in a thread of its own, given up when its time is over (it ends
        at its next read, or its read timeout).

        Raises:
            _Overdue: the time is over (its message is the time allowed, in seconds).
        """
        allowed = sum(self._timeouts)
        if self._deadline is not None:
            allowed = min(allowed, self._deadline - time.monotonic())
            if allowed <= 0:
                raise _Overdue("")
        outcome: list[Answer | BaseException] = []

        def fetch() -> None:
            try:
                outcome.append(self._fetch(url, params))
            except BaseException as error:  # handed to the caller's thread
                outcome.append(error)

        worker = threading.Thread(target=fetch, name="kosli-request", daemon=True)
        worker.start()
        worker.join(allowed)
        if not outcome:
            raise _Overdue(f"{allowed:g}")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _fetch(self, url: str, params: Params | None) -> Answer:
        """The answer, following redirects that stay on the Kosli host and never go from https to http."""
        started = time.monotonic()
        answer = self._read(url, params)
        for _ in range(MAX_REDIRECTS):
            location = answer.headers.get("location")
            if answer.status_code not in _REDIRECTS or location is None:
                return answer
            self._debug(f"GET {redact_url(str(answer.url))} -> {answer.status_code} in {_ms(started)}")
            target = answer.url.join(location)
            if not _stays_on_host(answer.url, target):
                raise ApiError(
                    f"Kosli redirected GET {redact_url(str(answer.url))} to "
                    f"{clean_text(redact_url(str(target.copy_with(query=None))))}; "
                    f"not followed: the API token goes only to {answer.url.scheme}://{answer.url.host}"
                )
            answer = self._read(str(target), None)
        raise ApiError(f"GET {_shown(url, params)}: more than {MAX_REDIRECTS} redirects; stopped")

    def _read(self, url: str, params: Params | None) -> Answer:
        """The answer, its body read (and decompressed) in chunks and refused past MAX_BODY."""
        with self.http.stream("GET", url, params=params) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BODY:
                raise _TooLarge
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise _TooLarge
            return Answer(response.status_code, response.headers, bytes(body), response.url)

    def _decode(self, response: Answer) -> Any:
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
            return loads_strict(response.content)
        except ValueError:
            kind = clean_text(response.headers.get("content-type", "no content type").split(";")[0])
            raise ApiError(
                f"Kosli answered GET {redact_url(str(response.url))} with something that is not JSON "
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


def _stays_on_host(source: httpx.URL, target: httpx.URL) -> bool:
    """True when a redirect may carry the token: the same host, and not from https down to plain http."""
    return target.host.lower() == source.host.lower() and (source.scheme, target.scheme) != ("https", "http")


def _retryable(status: int) -> bool:
    return status in (409, 429) or (status >= 500 and status != 501)


def _retry_after(response: Answer) -> float | None:
    """`Retry-After` in seconds or as an HTTP date, honoured on 429 and 503 as go-retryablehttp does."""
    value = response.headers.get("retry-after")
    if value is None or response.status_code not in (429, 503):
        return None
    if value.strip().isdigit():
        return float(value)
    import email.utils  # only for a dated Retry-After: its import costs every read that has none 9 ms

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _message(response: Answer) -> str:
    """The server's own words: `{"message": ...}`, FastAPI's `detail`, a JSON string, or the status."""
    try:
        body = loads_strict(response.content)
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        body = body.get("message") or body.get("detail")
        if isinstance(body, list):
            body = "; ".join(str(item.get("msg", item)) if isinstance(item, Mapping) else str(item) for item in body)
    if isinstance(body, str) and body.strip():
        return clean_text(body.strip())[:500]
    return f"HTTP {response.status_code} from GET {redact_url(str(response.url))}"


def _describe(error: Exception) -> str:
    """What went wrong on the way, in a few words: a certificate is named as one, not as "cannot connect"."""
    import ssl

    import httpx

    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = clean_text(cause.verify_message or cause.reason or "not trusted")
            return f"certificate verify failed: {reason} (SSL_CERT_FILE names the certificates to trust)"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed: {clean_text(cause.reason or str(cause))}"
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.ConnectError):
        return "cannot connect"
    return clean_text(str(error)) or type(error).__name__


def _shown(url: str, params: Params | None) -> str:
    import httpx

    return redact_url(str(httpx.URL(url, params=params or {})))


def _ms(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.0f} ms"
