"""What the per-file phase hands the cross-module phase: plain, picklable records.

A summary crosses a process pool and lands in a cache, so it holds no libcst
nodes, only tuples. Values a path can take are kept *symbolic* (``Value``) and
resolved later, once every module of the audited tree is known:

    ("lit", text)                  a string known exactly
    ("unk",)                       anything we cannot see
    ("param", func, name)          a parameter of ``func`` in this module
    ("name", name)                 a module-level name of this module (its final value)
    ("imp", dotted)                a name imported from another module ("config.TRACKER", ".paths.LOG")
    ("join", (v, ...))             a path join: os.path.join, Path(a, b), a / b, joinpath
    ("cat", (v, ...))              a concatenation: +, f-strings, str.format
    ("parent", v)                  dirname / .parent
    ("with_name", v, name_v)       Path.with_name
    ("with_suffix", v, suffix_v)   Path.with_suffix
    ("alts", (v, ...))             one of several values (branches, ``a or b``, reassignment)
    ("arg", dest)                  an argparse option's value (its default)
    ("attr", cls, name)            ``self.name`` in a method of class ``cls``
    ("call", callees, args, kwargs) the return value of a call to a function of the tree
    ("seq", (v, ...))              a tuple or list display
    ("dict", ((key, v), ...))      a dict display (key None: not a literal, or ``**``)
    ("each", v)                    an element of an iterable value (a ``for`` target)
    ("item", v, key)               ``v[key]`` with a literal key
    ("const", x)                   a number or bool (argparse flag defaults)
    ("cwd",)                       Path(), Path.cwd(), Path.home(): a directory we cannot name
    ("argns",)                     an argparse namespace (``parser.parse_args()``)
    ("mod", dotted) / ("def", q)   a name bound to a module / to a def or class of this module
"""

from __future__ import annotations

from dataclasses import dataclass, field

Value = tuple
UNKNOWN: Value = ("unk",)

Position = tuple  # (line, column, end_line, end_column): libcst's, 1-based lines, 0-based columns


@dataclass(frozen=True, slots=True)
class Sink:
    """One operation on a path that may be a policy file (a raw write, a compliant call, a copy)."""

    action: str  # see engine.ACTIONS
    api: str  # how the source spells it, for messages: "open(..., 'w')", "Path.write_text"
    target: Value
    position: Position
    order: int  # statement order within the function, for "backed up before replaced"
    #: conditions guarding it within its function: () always runs; ("flag", dest, negated) an argparse
    #: option; ("opaque",) anything else (a loop, an except branch, an if we cannot read)
    conditional: tuple = ()
    in_transaction: bool = False
    other: Value | None = None  # rename/copy: the other path (source of a rename onto target)
    data: Value | None = None  # statesafe.write: the content, when visible (compiled fields)
    fix: str | None = None  # the safe rewrite --fix would make, described


@dataclass(frozen=True, slots=True)
class Call:
    """A call to something that may be a function of the audited tree."""

    callees: tuple[str, ...]  # qualified names as libcst sees them ("helpers.save", ".io.save", "save")
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    position: Position
    order: int
    conditional: tuple = ()
    in_transaction: bool = False
    method: bool = False  # self.method(...) / Class(...): the callee's first parameter is bound


@dataclass(slots=True)
class FunctionSummary:
    qualname: str  # "<module>" for module-level code
    params: tuple[str, ...] = ()
    defaults: dict[str, Value] = field(default_factory=dict)
    sinks: list[Sink] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    returns: list[Value] = field(default_factory=list)


@dataclass(slots=True)
class ModuleSummary:
    path: str  # posix, as given to summarize()
    kind: str = "python"  # "python" | "manifest" | "skipped"
    module: str = ""  # dotted name guessed from the path ("scripts.helpers")
    imports: tuple[str, ...] = ()  # dotted names imported (leading dots for relative imports)
    globals: dict[str, Value] = field(default_factory=dict)  # module-level names, final values
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    classes: tuple[str, ...] = ()  # qualified class names defined here
    self_attrs: dict[tuple[str, str], list[tuple[Value, str]]] = field(default_factory=dict)
    argparse: dict[str, list[tuple[Value, str]]] = field(default_factory=dict)  # dest -> (default, func)
    findings: list = field(default_factory=list)  # direct findings: FS6xx, FS9xx
