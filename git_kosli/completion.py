"""Completion candidates for bash, zsh and fish: commands, options, environments and snapshot numbers.

The shell scripts (`git kosli completion bash|zsh|fish`) call the hidden `git kosli __complete WORDS...`,
which answers from the command tree and from what is already known locally (the embedded store or
the Kosli cache): completion never waits for the network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click

ENV_METAVARS = frozenset({"ENV", "[ENV]..."})
REVISION_METAVARS = frozenset({"COMMIT-ISH", "COMMIT-ISH|ARTIFACT", "[REVISION]", "REVISION", "[REVISION-RANGE]"})
MAX_NUMBERS = 100
DEFAULTS = {"bisect": "start"}  # groups whose arguments, without a subcommand, are their default command's

BASH = r"""# git kosli completion for bash. git's own completion calls _git_kosli for `git kosli ...`.
# Install: git kosli completion bash > ~/.local/share/bash-completion/completions/git-kosli
#      or: echo 'eval "$(git kosli completion bash)"' >> ~/.bashrc
_git_kosli ()
{
	local IFS=$'\n'
	local start=1
	while [ "$start" -lt "${#words[@]}" ] && [ "${words[$start]}" != "kosli" ]; do
		start=$((start + 1))
	done
	COMPREPLY=($(git kosli __complete -- "${words[@]:$((start + 1)):$((cword - start))}" 2>/dev/null))
}
"""

ZSH = r"""#compdef git-kosli
# git kosli completion for zsh. git's completion calls _git-kosli for `git kosli ...`.
# Install: git kosli completion zsh > "${fpath[1]}/_git-kosli"   (then: compinit)
_git-kosli () {
	local -a candidates
	candidates=(${(f)"$(git kosli __complete -- "${(@)words[2,$CURRENT]}" 2>/dev/null)"})
	compadd -Q -S '' -- "${(@)candidates}"
}
_git-kosli "$@"
"""

FISH = r"""# git kosli completion for fish, for `git kosli ...` and `git-kosli ...`.
# Install: git kosli completion fish > ~/.config/fish/conf.d/git-kosli.fish
# (conf.d, not completions/: fish would load a completions/ file only when completing git-kosli itself)
function __git_kosli_complete
	set -l words (commandline -opc) (commandline -ct)
	set -l start (contains -i -- kosli $words; or contains -i -- git-kosli $words; or echo 1)
	git kosli __complete -- $words[(math $start[1] + 1)..-1] 2>/dev/null
end
complete -c git-kosli -f -k -a '(__git_kosli_complete)'
complete -c git -n '__fish_seen_subcommand_from kosli' -f -k -a '(__git_kosli_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def candidates(
    root: click.Command,
    words: Sequence[str],
    *,
    environments: Callable[[], list[str]],
    numbers: Callable[[str], list[int]],
    revisions: Callable[[], list[str]],
) -> list[str]:
    """What may come as the last of `words` (the words after `git kosli`, the last one being typed)."""
    *done, current = words or [""]
    command, rest = _command_of(root, done)
    if command is None:
        return []
    ctx = click.Context(command, info_name=command.name)
    options = {opt: p for p in command.params if isinstance(p, click.Option) for opt in p.opts}
    if rest and rest[-1] in options and not options[rest[-1]].is_flag:
        wanted = options[rest[-1]]
        return _matching(_values(wanted, environments), current)
    if current.startswith("-"):
        return _matching(sorted({*options, "--help"}), current)
    if isinstance(command, click.Group):
        names = _matching([n for n in command.list_commands(ctx) if not n.startswith("_")], current)
        default = command.get_command(ctx, DEFAULTS.get(command.name or "", ""))
        if default is None:
            return names
        return names + candidates(default, [current], environments=environments, numbers=numbers, revisions=revisions)
    argument = _argument_at(command, rest, options)
    if argument is None:
        return []
    if argument.type.name == "SNAPSHOT":
        return _snapshots(current, environments, numbers)
    metavar = argument.metavar or argument.name.upper() if argument.name else ""
    if argument.name == "env" or metavar in ENV_METAVARS:
        return _matching(environments(), current)
    if metavar in REVISION_METAVARS:
        return _matching(revisions(), current)
    return []


def _command_of(root: click.Command, words: Sequence[str]) -> tuple[click.Command | None, list[str]]:
    """The (sub)command the words name, and the words after its name; options before it are skipped."""
    command: click.Command = root
    rest = list(words)
    while rest and isinstance(command, click.Group):
        ctx = click.Context(command, info_name=command.name)
        options = {opt: p for p in command.params if isinstance(p, click.Option) for opt in p.opts}
        word = rest[0]
        if word.startswith("-"):
            rest = rest[2:] if word in options and not options[word].is_flag else rest[1:]
            continue
        found = command.get_command(ctx, word)
        if found is None:
            default = command.get_command(ctx, DEFAULTS.get(command.name or "", ""))
            return default, rest  # `git kosli bisect OLD NEW` is `bisect start OLD NEW`
        command, rest = found, rest[1:]
    return command, rest


def _values(option: click.Option, environments: Callable[[], list[str]]) -> list[str]:
    if isinstance(option.type, click.Choice):
        return [str(c) for c in option.type.choices]
    return environments() if option.metavar in ENV_METAVARS else []


def _argument_at(command: click.Command, given: list[str], options: dict[str, click.Option]) -> click.Argument | None:
    """The positional parameter the next word fills, skipping options and their values."""
    position, skip = 0, False
    for word in given:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in options and not options[word].is_flag
        else:
            position += 1
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if not arguments:
        return None
    if position < len(arguments):
        return arguments[position]
    return arguments[-1] if arguments[-1].nargs == -1 else None


def _snapshots(current: str, environments: Callable[[], list[str]], numbers: Callable[[str], list[int]]) -> list[str]:
    env, hash_, _ = current.partition("#")
    if not hash_:
        return _matching(environments(), current)
    latest_first = sorted(numbers(env), reverse=True)[:MAX_NUMBERS]
    return _matching([f"{env}#{n}" for n in latest_first], current)


def _matching(values: list[str], prefix: str) -> list[str]:
    return [v for v in values if v.startswith(prefix)]
