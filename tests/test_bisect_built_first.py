"""Bisect over what was deployed: built commits first (no build needed), then the unbuilt span, all through git."""

from __future__ import annotations

import math
import re
import stat
from pathlib import Path

import pytest

from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git

URL = "https://github.com/acme/web"
BUILT_AT = (0, 3, 6, 9, 12, 15, 18, 20)  # commits that produced an artifact seen running
CULPRIT = 10  # an unbuilt commit


@pytest.fixture
def deployed(repo: GitRepo) -> list[str]:
    """21 commits; the bug arrives in commit 10, which was never built; staging ran every build."""
    commits = []
    for i in range(21):
        commits.append(repo.commit("bug" if i == CULPRIT else f"c{i}"))
    builds = [artifact(commits[i], url=URL) for i in BUILT_AT]
    seed(
        repo.path,
        *history("aws-beta", [[builds[0]], [builds[-1]]]),
        *history("staging", [[b] for b in builds]),
    )
    return commits


def probe(tmp_path: Path, log: Path) -> Path:
    """Good unless the bug is there: in the deployed artifact (its commit), else in the checked-out tree."""
    script = tmp_path / "probe.sh"
    script.write_text(f"""#!/bin/sh
if [ -n "$KOSLI_GIT_COMMIT" ]; then
    echo "artifact $KOSLI_ARTIFACT_NAME $KOSLI_FINGERPRINT $KOSLI_FLOW" >> {log}
    git cat-file -e "$KOSLI_GIT_COMMIT:bug.txt" 2>/dev/null && exit 1
    exit 0
fi
echo "tree $(git rev-parse HEAD)" >> {log}
test ! -e bug.txt
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_run_deployed_finds_the_bad_build_then_the_culprit(deployed: list[str], repo: GitRepo, run_cli,
                                                          tmp_path: Path) -> None:
    log = tmp_path / "probe.log"
    started = run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)
    assert started.exit_code == 0, started.stderr
    assert "Built commits first: 6 of 20 candidates produced an artifact." in started.stdout

    result = run_cli("bisect", "run", "--deployed", str(probe(tmp_path, log)), cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    steps = re.search(r"steps: (\d+) on builds, (\d+) on unbuilt commits", result.stdout)
    assert steps is not None, result.stdout
    built_steps, unbuilt_steps = int(steps.group(1)), int(steps.group(2))
    internal_builds = len(BUILT_AT) - 2
    assert built_steps <= math.ceil(math.log2(internal_builds))
    assert unbuilt_steps <= 2  # commits 10 and 11 lie between builds 9 and 12
    short = {i: c[:7] for i, c in enumerate(deployed)}
    assert f"last good build {short[9]}, first bad build {short[12]}, 2 unbuilt commits between" in result.stdout
    assert f"culprit: {deployed[CULPRIT]} bug" in result.stdout
    probed = log.read_text().splitlines()
    assert sum(line.startswith("artifact ") for line in probed) == built_steps
    assert all("registry.example/web:" in line and "web-ci" in line for line in probed if line.startswith("artifact"))
    assert sum(line.startswith("tree ") for line in probed) == unbuilt_steps
    bisect_log = git(repo.path, "bisect", "log")
    assert len(re.findall(r"^git bisect (good|bad)", bisect_log, re.MULTILINE)) == built_steps + unbuilt_steps
    assert f"# first bad commit: [{deployed[CULPRIT]}]" in bisect_log


def test_marks_by_hand_propose_builds_then_git_takes_over(deployed: list[str], repo: GitRepo, run_cli) -> None:
    started = run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)
    proposed = []
    out = started.stdout
    for _ in range(10):
        testing = re.search(r"^\[([0-9a-f]{40})\]", out, re.MULTILINE)
        if testing is None:
            break
        sha = testing.group(1)
        proposed.append(deployed.index(sha))
        has_bug = deployed.index(sha) >= CULPRIT
        out = run_cli("bisect", "bad" if has_bug else "good", cwd=repo.path).stdout

    assert f"{deployed[CULPRIT]} is the first bad commit" in out
    built_phase = [i for i in proposed if i in BUILT_AT]
    assert proposed[: len(built_phase)] == built_phase, "every build is proposed before any unbuilt commit"
    assert set(proposed[len(built_phase):]) <= {10, 11}


def test_view_shows_the_remaining_candidates_and_the_phase(deployed: list[str], repo: GitRepo, run_cli) -> None:
    run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)

    view = run_cli("bisect", "view", cwd=repo.path)
    status = run_cli("bisect", "status", cwd=repo.path)

    assert view.exit_code == 0, view.stderr
    assert view.stdout == status.stdout
    assert view.stdout.startswith("aws-beta#1 -> aws-beta#2: 20 commits left, phase: built commits first")
    under_test = git(repo.path, "rev-parse", "HEAD").strip()
    assert re.search(rf"^\*\s+{under_test[:7]}\s+yes", view.stdout, re.MULTILINE)
    assert "staging#" in view.stdout


def test_reset_ends_gits_bisect_and_ours(deployed: list[str], repo: GitRepo, run_cli) -> None:
    run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)

    result = run_cli("bisect", "reset", cwd=repo.path)
    after = run_cli("bisect", "view", cwd=repo.path)

    assert result.exit_code == 0
    assert not (repo.path / ".git" / "BISECT_START").exists()
    assert not (repo.path / ".git" / "kosli" / "bisect.json").exists()
    assert git(repo.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert after.exit_code == 128
    assert "no git kosli bisect in progress" in after.stderr


def test_run_stops_on_128_and_leaves_the_bisect(deployed: list[str], repo: GitRepo, run_cli, tmp_path: Path) -> None:
    run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)
    script = tmp_path / "abort.sh"
    script.write_text("#!/bin/sh\nexit 130\n")
    script.chmod(0o755)

    result = run_cli("bisect", "run", str(script), cwd=repo.path)

    assert result.exit_code == 128
    assert "exited with 130" in result.stderr
    assert (repo.path / ".git" / "BISECT_START").exists()
