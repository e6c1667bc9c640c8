"""The per-file walk: one libcst visitor that turns a module into a ModuleSummary.

It records every operation on a path (raw writes, renames, copies, deletes,
shell commands, statesafe calls), every call that may reach a function of the
audited tree, and what each name may hold, as symbolic values (values.py).
Scope is a stack of frames, so a nested ``def`` never resets its parent's state.
"""

from __future__ import annotations

import builtins
import re
import sys
from dataclasses import replace

import libcst as cst

from statesafe.auditor import fixshapes as fixes
from statesafe.auditor.summary import Call, FunctionSummary, ModuleSummary, Sink
from statesafe.auditor.values import (
    OPAQUE,
    UNKNOWN,
    Alternatives,
    ArgNamespace,
    ArgOption,
    Builtin,
    CallResult,
    ClassDefinition,
    Concat,
    Condition,
    Const,
    Cwd,
    Definition,
    DictComprehension,
    DictDisplay,
    Each,
    Flag,
    FunctionDefinition,
    GlobalName,
    Imported,
    Item,
    Join,
    Literal,
    Members,
    ModuleImport,
    Naming,
    Param,
    Parent,
    Record,
    SelfAttr,
    SequenceDisplay,
    Starred,
    Unknown,
    Value,
    WithName,
    WithSuffix,
)
from statesafe.effects import FUNCTIONS, METHODS, RECEIVER, Api, Kind, flags_kind, mode_kind, shown

#: Effect kind -> the auditor's action for a Python call that does it
ACTIONS = {Kind.WRITE: "write", Kind.TRUNCATE: "truncate", Kind.APPEND: "append", Kind.CREATE: "touch",
           Kind.DELETE: "delete", Kind.RENAME_FROM: "rename-away", Kind.RENAME_ONTO: "rename-onto",
           Kind.MOVE_ONTO: "rename-onto", Kind.COPY_ONTO: "copy-onto", Kind.REMOVE_TREE: "remove-tree"}
DUMP_FUNCS = {"json.dump", "pickle.dump", "yaml.dump", "yaml.safe_dump", "marshal.dump"}
SAME_PATH_FUNCS = {"builtins.str", "os.fspath", "os.path.abspath", "os.path.realpath", "os.path.normpath",
                   "os.path.expanduser", "os.path.expandvars", "pathlib.Path", "pathlib.PurePath",
                   "pathlib.PosixPath", "pathlib.PurePosixPath", "builtins.bytes", "os.fsencode",
                   "os.fsdecode"}
PATH_CLASSES = {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.PurePosixPath"}
EXISTS_FUNCS = {"os.path.exists", "os.path.isfile", "os.path.lexists"}
EXISTS_METHODS = {"exists", "is_file"}
SAME_PATH_METHODS = {"resolve", "absolute", "expanduser", "as_posix"}
#: calls whose result holds what their one argument holds (the order or container changes, not the paths)
PASS_THROUGH_FUNCS = {"builtins.sorted", "builtins.list", "builtins.tuple", "builtins.set", "builtins.reversed",
                      "builtins.iter", "builtins.frozenset"}
#: module functions listing a folder by a glob pattern
GLOB_FUNCS = {"glob.glob", "glob.iglob"}
ENV_FUNCS = {"os.environ.get", "os.getenv"}
ARGS_NAMES = {"args", "opts", "options", "ns", "namespace", "arguments", "cli_args", "parsed", "params"}
#: calls whose arguments are never paths we follow (keeps summaries small)
_STDLIB = frozenset(sys.stdlib_module_names)
_BUILTINS = frozenset(dir(builtins))


class _Frame:
    __slots__ = ("kind", "qualname", "summary", "env", "conditions", "order", "transactions", "handles",
                 "cls", "pending")

    def __init__(self, kind: str, qualname: str, summary: FunctionSummary | None, cls: str | None):
        self.kind = kind  # "module" | "function" | "class"
        self.qualname = qualname
        self.summary = summary
        self.env: dict[str, Value] = {}
        self.conditions: list[Condition | None] = []  # one entry per enclosing condition (None: none)
        self.order = 0
        self.transactions: list[str | None] = []  # names bound by `with statesafe.transaction() as tx`
        self.handles: dict[str, int] = {}  # file-handle name -> index of its open() sink
        #: open() sink index -> statement order of a write that left a record without its newline
        self.pending: dict[int, int] = {}
        self.cls = cls  # enclosing class qualname, for methods


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        if isinstance(value, bytes):
            return value.decode("latin-1")
        return value
    return None


class Extractor(cst.CSTVisitor):
    """Names are qualified from the import bindings it tracks itself (``import os as o``,
    ``from shutil import copyfile as cp``), scope by scope: libcst's QualifiedNameProvider
    gives the same answers at five times the cost of the whole walk. Positions are filled in
    afterwards (see engine.py): a sink or call records the ordinal of its Call node."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        module = FunctionSummary("<module>")
        self.result = ModuleSummary(path=path, functions={"<module>": module})
        self.frames = [_Frame("module", "<module>", module, None)]
        self.imports: list[str] = []
        self.classes: list[str] = []
        self.fix_hints: dict[int, str] = {}  # id(call node) -> the fix, from fixshapes.match_statement
        self.unsafe_withs: set[int] = set()  # fixable-looking with statements whose handle is read later
        self.opens: dict[int, int] = {}  # id(open call node) -> index of its sink in the frame
        self.unbuffered: set[tuple[str, int]] = set()  # (function, sink index) of opens with buffering=0
        self.call_nodes: list[cst.Call] = []  # every Call, in walk (source) order: positions map onto it
        self.ordinals: dict[int, int] = {}  # id(Call node) -> its index in call_nodes

    # --- helpers ---------------------------------------------------------------------------

    @property
    def frame(self) -> _Frame:
        return self.frames[-1]

    def binding(self, name: str) -> Value | None:
        """What ``name`` is bound to where it is used, innermost scope first (class bodies skipped)."""
        for frame in reversed(self.frames):
            if frame.kind == "class" and frame is not self.frame:
                continue
            if name in frame.env:
                return frame.env[name]
        return None

    def dotted(self, node: cst.BaseExpression) -> Naming | None:
        """What a name or attribute chain names, when rooted in an import, a module, a def or a builtin."""
        if isinstance(node, cst.Name):
            bound = self.binding(node.value)
            if bound is None:
                return Builtin(f"builtins.{node.value}") if node.value in _BUILTINS else None
            return bound if isinstance(bound, Naming) else None
        if isinstance(node, cst.Attribute):
            base = self.dotted(node.value)
            if isinstance(base, (Imported, ModuleImport)):
                return Imported(f"{base.dotted}.{node.attr.value}")
        return None

    def qualified(self, node: cst.CSTNode) -> set[str]:
        """Imported or builtin names only: a local ``os = Store()`` is not the os module."""
        found = self.dotted(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
        return {found.dotted} if found is not None and not isinstance(found, Definition) else set()

    def position(self, node: cst.CSTNode) -> tuple:
        return (self.ordinals[id(node)],)

    def conditions(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.frame.conditions if c is not None)

    def add_sink(self, node: cst.CSTNode, action: str, api: str, target: Value, **extra) -> int:
        frame = self.frame
        sink = Sink(action=action, api=api, target=target, position=self.position(node), order=frame.order,
                    conditional=self.conditions(), in_transaction=bool(frame.transactions),
                    fix=self.fix_hints.get(id(node)), **extra)
        frame.summary.sinks.append(sink)
        return len(frame.summary.sinks) - 1

    # --- values ----------------------------------------------------------------------------

    def lookup(self, name: str, node: cst.CSTNode) -> Value:
        for frame in reversed(self.frames):
            if frame.kind == "class" and frame is not self.frame:
                continue  # class bodies are not visible from methods
            if name in frame.env:
                value = frame.env[name]
                if frame.kind == "module" and self.frame.kind != "module" and not isinstance(value, Naming):
                    break  # a global read inside a function: its final value, resolved later
                return value
        if name == "__file__":
            return UNKNOWN
        return GlobalName(name) if self.frame.kind != "module" else UNKNOWN

    def value(self, node: cst.BaseExpression | None, depth: int = 0) -> Value:
        """What ``node`` may evaluate to, as a symbolic path value."""
        if node is None or depth > 40:
            return UNKNOWN
        text = _string(node)
        if text is not None:
            return Literal(text)
        d = depth + 1
        if isinstance(node, cst.Name):
            return self.lookup(node.value, node)
        if isinstance(node, cst.FormattedString):
            parts = []
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    parts.append(Literal(part.value))
                elif isinstance(part, cst.FormattedStringExpression) and part.format_spec is None:
                    parts.append(self.value(part.expression, d))
                else:
                    parts.append(UNKNOWN)
            return Concat(tuple(parts))
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Divide):
                return Join((self.value(node.left, d), self.value(node.right, d)))
            if isinstance(node.operator, cst.Add):
                return Concat((self.value(node.left, d), self.value(node.right, d)))
            return UNKNOWN
        if isinstance(node, cst.Attribute):
            return self.attribute_value(node, d)
        if isinstance(node, cst.Call):
            return self.call_value(node, d)
        if isinstance(node, cst.IfExp):
            return Alternatives((self.value(node.body, d), self.value(node.orelse, d)))
        if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or):
            return Alternatives((self.value(node.left, d), self.value(node.right, d)))
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            return SequenceDisplay(tuple(self.value(e.value, d) for e in node.elements
                                         if isinstance(e, cst.Element)))
        if isinstance(node, cst.Dict):
            items = []
            for e in node.elements:
                if isinstance(e, cst.DictElement):
                    items.append((_string(e.key), self.value(e.value, d)))
                else:
                    items.append((None, UNKNOWN))
            return DictDisplay(tuple(items))
        if (isinstance(node, cst.DictComp) and isinstance(node.for_in.target, cst.Name)
                and node.for_in.inner_for_in is None and not node.for_in.ifs):
            # {k: Path(out) / NAMES[k] for k in NAMES}: k stands for each element when the dict is read
            name, frame = node.for_in.target.value, self.frame
            iterable = self.value(node.for_in.iter, d)
            saved = frame.env.get(name)
            frame.env[name] = Param(frame.qualname, name)
            try:
                key, value = self.value(node.key, d), self.value(node.value, d)
            finally:
                if saved is None:
                    del frame.env[name]
                else:
                    frame.env[name] = saved
            return DictComprehension(frame.qualname, name, iterable, key, value)
        if isinstance(node, cst.Subscript) and len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index):
                key = _string(index.value)
                if key is None and isinstance(index.value, cst.Integer):
                    key = int(index.value.value, 0)
                if key is not None:
                    return Item(self.value(node.value, d), key)
                if isinstance(index.value, cst.Name):  # NAMES[k]: the key is a value, resolved later
                    key_value = self.value(index.value, d)
                    if not isinstance(key_value, Unknown):
                        return Item(self.value(node.value, d), key_value)
            return UNKNOWN
        if isinstance(node, (cst.Integer, cst.Float)):
            return Const(node.value)
        return UNKNOWN

    def attribute_value(self, node: cst.Attribute, d: int) -> Value:
        attr = node.attr.value
        receiver = node.value
        if attr == "parent":
            return Parent(self.value(receiver, d))
        if isinstance(receiver, cst.Name):
            if receiver.value == "self" and self.method_class():
                return SelfAttr(self.method_class(), attr)
            held = self.lookup(receiver.value, receiver)
            if isinstance(held, ClassDefinition):
                return SelfAttr(held.dotted, attr)  # a class attribute: Config.TRACKER
            if isinstance(held, ArgNamespace) or (
                    receiver.value in ARGS_NAMES and isinstance(held, (Param, GlobalName, Unknown, CallResult))):
                return ArgOption(attr)
        found = self.dotted(node)
        return found if isinstance(found, Imported) else UNKNOWN

    def literal(self, node: cst.BaseExpression) -> str | None:
        """A string the expression certainly holds here (a literal, or a constant assigned one)."""
        held = self.value(node)
        if isinstance(held, GlobalName):  # a global read in a function: its value so far will do for a mode
            held = self.frames[0].env.get(held.name, UNKNOWN)
        return held.text if isinstance(held, Literal) else None

    def method_class(self) -> str | None:
        return self.frame.cls

    def call_value(self, node: cst.Call, d: int) -> Value:
        names = self.qualified(node.func)
        args = [a for a in node.args if not a.star and a.keyword is None]
        if names & SAME_PATH_FUNCS:
            if len(args) == 1:
                return self.value(args[0].value, d)
            if names & PATH_CLASSES and args:
                return Join(tuple(self.value(a.value, d) for a in args))
            return Cwd() if names & PATH_CLASSES else UNKNOWN
        if "os.path.join" in names:
            return Join(tuple(self.value(a.value, d) for a in args)) if args else UNKNOWN
        if "os.path.dirname" in names and args:
            return Parent(self.value(args[0].value, d))
        if names & ENV_FUNCS and len(args) == 2:
            return self.value(args[1].value, d)
        if "builtins.vars" in names:
            return ArgNamespace()
        if names & PASS_THROUGH_FUNCS and len(args) == 1:
            return self.value(args[0].value, d)  # sorted(folder.glob("*.md")) holds what the listing holds
        if names & GLOB_FUNCS and args:
            pattern = _string(args[0].value)
            return SequenceDisplay((Literal(_as_unknown(pattern)),)) if pattern is not None else UNKNOWN
        if "os.listdir" in names or "os.scandir" in names:
            folder = self.value(args[0].value, d) if args else Cwd()
            return SequenceDisplay((Join((folder, Literal(UNKNOWN_PART))),))
        func = node.func
        if isinstance(func, cst.Attribute):
            attr = func.attr.value
            receiver = func.value
            if attr in SAME_PATH_METHODS and not args:
                return self.value(receiver, d)
            if attr == "with_name" and len(args) == 1:
                return WithName(self.value(receiver, d), self.value(args[0].value, d))
            if attr == "with_suffix" and len(args) == 1:
                return WithSuffix(self.value(receiver, d), self.value(args[0].value, d))
            if attr == "joinpath" and args:
                return Join((self.value(receiver, d), *(self.value(a.value, d) for a in args)))
            if attr in ("parse_args", "parse_known_args"):
                return ArgNamespace()
            if attr in ("keys", "values", "items") and not node.args:
                return Members(self.value(receiver, d), attr)
            if attr in ("glob", "rglob") and len(args) == 1 and _string(args[0].value) is not None:
                # each path a listing yields carries the pattern it came from: logs/*.md -> logs/<unknown>.md
                return SequenceDisplay((Join((self.value(receiver, d), Literal(_as_unknown(_string(args[0].value))))),))
            if attr == "iterdir" and not args:
                return SequenceDisplay((Join((self.value(receiver, d), Literal(UNKNOWN_PART))),))
            if attr in ("home", "cwd") and names & {f"{c}.{attr}" for c in PATH_CLASSES}:
                return Cwd()
            if attr == "format" and _string(receiver) is not None:
                return self.format_value(_string(receiver), [self.value(a.value, d) for a in args])
            if attr == "get" and len(args) == 2:  # dict.get(key, default)
                key = _string(args[0].value)
                base = self.value(receiver, d)
                if key is not None:
                    return Alternatives((Item(base, key), self.value(args[1].value, d)))
                return self.value(args[1].value, d)
        tree = self.tree_callees(node)
        if tree:
            return CallResult(tree, *self.call_args(node, d))
        return UNKNOWN

    @staticmethod
    def format_value(template: str, args: list[Value]) -> Value:
        parts: list[Value] = []
        rest = template
        index = 0
        while "{" in rest:
            before, _, after = rest.partition("{")
            field, sep, rest = after.partition("}")
            if not sep or (field and not field.isdigit()):
                return UNKNOWN
            parts.append(Literal(before))
            position = int(field) if field else index
            index += 1
            parts.append(args[position] if position < len(args) else UNKNOWN)
        parts.append(Literal(rest))
        return Concat(tuple(parts))

    def call_args(self, node: cst.Call, d: int = 0) -> tuple[tuple[Value, ...], tuple[tuple[str, Value], ...]]:
        positional = []
        keywords = []
        for a in node.args:
            if a.star:
                positional.append(Starred())
            elif a.keyword is not None:
                keywords.append((a.keyword.value, self.value(a.value, d)))
            else:
                positional.append(self.value(a.value, d))
        return tuple(positional), tuple(keywords)

    def tree_callees(self, node: cst.Call) -> tuple[str, ...]:
        """Names under which the callee may be a function (or class) of the audited tree."""
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
            cls = self.method_class()
            return (f"{cls}.{func.attr.value}",) if cls else ()
        if isinstance(func, cst.Name) and self.binding(func.value) is None:
            # not bound (yet): a def further down the module, unless it is a builtin
            return () if func.value in _BUILTINS else (func.value,)
        found = self.dotted(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
        if found is None or isinstance(found, Builtin):
            return ()
        if isinstance(found, (Imported, ModuleImport)) and found.dotted.split(".")[0] in _STDLIB:
            return ()  # the standard library is not part of the audited tree
        return (found.dotted,)

    def arg(self, node: cst.Call, index: int | None, *keywords: str) -> cst.BaseExpression | None:
        for a in node.args:
            if a.keyword is not None and a.keyword.value in keywords:
                return a.value
        positional = [a for a in node.args if a.keyword is None and not a.star]
        if index is not None and index < len(positional):
            return positional[index].value
        return None

    # --- scopes ----------------------------------------------------------------------------

    def visit_ClassDef_body(self, node: cst.ClassDef) -> None:
        qualname = self.child_name(node.name.value)
        self.classes.append(qualname)
        self.frame.env[node.name.value] = ClassDefinition(qualname)
        frame = _Frame("class", qualname, self.frame.summary, qualname)
        frame.conditions = list(self.frame.conditions)
        frame.transactions = list(self.frame.transactions)
        self.frames.append(frame)

    def leave_ClassDef_body(self, node: cst.ClassDef) -> None:
        frame = self.frames.pop()
        for name, value in frame.env.items():
            self.result.self_attrs.setdefault((frame.qualname, name), []).append((value, "<module>"))

    def child_name(self, name: str) -> str:
        frame = self.frame
        if frame.kind == "module":
            return name
        if frame.kind == "class":
            return f"{frame.qualname}.{name}"
        return f"{frame.qualname}.<locals>.{name}"

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        """Only the body runs in the function's frame: decorators and defaults ran where it was defined."""
        qualname = self.child_name(node.name.value)
        params = node.params
        all_params = [*params.posonly_params, *params.params, *params.kwonly_params]
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                all_params.append(star)
        summary = FunctionSummary(qualname, params=tuple(p.name.value for p in all_params))
        for p in all_params:
            if p.default is not None:
                summary.defaults[p.name.value] = self.value(p.default)
        self.result.functions[qualname] = summary
        self.frame.env[node.name.value] = FunctionDefinition(qualname)
        cls = self.frame.qualname if self.frame.kind == "class" else None
        frame = _Frame("function", qualname, summary, cls)
        for p in all_params:
            frame.env[p.name.value] = Param(qualname, p.name.value)
        self.frames.append(frame)

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.settle_pending(self.frames.pop())

    def settle_pending(self, frame: _Frame) -> None:
        """A record left without its newline when the scope ends: written in pieces after all."""
        for index in frame.pending:
            sink = frame.summary.sinks[index]
            frame.summary.sinks[index] = replace(sink, action="append-chunked")
        frame.pending.clear()

    # --- statements ------------------------------------------------------------------------

    def visit_SimpleStatementLine(self, node) -> None:
        self.frame.order += 1

    def visit_If(self, node: cst.If) -> None:
        self.frame.order += 1
        self.frame.conditions.append(self.condition(node.test))

    def leave_If(self, node: cst.If) -> None:
        self.frame.conditions.pop()

    def condition(self, test: cst.BaseExpression) -> Condition | None:
        """None for a test that does not make the block conditional (the target exists)."""
        if isinstance(test, cst.Call):
            names = self.qualified(test.func)
            if names & EXISTS_FUNCS:
                return None
            if isinstance(test.func, cst.Attribute) and test.func.attr.value in EXISTS_METHODS and not test.args:
                return None
        negated = False
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test, negated = test.expression, True
        held = self.value(test)
        if isinstance(held, ArgOption):
            return Flag(held.dest, negated)
        return OPAQUE

    def _enter_loop(self, node) -> None:
        self.frame.order += 1
        self.frame.conditions.append(OPAQUE)

    def _leave_loop(self, node) -> None:
        self.frame.conditions.pop()

    visit_While = _enter_loop
    leave_While = _leave_loop
    visit_Match = _enter_loop
    leave_Match = _leave_loop
    visit_ExceptHandler = _enter_loop
    leave_ExceptHandler = _leave_loop

    def visit_For(self, node: cst.For) -> None:
        self._enter_loop(node)
        element = Each(self.value(node.iter))
        if isinstance(node.target, cst.Name):
            self.assign(node.target, element)
        elif isinstance(node.target, (cst.Tuple, cst.List)):  # for key, path in paths.items(): by position
            for index, part in enumerate(node.target.elements):
                if isinstance(part, cst.Element):
                    self.assign(part.value, Item(element, index))

    leave_For = _leave_loop

    def visit_Try(self, node) -> None:
        self.frame.order += 1

    def visit_With(self, node: cst.With) -> None:
        self.frame.order += 1
        match = fixes.match_statement(node) if id(node) not in self.unsafe_withs else None
        if match:
            self.fix_hints[id(match.sink)] = match.description
        for item in node.items:
            call = item.item
            if isinstance(call, cst.Call) and "statesafe.transaction" in self.qualified(call.func):
                name = item.asname.name.value if item.asname and isinstance(item.asname.name, cst.Name) else None
                self.frame.transactions.append(name)

    def leave_With(self, node: cst.With) -> None:
        for item in node.items:
            call = item.item
            if isinstance(call, cst.Call) and "statesafe.transaction" in self.qualified(call.func):
                self.frame.transactions.pop()

    def leave_WithItem(self, node: cst.WithItem) -> None:
        if node.asname and isinstance(node.asname.name, cst.Name):
            self.bind_handle(node.asname.name.value, node.item)

    def visit_Module(self, node: cst.Module) -> None:
        self.unsafe_withs |= fixes.handles_read_later(node.body)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.unsafe_withs |= fixes.handles_read_later(node.body)

    def visit_Expr(self, node: cst.Expr) -> None:
        match = fixes.match_statement(node)
        if match:
            self.fix_hints[id(match.sink)] = match.description

    def bind_handle(self, name: str, value: cst.BaseExpression) -> None:
        index = self.opens.get(id(value)) if isinstance(value, cst.Call) else None
        if index is not None:
            self.frame.handles[name] = index
        else:
            self.frame.handles.pop(name, None)

    def leave_Return(self, node: cst.Return) -> None:
        if node.value is not None and self.frame.kind == "function":
            self.frame.summary.returns.append(self.value(node.value))

    def leave_Assign(self, node: cst.Assign) -> None:
        value = self.value(node.value)
        for target in node.targets:
            self.assign(target.target, value, node.value)

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.assign(node.target, self.value(node.value), node.value)

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name):
            old = self.lookup(node.target.value, node.target)
            new = self.value(node.value)
            if isinstance(node.operator, cst.AddAssign):
                self.assign(node.target, Concat((old, new)))
            elif isinstance(node.operator, cst.DivideAssign):
                self.assign(node.target, Join((old, new)))
            else:
                self.assign(node.target, UNKNOWN)

    def assign(self, target: cst.BaseExpression, value: Value, source: cst.BaseExpression | None = None) -> None:
        frame = self.frame
        if isinstance(target, cst.Name):
            name = target.value
            if frame.conditions and any(c is not None for c in frame.conditions) and name in frame.env:
                old = frame.env[name]
                value = old if old == value else Alternatives((old, value))
            if not _small(value):
                value = UNKNOWN  # `s = s + x` in branches and loops: the value would double each time
            frame.env[name] = value
            if source is not None:
                self.bind_handle(name, source)
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            if isinstance(value, SequenceDisplay) and len(value.items) == len(elements):
                for element, item in zip(elements, value.items):
                    self.assign(element, item)
            else:
                for element in elements:
                    self.assign(element, UNKNOWN)
        elif (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
              and target.value.value == "self" and self.method_class()):
            key = (self.method_class(), target.attr.value)
            self.result.self_attrs.setdefault(key, []).append((value, frame.qualname))

    # --- imports ---------------------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = cst.helpers.get_full_name_for_node(alias.name) or ""
            self.imports.append(dotted)
            if alias.asname and isinstance(alias.asname.name, cst.Name):
                self.frame.env[alias.asname.name.value] = ModuleImport(dotted)
            else:
                top = dotted.split(".")[0]
                self.frame.env[top] = ModuleImport(top)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = cst.helpers.get_full_name_for_node(node.module) if node.module else ""
        base = "." * len(node.relative) + (module or "")
        self.imports.append(base)
        if not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                name = alias.name.value
                self.imports.append(f"{base}.{name}" if not base.endswith(".") else f"{base}{name}")
                bound = alias.asname.name.value if alias.asname else name
                dotted = f"{base}.{name}" if not base.endswith(".") else f"{base}{name}"
                self.frame.env[bound] = Imported(dotted)

    # --- calls: the sinks ------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        self.ordinals[id(node)] = len(self.call_nodes)
        self.call_nodes.append(node)
        names = self.qualified(node.func)
        if names:
            if self.call_sink(node, names):
                return
        func = node.func
        if isinstance(func, cst.Attribute) and self.method_sink(node, func):
            return
        if isinstance(func, cst.Attribute) and func.attr.value in ("add_argument", "set_defaults"):
            self.argparse(node, func.attr.value)
            return
        callees = self.tree_callees(node)
        if callees:
            args, kwargs = self.call_args(node)
            is_method = isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) \
                and func.value.value == "self"
            self.frame.summary.calls.append(Call(
                callees=callees, args=args, kwargs=kwargs, position=self.position(node),
                order=self.frame.order, conditional=self.conditions(),
                in_transaction=bool(self.frame.transactions), method=is_method))

    def call_sink(self, node: cst.Call, names: set[str]) -> bool:
        if "os.fdopen" in names:
            return True  # a descriptor, not a path
        api = next((FUNCTIONS[name] for name in sorted(names) if name in FUNCTIONS), None)
        if api is not None:
            self.table_sinks(node, api)
            return True
        if names & DUMP_FUNCS:
            handle = self.arg(node, 1, "fp", "stream", "file")
            self.mark_handle(handle, "dump")
            return True
        if "statesafe.write" in names or "statesafe.append" in names:
            action = "statesafe-write" if "statesafe.write" in names else "statesafe-append"
            self.add_sink(node, action, action.replace("-", "."), self.value(self.arg(node, 0, "path")),
                          data=self.value(self.arg(node, 1, "data", "record")))
            return True
        return False

    def method_sink(self, node: cst.Call, func: cst.Attribute) -> bool:
        attr = func.attr.value
        receiver = func.value
        if isinstance(receiver, (cst.Name, cst.Attribute)):
            found = self.dotted(receiver)
            if isinstance(found, ModuleImport) or (isinstance(found, Imported)
                                                   and found.dotted.split(".")[0] in _STDLIB):
                return False  # a module function (os.replace, tarfile.open), not a path method
            if isinstance(receiver, cst.Name) and receiver.value in self.frame.transactions and attr == "write":
                self.add_sink(node, "tx-write", "tx.write", self.value(self.arg(node, 0, "path")),
                              data=self.value(self.arg(node, 1, "data")))
                return True
            if isinstance(receiver, cst.Name) and receiver.value in self.frame.handles and attr in (
                    "write", "writelines"):
                self.mark_handle(receiver, "write", self.arg(node, 0))
                return True
        api = METHODS.get(attr)
        if api is None:
            return False
        positional = [a for a in node.args if a.keyword is None and not a.star]
        takes_one = sum(1 for where, _ in api.changes if where.index == 0) + (
            api.source is not None and api.source.index == 0)
        if takes_one and (len(positional) != 1 or len(node.args) != 1):
            return False  # str.replace(old, new) is not Path.replace(target)
        if api.name == "Path.unlink" and positional:
            return False
        self.table_sinks(node, api)
        return True

    def table_sinks(self, node: cst.Call, api: Api) -> None:
        """The sinks of one call of a row of the effects table (statesafe.effects)."""
        decided, mode_text = None, None
        if api.mode_style == "command":
            self.add_sink(node, "shell", api.name, self.value(self.table_arg(node, api.mode)))
            return
        if api.mode_style == "mode":
            mode = self.table_arg(node, api.mode)
            mode_text = api.default if mode is None else self.literal(mode)
            if mode_text is None:  # the mode is a value: judged by what it can be, once resolved
                mode_value = self.value(mode)
                if not isinstance(mode_value, Unknown):
                    target = self.table_arg(node, api.changes[0][0])
                    index = self.add_sink(node, "open", shown(api, "<mode>"), self.value(target), mode=mode_value)
                    self.opens[id(node)] = index
                return
            decided = mode_kind(mode_text)
            if decided is None:
                return  # a read
        elif api.mode_style == "flags":
            flags = self.flags(self.table_arg(node, api.mode))
            decided = flags_kind(flags) if flags is not None else None
            if decided is None:
                return
            mode_text = "|".join(sorted(flags))
        elif api.mode_style == "inplace":
            inplace = self.table_arg(node, api.mode)
            if not (isinstance(inplace, cst.Name) and inplace.value == "True"):
                return
        targets = []
        for where, kind in api.changes:
            target = self.table_arg(node, where)
            if target is None:
                return  # logging.basicConfig() without a file name: it logs to stderr
            targets.append((target, kind or decided))
        source = self.value(self.table_arg(node, api.source)) if api.source else None
        onto = next((self.value(t) for t, kind in targets if kind is not Kind.RENAME_FROM), None)
        data = self.value(self.arg(node, 0, "data")) if api.name in ("Path.write_text", "Path.write_bytes") \
            else None
        for target, kind in targets:
            value = self.value(target)
            if api.mode_style == "inplace" and not isinstance(value, Literal):
                value = Each(value)  # fileinput.input(files): a list of files, or one
            other = onto if kind is Kind.RENAME_FROM else source
            index = self.add_sink(node, ACTIONS[kind], shown(api, mode_text), value, other=other, data=data)
            if api.event == "open" and api.mode_style == "mode" and not api.name.startswith("logging"):
                self.opens[id(node)] = index
                buffering = self.arg(node, 2 if api.method is None else 1, "buffering")
                if isinstance(buffering, cst.Integer) and buffering.value == "0":
                    self.unbuffered.add((self.frame.qualname, index))  # each write() is its own system call

    def table_arg(self, node: cst.Call, where) -> cst.BaseExpression | None:
        if where.index == RECEIVER:
            return node.func.value if isinstance(node.func, cst.Attribute) else None
        return self.arg(node, where.index, *([where.keyword] if where.keyword else []))

    def mark_handle(self, handle: cst.BaseExpression | None, how: str, written=None) -> None:
        """json.dump / .write into a handle opened for append: is the record one whole line?"""
        if isinstance(handle, cst.Call):
            index = self.opens.get(id(handle))
        elif isinstance(handle, cst.Name):
            index = self.frame.handles.get(handle.value)
        else:
            return
        if index is None:
            return
        frame = self.frame
        sinks = frame.summary.sinks
        sink = sinks[index]
        if sink.action != "append":
            return
        started = frame.pending.pop(index, None)
        if started is not None:
            # the write right after one that left the record open, on a buffered handle, ending the
            # line: fh.write(json.dumps(r)); fh.write("\n") is one line in practice
            if (started == frame.order - 1 and (frame.qualname, index) not in self.unbuffered and written is not None
                    and (_string(written) or "").endswith("\n")):
                return
            sinks[index] = replace(sink, action="append-chunked")
            return
        if how == "dump":
            sinks[index] = replace(sink, action="append-chunked")
        elif written is not None and not _one_line(written):
            frame.pending[index] = frame.order  # one line only if the next statement ends it

    def flags(self, node: cst.BaseExpression | None) -> set[str] | None:
        if node is None:
            return None
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            left, right = self.flags(node.left), self.flags(node.right)
            return None if left is None or right is None else left | right
        if isinstance(node, (cst.Attribute, cst.Name)):
            name = node.attr.value if isinstance(node, cst.Attribute) else node.value
            return {name} if name.startswith("O_") else None
        return None

    def argparse(self, node: cst.Call, kind: str) -> None:
        entries = self.result.argparse
        if kind == "set_defaults":
            for a in node.args:
                if a.keyword is not None:
                    entries.setdefault(a.keyword.value, []).append((self.value(a.value), self.frame.qualname))
            return
        names = [_string(a.value) for a in node.args if a.keyword is None and not a.star]
        names = [n for n in names if n]
        dest_node = self.arg(node, None, "dest")
        dest = _string(dest_node) if dest_node is not None else None
        if dest is None:
            longs = [n for n in names if n.startswith("--")]
            dest = (longs[0] if longs else names[0] if names else "").lstrip("-").replace("-", "_")
        if not dest:
            return
        default = self.arg(node, None, "default")
        action = _string(self.arg(node, None, "action")) if self.arg(node, None, "action") is not None else None
        if default is not None:
            value = self.value(default)
            if isinstance(default, cst.Name) and default.value in ("True", "False", "None"):
                value = Const(default.value == "True")
        elif action == "store_true":
            value = Const(False)
        elif action == "store_false":
            value = Const(True)
        else:
            value = Const(None)
        entries.setdefault(dest, []).append((value, self.frame.qualname))

    # --- the end ---------------------------------------------------------------------------

    def leave_Module(self, node: cst.Module) -> None:
        self.settle_pending(self.frames[0])
        self.result.globals = dict(self.frames[0].env)
        self.result.imports = tuple(dict.fromkeys(self.imports))
        self.result.classes = tuple(self.classes)


#: a run of characters not known statically, inside a literal text (resolve.py reads it the same way)
UNKNOWN_PART = "\x00"


def _as_unknown(pattern: str) -> str:
    """A glob as a text known in part: each wildcard run becomes one unknown run."""
    return re.sub(r"(\*\*/?|\*|\?|\[[^\]]*\])+", UNKNOWN_PART, pattern)


def _small(value: Value, limit: int = 96) -> bool:
    """Whether a value has at most ``limit`` parts (values share subtrees, so count with a budget)."""
    budget = [limit]

    def walk(v) -> bool:  # a value, or a tuple of them (parts, items, (key, value) pairs)
        budget[0] -= 1
        if budget[0] < 0:
            return False
        return all(walk(x) for x in (v.fields() if isinstance(v, Record) else v) if isinstance(x, tuple))

    return walk(value)


def _one_line(node: cst.BaseExpression) -> bool:
    """Whether a .write() argument is visibly one record ending in a newline (or cannot be told)."""
    text = _string(node)
    if text is not None:
        return text.endswith("\n")
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _one_line(node.right)
    if isinstance(node, cst.FormattedString):
        last = node.parts[-1] if node.parts else None
        return isinstance(last, cst.FormattedStringText) and last.value.endswith("\\n")
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in ("dumps",):
        return False  # json.dumps(record) alone: no newline, the record runs into the next one
    return True
