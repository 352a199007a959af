"""HTTP requests of `git kosli bisect` against the loopback Kosli server: a cold cache, then a warm one.

Run alone (`python bench/kosli_requests.py [COMMITS]`, default 2,000 commits) or as part of `make bench`,
which reuses its synthetic repositories. The server holds the repository's three environments
(a few hundred snapshots each) and `bench#1`/`bench#2` around the bisected range; the printed counts
are grouped by endpoint, so the bound (environments x pages, never commits) can be read off.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import synthetic
from tests.kosli_server import KosliServer

ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass
class Run:
    """One bisect: its wall time and the requests the server saw, by endpoint."""

    seconds: float
    requests: Counter[str]

    @property
    def snapshot_gets(self) -> int:
        return self.requests["get snapshot"]

    def summary(self) -> str:
        parts = ", ".join(f"{kind} {count}" for kind, count in sorted(self.requests.items()))
        return f"{sum(self.requests.values())} requests ({parts or 'none'}) in {self.seconds * 1000:.0f} ms"


def endpoint(path: str) -> str:
    """A request's kind, from its path under /api/v2."""
    parts = path.removeprefix("/api/v2/").split("/")
    if parts[0] == "snapshots":
        return "get snapshot" if len(parts) == 4 else "list snapshots"
    if parts[0] == "environments":
        return "events" if parts[-1] == "events" else "environments"
    return parts[0]


def bisect_requests(repo: Path, good: str, bad: str, env: dict[str, str] | None = None) -> tuple[Run, Run]:
    """Serve the repository's snapshots from a loopback Kosli org and bisect bench#1..bench#2 twice.

    `env`: the environment to run git kosli in (default: this Python's, with its scripts first on PATH).
    """
    from git_kosli.model import EnvName
    from git_kosli.sources.store import Store, store_path

    with Store(store_path(repo / ".git"), create=False) as store:
        snapshots = [s for env in synthetic.ENVIRONMENTS for s in store.history(EnvName(env))]
    for cache in (repo / ".git" / "kosli").glob("cache-*.sqlite*"):  # a cold cache; the embedded store stays
        cache.unlink()
    with KosliServer(org="bench") as server:
        server.add(*snapshots)
        server.add(*synthetic.range_snapshots(good, bad))
        env = {**(env or ENV), **server.env()}

        def bisect() -> Run:
            subprocess.run(["git", "bisect", "reset"], cwd=repo, env=env, capture_output=True, check=False)
            server.requests.clear()
            started = time.perf_counter()
            subprocess.run(
                ["git", "kosli", "bisect", "bench#1", "bench#2", "--no-checkout"],
                cwd=repo,
                env=env,
                capture_output=True,
                check=True,
            )
            elapsed = time.perf_counter() - started
            return Run(elapsed, Counter(endpoint(r.path) for r in server.requests))

        cold, warm = bisect(), bisect()
        subprocess.run(["git", "bisect", "reset"], cwd=repo, env=env, capture_output=True, check=False)
    return cold, warm


def report(cold: Run, warm: Run) -> list[str]:
    """Lines for the benchmark output."""
    return [
        f"# HTTP requests, cold bisect: {cold.summary()}",
        f"# HTTP requests, warm bisect: {warm.summary()}"
        + ("" if warm.snapshot_gets == 0 else "  <-- the warm bisect fetched snapshots again"),
    ]


def main() -> None:
    """Build a repository of COMMITS commits in a temporary folder and print the two counts."""
    commits = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    with tempfile.TemporaryDirectory(prefix="git-kosli-requests-") as folder:
        repo = Path(folder) / "repo"
        builds = synthetic.build(repo, commits)
        good, bad = builds[len(builds) // 3], builds[-1]
        cold, warm = bisect_requests(repo, good, bad)
    print(f"# {commits} commits, environments {', '.join(synthetic.ENVIRONMENTS)} x {synthetic.SNAPSHOTS} snapshots")
    print("\n".join(report(cold, warm)))


if __name__ == "__main__":
    main()
