"""One module per `git kosli` subcommand; `git_kosli.cli.COMMANDS` lists them."""
