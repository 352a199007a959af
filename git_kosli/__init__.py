"""git kosli: Kosli environment snapshots as git commit ranges.

Resolves what ran in an environment snapshot to the commits it was built from,
so `git bisect`, `git log` and notes can work over deployment history.
"""

__version__ = "0.1.0"
