"""where, diff, log and notes on a repository with merges, a rollback, a hotfix, unbuilt commits,
another repository's artifact and a rogue one; every answer checked against plain git."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from git_kosli.model import Artifact, CommitSha
from tests.conftest import RunCli
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git


def is_ancestor(path: Path, ancestor: str, descendant: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, descendant], cwd=path).returncode == 0


def rev_count(path: Path, include: str, exclude: str) -> int:
    return int(git(path, "rev-list", "--count", include, f"^{exclude}").strip())


@pytest.fixture
def world(repo: GitRepo) -> dict[str, CommitSha]:
    """main: a b c M(side: s1 s2) d e; hotfix h on b. Built: a c d e h."""
    c = {"a": repo.commit("a"), "b": repo.commit("b")}
    repo.branch("side")
    c["s1"], c["s2"] = repo.commit("s1"), repo.commit("s2")
    repo.checkout("main")
    c["c"] = repo.commit("c")
    c["m"] = repo.merge("side")
    c["d"], c["e"] = repo.commit("d"), repo.commit("e")
    repo.branch("hotfix", c["b"])
    c["h"] = repo.commit("h")
    repo.checkout("main")

    def web(name: str) -> Artifact:
        return artifact(c[name])

    seed(
        repo.path,
        *history(
            "beta",
            [
                [web("a")],
                [web("c")],
                [web("d"), artifact(None, "miner", compliant=False)],
                [web("e"), artifact("9" * 40, "api")],
            ],
        ),
        *history("prod", [[web("a")], [web("d")], [web("c")], [web("h")]]),
    )
    return c


RUNS = {  # the commit this repository's web artifact runs in each snapshot
    "beta": ["a", "c", "d", "e"],
    "prod": ["a", "d", "c", "h"],
}


def expected_presence(path: Path, commits: dict[str, CommitSha], sha: str, env: str) -> dict[str, object]:
    """The same answer computed with one `git merge-base --is-ancestor` per snapshot."""
    inside = [is_ancestor(path, sha, commits[name]) for name in RUNS[env]]
    first = next((i + 1 for i, flag in enumerate(inside) if flag), None)
    left = None
    for i in range(1, len(inside)):
        if inside[i - 1] and not inside[i]:
            left = i + 1
    if inside[-1]:
        status = "running" if commits[RUNS[env][-1]] == sha else "contained"
        left = None
    else:
        status = "gone" if first else "never"
    return {"status": status, "first_seen": first, "left": left}


@pytest.mark.parametrize("name", ["a", "b", "s1", "s2", "c", "m", "d", "e", "h"])
def test_where_agrees_with_merge_base_for_every_commit(
    world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli, name: str
) -> None:
    result = run_cli("where", world[name], "--json", cwd=repo.path)

    doc = json.loads(result.stdout)
    for env in doc["environments"]:
        got = {
            "status": env["status"],
            "first_seen": env["first_seen"] and env["first_seen"]["index"],
            "left": env["left"] and env["left"]["index"],
        }
        assert got == expected_presence(repo.path, world, world[name], env["environment"]), env["environment"]
        assert (env["snapshot"]["environment"], env["snapshot"]["index"]) == (env["environment"], 4)
    deployed = any(e["status"] in ("running", "contained") for e in doc["environments"])
    assert result.exit_code == (0 if deployed else 1)


def test_where_names_the_first_build_of_an_unbuilt_commit(
    world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    doc = json.loads(run_cli("where", "side~1", "--json", cwd=repo.path).stdout)  # s1
    assert doc["git_commit"] == world["s1"]
    assert doc["first_build"]["git_commit"] == world["d"]  # the merge M was never built; d ran first
    assert doc["first_build"]["flow"] == "web-ci"
    assert json.loads(run_cli("where", world["d"], "--json", cwd=repo.path).stdout)["first_build"] is None
    prod = next(e for e in doc["environments"] if e["environment"] == "prod")
    assert prod["status"] == "gone" and prod["left"]["timestamp"].endswith("Z")


def test_where_text_and_env_filter(world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli("where", world["h"], "--env", "prod", cwd=repo.path)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"commit {world['h'][:7]} h"
    assert "beta" not in result.stdout
    assert "prod           running" in result.stdout


def test_where_exits_1_when_the_commit_runs_nowhere(
    world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    repo.commit("unreleased")
    result = run_cli("where", "HEAD", cwd=repo.path)
    assert result.exit_code == 1
    assert "never" in result.stdout


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (
            ["where", "no-such-branch"],
            "fatal: unknown revision 'no-such-branch': not a commit in this repository\n",
            128,
        ),
        (
            ["where", "HEAD", "--env", "staging"],
            "fatal: environment 'staging' does not exist (environments: beta, prod)\n",
            128,
        ),
        (["diff", "beta", "staging"], "fatal: environment 'staging' does not exist (environments: beta, prod)\n", 128),
        (["log", "staging"], "fatal: environment 'staging' does not exist (environments: beta, prod)\n", 128),
        (
            ["notes", "--env", "staging"],
            "fatal: environment 'staging' does not exist (environments: beta, prod)\n",
            128,
        ),
        (["notes", "nope..HEAD"], "fatal: unknown revision or range 'nope..HEAD'\n", 128),
        (
            ["log", "beta", "--interval", "x..y"],
            "error: invalid --interval 'x..y': expected A..B with numbers, ~N or NOW\n",
            129,
        ),
    ],
)
def test_bad_input_is_one_line(
    world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli, args: list[str], message: str, code: int
) -> None:
    result = run_cli(*args, cwd=repo.path)
    assert (result.exit_code, result.stderr) == (code, message)


def test_a_repository_with_no_matching_artifacts_says_what_runs(tmp_path: Path, run_cli: RunCli) -> None:
    other = GitRepo(tmp_path / "other")
    other.commit("x")
    seed(
        other.path,
        *history("beta", [[artifact("9" * 40, "api", url="https://github.com/acme/api/commit/" + "9" * 40)]]),
    )
    result = run_cli("where", "HEAD", cwd=other.path)
    assert result.exit_code == 128
    assert result.stderr == (
        "fatal: no artifact in beta was built from this repository "
        "(they run flow api-ci; repository github.com/acme/api)\n"
    )


def test_diff_relations_and_counts_match_rev_list(world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli("diff", "prod", "beta", "--json", cwd=repo.path)

    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert (doc["old"]["environment"], doc["old"]["index"], doc["new"]["environment"], doc["new"]["index"]) == (
        "prod",
        4,
        "beta",
        4,
    )
    by_flow = {a["flow"]: a for a in doc["artifacts"]}
    web = by_flow["web-ci"]
    h, e = world["h"], world["e"]
    assert (web["relation"], web["ahead"], web["behind"]) == (
        "diverged",
        rev_count(repo.path, e, h),
        rev_count(repo.path, h, e),
    )
    assert web["old"] == {
        "name": artifact(h).name,
        "fingerprint": artifact(h).fingerprint,
        "flow": "web-ci",
        "git_commit": h,
    }
    assert web["rollback"] is False  # behind across two environments is not a rollback
    assert by_flow["api-ci"]["relation"] == "added"


def test_diff_within_one_environment_names_a_rollback(
    world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    text = run_cli("diff", "prod#2", "prod#3", "--log", cwd=repo.path)
    doc = json.loads(run_cli("diff", "prod#2", "prod#3", "--json", cwd=repo.path).stdout)

    (web,) = doc["artifacts"]
    behind = rev_count(repo.path, world["d"], world["c"])
    assert (web["relation"], web["ahead"], web["behind"], web["rollback"]) == ("behind", 0, behind, True)
    assert f"behind -{behind} (rollback)" in text.stdout
    for sha in git(repo.path, "rev-list", world["d"], f"^{world['c']}").split():
        assert f"  - {sha[:7]} " in text.stdout


def test_diff_flags_rogue_and_exits_0_when_nothing_differs(
    world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    doc = json.loads(run_cli("diff", "beta#2", "beta#3", "--json", cwd=repo.path).stdout)
    miner = next(a for a in doc["artifacts"] if a["flow"] is None)
    assert (miner["relation"], miner["rogue"], miner["compliant"]) == ("added", True, False)
    assert "rogue non-compliant" in run_cli("diff", "beta#2", "beta#3", cwd=repo.path).stdout
    same = run_cli("diff", "beta#2", "beta#2", cwd=repo.path)
    assert same.exit_code == 0
    assert "same" in same.stdout


def test_log_shows_ranges_rollbacks_and_rogues_newest_first(
    world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    prod = run_cli("log", "prod", cwd=repo.path).stdout
    assert [line.split()[0] for line in prod.splitlines() if not line.startswith(" ")] == [
        "prod#4",
        "prod#3",
        "prod#2",
        "prod#1",
    ]
    rollback = rev_count(repo.path, world["d"], world["c"])
    assert f"rollback -{rollback} commits ({world['d'][:7]}..{world['c'][:7]})" in prod
    ahead = rev_count(repo.path, world["d"], world["a"])
    assert f"+{ahead} commits ({world['a'][:7]}..{world['d'][:7]})" in prod
    beta = json.loads(run_cli("log", "beta", "--interval", "3", "--json", cwd=repo.path).stdout)
    assert beta["environment"] == "beta"
    assert [(e["snapshot"]["environment"], e["snapshot"]["index"]) for e in beta["snapshots"]] == [("beta", 3)]
    miner = next(c for c in beta["snapshots"][0]["changes"] if c["flow"] is None)
    assert (miner["change"], miner["rogue"]) == ("started", True)
    recent = json.loads(run_cli("log", "beta", "--interval", "~1..NOW", "--json", cwd=repo.path).stdout)
    assert [e["snapshot"]["index"] for e in recent["snapshots"]] == [4, 3]


def note(path: Path, sha: str) -> str:
    return git(path, "notes", "--ref=kosli", "show", sha, check=False)


def test_notes_annotate_every_commit_ran_once_and_idempotently(
    world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    result = run_cli("notes", cwd=repo.path)

    everything = set(git(repo.path, "rev-list", world["e"], world["h"]).split())
    assert result.stdout == f"wrote notes for {len(everything)} commits in refs/notes/kosli\n"
    assert note(repo.path, world["c"]) == (
        f"beta#2 registry.example/web:{world['c'][:7]}\nprod#3 registry.example/web:{world['c'][:7]}\n"
    )
    assert note(repo.path, world["a"]) == (
        f"beta#1 registry.example/web:{world['a'][:7]}\nprod#1 registry.example/web:{world['a'][:7]}\n"
    )
    assert note(repo.path, world["s2"]).startswith(f"no artifact; first build {world['d']} ")
    assert note(repo.path, world["b"]).startswith(f"no artifact; first build {world['c']} ")
    assert git(repo.path, "rev-list", "--count", "refs/notes/kosli").strip() == "1"

    again = run_cli("notes", cwd=repo.path)
    assert again.stdout == f"up to date: notes for {len(everything)} commits in refs/notes/kosli\n"
    assert git(repo.path, "rev-list", "--count", "refs/notes/kosli").strip() == "1"


def test_notes_for_a_range_and_one_environment(world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli("notes", "--env", "prod", f"{world['c']}..{world['d']}", cwd=repo.path)
    assert result.stdout == "wrote notes for 4 commits in refs/notes/kosli\n"  # s1 s2 m d
    assert note(repo.path, world["d"]) == f"prod#2 registry.example/web:{world['d'][:7]}\n"
    assert note(repo.path, world["c"]) == ""
