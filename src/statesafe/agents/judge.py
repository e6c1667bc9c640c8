"""The agent-neutral judge: may a tool call with these effects run?

Every agent adapter (:mod:`statesafe.agents.claude` today) turns its tool call into
:class:`~statesafe.effects.Effect` s: a file tool's "write path P" is one Effect, a
shell command's are what :mod:`statesafe.readers.shell` reads in it
(:func:`judge_command`). The judge classifies each target with the policy and
answers a :class:`Decision`: refused, with the reason and the compliant command the
agent should run instead, or passed. It knows nothing of payloads, exit codes or
JSON answers: those are the adapter's.

The rule: every effect on a policy file is refused, except an append to an
append-only log. Creating a policy file that does not exist yet is refused too
(new policy files are born through ``statesafe write``).

Which policy judges a path (:class:`Classifier`), one rule for deciding and for
apply mode alike: the policy of the tool call's working directory first (the one
``statesafe write`` and ``statesafe append`` use when the agent runs the advice
there), then, if that one does not classify the path, the policy of the file's own
folder. A path gets its class, and apply mode its writer's policy, from the first
policy that classifies it.

Failing closed: a policy that cannot be read refuses every write but the one that
fixes the broken file (:func:`broken_policy`); when the judge itself cannot decide
(a command it cannot tokenise, an internal error) :func:`after_crash` refuses if
anything named could be a policy file.

Light on purpose (a hook process starts for every tool call): the policy model and
the effects table only; the shell reader loads for a command, the writers never.
"""

from __future__ import annotations

import os
from collections import namedtuple
from collections.abc import Iterable

from statesafe.effects import Effect, Kind
from statesafe.errors import ConfigError
from statesafe.policy import FileClass, Policy, load_policy

__all__ = ["Decision", "PASS", "TREE_LIMIT", "Classifier", "judge", "judge_command", "write_effect", "absolute",
           "refusal", "advice", "shown_path", "broken_policy", "after_crash", "unreadable", "command_words"]

#: files looked at under a directory that rm -r / find -delete would remove
TREE_LIMIT = 5000


class Decision(namedtuple("Decision", "deny reason note", defaults=("", ""))):
    """deny; reason: sent to the agent with a refusal; note: a warning on stderr when the call passes.

    A namedtuple, not a dataclass: dataclasses imports inspect, several ms of every hook start.
    """

    __slots__ = ()


PASS = Decision(False)


# --- reasons ---------------------------------------------------------------------------

def shown_path(path: str, cwd: str) -> str:
    """The path as the agent should type it from cwd: relative inside cwd, else absolute (shell-quoted)."""
    import shlex

    rel = os.path.relpath(path, cwd)
    return shlex.quote(path if rel.startswith("..") else rel)


def advice(file_class: FileClass, path: str, cwd: str) -> str:
    """The compliant way to do what was refused, as a command the agent can run."""
    shown = shown_path(path, cwd)
    if file_class is FileClass.LOG:
        return (f"It is an append-only log: add one JSON record with "
                f"`statesafe append {shown} '{{\"key\": \"value\"}}'` (or `>>` one JSON line); never rewrite it.")
    if file_class is FileClass.BACKUP:
        from statesafe.names import parse_backup

        parsed = parse_backup(os.path.basename(path))
        base = shown_path(os.path.join(os.path.dirname(path), parsed.base), cwd) if parsed else "FILE"
        return (f"Backups are made and pruned only by statesafe and never changed. To bring this one back: "
                f"`statesafe restore {base} --from {shown}`.")
    draft = f"`statesafe write {shown} --from DRAFT`"
    if file_class is FileClass.COMPANION:
        return ("Companion files are views rebuilt from the tracker, not patched: write the complete rebuilt "
                f"file to a draft (e.g. under /tmp), then run {draft}.")
    if file_class is FileClass.COMPILED:
        return ("Compiled memory is rebuilt from the tracker, not hand-edited: run the skill's rebuild, or write "
                f"the complete file with its metadata fields to a draft, then run {draft}.")
    return (f"Write the complete new content to a draft file (e.g. under /tmp), then run {draft} "
            "(or pipe it in with `--from -`): it backs the file up, writes a temp and renames it into place.")


def refusal(what: str, path: str, file_class: FileClass, cwd: str) -> str:
    """The reason for refusing ``what`` ("sed -i would write") on path: the file, its class, the advice."""
    article = "an" if file_class.value[0] in "aeiou" else "a"
    return (f"statesafe: refused: {what} {shown_path(path, cwd)}, {article} {file_class.value} file under the "
            f"write policy (FAILSAFE.md). {advice(file_class, path, cwd)}")


# --- classification --------------------------------------------------------------------

class Classifier:
    """Classes paths for one tool call: the cwd's policy first, then the file's own folder's.

    The one rule of the judge (see the module docstring); :meth:`which` also says which
    policy classified the path, so apply mode writes under that same policy. Loading
    a policy that cannot be read raises ConfigError (see :func:`broken_policy`).
    """

    def __init__(self, cwd: str):
        self.policy = load_policy(cwd)

    def which(self, path: str) -> tuple[FileClass | None, Policy]:
        """The path's class and the policy that gave it (the cwd's when none does)."""
        found = self.policy.classify(path)
        if found is None:
            local = load_policy(os.path.dirname(path))
            if local != self.policy:
                found = local.classify(path)
                if found is not None:
                    return found, local
        return found, self.policy

    def __call__(self, path: str) -> FileClass | None:
        return self.which(path)[0]

    def tree(self, root: str, name: str | None) -> tuple[list[tuple[str, FileClass]], bool]:
        """Policy files under root (matching find's -name when given), and whether the walk was cut short.

        Names are matched as they stand, without resolving links: removing or moving a
        folder takes its links, not what they point to. The policies asked are the
        cwd's and the folder's own, in that order.
        """
        import fnmatch

        policies = [self.policy]
        local = load_policy(root)
        if local != self.policy:
            policies.append(local)
        found, seen = [], 0
        for directory, dirnames, filenames in os.walk(root):
            for entry in filenames + [d for d in dirnames if os.path.islink(os.path.join(directory, d))]:
                seen += 1
                if seen > TREE_LIMIT:
                    return found, True
                if (name is not None and not fnmatch.fnmatch(entry, name)) or not any(
                        policy.may_match_name(entry) for policy in policies):
                    continue
                path = os.path.join(directory, entry)
                file_class = next(filter(None, (policy.classify_name(path) for policy in policies)), None)
                if file_class is not None:
                    found.append((path, file_class))
        return found, False


def absolute(path: str, cwd: str) -> str:
    """A path the agent gave, made absolute against the tool call's cwd (``~`` expanded; links kept)."""
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))


# --- the judgement ---------------------------------------------------------------------

def write_effect(path: str, how: str) -> Effect:
    """A file tool's call (an agent's Write or Edit of ``path``) as an Effect: the file changed in place."""
    return Effect(path, Kind.WRITE, how)


def judge(found: Iterable[Effect], cwd: str, *, what: str | None = None) -> Decision:
    """Refuse every effect on a policy file but an append to a log; a broken policy refuses all but its fix.

    what: how to name the change in a refusal, instead of "<how> would <verb>" (an
    adapter's own wording for its file tools: "Write would overwrite").
    """
    found = list(found)
    try:
        return _judge(found, Classifier(cwd), cwd, what)
    except ConfigError as exc:
        return broken_policy(exc, [effect.target for effect in found], cwd)


def _judge(found: list[Effect], classify: Classifier, cwd: str, what: str | None) -> Decision:
    reasons, notes = [], []
    for effect in found:
        if effect.tree:
            hits, cut_short = classify.tree(effect.target, effect.name)
            if cut_short:
                notes.append(f"statesafe: {effect.how} reaches more than {TREE_LIMIT} files under "
                             f"{effect.target}; only the first {TREE_LIMIT} were checked")
            hits.insert(0, (effect.target, classify(effect.target)))  # `rm -r tracker.json`: the name itself
        else:
            hits = [(effect.target, classify(effect.target))]
        for path, file_class in hits:
            if file_class is None or (effect.kind is Kind.APPEND and file_class is FileClass.LOG):
                continue
            reason = refusal(what or f"{effect.how} would {effect.kind.verb}", path, file_class, cwd)
            if reason not in reasons:
                reasons.append(reason)
    if reasons:
        return Decision(True, "\n".join(reasons))
    return Decision(False, note="\n".join(notes))


def judge_command(command: str, cwd: str) -> Decision:
    """A shell command line (an agent's Bash tool) judged by the effects the shell reader finds in it."""
    from statesafe.readers import shell

    try:
        found = shell.effects(command, cwd)
    except shell.ShellSyntaxError as exc:
        return after_crash(f"the command could not be parsed ({exc})", cwd, command_words(command))
    return judge(found, cwd)


# --- failing closed --------------------------------------------------------------------

def broken_policy(exc: ConfigError, targets: list[str], cwd: str) -> Decision:
    """Policy unreadable: refuse every write but the one that fixes the broken file."""
    broken = os.path.realpath(exc.path) if exc.path else None
    if all(os.path.realpath(target) == broken for target in targets):
        return PASS
    return Decision(True, f"statesafe: refused: the write policy cannot be read ({exc}), so statesafe cannot "
                          "tell which files are protected; writes here are refused until that file is fixed "
                          "(`statesafe policy` shows the effective policy).")


def unreadable(problem: str) -> Decision:
    """A tool call the adapter cannot read: refused, since its target is unknown."""
    return Decision(True, f"statesafe: refused: the hook could not read this tool call ({problem}), so it "
                          "cannot tell whether it writes a policy file.")


def command_words(command: str) -> list[str]:
    """Every run of characters between whitespace, quotes and shell operators: the names a command may hold.

    A crude split on purpose: it is what is left when the real reader failed.
    """
    import re

    return re.findall(r"[^\s'\"`;&|<>()=]+", command)


def after_crash(problem: str, cwd: str, names: list[str] | None) -> Decision:
    """When the judge could not decide normally: refuse if anything named could be a policy file.

    names: the paths and words the tool call holds (None: the call itself was unreadable,
    so it is refused). With a policy that cannot even be loaded, any name is suspect.
    """
    try:
        policy = load_policy(cwd)
        suspects = [n for n in names or () if policy.classify_name(absolute(n, cwd))
                    or policy.may_match_name(os.path.basename(n.rstrip("/")))]
    except Exception:  # noqa: BLE001 - cannot even load the policy: anything named is suspect
        suspects = list(names or ())
    if suspects or names is None:
        return Decision(True, f"statesafe: refused: {problem}; the call names {', '.join(suspects[:3]) or 'a file'}, "
                              "which may be a policy file, so it is refused to be safe. Use "
                              "`statesafe write FILE --from DRAFT` or `statesafe append LOG JSON`.")
    return Decision(False, note=f"statesafe: {problem}; passed, since it names no policy file")
