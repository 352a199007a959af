"""Allow `python -m git_kosli`."""

from git_kosli.cli import main

raise SystemExit(main())
