"""The files a snippet of Python would change: ``python -c`` and python heredocs in Bash commands.

Light on purpose (stdlib ``ast``, no libcst: it runs inside the agent hook).
A write whose target is a literal (``open('tracker.json', 'w')``,
``Path('a') / 'b'``, a name assigned a literal) names that file; a write whose
target is computed makes every string literal in the code, and every argument
after ``-c CODE``, a candidate, and the hook refuses if any candidate is a
policy file. Code that does not parse is never run by Python, so it writes nothing.
"""

from __future__ import annotations

import ast
import shlex
from collections.abc import Callable, Iterator

from statesafe.guard.shell import APPEND, CREATE, DELETE, MOVE, WRITE

#: module-qualified calls: name -> ((argument index, kind), ...)
_CALLS = {
    "os.remove": ((0, DELETE),), "os.unlink": ((0, DELETE),), "os.truncate": ((0, WRITE),),
    "os.rename": ((0, MOVE), (1, WRITE)), "os.replace": ((0, MOVE), (1, WRITE)),
    "os.renames": ((0, MOVE), (1, WRITE)), "os.link": ((1, WRITE),), "os.symlink": ((1, WRITE),),
    "shutil.move": ((0, MOVE), (1, WRITE)), "shutil.copy": ((1, WRITE),), "shutil.copy2": ((1, WRITE),),
    "shutil.copyfile": ((1, WRITE),), "shutil.copytree": ((1, WRITE),), "shutil.rmtree": ((0, DELETE),),
}
#: pathlib methods: attribute -> kind of what happens to the receiver (rename/replace also write arg 0)
_PATH_METHODS = {"write_text": WRITE, "write_bytes": WRITE, "unlink": DELETE, "touch": CREATE,
                 "rename": MOVE, "replace": MOVE, "rmdir": DELETE, "hardlink_to": WRITE,
                 "symlink_to": WRITE}
_OPENERS = {"open", "io.open", "codecs.open", "builtins.open"}
_SHELL_CALLS = {"os.system", "os.popen", "subprocess.run", "subprocess.call", "subprocess.check_call",
                "subprocess.check_output", "subprocess.Popen", "subprocess.getoutput",
                "subprocess.getstatusoutput"}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


class _Reader:
    def __init__(self, tree: ast.Module):
        self.names: dict[str, ast.AST] = {}
        self.literals: list[str] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.names[node.targets[0].id] = node.value
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" not in node.value:
                self.literals.append(node.value)

    def path(self, node: ast.AST | None, depth: int = 0) -> str | None:
        """The path an expression denotes when it is built from literals only, else None."""
        if node is None or depth > 10:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            return node.value.decode(errors="replace") if isinstance(node.value, bytes) else node.value
        if isinstance(node, ast.Name) and node.id in self.names:
            return self.path(self.names[node.id], depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = self.path(node.left, depth + 1), self.path(node.right, depth + 1)
            return f"{left}/{right}" if left is not None and right is not None else None
        if isinstance(node, ast.Call):
            name = _dotted(node.func) or ""
            if name.split(".")[-1] in ("Path", "PurePath", "PosixPath", "join") and node.args:
                parts = [self.path(arg, depth + 1) for arg in node.args]
                return "/".join(parts) if None not in parts else None
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("resolve", "absolute", "expanduser"):
                return self.path(node.func.value, depth + 1)
        return None


def _open_kind(mode: ast.AST | None, reader: _Reader) -> str | None:
    """What open(path, mode) does to path: None for a read, APPEND, or WRITE (unknown mode: WRITE)."""
    if mode is None:
        return None
    text = reader.path(mode)
    if text is None:
        return WRITE
    if "a" in text:
        return APPEND
    return WRITE if set(text) & set("wx+") else None


def _os_open_kind(flags: ast.AST | None) -> str | None:
    names = {n.attr if isinstance(n, ast.Attribute) else n.id
             for n in ast.walk(flags) if isinstance(n, (ast.Attribute, ast.Name))} if flags else set()
    if not names & {"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"}:
        return None if names else WRITE  # only O_RDONLY and friends: a read; a bare number: unknown
    return APPEND if "O_APPEND" in names and "O_TRUNC" not in names else WRITE


def _argument(call: ast.Call, index: int, keyword: str | None = None) -> ast.AST | None:
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == keyword), None) if keyword else None


def _writes(call: ast.Call, reader: _Reader, shell: Callable[[str], None]) -> Iterator[tuple[ast.AST | None, str, str]]:
    """(target expression, kind, how) for each file this call would change."""
    name = _dotted(call.func) or ""
    if name in _OPENERS:
        kind = _open_kind(_argument(call, 1, "mode"), reader)
        if kind:
            yield _argument(call, 0, "file"), kind, f"{name}(..., mode)"
    elif name == "os.open":
        kind = _os_open_kind(_argument(call, 1, "flags"))
        if kind:
            yield _argument(call, 0, "path"), kind, "os.open with write flags"
    elif name in _CALLS:
        for index, kind in _CALLS[name]:
            yield _argument(call, index), kind, name
    elif name in _SHELL_CALLS:
        command = _argument(call, 0, "args")
        text = reader.path(command)
        if text is not None:
            shell(text)
        elif isinstance(command, (ast.List, ast.Tuple)):
            words = [reader.path(element) for element in command.elts]
            if None not in words:
                shell(shlex.join(words))
            else:
                yield None, WRITE, name
        elif command is not None:
            yield None, WRITE, name
    elif name.split(".")[-1] in ("input", "FileInput") and name.startswith("fileinput") and any(
            k.arg == "inplace" for k in call.keywords):
        yield _argument(call, 0, "files"), WRITE, "fileinput inplace"
    elif isinstance(call.func, ast.Attribute):
        method = call.func.attr
        if method in _PATH_METHODS and (method not in ("rename", "replace") or len(call.args) == 1):
            yield call.func.value, _PATH_METHODS[method], f".{method}()"
            if method in ("rename", "replace") and call.args:
                yield call.args[0], WRITE, f".{method}() onto it"
        elif method == "open" and name not in _OPENERS:
            kind = _open_kind(_argument(call, 0, "mode"), reader)
            if kind:
                yield call.func.value, kind, ".open(mode)"


def python_writes(code: str, argv: list[str], shell: Callable[[str], None]) -> list[tuple[str, str, str]]:
    """(path as written, kind, how) for each file ``code`` would change; shell(text) gets shell strings."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    reader = _Reader(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for target, kind, how in _writes(node, reader, shell):
            path = reader.path(target)
            if path is not None:
                found.append((path, kind, f"python: {how}"))
            else:  # computed target: every literal and argument could be it
                found.extend((candidate, kind, f"python: {how} (computed path)")
                             for candidate in [*reader.literals, *argv] if candidate)
    return found
