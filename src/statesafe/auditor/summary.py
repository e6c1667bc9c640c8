"""What the per-file phase hands the cross-module phase: plain, picklable records.

A summary crosses a process pool and lands in a cache, so it holds no libcst
nodes: dataclasses, strings, and symbolic values (values.py) standing for what
a path may be, resolved later, once every module of the audited tree is known.
Positions are libcst's: 1-based lines, 0-based columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from statesafe.auditor.values import UNKNOWN, Condition, Value

__all__ = ["UNKNOWN", "Call", "FunctionSummary", "ModuleSummary", "Position", "Sink", "Value"]

Position = tuple  # (line, column, end_line, end_column): libcst's, 1-based lines, 0-based columns


@dataclass(frozen=True, slots=True)
class Sink:
    """One operation on a path that may be a policy file (a raw write, a compliant call, a copy)."""

    action: str  # what it does to ``target``: the actions listed in engine.py
    api: str  # how the source spells it, for messages: "open(..., 'w')", "Path.write_text"
    target: Value
    position: Position
    order: int  # statement order within the function, for "backed up before replaced"
    #: conditions guarding it within its function, outermost first: () always runs
    conditional: tuple[Condition, ...] = ()
    in_transaction: bool = False
    other: Value | None = None  # rename/copy: the other path (source of a rename onto target)
    data: Value | None = None  # statesafe.write: the content, when visible (compiled fields)
    fix: str | None = None  # the safe rewrite --fix would make, described
    #: action "open": the open() mode as a value (a variable, a parameter, a conditional), resolved
    #: with the target; each mode it can be decides the action (write, append, or none for a read)
    mode: Value | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """A call to something that may be a function of the audited tree."""

    callees: tuple[str, ...]  # qualified names as libcst sees them ("helpers.save", ".io.save", "save")
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    position: Position
    order: int
    conditional: tuple[Condition, ...] = ()
    in_transaction: bool = False
    method: bool = False  # self.method(...) / Class(...): the callee's first parameter is bound


@dataclass(slots=True)
class FunctionSummary:
    """What one function (or a module's top-level code) does with paths."""

    qualname: str  # "<module>" for module-level code
    params: tuple[str, ...] = ()
    defaults: dict[str, Value] = field(default_factory=dict)
    sinks: list[Sink] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    returns: list[Value] = field(default_factory=list)


@dataclass(slots=True)
class ModuleSummary:
    """One file: a Python module, a manifest, or a file that could not be analysed (its findings)."""

    path: str  # posix, as given to summarize()
    kind: str = "python"  # "python" | "manifest" | "skipped"
    module: str = ""  # dotted name guessed from the path ("scripts.helpers")
    imports: tuple[str, ...] = ()  # dotted names imported (leading dots for relative imports)
    #: module-level names: their final values, or what they name (Naming: imports, defs, classes)
    globals: dict[str, Value] = field(default_factory=dict)
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    classes: tuple[str, ...] = ()  # qualified class names defined here
    #: (class, attribute) -> (value assigned, qualname of the function assigning it)
    self_attrs: dict[tuple[str, str], list[tuple[Value, str]]] = field(default_factory=dict)
    argparse: dict[str, list[tuple[Value, str]]] = field(default_factory=dict)  # dest -> (default, func)
    findings: list = field(default_factory=list)  # direct findings: FS6xx, FS9xx
