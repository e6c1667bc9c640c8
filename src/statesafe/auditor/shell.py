"""What a shell command does to files, for the auditor: the shared shell reader, read statically.

:mod:`statesafe.readers.shell` is the one reader of command lines; the auditor
runs it against a working directory and a :class:`~statesafe.readers.Nowhere`
machine, so nothing on the auditing machine (its ``$HOME``, its files) colours
the answer, and maps each Effect's kind to the auditor's action:

    shell-write, shell-append, shell-copy-onto, shell-move-onto, shell-move-away,
    shell-delete, shell-remove-tree, shell-touch
"""

from __future__ import annotations

import shlex

from statesafe.effects import Kind
from statesafe.readers import Nowhere
from statesafe.readers import shell as reader

#: a working directory no command can have: effects come back under it, and are made relative again
_ROOT = "/nonexistent-statesafe-audit-root"
#: unknown parts of a command (``\x00`` in resolved texts) travel through the reader as this
_UNKNOWN, _STANDIN = "\x00", "\u2026"
_NOWHERE = Nowhere(_STANDIN)

#: Effect kind -> the auditor's action for it when a shell command does it
ACTIONS = {
    Kind.WRITE: "shell-write", Kind.TRUNCATE: "shell-write", Kind.APPEND: "shell-append",
    Kind.CREATE: "shell-touch", Kind.DELETE: "shell-delete", Kind.RENAME_FROM: "shell-move-away",
    Kind.RENAME_ONTO: "shell-move-onto", Kind.MOVE_ONTO: "shell-move-onto", Kind.COPY_ONTO: "shell-copy-onto",
    Kind.REMOVE_TREE: "shell-remove-tree",
}


def operations(command: str | list[str]) -> list[tuple[str, str, str]]:
    """(action, path, how) for every file ``command`` would change; [] when it cannot be read."""
    text = command if isinstance(command, str) else shlex.join(command)
    try:
        found = reader.effects(text.replace(_UNKNOWN, _STANDIN), _ROOT, _NOWHERE)
    except (reader.ShellSyntaxError, ValueError, RecursionError):
        return []
    out = []
    for effect in found:
        path = effect.target.replace(_STANDIN, _UNKNOWN)
        if path.startswith(_ROOT + "/"):
            path = path[len(_ROOT) + 1:]
        elif path == _ROOT:
            path = "."
        out.append((ACTIONS[effect.kind], path, effect.how))
    return out
