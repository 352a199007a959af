"""Kosli settings, read as the Kosli CLI reads them, plus git's own configuration.

Precedence, highest first: command-line option > `KOSLI_*` environment variable >
git config `kosli.*` > the Kosli CLI's config file (`KOSLI_CONFIG_FILE` or
`~/.kosli.yml`; YAML, JSON or TOML, as viper reads it for the CLI) > default. Every
value remembers where it came from, so `git kosli config` can say so.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from git_kosli.errors import KosliError
from git_kosli.git.config import GitConfig, git_bool

DEFAULT_HOST = "https://app.kosli.com"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


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

    def get(self, name: str) -> str | None:
        """The raw value of a setting, None when unset."""
        return self.values[name].value

    @property
    def org(self) -> str | None:
        """The organization, or None when reading from Kosli is not configured."""
        return self.get("org")

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
        """The server's base address, checked to be an http(s) URL."""
        host = self.get("host") or DEFAULT_HOST
        parts = urlsplit(host)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise KosliError(f"{self._label('host')} '{host}' is not an http:// or https:// address")
        return host.rstrip("/")

    @property
    def host_is_loopback(self) -> bool:
        """True for a server on this machine, the only place a token may travel over plain http."""
        return (urlsplit(self.host).hostname or "") in LOOPBACK_HOSTS

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
    return KosliSettings(values=values, config_file=config_file, config_file_error=error, _encrypted_token=encrypted)


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
            document = tomllib.loads(text)
        else:
            document = _flat_yaml(text)
    except json.JSONDecodeError as error:
        raise ConfigFileError(
            f"the Kosli config file {path} is not valid JSON ({error.msg} at line {error.lineno})"
        ) from None
    except (tomllib.TOMLDecodeError, ValueError) as error:
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
            raise ValueError(f"line {number}: expected 'key: value', got '{stripped[:40]}'")
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
