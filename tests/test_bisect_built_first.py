"""Bisect over what was deployed: built commits first (no build needed), then the unbuilt span, all through git."""

from __future__ import annotations

import math
import re
import stat
from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git

URL = "https://github.com/acme/web"
BUILT_AT = (0, 3, 6, 9, 12, 15, 18, 20)  # commits that produced an artifact seen running
CULPRIT = 10  # an unbuilt commit


@pytest.fixture
def deployed(repo: GitRepo) -> list[str]:
    """21 commits; the bug arrives in commit 10, which was never built; staging ran every build."""
    commits: list[str] = []
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


def test_run_deployed_finds_the_bad_build_then_the_culprit(
    deployed: list[str], repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
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


def test_marks_by_hand_propose_builds_then_git_takes_over(deployed: list[str], repo: GitRepo, run_cli: RunCli) -> None:
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
    assert set(proposed[len(built_phase) :]) <= {10, 11}


def test_view_shows_the_remaining_candidates_and_the_phase(deployed: list[str], repo: GitRepo, run_cli: RunCli) -> None:
    run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)

    view = run_cli("bisect", "view", cwd=repo.path)
    status = run_cli("bisect", "status", cwd=repo.path)

    assert view.exit_code == 0, view.stderr
    assert view.stdout == status.stdout
    assert view.stdout.startswith("aws-beta#1 -> aws-beta#2: 20 commits left, phase: built commits first")
    under_test = git(repo.path, "rev-parse", "HEAD").strip()
    assert re.search(rf"^\*\s+{under_test[:7]}\s+yes", view.stdout, re.MULTILINE)
    assert "staging#" in view.stdout


def test_reset_ends_gits_bisect_and_ours(deployed: list[str], repo: GitRepo, run_cli: RunCli) -> None:
    run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)

    result = run_cli("bisect", "reset", cwd=repo.path)
    after = run_cli("bisect", "view", cwd=repo.path)

    assert result.exit_code == 0
    assert not (repo.path / ".git" / "BISECT_START").exists()
    assert not (repo.path / ".git" / "kosli" / "bisect.json").exists()
    assert git(repo.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert after.exit_code == 128
    assert "no git kosli bisect in progress" in after.stderr


def test_run_stops_on_128_and_leaves_the_bisect(
    deployed: list[str], repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)
    script = tmp_path / "abort.sh"
    script.write_text("#!/bin/sh\nexit 130\n")
    script.chmod(0o755)

    result = run_cli("bisect", "run", str(script), cwd=repo.path)

    assert result.exit_code == 128
    assert "exited with 130" in result.stderr
    assert (repo.path / ".git" / "BISECT_START").exists()


def test_verify_refuses_when_the_old_end_is_already_bad(
    deployed: list[str], repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)
    always_bad = tmp_path / "bad.sh"
    always_bad.write_text("#!/bin/sh\nexit 1\n")
    always_bad.chmod(0o755)
    before = git(repo.path, "for-each-ref", "refs/bisect/")

    result = run_cli("bisect", "run", "--verify", "--deployed", str(always_bad), cwd=repo.path)

    assert result.exit_code == 128
    assert result.stderr == (
        f"fatal: --verify: the old end {deployed[0][:12]} (aws-beta#1) is bad, not good, "
        f"by '{always_bad}'; nothing was marked\n"
    )
    assert git(repo.path, "for-each-ref", "refs/bisect/") == before


def test_verify_then_run(deployed: list[str], repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)

    result = run_cli("bisect", "run", "--verify", "--deployed", str(probe(tmp_path, tmp_path / "log")), cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert f"culprit: {deployed[CULPRIT]} bug" in result.stdout


def run_probe(repo: GitRepo, run_cli: RunCli, tmp_path: Path, *start: str) -> str:
    """Start built-first and run the probe to the end; what both printed."""
    started = run_cli("bisect", *start, "--built-first", cwd=repo.path)
    assert started.exit_code == 0, started.stderr
    result = run_cli("bisect", "run", "--deployed", str(probe(tmp_path, tmp_path / "log")), cwd=repo.path)
    assert result.exit_code == 0, result.stderr
    return started.stdout + result.stdout


def test_only_the_ends_were_built(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    commits = [repo.commit("bug" if i == 3 else f"c{i}") for i in range(6)]
    seed(repo.path, *history("aws-beta", [[artifact(commits[0], url=URL)], [artifact(commits[5], url=URL)]]))

    out = run_probe(repo, run_cli, tmp_path, "aws-beta#1", "aws-beta#2")

    assert (
        f"Narrowed to two consecutive builds: last good build {commits[0][:7]}, first bad build "
        f"{commits[5][:7]}, 4 unbuilt commits between"
    ) in out
    assert "steps: 0 on builds, " in out
    assert f"culprit: {commits[3]} bug" in out


def test_a_range_of_one_commit(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    good, bad = repo.commit("c0"), repo.commit("bug")
    seed(repo.path, *history("aws-beta", [[artifact(good, url=URL)], [artifact(bad, url=URL)]]))

    started = run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)
    ran = run_cli("bisect", "run", "--deployed", str(probe(tmp_path, tmp_path / "log")), cwd=repo.path)

    assert started.exit_code == 0, started.stderr
    assert f"first bad build {bad[:7]}, 0 unbuilt commits between" in started.stdout
    assert started.stdout.endswith(f"{bad} is the first bad commit\n")
    assert ran.exit_code == 0, ran.stderr
    assert "steps: 0 on builds, 0 on unbuilt commits" in ran.stdout
    assert f"culprit: {bad} bug" in ran.stdout
    assert not (tmp_path / "log").exists(), "nothing needed testing"


def test_merges_whose_side_branch_was_never_built(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    base = repo.commit("c0")
    repo.branch("side")
    repo.commit("s1")
    side_bug = repo.commit("bug")
    repo.checkout("main")
    built_mid = repo.commit("c1")
    merge = repo.merge("side")
    top = repo.commit("c2")
    seed(
        repo.path,
        *history("aws-beta", [[artifact(base, url=URL)], [artifact(top, url=URL)]]),
        *history("staging", [[artifact(built_mid, url=URL)], [artifact(merge, url=URL)]]),
    )

    out = run_probe(repo, run_cli, tmp_path, "aws-beta#1", "aws-beta#2")

    assert f"culprit: {side_bug} bug" in out
    assert f"first bad build {merge[:7]}" in out


def test_first_parent_keeps_to_the_mainline(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    base = repo.commit("c0")
    repo.branch("side")
    repo.commit("bug")
    repo.checkout("main")
    repo.commit("c1")
    merge = repo.merge("side")
    top = repo.commit("c2")
    seed(repo.path, *history("aws-beta", [[artifact(base, url=URL)], [artifact(top, url=URL)]]))

    out = run_probe(repo, run_cli, tmp_path, "aws-beta#1", "aws-beta#2", "--first-parent")

    assert f"culprit: {merge} Merge side" in out


def test_a_linked_worktree_keeps_its_own_session(
    deployed: list[str], repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    linked = tmp_path / "linked"
    git(repo.path, "worktree", "add", "--quiet", "--detach", str(linked), "HEAD")
    run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=linked)

    main_view = run_cli("bisect", "view", cwd=repo.path)
    out = run_cli("bisect", "run", "--deployed", str(probe(tmp_path, tmp_path / "log")), cwd=linked).stdout

    assert main_view.exit_code == 128
    assert f"culprit: {deployed[CULPRIT]} bug" in out
    assert not (repo.path / ".git" / "BISECT_START").exists()


def test_resumed_from_another_shell_and_mixed_with_plain_git_marks(
    deployed: list[str], repo: GitRepo, tmp_path: Path
) -> None:
    from tests.conftest import git_kosli

    assert git_kosli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path).returncode == 0
    first = git(repo.path, "rev-parse", "HEAD").strip()
    git(repo.path, "bisect", "good" if deployed.index(first) < CULPRIT else "bad")  # by hand: git knows no builds
    moved = git_kosli("bisect", "next", cwd=repo.path)
    proposed = git(repo.path, "rev-parse", "HEAD").strip()
    finished = git_kosli("bisect", "run", "--deployed", str(probe(tmp_path, tmp_path / "log")), cwd=repo.path)

    assert moved.returncode == 0, moved.stderr
    assert deployed.index(proposed) in BUILT_AT, "next proposes a build again"
    assert finished.returncode == 0, finished.stderr
    assert f"culprit: {deployed[CULPRIT]} bug" in finished.stdout
    assert re.search(r"^git bisect (good|bad) " + first, git(repo.path, "bisect", "log"), re.MULTILINE)


def test_a_bare_repository_moves_bisect_head(
    deployed: list[str], repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(repo.path), str(bare))
    builds = [artifact(deployed[i], url=URL) for i in BUILT_AT]
    seed(bare, *history("aws-beta", [[builds[0]], [builds[-1]]]), *history("staging", [[b] for b in builds]))
    script = tmp_path / "probe-bare.sh"
    script.write_text(
        "#!/bin/sh\n"  # the artifact's commit while testing builds, then what git bisect points at
        'git cat-file -e "${KOSLI_GIT_COMMIT:-BISECT_HEAD}:bug.txt" 2>/dev/null && exit 1\nexit 0\n'
    )
    script.chmod(0o755)

    started = run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=bare)
    under_test = git(bare, "rev-parse", "BISECT_HEAD").strip()
    result = run_cli("bisect", "run", "--deployed", str(script), cwd=bare)

    assert started.exit_code == 0, started.stderr
    assert deployed.index(under_test) in BUILT_AT
    assert result.exit_code == 0, result.stderr
    assert f"culprit: {deployed[CULPRIT]} bug" in result.stdout


@pytest.mark.parametrize("content", ['{"version": 99, "phase": "built"}', "{not json", '{"version": 1, "phase": "x"}'])
def test_state_of_another_version_or_damaged_is_refused_by_name(
    deployed: list[str], repo: GitRepo, run_cli: RunCli, content: str
) -> None:
    run_cli("bisect", "aws-beta#1", "aws-beta#2", "--built-first", cwd=repo.path)
    state = repo.path / ".git" / "kosli" / "bisect.json"
    state.write_text(content)
    head = git(repo.path, "rev-parse", "HEAD")

    result = run_cli("bisect", "next", cwd=repo.path)

    assert result.exit_code == 128
    assert result.stderr.startswith(f"fatal: {state} ")
    assert "git kosli bisect reset" in result.stderr
    assert git(repo.path, "rev-parse", "HEAD") == head
