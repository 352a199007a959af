"""`git kosli snapshot import|record|list|show` with Kosli's real JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_kosli.model import EnvName
from git_kosli.pairing import RepoMatcher
from git_kosli.sources.store import Store, store_path
from tests.conftest import RunCli
from tests.factory import fingerprint
from tests.gitrepo import GitRepo, git

FIXTURES = Path(__file__).parent / "fixtures"


def recorded(name: str) -> Path:
    """A real Kosli response, as Kosli's documentation publishes it."""
    return FIXTURES / name


def stored(repo: GitRepo, env: str) -> list:  # type: ignore[type-arg]
    with Store(store_path(repo.path / ".git"), create=False) as store:
        return store.history(EnvName(env))


def test_import_keeps_running_artifacts_and_every_flow(repo: GitRepo, run_cli: RunCli) -> None:
    repo.commit("init")
    result = run_cli("snapshot", "import", "aws-prod", str(recorded("snapshot-aws-prod-4357.json")), cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "imported aws-prod#4357 (10 running)\n"
    (snap,) = stored(repo, "aws-prod")
    names = {a.fingerprint[:8] for a in snap.artifacts}
    assert "8ba20a0f" not in names  # exited in this snapshot (annotation.now == 0)
    runner = next(a for a in snap.artifacts if a.image.endswith("/runner"))
    assert [p.flow for p in runner.provenance] == [
        "runner-ci",
        "production-promotion",
        "snyk-vulns-aws-prod",
        "snyk-vulns-aws-beta",
    ]
    assert len({p.git_commit for p in runner.provenance}) == 3  # each flow names its own commit
    assert runner.instances == 3


def test_the_commit_is_taken_from_the_flow_of_this_repository(repo: GitRepo, run_cli: RunCli) -> None:
    repo.commit("init")
    git(repo.path, "remote", "add", "origin", "git@github.com:cyber-dojo/runner.git")
    run_cli("snapshot", "import", "aws-prod", str(recorded("get_snapshot.json")), cwd=repo.path)
    (snap,) = stored(repo, "aws-prod")
    matcher = RepoMatcher(remotes=frozenset({"github.com/cyber-dojo/runner"}), has_commit=lambda sha: False)
    commits = {a.image.rsplit("/", 1)[-1]: (matcher.flow_of(a), matcher.commit_of(a)) for a in snap.artifacts}
    runner = next(a for a in snap.artifacts if a.image.endswith("/runner"))
    assert commits["runner"] == ("runner-ci", runner.provenance[0].git_commit)
    assert (commits["runner"][1] or "").startswith("85cac88")
    assert all(found == (None, None) for image, found in commits.items() if image != "runner")


def test_importing_twice_changes_nothing_and_a_list_imports_all(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    repo.commit("init")
    both = tmp_path / "both.json"
    both.write_text(
        json.dumps(
            [
                json.loads(recorded("snapshot-aws-prod-4357.json").read_text()),
                json.loads(recorded("get_snapshot.json").read_text()),
            ]
        )
    )
    run_cli("snapshot", "import", "aws-prod", str(recorded("get_snapshot.json")), cwd=repo.path)
    result = run_cli("snapshot", "import", "aws-prod", str(both), cwd=repo.path)
    assert result.exit_code == 0
    assert result.stdout == "imported aws-prod#4357 (10 running)\nunchanged aws-prod#5253 (11 running)\n"


def test_a_different_snapshot_under_an_existing_number_is_refused(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    repo.commit("init")
    run_cli("snapshot", "import", "aws-prod", str(recorded("get_snapshot.json")), cwd=repo.path)
    altered = json.loads(recorded("get_snapshot.json").read_text())
    altered["artifacts"] = altered["artifacts"][:3]
    (tmp_path / "altered.json").write_text(json.dumps(altered))
    before = stored(repo, "aws-prod")

    result = run_cli("snapshot", "import", "aws-prod", str(tmp_path / "altered.json"), cwd=repo.path)

    assert result.exit_code == 128
    assert result.stderr == (
        "fatal: aws-prod#5253 is already stored with different artifacts; "
        "a numbered snapshot never changes (refusing to overwrite it)\n"
    )
    assert stored(repo, "aws-prod") == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"index": 3, "timestamp": 1', "not valid JSON (Expecting ',' delimiter at line 1 column 28)"),
        ('{"timestamp": 1.0, "artifacts": []}', "snapshot has no valid 'index'"),
        ("[1, 2]", "expected a snapshot object, got int"),
    ],
)
def test_bad_json_is_one_line_and_writes_nothing(
    repo: GitRepo, run_cli: RunCli, tmp_path: Path, content: str, message: str
) -> None:
    repo.commit("init")
    (tmp_path / "bad.json").write_text(content)
    result = run_cli("snapshot", "import", "aws-beta", str(tmp_path / "bad.json"), cwd=repo.path)
    assert result.exit_code == 128
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (repo.path / ".git" / "kosli").exists()


def test_import_reads_standard_input(repo: GitRepo, run_cli: RunCli) -> None:
    repo.commit("init")
    result = run_cli(
        "snapshot", "import", "aws-prod", "-", cwd=repo.path, stdin=recorded("get_snapshot.json").read_text()
    )
    assert result.stdout == "imported aws-prod#5253 (11 running)\n"


def test_record_list_and_show(repo: GitRepo, run_cli: RunCli) -> None:
    first = repo.commit("one")
    fp = fingerprint("web one")
    result = run_cli(
        "snapshot",
        "record",
        "aws-beta",
        "--artifact",
        f"web:1={fp}@HEAD",
        "--artifact",
        f"miner={fingerprint('miner')}",
        cwd=repo.path,
    )
    assert result.stdout == "recorded aws-beta#1 (2 running)\n"
    again = run_cli(
        "snapshot",
        "record",
        "aws-beta",
        "--artifact",
        f"web:1={fp}@{first}",
        "--artifact",
        f"miner={fingerprint('miner')}",
        cwd=repo.path,
    )
    assert again.stdout == "unchanged: aws-beta#1 already runs these artifacts\n"

    listed = run_cli("snapshot", "list", "aws-beta", "--json", cwd=repo.path)
    assert [s["index"] for s in json.loads(listed.stdout)["snapshots"]] == [1]

    shown = json.loads(run_cli("snapshot", "show", "aws-beta#1", "--json", cwd=repo.path).stdout)
    web = next(a for a in shown["artifacts"] if a["name"] == "web:1")
    assert web["provenance"] == [{"flow": "web", "git_commit": first, "commit_url": None}]
    assert (web["flow"], web["git_commit"]) == ("web", first)
    assert next(a for a in shown["artifacts"] if a["name"] == "miner")["rogue"] is True

    text = run_cli("snapshot", "show", "aws-beta", cwd=repo.path).stdout
    assert first[:7] in text and "N/A (no provenance)" in text


@pytest.mark.parametrize(
    ("spec", "message", "code"),
    [
        ("web", "expected NAME=FINGERPRINT[@COMMIT]", 129),
        ("web=abc@HEAD", "the fingerprint must be 64 hex digits", 129),
        (f"web={'a' * 64}@nope", "'nope' is not a commit in this repository", 128),
    ],
)
def test_record_refuses_bad_artifacts(repo: GitRepo, run_cli: RunCli, spec: str, message: str, code: int) -> None:
    repo.commit("one")
    result = run_cli("snapshot", "record", "aws-beta", "--artifact", spec, cwd=repo.path)
    assert result.exit_code == code
    assert message in result.stderr
    assert not (repo.path / ".git" / "kosli").exists()


def test_unknown_environment_and_out_of_range(repo: GitRepo, run_cli: RunCli) -> None:
    repo.commit("one")
    run_cli("snapshot", "record", "aws-beta", "--artifact", f"web={fingerprint('w')}@HEAD", cwd=repo.path)
    missing = run_cli("snapshot", "show", "staging#1", cwd=repo.path)
    assert missing.exit_code == 128
    assert missing.stderr == "fatal: environment 'staging' does not exist (environments: aws-beta)\n"
    out_of_range = run_cli("snapshot", "show", "aws-beta#7", cwd=repo.path)
    assert out_of_range.stderr == "fatal: snapshot aws-beta#7 does not exist: 'aws-beta' has 1 snapshot (#1)\n"
