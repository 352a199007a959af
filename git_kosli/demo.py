"""The demo world: a small service repository and the environment history of its organisation.

Built deterministically (fixed dates, one `git fast-import`), offline, in well under
a second, so the demo, the README tutorial and the tests all see the same shas.

The story: `runner` is built on some commits only. aws-beta ran build G in #5 and
build B in #6, and broke; the culprit is an unbuilt commit on a feature branch
merged between them. aws-prod lags behind, was rolled back at #5, and a rogue
crypto-miner with no provenance started there at #6. aws-beta#7 runs a saver
build that is not compliant.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from git_kosli.files import write_atomically
from git_kosli.git import repository
from git_kosli.model import Artifact, CommitSha, EnvName, Fingerprint, Provenance, Snapshot, SnapshotRef
from git_kosli.sources.store import Store, store_path

START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC).timestamp()
HOUR = 3600
ORG_URL = "https://github.com/cyber-dojo"
REGISTRY = "244531986313.dkr.ecr.eu-central-1.amazonaws.com"
RIDDLE = "The more you take, the more you leave behind. What are they?"
ANSWER = "Footsteps"
MARKER = "kosli-demo"

TEST_SCRIPT = """#!/bin/sh
# The runner's own test: counting the steps of a three-step run must give 3.
exec python3 -c 'import runner, sys; sys.exit(0 if runner.count_steps(["pull", "start", "run"]) == 3 else 1)'
"""
GOOD_RUNNER = '''"""Runs code in a sandbox and reports each step."""


def count_steps(steps):
    """How many steps a run took."""
    return len(steps)
'''
BAD_RUNNER = '''"""Runs code in a sandbox and reports each step."""


def count_steps(steps):
    """How many steps a run took."""
    return len(steps[1:])  # the first step is the pull, which is not ours to count
'''
CULPRIT_MESSAGE = f"""Tidy up the step counter

Stop counting the image pull as a step of the run.

Easter egg: you found the commit that broke aws-beta#6.
Riddle: {RIDDLE}
Answer: {ANSWER}.
"""


@dataclass(frozen=True)
class DemoCommit:
    """One commit of the demo history."""

    mark: str
    branch: str
    message: str
    files: dict[str, str] = field(default_factory=dict)
    merge: str | None = None


def _history() -> list[DemoCommit]:
    c = DemoCommit
    return [
        c("c1", "main", "Initial runner service", {"runner.py": GOOD_RUNNER, "test.sh": TEST_SCRIPT}),
        c("c2", "main", "Add a README", {"README.md": "# runner\n\nRuns code in a sandbox.\n"}),
        c("c3", "main", "Add sandbox limits", {"limits.toml": "memory = '512M'\ncpus = 1\n"}),
        c("c4", "main", "Log run durations", {"log.py": "FORMAT = '{step} took {ms}ms'\n"}),
        c("c5", "main", "Tidy imports", {"log.py": "FORMAT = '{step} took {ms} ms'\n"}),
        c("c6", "main", "Add a health endpoint", {"health.py": "def ready():\n    return True\n"}),
        c("c7", "languages", "Support Python 3.12 images", {"images.toml": "python = '3.12'\n"}),
        c("c8", "languages", "Support Ruby images", {"images.toml": "python = '3.12'\nruby = '3.3'\n"}),
        c("c9", "main", "Bump the base image", {"Dockerfile": "FROM alpine:3.20\n"}),
        c("c10", "main", "Merge branch 'languages'", merge="c8"),
        c("c11", "main", "Document the API", {"README.md": "# runner\n\nRuns code in a sandbox.\n\nPOST /run\n"}),
        c("c12", "main", "Cache compiled images", {"cache.py": "CACHE_SIZE = 64\n"}),
        c("c13", "faster-start", "Start containers in parallel", {"start.py": "PARALLEL = 4\n"}),
        c("c14", "faster-start", CULPRIT_MESSAGE, {"runner.py": BAD_RUNNER}),
        c("c15", "faster-start", "Reuse warm containers", {"start.py": "PARALLEL = 4\nWARM = True\n"}),
        c(
            "c16",
            "main",
            "Fix a typo in the README",
            {"README.md": "# runner\n\nRuns code in a sandbox.\n\nPOST /run.\n"},
        ),
        c("c17", "main", "Merge branch 'faster-start'", merge="c15"),
        c("c18", "main", "Add a metrics endpoint", {"metrics.py": "def scrape():\n    return {}\n"}),
        c("c19", "main", "Raise the default memory limit", {"limits.toml": "memory = '1G'\ncpus = 1\n"}),
        c("c20", "main", "Retry failed image pulls", {"pull.py": "RETRIES = 3\n"}),
        c("c21", "main", "Report pull retries", {"pull.py": "RETRIES = 3\nREPORT = True\n"}),
    ]


@dataclass(frozen=True)
class Demo:
    """The built demo: where it is and the commits the story is about."""

    path: Path
    commits: dict[str, CommitSha]  # mark -> sha

    @property
    def culprit(self) -> CommitSha:
        """The commit that broke aws-beta#6."""
        return self.commits["c14"]


def build(path: Path) -> Demo:
    """Create the demo repository and its store at `path` (which must not exist or be empty)."""
    path.mkdir(parents=True, exist_ok=True)
    repository.create(
        path,
        {
            "user.name": "Demo Developer",
            "user.email": "developer@example.com",
            "remote.origin.url": f"{ORG_URL}/runner.git",
            "remote.origin.fetch": "+refs/heads/*:refs/remotes/origin/*",
            "notes.displayRef": "refs/notes/kosli",
            "kosli.source": "local",  # the demo's story is in its embedded store, whatever org is configured
        },
    )
    commits = _import_history(path)
    repository.checkout(path, "main")
    with Store(store_path(path / ".git")) as store:
        store.put_snapshots(_environments(commits), env_type="ECS")
    write_atomically(path / ".git" / "kosli" / MARKER, "".join(f"{sha}\n" for sha in commits.values()))
    exclude = path / ".git" / "info" / "exclude"
    kept = exclude.read_text() if exclude.is_file() and not exclude.is_symlink() else ""
    # the picture `git kosli timeline` draws there, and what `git bisect run ./test.sh` leaves
    write_atomically(exclude, kept + "/timeline.html\n__pycache__/\n")
    return Demo(path=path, commits=commits)


def not_rebuildable(path: Path) -> str | None:
    """Why the non-empty folder at `path` must not be deleted to rebuild the demo; None for an untouched demo.

    A demo is rebuilt only as it was built: its marker lists the demo's commits, and nothing else (a
    commit, a change, a file of the user's) may be in it.
    """
    marker = path / ".git" / "kosli" / MARKER
    try:
        commits = set(marker.read_text().split()) if marker.is_file() and not marker.is_symlink() else None
    except (OSError, UnicodeDecodeError):
        commits = None
    if not commits:
        return "exists, is not empty and is not an earlier demo"
    return repository.work_beyond(path, commits)


def _import_history(path: Path) -> dict[str, CommitSha]:
    """Write every commit with one `git fast-import`; each commit restates its whole tree."""
    trees: dict[str, dict[str, str]] = {}
    tips: dict[str, str] = {}
    stream: list[str] = []
    for i, commit in enumerate(_history()):
        base = tips.get(commit.branch) or tips.get("main")
        tree = dict(trees[base]) if base else {}
        if commit.merge:
            tree.update(trees[commit.merge])
        tree.update(commit.files)
        trees[commit.mark] = tree
        when = int(START + i * HOUR)
        message = commit.message.encode()
        stream += [
            f"commit refs/heads/{commit.branch}",
            f"mark :{commit.mark[1:]}",
            f"committer Demo Developer <developer@example.com> {when} +0000",
            f"data {len(message)}",
            commit.message,
        ]
        if base and base != tips.get(commit.branch):
            stream.append(f"from :{base[1:]}")
        if commit.merge:
            stream.append(f"merge :{commit.merge[1:]}")
        stream.append("deleteall")
        for name, content in sorted(tree.items()):
            mode = "100755" if name.endswith(".sh") else "100644"
            stream += [f"M {mode} inline {name}", f"data {len(content.encode())}", content]
        stream.append("")
        tips[commit.branch] = commit.mark
    marks = repository.fast_import(path, "\n".join(stream) + "\n")
    return {f"c{mark[1:]}": CommitSha(sha) for mark, sha in marks.items()}


def _runner(sha: CommitSha, *, promoted: bool = False) -> Artifact:
    """The runner image built from a commit; in prod it is also reported to the promotion flow."""
    provenance = [Provenance("runner-ci", sha, f"{ORG_URL}/runner/commit/{sha}")]
    if promoted:
        promotion = CommitSha(_hex("promotion " + sha, 40))
        provenance.append(
            Provenance("production-promotion", promotion, f"{ORG_URL}/aws-prod-co-promotion/commit/{promotion}")
        )
    return Artifact(
        name=f"{REGISTRY}/runner:{sha[:7]}",
        fingerprint=Fingerprint(_hex("runner " + sha, 64)),
        provenance=tuple(provenance),
        instances=2,
        compliant=True,
    )


def _service(name: str, version: int, *, compliant: bool = True) -> Artifact:
    """An artifact of another repository of the organisation."""
    sha = CommitSha(_hex(f"{name} {version}", 40))
    return Artifact(
        name=f"{REGISTRY}/{name}:{sha[:7]}",
        fingerprint=Fingerprint(_hex(f"{name} image {version}", 64)),
        provenance=(Provenance(f"{name}-ci", sha, f"{ORG_URL}/{name}/commit/{sha}"),),
        instances=1,
        compliant=compliant,
    )


def _miner() -> Artifact:
    """A crypto-miner nobody built: no flow, no commit."""
    return Artifact(
        name="docker.io/xmrig/xmrig:latest", fingerprint=Fingerprint(_hex("xmrig", 64)), instances=1, compliant=False
    )


def _environments(commits: dict[str, CommitSha]) -> list[Snapshot]:
    beta = [
        [_runner(commits["c1"]), _service("saver", 1), _service("differ", 1)],
        [_runner(commits["c4"]), _service("saver", 1), _service("differ", 1)],
        [_runner(commits["c6"]), _service("saver", 2), _service("differ", 1)],
        [_runner(commits["c10"]), _service("saver", 2), _service("differ", 1)],
        [_runner(commits["c12"]), _service("saver", 2), _service("differ", 2)],
        [_runner(commits["c19"]), _service("saver", 2), _service("differ", 3)],
        [_runner(commits["c19"]), _service("saver", 3, compliant=False), _service("differ", 3)],
    ]
    prod = [
        [_runner(commits["c1"], promoted=True), _service("saver", 1), _service("differ", 1)],
        [_runner(commits["c4"], promoted=True), _service("saver", 1), _service("differ", 1)],
        [_runner(commits["c6"], promoted=True), _service("saver", 2), _service("differ", 1)],
        [_runner(commits["c10"], promoted=True), _service("saver", 2), _service("differ", 1)],
        [_runner(commits["c6"], promoted=True), _service("saver", 2), _service("differ", 1)],
        [_runner(commits["c6"], promoted=True), _service("saver", 2), _service("differ", 1), _miner()],
    ]
    beta_times = [1, 4, 6, 10, 12, 19, 21]  # deployed an hour after the build's commit
    prod_times = [2, 6, 9, 14, 16, 22]
    return [
        Snapshot(SnapshotRef(EnvName(env), i + 1), START + (hour + 0.5) * HOUR, tuple(arts), compliant=None)
        for env, states, times in (("aws-beta", beta, beta_times), ("aws-prod", prod, prod_times))
        for i, (arts, hour) in enumerate(zip(states, times, strict=True))
    ]


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]
