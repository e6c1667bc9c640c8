"""What a shell command does to files, for the auditor: the guard's shell reader, read statically.

statesafe.guard.shell is the one reader of shell command lines (redirections,
``tee``, ``sed -i``, ``cp``/``mv``, heredocs, ``bash -c``...); the auditor runs
it against a directory that does not exist, so nothing on this machine colours
the answer, and maps its effects to the auditor's actions:

    shell-write, shell-append, shell-copy-onto, shell-move-onto, shell-move-away,
    shell-delete, shell-touch
"""

from __future__ import annotations

import shlex

from statesafe.guard import shell as reader

#: a working directory no command can have: effects come back under it, and are made relative again
_ROOT = "/nonexistent-statesafe-audit-root"
#: unknown parts of a command (``\x00`` in resolved texts) travel through the reader as this
_UNKNOWN, _STANDIN = "\x00", "\u2026"


def operations(command: str | list[str]) -> list[tuple[str, str, str]]:
    """(action, path, how) for every file ``command`` would change; [] when it cannot be read."""
    text = command if isinstance(command, str) else shlex.join(command)
    try:
        found = reader.effects(text.replace(_UNKNOWN, _STANDIN), _ROOT)
    except (reader.ShellSyntaxError, ValueError, RecursionError):
        return []
    out = []
    for effect in found:
        path = effect.path.replace(_STANDIN, _UNKNOWN)
        if path.startswith(_ROOT + "/"):
            path = path[len(_ROOT) + 1:]
        out.append((_action(effect), path, effect.how))
    return out


def _action(effect: reader.Effect) -> str:
    if effect.kind == reader.APPEND:
        return "shell-append"
    if effect.kind == reader.DELETE:
        return "shell-delete"
    if effect.kind == reader.MOVE:
        return "shell-move-away"
    if effect.kind == reader.CREATE:
        return "shell-touch"
    verb = effect.how.split(" ", 1)[0]
    if verb == "mv":
        return "shell-move-onto"
    if verb in ("cp", "install", "ln"):
        return "shell-copy-onto"
    return "shell-write"
