"""The files a snippet of Python would change: ``python -c`` code and python heredocs in commands.

It reads :data:`statesafe.effects.PYTHON_APIS`, the table the auditor and the
runtime guard read too. Light on purpose (stdlib ``ast``, no libcst: it runs
inside the agent hook). Calls are named through the snippet's own imports
(``from shutil import rmtree as r; r(x)`` is ``shutil.rmtree``). A target built
from literals only (``open('tracker.json', 'w')``, ``Path('a') / 'b'``, a name
assigned a literal) names that file; a computed target makes every string
literal in the code, and every argument after ``-c CODE``, a candidate, so the
judge refuses if any candidate is a policy file. Code that does not parse is
never run by Python, so it writes nothing.
"""

from __future__ import annotations

import ast
import shlex
from collections.abc import Callable, Iterator

from statesafe.effects import FUNCTIONS, METHODS, RECEIVER, Api, Arg, Effect, Kind, flags_kind, mode_kind, shown

_PATH_CALLS = {"Path", "PurePath", "PosixPath", "WindowsPath", "join"}


class _Reader:
    def __init__(self, tree: ast.Module):
        self.names: dict[str, ast.AST] = {}
        self.imported: dict[str, str] = {}  # local name -> dotted name it stands for
        self.modules: set[str] = set()  # local names bound to modules by `import`
        self.literals: list[str] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.names[node.targets[0].id] = node.value
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".", 1)[0]
                    self.modules.add(local)
                    if alias.asname:
                        self.imported[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" not in node.value:
                self.literals.append(node.value)

    def dotted(self, node: ast.AST) -> str | None:
        """The dotted name a call's function stands for, through the snippet's imports."""
        if isinstance(node, ast.Name):
            return self.imported.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def text(self, node: ast.AST | None, depth: int = 0) -> str | None:
        """The string an expression denotes when it is built from literals only, else None."""
        if node is None or depth > 10:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            return node.value.decode(errors="replace") if isinstance(node.value, bytes) else node.value
        if isinstance(node, ast.Name) and node.id in self.names:
            return self.text(self.names[node.id], depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = self.text(node.left, depth + 1), self.text(node.right, depth + 1)
            return f"{left}/{right}" if left is not None and right is not None else None
        if isinstance(node, ast.Call):
            name = self.dotted(node.func) or ""
            if name.rsplit(".", 1)[-1] in _PATH_CALLS and node.args:
                parts = [self.text(arg, depth + 1) for arg in node.args]
                return "/".join(parts) if None not in parts else None
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("resolve", "absolute", "expanduser"):
                return self.text(node.func.value, depth + 1)
        return None

    def flag_names(self, node: ast.AST | None) -> frozenset[str] | None:
        """The O_* names in an os.open flags expression; None when it is not spelled with them."""
        if node is None:
            return None
        names = frozenset(n.attr if isinstance(n, ast.Attribute) else n.id
                          for n in ast.walk(node) if isinstance(n, (ast.Attribute, ast.Name)))
        return names if any(n.startswith("O_") for n in names) else None


def _argument(call: ast.Call, where: Arg) -> ast.AST | None:
    if where.index == RECEIVER:
        return call.func.value if isinstance(call.func, ast.Attribute) else None
    if where.index is not None and len(call.args) > where.index:
        return call.args[where.index]
    return next((k.value for k in call.keywords if k.arg == where.keyword), None) if where.keyword else None


def _row(call: ast.Call, reader: _Reader) -> Api | None:
    name = reader.dotted(call.func) or ""
    api = FUNCTIONS.get(name) or FUNCTIONS.get(f"builtins.{name}")
    if api is not None or not isinstance(call.func, ast.Attribute):
        return api
    receiver = call.func.value
    if isinstance(receiver, ast.Name) and receiver.id in reader.modules:
        return None  # a module's function (tarfile.open), not a method of a path
    api = METHODS.get(call.func.attr)
    if api is not None and api.name in ("Path.rename", "Path.replace") and len(call.args) + len(call.keywords) != 1:
        return None  # str.replace(old, new) is not Path.replace(target)
    return api


def _changes(call: ast.Call, api: Api, reader: _Reader, shell: Callable[[str], None]
             ) -> Iterator[tuple[ast.AST | None, Kind, str]]:
    """(target expression, kind, how) for each file this call would change."""
    mode = _argument(call, api.mode) if api.mode else None
    how = shown(api)
    if api.mode_style == "command":
        text = reader.text(mode)
        if text is not None:
            shell(text)
        elif isinstance(mode, (ast.List, ast.Tuple)):
            words = [reader.text(element) for element in mode.elts]
            if None not in words:
                shell(shlex.join(words))
            else:
                yield None, Kind.WRITE, how
        elif mode is not None:
            yield None, Kind.WRITE, how
        return
    decided: Kind | None = None
    if api.mode_style == "mode":
        text = api.default if mode is None else reader.text(mode)
        decided = mode_kind(text) if text is not None else Kind.WRITE  # a mode we cannot read: a write
        how = shown(api, text if text is not None else "?")
    elif api.mode_style == "flags":
        names = reader.flag_names(mode)
        decided = flags_kind(names) if names is not None else Kind.WRITE
        how = shown(api, "|".join(sorted(n for n in names or () if n.startswith("O_"))))
    elif api.mode_style == "inplace":
        if not (isinstance(mode, ast.Constant) and mode.value):
            return
    for where, kind in api.changes:
        kind = kind or decided
        if kind is not None:
            yield _argument(call, where), kind, how


def python_effects(code: str, argv: list[str], shell: Callable[[str], None]) -> list[Effect]:
    """The Effects ``code`` would have (targets as written); ``shell(text)`` gets command lines it runs."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    reader = _Reader(tree)
    found: list[Effect] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        api = _row(node, reader)
        if api is None:
            continue
        for target, kind, how in _changes(node, api, reader, shell):
            path = reader.text(target)
            tree_wide = api.tree or kind is Kind.REMOVE_TREE
            if path is not None:
                found.append(Effect(path, kind, f"python: {how}", tree_wide))
            else:  # computed target: every literal and argument could be it
                found.extend(Effect(candidate, kind, f"python: {how} (computed path)", tree_wide)
                             for candidate in [*reader.literals, *argv] if candidate)
    return found
