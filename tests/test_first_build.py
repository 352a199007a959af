"""Issue 16, case 2: a commit's first build is the earliest-created build containing it, deployed or not.

A flow's artifact list holds every build. Here one never deployed, on a branch never merged,
contains commits of the bisected range before any deployed build does; another never deployed
sits inside the range. where, bisect's table, notes and --built-first must all say the same, from
the embedded store (builds imported as `kosli list artifacts --output json` prints them) and from
the loopback Kosli server (the flow's listing, incremental). git is the oracle for ancestry.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
from pathlib import Path

import pytest

from git_kosli.model import CommitSha, FlowArtifact
from tests.conftest import RunCli
from tests.factory import T0, artifact, fingerprint, history, seed
from tests.gitrepo import GitRepo, git
from tests.kosli_server import KosliServer

URL = "https://github.com/acme/web"


def build(sha: str, created: float) -> FlowArtifact:
    """The build of `sha` as the flow lists it (the same name and fingerprint as `artifact(sha)` when it runs)."""
    return FlowArtifact(
        "web-ci",
        f"registry.example/web:{sha[:7]}",
        fingerprint(f"web {sha}"),
        CommitSha(sha),
        f"{URL}/commit/{sha}",
        created,
    )


@pytest.fixture
def world(repo: GitRepo) -> dict[str, CommitSha]:
    """main: a b c d e M(topic: t1, t2 dated before t1) f g; exp: x1 x2 from e, never merged."""
    git(repo.path, "remote", "add", "origin", f"{URL}.git")
    c = {name: repo.commit(name) for name in "abcde"}
    repo.branch("exp")
    c["x1"], c["x2"] = repo.commit("x1"), repo.commit("x2")
    repo.checkout("main")
    repo.branch("topic")
    c["t1"] = repo.commit("t1")
    repo.tick -= 200
    c["t2"] = repo.commit("t2")
    repo.checkout("main")
    c["m"] = repo.merge("topic")
    c["f"], c["g"] = repo.commit("f"), repo.commit("g")
    return c


# beta#1 (T0+1h) runs c, beta#2 (T0+2h) runs g. x2 and f were built in between and never deployed.
CREATED = {"c": T0 + 3000, "x2": T0 + 4000, "f": T0 + 5000, "g": T0 + 6000}


@pytest.fixture(params=["store", "kosli"])
def source(
    request: pytest.FixtureRequest, world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> str:
    snapshots = history(
        "beta",
        [
            [artifact(world["c"], url=f"{URL}/commit/{world['c']}")],
            [artifact(world["g"], url=f"{URL}/commit/{world['g']}")],
        ],
    )
    builds = [build(world[name], when) for name, when in CREATED.items()]
    if request.param == "kosli":
        server: KosliServer = request.getfixturevalue("server")
        server.add(*snapshots)
        server.add_builds(*builds)
        return "kosli"
    seed(repo.path, *snapshots)
    listing = tmp_path / "artifacts.json"  # what `kosli list artifacts --flow web-ci --output json` prints
    listing.write_text(
        json.dumps(
            [
                {
                    "fingerprint": b.fingerprint,
                    "filename": b.name,
                    "git_commit": b.git_commit,
                    "commit_url": b.commit_url,
                    "created_at": b.created_at,
                    "state": "COMPLIANT",
                    "html_url": f"https://app.kosli.com/acme/flows/web-ci/artifacts/{b.fingerprint}?artifact_id=1",
                }
                for b in sorted(builds, key=lambda b: -(b.created_at or 0))
            ]
        )
    )
    imported = run_cli("snapshot", "import", str(listing), cwd=repo.path)
    assert imported.stdout == "imported 4 of 4 builds of flow web-ci\n", imported.stderr
    return "store"


def is_ancestor(repo: GitRepo, ancestor: str, descendant: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, descendant], cwd=repo.path).returncode == 0


def first_build(repo: GitRepo, world: dict[str, CommitSha], sha: str) -> str | None:
    """The rule, with git as the oracle: the earliest-created build whose commit contains `sha`."""
    containing = [(when, world[name]) for name, when in CREATED.items() if is_ancestor(repo, sha, world[name])]
    return min(containing)[1] if containing else None


NEVER_DEPLOYED = {"x2", "f"}


def test_where_names_the_earliest_build_containing_the_commit(
    source: str, world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    for name, sha in world.items():
        doc = json.loads(run_cli("where", sha, "--json", cwd=repo.path).stdout)
        expected = None if name in CREATED else first_build(repo, world, sha)
        got = doc["first_build"] and doc["first_build"]["git_commit"]
        assert got == expected, name
        if expected is not None:
            assert doc["first_build"]["deployed"] is (expected not in {world[n] for n in NEVER_DEPLOYED}), name
    assert first_build(repo, world, world["d"]) == world["x2"]  # the case: a branch never merged, never deployed
    text = run_cli("where", world["d"], cwd=repo.path).stdout
    assert f"never built itself; first build {world['x2'][:7]} (web:{world['x2'][:7]}), never deployed" in text


def test_bisect_table_and_notes_say_the_same_as_where(
    source: str, world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    result = run_cli("bisect", "beta#1", "beta#2", "--json", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    candidates = git(repo.path, "rev-list", world["g"], f"^{world['c']}").split()
    assert {c["git_commit"] for c in doc["commits"]} == set(candidates)
    for entry in doc["commits"]:
        sha = entry["git_commit"]
        where = json.loads(run_cli("where", sha, "--json", cwd=repo.path).stdout)["first_build"]
        if sha in (world["f"], world["g"]):
            assert entry["first_build"] is None and entry["build"]["git_commit"] == sha
            assert entry["build"]["deployed"] is (sha == world["g"])
            continue
        assert entry["first_build"]["git_commit"] == where["git_commit"] == first_build(repo, world, sha)
    notes = {sha: git(repo.path, "notes", "--ref=kosli", "show", sha).strip() for sha in candidates}
    assert (
        notes[world["d"]]
        == f"no artifact; first build {world['x2']} (registry.example/web:{world['x2'][:7]}); never deployed"
    )
    assert notes[world["f"]] == f"built registry.example/web:{world['f'][:7]}; never deployed"
    assert (
        notes[world["m"]]
        == f"no artifact; first build {world['f']} (registry.example/web:{world['f'][:7]}); never deployed"
    )
    git(repo.path, "bisect", "reset")
    table = run_cli("bisect", "beta#1", "beta#2", cwd=repo.path).stdout
    assert re.search(rf"^{world['f'][:7]}\s+f\s+built web:{world['f'][:7]}; never deployed$", table, re.MULTILINE)

    written = run_cli("notes", cwd=repo.path)
    assert written.exit_code == 0, written.stderr
    assert git(repo.path, "notes", "--ref=kosli", "show", world["x1"]).strip() == (
        f"no artifact; first build {world['x2']} (registry.example/web:{world['x2'][:7]}); never deployed"
    )
    assert {sha: git(repo.path, "notes", "--ref=kosli", "show", sha).strip() for sha in candidates} == notes


def test_built_first_proposes_a_build_never_deployed_and_run_deployed_hands_it_on(
    source: str, world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    started = run_cli("bisect", "beta#1", "beta#2", "--built-first", cwd=repo.path)
    assert started.exit_code == 0, started.stderr
    candidates = int(git(repo.path, "rev-list", "--count", world["g"], f"^{world['c']}").strip())
    assert f"Built commits first: 1 of {candidates} candidates produced an artifact." in started.stdout
    assert f"Testing build {world['f'][:7]} (web:{world['f'][:7]})" in started.stdout

    log = tmp_path / "probe.log"
    probe = tmp_path / "probe.sh"  # t2 broke it: bad where t2.txt is, in the artifact's commit or the checkout
    probe.write_text(f"""#!/bin/sh
echo "${{KOSLI_GIT_COMMIT:-tree}} $KOSLI_FINGERPRINT" >> {log}
if [ -n "$KOSLI_GIT_COMMIT" ]; then ! git cat-file -e "$KOSLI_GIT_COMMIT:t2.txt" 2>/dev/null; exit; fi
test ! -e t2.txt
""")
    probe.chmod(probe.stat().st_mode | stat.S_IEXEC)
    result = run_cli("bisect", "run", "--deployed", str(probe), cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    probed = log.read_text().splitlines()
    assert probed[0] == f"{world['f']} {fingerprint('web ' + world['f'])}"  # the build never deployed, as an artifact
    assert all(line.startswith("tree ") for line in probed[1:])
    assert "steps: 1 on builds" in result.stdout
    assert f"culprit: {world['t2']} t2" in result.stdout


def test_the_flow_listing_is_fetched_whole_once_then_only_its_newer_pages(
    world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli, server: KosliServer
) -> None:
    server.add(*history("beta", [[artifact(world["c"], url=f"{URL}/commit/{world['c']}")]]))
    git(repo.path, "config", "kosli.fetch.maxAge", "0")  # every read asks Kosli: how it asks is the subject
    others = [build(f"{i:040x}", T0 - 100_000 + i) for i in range(1, 151)]  # 150 older builds: two pages of 100
    server.add_builds(*others, build(world["x2"], T0 + 4000))

    first = run_cli("where", world["d"], "--json", cwd=repo.path)
    listing = [r for r in server.requests if r.path == "/api/v2/artifacts/acme" and r.query["flow_name"] == ["web-ci"]]
    assert [r.query["page"] for r in listing][-2:] == [["1"], ["2"]]  # (page 1 before: the running commits' flows)
    assert json.loads(first.stdout)["first_build"]["git_commit"] == world["x2"]

    server.requests.clear()
    server.add_builds(build(world["e"], T0 + 3500))  # built since: on page 1
    second = run_cli("where", world["d"], "--json", cwd=repo.path)
    listing = [r for r in server.requests if r.path == "/api/v2/artifacts/acme"]
    assert [r.query["page"] for r in listing] == [["1"]]
    assert json.loads(second.stdout)["first_build"]["git_commit"] == world["e"]  # created before x2

    offline = run_cli("--offline", "where", world["d"], "--json", cwd=repo.path)
    assert json.loads(offline.stdout)["first_build"]["git_commit"] == world["e"]


def test_build_record_keeps_a_build_from_ci(world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli) -> None:
    seed(repo.path, *history("beta", [[artifact(world["g"], url=f"{URL}/commit/{world['g']}")]]))
    spec = f"registry.example/web:{world['x2'][:7]}={fingerprint('web ' + world['x2'])}@exp"

    recorded = run_cli("build", "record", spec, "--flow", "web-ci", cwd=repo.path)
    again = run_cli("build", "record", spec, "--flow", "web-ci", cwd=repo.path)

    assert (
        recorded.stdout
        == f"recorded registry.example/web:{world['x2'][:7]} built from {world['x2'][:7]} (flow web-ci)\n"
    )
    assert again.stdout.startswith("unchanged: ")
    doc = json.loads(run_cli("where", world["x1"], "--json", cwd=repo.path).stdout)
    assert doc["first_build"] == {
        "git_commit": world["x2"],
        "name": f"registry.example/web:{world['x2'][:7]}",
        "fingerprint": fingerprint("web " + world["x2"]),
        "flow": "web-ci",
        "deployed": False,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["build", "record", "web=abc@HEAD"],
            "error: invalid build 'web=abc@HEAD': the fingerprint must be 64 hex digits (a SHA-256)\n",
        ),
        (
            ["build", "record", f"web={'a' * 64}"],
            f"error: invalid build 'web={'a' * 64}': a build needs its commit: NAME=FINGERPRINT@COMMIT\n",
        ),
        (
            ["build", "record", f"web={'a' * 64}@nope"],
            f"fatal: build 'web={'a' * 64}@nope': 'nope' is not a commit in this repository\n",
        ),
    ],
)
def test_build_record_refuses_bad_input_and_changes_nothing(
    args: list[str], message: str, world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    result = run_cli(*args, cwd=repo.path)
    assert result.stderr == message
    assert not (repo.path / ".git" / "kosli" / "local.sqlite").exists()


def test_import_of_a_listing_without_its_flow_asks_for_it(
    world: dict[str, CommitSha], repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    listing = tmp_path / "a.json"
    listing.write_text(
        json.dumps(
            [{"fingerprint": "a" * 64, "filename": "web:1", "git_commit": world["a"], "created_at": "1790000000.5"}]
        )
    )
    refused = run_cli("snapshot", "import", str(listing), cwd=repo.path)
    into_env = run_cli("snapshot", "import", "beta", str(listing), cwd=repo.path)
    named = run_cli("snapshot", "import", "--flow", "web-ci", str(listing), cwd=repo.path)

    assert refused.stderr == f"fatal: {listing}: artifact {'a' * 12} does not say its flow; name it with --flow FLOW\n"
    assert into_env.stderr == f"error: {listing} lists a flow's artifacts, not snapshots: import it without ENV\n"
    assert named.stdout == "imported 1 of 1 build of flow web-ci\n"
