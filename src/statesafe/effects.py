"""What writes a file: the one table the auditor, the runtime guard and the agent hook all read.

An :class:`Effect` is one change a piece of code or a command would make to one
path: its ``kind`` says what happens (written in place, truncated, appended to,
deleted, renamed away, replaced by a rename, a copy or a move, removed with its
whole folder) and ``how`` names the call or command that does it, for messages.

:data:`PYTHON_APIS` lists the Python calls that change files, each with the
arguments it changes and how, and the audit event the runtime guard sees it by
(``None``: not visible at run time, with the reason in the parity test,
tests/test_effects_parity.py). The auditor's extractor, the guard's audit-hook
dispatch and the hook's ``python -c`` reader all read it, so adding a write
technique is one row here plus, where the runtime needs a new audit event, one
guard handler.

Light on purpose: the guard imports it at start-up and the agent hook per call
(no dataclasses, no libcst).
"""

from __future__ import annotations

import enum
from collections import namedtuple


class Kind(str, enum.Enum):
    """What happens to the file at an effect's target."""

    WRITE = "write"  # changed in place (open 'w' / 'r+', write_text, sed -i, `>`)
    TRUNCATE = "truncate"  # cut to a length (os.truncate, truncate -s)
    APPEND = "append"  # bytes added at the end (open 'a', O_APPEND, `>>`): the only change a log allows
    CREATE = "create"  # made if missing (touch)
    DELETE = "delete"  # its name removed (os.remove, rm)
    RENAME_FROM = "rename-from"  # moved away to another name (the source of a rename)
    RENAME_ONTO = "rename-onto"  # replaced by renaming another file onto it
    COPY_ONTO = "copy-onto"  # replaced by a copy or a link of another file
    MOVE_ONTO = "move-onto"  # replaced by moving another file onto it (shutil.move, mv)
    REMOVE_TREE = "remove-tree"  # the target is a folder removed with everything in it

    @property
    def verb(self) -> str:
        """The kind as a verb phrase for messages ("rm would delete tracker.json")."""
        return _VERBS[self]


_VERBS = {Kind.WRITE: "write", Kind.TRUNCATE: "truncate", Kind.APPEND: "append to", Kind.CREATE: "create",
          Kind.DELETE: "delete", Kind.RENAME_FROM: "move away", Kind.RENAME_ONTO: "replace",
          Kind.COPY_ONTO: "overwrite", Kind.MOVE_ONTO: "replace", Kind.REMOVE_TREE: "delete"}


class Effect(namedtuple("Effect", "target kind how tree name", defaults=(False, None))):
    """One change to one path.

    target: the path (the shell reader's are absolute against the command's working
    directory; the auditor's may have unknown parts); tree: the change reaches every
    file under the folder ``target`` (``rm -r``, ``cp -r`` into it, ``git checkout DIR``);
    name: with tree, only files whose name matches this glob (``find -name``).
    A namedtuple, not a dataclass (dataclasses imports inspect) nor a typing.NamedTuple (typing
    costs ~3 ms of every guarded start-up and hook call).
    """

    __slots__ = ()


# --- the Python write APIs -----------------------------------------------------------------

#: Arg.index of a method's receiver (``Path(p).write_text(...)`` changes ``Path(p)``)
RECEIVER = -1


class Arg(namedtuple("Arg", "index keyword", defaults=(None,))):
    """Where a call takes a value: its position (or RECEIVER), else its keyword."""

    __slots__ = ()


class Api(namedtuple("Api", "name changes event mode mode_style default source tree",
                     defaults=(None, "", None, None, False))):
    """One Python API that changes files.

    name: dotted for a function (``os.replace``), ``Path.<method>`` for a path method
    (matched by attribute name: the receiver's type is not known statically);
    changes: (argument, kind) pairs, kind None when ``mode`` decides it;
    event: the PEP 578 audit event the runtime guard refuses it by (None: no event shows it);
    mode: the argument that decides the kind, read as ``mode_style`` says:
    "mode" (an open() mode string, ``default`` when absent), "flags" (os.O_* flags),
    "inplace" (changes only when that keyword is true), "command" (a shell command
    line, handed to the shell reader); source: the file a copy, link or rename takes
    its bytes from (the auditor asks whether that is a backup of the target); tree: the
    targets are folders and the change reaches every file in them (``shutil.copytree``).
    """

    __slots__ = ()

    @property
    def method(self) -> str | None:
        """The attribute name of a path method row, None for a function."""
        return self.name[5:] if self.name.startswith("Path.") else None


def _rows() -> tuple[Api, ...]:
    def opener(name, keyword="file", mode="mode", default="r", mode_index=1):
        return Api(name, ((Arg(0, keyword), None),), "open", Arg(mode_index, mode), "mode", default)

    def shell(name, keyword):
        return Api(name, ((Arg(0, keyword), None),), None, Arg(0, keyword), "command")

    def rename(name, onto=Kind.RENAME_ONTO):
        return Api(name, ((Arg(0, "src"), Kind.RENAME_FROM), (Arg(1, "dst"), onto)), "os.rename",
                   source=Arg(0, "src"))

    def copy(name, event):
        return Api(name, ((Arg(1, "dst"), Kind.COPY_ONTO),), event, source=Arg(0, "src"))

    return (
        # open() and its aliases: the mode decides
        opener("builtins.open"), opener("io.open"), opener("_io.open"),
        opener("codecs.open", keyword="filename"),
        opener("io.FileIO", keyword="file"), opener("_io.FileIO", keyword="file"),
        Api("os.open", ((Arg(0, "path"), None),), "open", Arg(1, "flags"), "flags"),
        # logging opens its file when the handler is made ('a' unless told otherwise)
        opener("logging.FileHandler", keyword="filename", default="a"),
        opener("logging.handlers.WatchedFileHandler", keyword="filename", default="a"),
        opener("logging.handlers.RotatingFileHandler", keyword="filename", default="a"),
        Api("logging.basicConfig", ((Arg(None, "filename"), None),), "open", Arg(None, "filemode"), "mode", "a"),
        # whole-file operations
        Api("os.remove", ((Arg(0, "path"), Kind.DELETE),), "os.remove"),
        Api("os.unlink", ((Arg(0, "path"), Kind.DELETE),), "os.remove"),
        Api("os.truncate", ((Arg(0, "path"), Kind.TRUNCATE),), "os.truncate"),
        rename("os.rename"), rename("os.replace"), rename("os.renames"),
        rename("shutil.move", onto=Kind.MOVE_ONTO),
        copy("os.link", "os.link"), copy("os.symlink", None),
        copy("shutil.copyfile", "shutil.copyfile"), copy("shutil.copy", "shutil.copyfile"),
        copy("shutil.copy2", "shutil.copyfile"),
        Api("shutil.copytree", ((Arg(1, "dst"), Kind.COPY_ONTO),), "shutil.copyfile", source=Arg(0, "src"), tree=True),
        Api("shutil.rmtree", ((Arg(0, "path"), Kind.REMOVE_TREE),), "shutil.rmtree"),
        # fileinput inplace moves the file to a backup name, then writes a new one in its place
        Api("fileinput.input", ((Arg(0, "files"), Kind.WRITE),), "os.rename", Arg(None, "inplace"), "inplace"),
        Api("fileinput.FileInput", ((Arg(0, "files"), Kind.WRITE),), "os.rename", Arg(None, "inplace"), "inplace"),
        # path methods
        Api("Path.write_text", ((Arg(RECEIVER), Kind.WRITE),), "open"),
        Api("Path.write_bytes", ((Arg(RECEIVER), Kind.WRITE),), "open"),
        Api("Path.open", ((Arg(RECEIVER), None),), "open", Arg(0, "mode"), "mode", "r"),
        Api("Path.touch", ((Arg(RECEIVER), Kind.CREATE),), "open"),
        Api("Path.unlink", ((Arg(RECEIVER), Kind.DELETE),), "os.remove"),
        Api("Path.rename", ((Arg(RECEIVER), Kind.RENAME_FROM), (Arg(0, "target"), Kind.RENAME_ONTO)), "os.rename",
            source=Arg(RECEIVER)),
        Api("Path.replace", ((Arg(RECEIVER), Kind.RENAME_FROM), (Arg(0, "target"), Kind.RENAME_ONTO)), "os.rename",
            source=Arg(RECEIVER)),
        Api("Path.hardlink_to", ((Arg(RECEIVER), Kind.COPY_ONTO),), "os.link", source=Arg(0, "target")),
        Api("Path.symlink_to", ((Arg(RECEIVER), Kind.COPY_ONTO),), None, source=Arg(0, "target")),
        # command lines run by a shell or another process: the shell reader reads them
        shell("os.system", "command"), shell("os.popen", "cmd"),
        shell("subprocess.run", "args"), shell("subprocess.call", "args"), shell("subprocess.check_call", "args"),
        shell("subprocess.check_output", "args"), shell("subprocess.Popen", "args"),
        shell("subprocess.getoutput", "cmd"), shell("subprocess.getstatusoutput", "cmd"),
    )


#: Every Python API that changes files.
PYTHON_APIS: tuple[Api, ...] = _rows()
#: dotted function name -> its row
FUNCTIONS: dict[str, Api] = {api.name: api for api in PYTHON_APIS if api.method is None}
#: path method name -> its row
METHODS: dict[str, Api] = {api.method: api for api in PYTHON_APIS if api.method is not None}
#: the audit events the runtime guard must handle (tests check it has a handler for each)
AUDIT_EVENTS: frozenset[str] = frozenset(api.event for api in PYTHON_APIS if api.event)


# --- modes and flags -----------------------------------------------------------------------

#: os.open flags that make an open a write
WRITE_FLAG_NAMES = frozenset({"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"})


def mode_kind(mode: str) -> Kind | None:
    """What an open() mode does to the file: APPEND, WRITE, or None for a read."""
    if "a" in mode:
        return Kind.APPEND
    if any(c in mode for c in "wx+"):
        return Kind.WRITE
    return None


def flags_kind(names: frozenset[str] | set[str]) -> Kind | None:
    """What os.open with these O_* flag names does: APPEND (O_APPEND, no O_TRUNC), WRITE, or None."""
    if not names & WRITE_FLAG_NAMES:
        return None
    return Kind.APPEND if "O_APPEND" in names and "O_TRUNC" not in names else Kind.WRITE


def flag_bits_kind(flags: int) -> Kind | None:
    """flags_kind for a flags integer (the runtime's view of os.open / open)."""
    import os

    return flags_kind(frozenset(n for n in WRITE_FLAG_NAMES if flags & getattr(os, n)))


def shown(api: Api, mode: str | None = None) -> str:
    """How messages name a call of ``api`` ("open(..., 'w')", "Path.write_text", "os.replace")."""
    if api.mode_style == "mode" and api.event == "open" and not api.name.startswith("logging"):
        return f"Path.open({mode!r})" if api.method else f"open(..., {mode!r})"
    if api.mode_style == "flags":
        return f"os.open({mode})" if mode else "os.open"
    if api.mode_style == "inplace":
        return f"{api.name}(inplace=True)"
    return api.name
