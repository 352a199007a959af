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
    from git_kosli.sources.settings import KEYS, mask
    from git_kosli.views.json import document
    from git_kosli.views.text import table

    settings = app.settings
    shown = {
        key.name: (mask(value) if key.name == "api-token" and value else value)
        for key in KEYS
        for value in [settings.values[key.name].value]
    }
    origins = {name: settings.values[name].origin if value is not None else None for name, value in shown.items()}
    source = app.source_name
    if as_json:
        doc = {name: {"value": shown[name], "origin": origins[name]} for name in shown}
        click.echo(document(source=source, settings=doc))
        return
    rows = [[name, value if value is not None else "(not set)", origins[name] or ""] for name, value in shown.items()]
    where = f"Kosli org '{settings.org}' at {settings.host}" if source == "kosli" else "the embedded store"
    app.show(table(rows, ["setting", "value", "from"]) + f"\n\nsource: {where}")
