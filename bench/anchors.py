"""The plain-git anchors of issue #22: what you would run with git alone for the same answer.

Each anchor is one command line (a shell script given its values as "$1", "$2", ... so the
script printed under the table is exactly the one timed). `where`'s anchor reads refs that the
benchmark keeps in a scratch namespace of its own repository, one per deployed build, and a map
file of which snapshot ran which build: the honest equivalent of deployed builds kept as refs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from git_kosli.model import Snapshot

NAMESPACE = "refs/bench-deployed/"
FLOW = "service-ci"

WHERE = (
    "git for-each-ref --contains \"$1\" --format='%(refname:lstrip=2)' " + NAMESPACE + " "
    "| awk 'NR==FNR {built[$1]; next} $1 in built {print $2}' - \"$2\""
)
COUNTS = 'r=$1; shift; for c; do git rev-list --count --left-right "$r...$c"; done'
LOG = 'while read old new; do git rev-list --count --left-right "$old...$new"; done < "$1"'
DIFF = "git rev-list --count --left-right A...B"
BISECT = "git bisect start --no-checkout NEW OLD"


@dataclass(frozen=True)
class Anchor:
    """A command to time (`argv`), how the table's notes show it (`shown`) and what its values are (`given`)."""

    argv: tuple[str, ...]
    shown: str
    given: str = ""


def shell(script: str, given: str, *values: str) -> Anchor:
    """`sh -c SCRIPT sh VALUES...`: the script reads its values as "$1", "$2", ..."""
    return Anchor(("sh", "-c", script, "sh", *values), script, given)


def built_commit(snapshot: Snapshot) -> str | None:
    """The commit of the snapshot's artifact built from this repository (the one flow the bench uses)."""
    for artifact in snapshot.artifacts:
        for entry in artifact.provenance:
            if entry.flow == FLOW and entry.git_commit:
                return entry.git_commit
    return None


def where(repo: Path, env: dict[str, str], snapshots: Sequence[Snapshot], sha: str, folder: Path) -> Anchor:
    """Refs `refs/bench-deployed/<commit>` for every deployed build, and the map `<commit> <env>#<n>`."""
    ran = [(commit, str(s.ref)) for s in snapshots if (commit := built_commit(s))]
    wanted = {commit for commit, _ in ran}
    kept = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)", NAMESPACE],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    stale = "".join(f"delete {ref}\n" for ref in kept if ref.removeprefix(NAMESPACE) not in wanted)
    new = "".join(f"update {NAMESPACE}{commit} {commit}\n" for commit in sorted(wanted))
    subprocess.run(["git", "update-ref", "--stdin"], cwd=repo, env=env, input=stale + new, text=True, check=True)
    subprocess.run(["git", "pack-refs", "--all"], cwd=repo, env=env, check=True)  # as `git gc` leaves them
    mapping = folder / "deployed.map"
    mapping.write_text("".join(f"{commit} {ref}\n" for commit, ref in ran))
    given = f"$1 the commit, $2 lines `<commit> <env>#<n>`, one ref {NAMESPACE}<commit> per deployed build"
    return shell(WHERE, given, sha, str(mapping))


def counts(revision: str, running: Sequence[str]) -> Anchor:
    """`status`/`pre-push`: ahead and behind of each environment's running commit, one git per environment."""
    return shell(COUNTS, "$1 the revision, then the commit each environment runs", revision, *running)


def log(snapshots: Sequence[Snapshot], folder: Path) -> tuple[Anchor, int]:
    """`log ENV`: one count per pair of consecutive snapshots that ran different commits; and how many pairs."""
    commits = [c for s in snapshots if (c := built_commit(s))]
    pairs = [(old, new) for old, new in pairwise(commits) if old != new]
    listed = folder / "log.pairs"
    listed.write_text("".join(f"{old} {new}\n" for old, new in pairs))
    return shell(LOG, "$1 lines `<old commit> <new commit>`, one per deploy", str(listed)), len(pairs)


def diff(left: str, right: str) -> Anchor:
    """`diff ENV1 ENV2`: the one artifact of this repository that differs, counted both ways."""
    return Anchor(
        ("git", "rev-list", "--count", "--left-right", f"{left}...{right}"), DIFF, "A and B the commits the two run"
    )


def bisect(good: str, bad: str) -> Anchor:
    """`bisect ENV#N ENV#M`: git's own bisect between the two builds (reset before each run, untimed)."""
    return Anchor(("git", "bisect", "start", "--no-checkout", bad, good), BISECT, "the commits the two snapshots ran")
