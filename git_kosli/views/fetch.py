"""`git kosli fetch` as `git fetch` reports: a line per ref changed, what it shows and how it moved. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from git_kosli.env_refs import REF_PREFIX, RefChanges, Refused
from git_kosli.model import CommitSha, Divergence, clean_text, short
from git_kosli.views.text import age


def fetch_lines(
    source: str,
    changes: RefChanges,
    counts: Mapping[tuple[CommitSha, CommitSha], Divergence],
    refused: Sequence[Refused],
    *,
    shallow: bool,
) -> list[str]:
    """`From SOURCE`, a line per ref (` FLAG SUMMARY  WHAT -> kosli/ENV  (NOTE)`), `hint:` lines; [] if none moved."""
    rows: list[tuple[str, str, str, str, str]] = []
    for ref, _ in changes.deletions:
        rows.append(("-", "[deleted]", "(none)", _short_ref(ref), ""))
    for slot, old in changes.writes:
        if old is None:
            rows.append(("*", "[new ref]", slot.message, _short_ref(slot.ref), ""))
            continue
        moved = counts.get((old, slot.commit))
        if moved is not None and moved.old_only == 0:
            rows.append((" ", f"{short(old)}..{short(slot.commit)}", slot.message, _short_ref(slot.ref), ""))
        else:
            note = "(rollback)" if moved is not None and moved.new_only == 0 else "(forced update)"
            rows.append(("+", f"{short(old)}...{short(slot.commit)}", slot.message, _short_ref(slot.ref), note))
    for slot in changes.not_fetched:
        note = f"(commit {short(slot.commit)} is not in this repository)"
        rows.append(("!", "[not fetched]", slot.message, _short_ref(slot.ref), note))
    lines = [f"From {source}"] if rows else []
    summary = max((len(r[1]) for r in rows), default=0)
    what = max((len(r[2]) for r in rows), default=0)
    for flag, moved_text, shown, ref, note in rows:
        lines.append(f" {flag} {moved_text:<{summary}} {shown:<{what}} -> {ref}{'  ' + note if note else ''}".rstrip())
    for item in refused:
        named = f"artifact '{clean_text(item.artifact.name)}' of " if item.artifact is not None else ""
        lines.append(f"warning: no ref for {named}environment '{clean_text(item.env)}': not a valid ref name")
    if changes.not_fetched:
        unshallow = " (in a shallow clone, 'git fetch --unshallow')" if shallow else ""
        lines.append(f"hint: run 'git fetch'{unshallow} to get the running commits, then 'git kosli fetch' again")
    return lines


def _short_ref(ref: str) -> str:
    """`kosli/aws-prod` for `refs/kosli/aws-prod`: how git names the ref in revisions."""
    return "kosli/" + ref.removeprefix(REF_PREFIX)


def fetched_ago(envs: Sequence[str], fetched_at: float, now: float) -> str:
    """`Kosli data for aws-prod was fetched 3 hours ago`: how old an answer read without asking Kosli again is.

    `envs`: the environments whose histories were older than kosli.fetch.maxAge (none: only the environment
    list or builds were); `fetched_at`: the oldest fetch of all that was read.
    """
    seconds = max(0, int(now - fetched_at))
    when = f"{seconds} second{'s' if seconds != 1 else ''} ago" if seconds < 60 else age(fetched_at, now)
    names = [clean_text(env) for env in sorted(envs)]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"Kosli data{f' for {shown}' if shown else ''} was fetched {when}"
