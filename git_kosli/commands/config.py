"""`git kosli config`: the effective Kosli settings and where each one came from."""

from __future__ import annotations

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.params import json_option


@click.command()
@json_option
@pass_app
def config(app: AppContext, as_json: bool) -> None:
    """Show the effective settings, where each came from, and the source in use; the token is masked."""
    from git_kosli.sources.settings import KEYS, redact_url
    from git_kosli.views.json import document
    from git_kosli.views.text import table

    settings = app.settings
    shown = {key.name: _shown(key.name, settings.values[key.name].value) for key in KEYS}
    origins = {name: settings.values[name].origin if value is not None else None for name, value in shown.items()}
    source = app.source_name
    if as_json:
        doc = {name: {"value": shown[name], "origin": origins[name]} for name in shown}
        click.echo(document(source=source, settings=doc))
        return
    rows = [[name, value if value is not None else "(not set)", origins[name] or ""] for name, value in shown.items()]
    where = f"Kosli org '{settings.org}' at {redact_url(settings.host)}" if source == "kosli" else "the embedded store"
    app.show(table(rows, ["setting", "value", "from"]) + f"\n\nsource: {where}")


def _shown(name: str, value: str | None) -> str | None:
    """A setting as it may be printed: the token masked, credentials in an address masked, no control characters."""
    from git_kosli.model import clean_text
    from git_kosli.sources.settings import mask, redact_url

    if value is None:
        return None
    if name == "api-token":
        return mask(value)
    return redact_url(value) if name in ("host", "http-proxy") else clean_text(value)
