"""Kosli settings, read as the Kosli CLI reads them, plus git's own configuration.

Precedence, highest first: command-line option > `KOSLI_*` environment variable >
git config `kosli.*` > the Kosli CLI's config file (`KOSLI_CONFIG_FILE` or
`~/.kosli.yml`; YAML, JSON or TOML, as viper reads it for the CLI) > default. Every
value remembers where it came from, so `git kosli config` can say so.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

from git_kosli.errors import KosliError
from git_kosli.git.config import GitConfig, git_bool
from git_kosli.model import ENV_NAME_PATTERN, clean_text

DEFAULT_HOST = "https://app.kosli.com"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
ORG_NAME = ENV_NAME_PATTERN  # Kosli's name rule; an org becomes part of a file name, so nothing else may pass


class Key(NamedTuple):
    """One setting and the names it goes by in each place it can be set."""

    name: str
    env: str
    git: str | None
    file: str | None
    default: str | None
    help: str


KEYS = (
    Key("org", "KOSLI_ORG", "kosli.org", "org", None, "the Kosli organization; set it to read from Kosli"),
    Key("api-token", "KOSLI_API_TOKEN", None, "api-token", None, "API token, sent only as a Bearer header"),
    Key("host", "KOSLI_HOST", "kosli.host", "host", DEFAULT_HOST, "the Kosli server"),
    Key("flow", "KOSLI_FLOW", "kosli.flow", "flow", None, "this repository's flow, when commit URLs do not tell"),
    Key("source", "KOSLI_SOURCE", "kosli.source", None, None, "kosli or local (default: kosli when an org is set)"),
    Key("http-proxy", "KOSLI_HTTP_PROXY", "kosli.httpProxy", "http-proxy", None, "proxy for requests to Kosli"),
    Key(
        "max-api-retries",
        "KOSLI_MAX_API_RETRIES",
        "kosli.maxApiRetries",
        "max-api-retries",
        "3",
        "retries of a failed request (429, 5xx but 501, connection errors)",
    ),
    Key("connect-timeout", "KOSLI_CONNECT_TIMEOUT", "kosli.connectTimeout", None, "10", "seconds to connect"),
    Key("read-timeout", "KOSLI_READ_TIMEOUT", "kosli.readTimeout", None, "30", "seconds to wait for an answer"),
    Key("debug", "KOSLI_DEBUG", None, "debug", "false", "print each request (method, URL, status, time) on stderr"),
    Key(
        "fetch-max-age",
        "KOSLI_FETCH_MAX_AGE",
        "kosli.fetch.maxAge",
        None,
        "60",
        "seconds a fetch stays recent: reads within them ask Kosli nothing (0: always ask)",
    ),
)


class Setting(NamedTuple):
    """A value and where it was set (`default` when nowhere)."""

    value: str | None
    origin: str


@dataclass(frozen=True)
class KosliSettings:
    """The effective settings; typed accessors validate on use, naming the setting and its origin."""

    values: Mapping[str, Setting]
    config_file: Path | None = None
    config_file_error: str | None = None
    _encrypted_token: bool = field(default=False, repr=False)
    network: Mapping[str, str] = field(default_factory=dict)  # proxy and CA variables, as `network_environment` keeps

    def get(self, name: str) -> str | None:
        """The raw value of a setting, None when unset."""
        return self.values[name].value

    @property
    def org(self) -> str | None:
        """The organization, or None when reading from Kosli is not configured; checked by Kosli's name rule."""
        org = self.get("org")
        if org is not None and not (ORG_NAME.match(org) and len(org) <= 100):
            raise KosliError(
                f"{self._label('org')} '{clean_text(org)}' is not a Kosli org name "
                f"(letters, digits, '.', '-' and '_', starting with a letter or digit)"
            )
        return org

    @property
    def token(self) -> str | None:
        """The API token; refuses one the Kosli CLI stored encrypted."""
        if self._encrypted_token and self.values["api-token"].origin == self.config_file_origin:
            raise KosliError(
                f"the api-token in {self.config_file} was encrypted by `kosli config` and only the Kosli CLI "
                f"can read it; set KOSLI_API_TOKEN instead"
            )
        token = self.get("api-token")
        if token is None:
            self.require_config_file("api-token")
        return token

    def require_config_file(self, name: str) -> None:
        """Raise the config file's error when a setting it may hold is needed and set nowhere else."""
        if self.config_file_error is not None:
            key = next(k for k in KEYS if k.name == name)
            raise KosliError(
                f"{self.config_file_error}, and {name} is set nowhere else",
                hints=[f"fix the file, or set {key.env}" + (f" or git config {key.git}" if key.git else "")],
            )

    @property
    def config_file_origin(self) -> str:
        """How values from the Kosli config file are labelled."""
        return str(self.config_file)

    @property
    def host(self) -> str:
        """The server's base address: an http(s) URL, its scheme and host name lowercased."""
        raw = self.get("host") or DEFAULT_HOST
        parts = _url_or_none(raw.strip())
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise KosliError(f"{self._label('host')} '{redact_url(raw)}' is not an http:// or https:// address")
        userinfo, _, place = parts.netloc.rpartition("@")
        netloc = f"{userinfo}@{place.lower()}" if userinfo else place.lower()
        return parts._replace(netloc=netloc, path=parts.path.rstrip("/"), query="", fragment="").geturl()

    @property
    def host_is_loopback(self) -> bool:
        """True for a server on this machine, the only place a token may travel over plain http."""
        return is_loopback(self.host)

    @property
    def proxy(self) -> str | None:
        """The proxy requests to the host go through: `http-proxy`, else the `*_proxy` variables (`no_proxy` too).

        Worked out here, not by httpx, so that what is checked is what is used: the client is
        given this proxy and reads no variable itself.
        """
        explicit = self.get("http-proxy")
        if explicit:
            parts = _url_or_none(explicit.strip())
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                raise KosliError(
                    f"{self._label('http-proxy')} '{redact_url(explicit)}' is not an http:// or https:// address"
                )
            return explicit.strip()
        host = urlsplit(self.host)
        wanted = self.network.get(f"{host.scheme}_proxy") or self.network.get("all_proxy")
        if not wanted or _bypassed(host, self.network.get("no_proxy", "")):
            return None
        return wanted if "://" in wanted else f"http://{wanted}"

    def token_in_clear_to(self) -> str | None:
        """Where the token would travel over plain http to another machine (the host, or a proxy); None if nowhere.

        An https host is reached through any proxy by a tunnel (CONNECT), so the token is sealed by TLS
        end to end. A plain http host must be this machine and be reached directly or through a proxy
        on this machine: any other proxy would read the token.
        """
        if urlsplit(self.host).scheme != "http":
            return None
        if not self.host_is_loopback:
            return redact_url(self.host)
        proxy = self.proxy
        if proxy is not None and not is_loopback(proxy):
            return f"the proxy {redact_url(proxy)}"
        return None

    @property
    def ca_bundle(self) -> tuple[str | None, str | None]:
        """`SSL_CERT_FILE` and `SSL_CERT_DIR`, which name the certificates to trust instead of the default ones."""
        return self.network.get("ssl_cert_file") or None, self.network.get("ssl_cert_dir") or None

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried."""
        return int(self._number("max-api-retries", integer=True))

    @property
    def connect_timeout(self) -> float:
        """Seconds allowed to connect."""
        return self._number("connect-timeout")

    @property
    def read_timeout(self) -> float:
        """Seconds allowed for an answer."""
        return self._number("read-timeout")

    @property
    def fetch_max_age(self) -> float:
        """Seconds after a fetch within which reads answer from the cache alone; 0 asks Kosli every time."""
        raw = (self.get("fetch-max-age") or "").strip()
        if not re.fullmatch(r"\d+(\.\d+)?", raw):
            raise KosliError(f"{self._label('fetch-max-age')} '{clean_text(raw)[:40]}' is not a number of seconds")
        return float(raw)

    @property
    def debug(self) -> bool:
        """Print each request on stderr."""
        return git_bool(self.get("debug")) is True

    def _number(self, name: str, *, integer: bool = False) -> float:
        raw = self.get(name) or ""
        pattern = r"\d+" if integer else r"\d+(\.\d+)?"
        if not re.fullmatch(pattern, raw.strip()) or (not integer and float(raw) == 0):
            kind = "a whole number" if integer else "a positive number of seconds"
            raise KosliError(f"{self._label(name)} '{raw}' is not {kind}")
        return float(raw)

    def _label(self, name: str) -> str:
        origin = self.values[name].origin
        return f"{name} (from {origin})" if origin != "default" else name


def load_settings(
    options: Mapping[str, str | None], environ: Mapping[str, str], git_config: GitConfig | None
) -> KosliSettings:
    """Every setting from the highest-precedence place that sets it.

    A config file that cannot be read is not fatal here: its error is kept in `config_file_error`,
    for a warning, or for the error of a setting that is needed and set nowhere else.
    """
    config_file = config_file_path(environ)
    file_values: dict[str, str] = {}
    encrypted, error = False, None
    if config_file is not None:
        try:
            file_values = read_config_file(config_file)
        except ConfigFileError as failure:
            error = str(failure)
        encrypted = _is_encrypted(file_values.get("api-token", ""))
    values = {}
    for key in KEYS:
        values[key.name] = _first(
            (options.get(key.name), f"--{key.name}"),
            (environ.get(key.env) or None, key.env),
            (git_config.get_or_none(key.git) if key.git and git_config else None, f"git config {key.git}"),
            (file_values.get(key.file) if key.file else None, str(config_file)),
            (key.default, "default"),
        )
    return KosliSettings(
        values=values,
        config_file=config_file,
        config_file_error=error,
        _encrypted_token=encrypted,
        network=network_environment(environ),
    )


def network_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The proxy and certificate variables, names lowercased; a lowercase variable wins, as in curl and urllib.

    `HTTP_PROXY` is ignored under CGI (`REQUEST_METHOD` set), where a client could set it (httpoxy).
    """
    found: dict[str, str] = {}
    for lowercase_wins in (False, True):
        for name, value in environ.items():
            key = name.lower()
            if (name == key) == lowercase_wins and (key.endswith("_proxy") or key in ("ssl_cert_file", "ssl_cert_dir")):
                if value:
                    found[key] = value
                else:
                    found.pop(key, None)
    if "REQUEST_METHOD" in environ and environ.get("http_proxy") is None:
        found.pop("http_proxy", None)
    return found


def _url_or_none(text: str) -> SplitResult | None:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - parsing the port is what may fail
    except ValueError:
        return None
    return parts


def is_loopback(url: str) -> bool:
    """True when the URL's host is this machine: `localhost` or a loopback address (127.0.0.0/8, ::1)."""
    parts = _url_or_none(url if "://" in url else f"http://{url}")
    host = ((parts.hostname if parts else None) or "").rstrip(".")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bypassed(host: SplitResult, no_proxy: str) -> bool:
    """True when `no_proxy` names the host (`*`, the name, a domain it is in, or `scheme://name`)."""
    name = (host.hostname or "").rstrip(".")
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if entry == "*":
            return True
        if "://" in entry:
            if f"{host.scheme}://{host.netloc.rpartition('@')[2]}".startswith(entry):
                return True
            continue
        domain = entry.lstrip("*").lstrip(".").strip("[]")
        if domain and (name == domain or name.endswith(f".{domain}")):
            return True
    return False


def redact_url(url: str) -> str:
    """A URL as it may be shown: any user name and password replaced by `***` (in errors, --debug, config)."""
    parts = _url_or_none(url)
    if parts is None or "@" not in parts.netloc:
        return clean_text(url) if parts is not None else "(an address that does not parse)"
    return clean_text(parts._replace(netloc=f"***@{parts.netloc.rpartition('@')[2]}").geturl())


def _first(*candidates: tuple[str | None, str]) -> Setting:
    for value, origin in candidates:
        if value is not None:
            return Setting(value, origin)
    return Setting(None, "default")


# The Kosli CLI's config file, as viper finds and reads it for the CLI.

CONFIG_EXTENSIONS = (".json", ".toml", ".yaml", ".yml")  # the order viper tries them in


class ConfigFileError(Exception):
    """The Kosli CLI's config file exists but cannot be read; the message names it."""


def config_file_path(environ: Mapping[str, str]) -> Path | None:
    """The Kosli CLI's config file, or None: `KOSLI_CONFIG_FILE`, else `~/.kosli.yml` when it exists.

    `KOSLI_CONFIG_FILE` is taken as named, else with any extension replaced by .json, .toml, .yaml
    or .yml: viper looks for the base name in those formats.
    """
    named = environ.get("KOSLI_CONFIG_FILE")
    if named:
        given = Path(named).expanduser()
        base = given.with_suffix("") if given.suffix.lower() in CONFIG_EXTENSIONS else given
        candidates = [given, *(base.with_name(base.name + ext) for ext in CONFIG_EXTENSIONS)]
        return next((c for c in candidates if c.is_file()), None)
    home = environ.get("HOME")
    default = Path(home) / ".kosli.yml" if home else None
    return default if default is not None and default.is_file() else None


def read_config_file(path: Path) -> dict[str, str]:
    """The file's flat settings by lower-case key (`API_TOKEN` is `api-token`), in YAML, JSON or TOML.

    The format follows the extension; a file without one is JSON when it starts with `{`, TOML when
    its first setting is `key = value`, else YAML. Nested tables and lists are not settings and are left out.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise ConfigFileError(f"cannot read the Kosli config file {path}: {error.strerror}") from None
    kind = {".json": "json", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}.get(path.suffix.lower()) or _sniff(text)
    try:
        if kind == "json":
            document = json.loads(text)
        elif kind == "toml":
            import tomllib  # only for a TOML file: its import costs a read that has none 4 ms

            document = tomllib.loads(text)
        else:
            document = _flat_yaml(text)
    except json.JSONDecodeError as error:
        raise ConfigFileError(
            f"the Kosli config file {path} is not valid JSON ({error.msg} at line {error.lineno})"
        ) from None
    except ValueError as error:  # tomllib.TOMLDecodeError is one
        raise ConfigFileError(f"the Kosli config file {path} is not valid {kind.upper()} ({error})") from None
    if not isinstance(document, dict):
        raise ConfigFileError(f"the Kosli config file {path} does not hold settings (key: value)")
    return {
        str(key).strip().lower().replace("_", "-"): _scalar(value)
        for key, value in document.items()
        if isinstance(value, str | int | float | bool)
    }


def _sniff(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")), "")
    if first.startswith("{"):
        return "json"
    return "toml" if re.match(r"^[\w.\"'-]+\s*=", first) else "yaml"


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flat_yaml(text: str) -> dict[str, str]:
    """The flat `key: value` YAML the Kosli CLI writes (no new dependency for a full YAML parser)."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.split(" #", 1)[0].strip()
        if not stripped or stripped.startswith(("#", "---")):
            continue
        key, colon, value = stripped.partition(":")
        if not colon:
            raise ValueError(f"line {number}: expected 'key: value' (the line is not shown: it may hold a secret)")
        values[key.strip()] = _unquote(value.strip())
    return values


def _is_encrypted(token: str) -> bool:
    """A token `kosli config` encrypted: tagged binary in YAML, or not text at all."""
    return token.startswith("!!binary") or any(not ch.isprintable() for ch in token)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def mask(token: str) -> str:
    """A token as it may be shown: that it is set, nothing of it."""
    return "********" if token else ""
