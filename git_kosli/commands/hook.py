"""`git kosli hook install|uninstall`: the pre-push hook, where `git rev-parse --git-path hooks` says."""

from __future__ import annotations

import click

from git_kosli.context import AppContext, pass_app


@click.group()
def hook() -> None:
    """Install or remove the pre-push hook (honours core.hooksPath)."""


@hook.command()
@click.option("--force", is_flag=True, help="Replace a pre-push hook that is not git kosli's.")
@pass_app
def install(app: AppContext, force: bool) -> None:
    """Install the pre-push hook."""
    from git_kosli.git import hooks

    path = hooks.install(app.paths.git_path("hooks"), force=force)
    click.echo(f"installed {path}")


@hook.command()
@pass_app
def uninstall(app: AppContext) -> None:
    """Remove the pre-push hook if git kosli installed it."""
    from git_kosli.git import hooks

    path = hooks.uninstall(app.paths.git_path("hooks"))
    click.echo(f"removed {path}" if path else "no git kosli pre-push hook installed")
