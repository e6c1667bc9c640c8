"""Symbolic values: what an expression of the audited code may hold, as the per-file phase records it.

The extractor (extract.py) cannot know what a path will be when it meets it:
``open(os.path.join(args.dir, TRACKER), "w")`` depends on an argparse default,
an imported constant and a join. It records the expression as a value of the
classes below, one class per kind, and the cross-module phase (resolve.py)
resolves it into candidate texts once every module of the audited tree is
known. The same classes name what a scope binds (``import os``, ``def save``),
and the conditions a sink runs under.

Each class is an immutable record, pyflakes' bindings being the model: one
class per kind, fields by name (``Param("save", "path").name``), dispatch by
type (``isinstance`` or ``match``). A value is hashable and compares equal only
to a value of the same class with equal fields, so ``Literal("a") !=
Imported("a")``; it pickles (summaries cross a process pool and land in the
on-disk cache). Underneath, a value is a tuple whose first item is its class
(``Literal("a")`` is ``(Literal, "a")``), so hashing and comparing run at
tuple speed, which the resolver's memo keys need; use the fields, not indexes.

The kinds, grouped as the resolver treats them:

* known outright: ``Literal(text)``, ``Const(value)`` (a number, bool or None:
  argparse flag defaults), and ``Unknown()``, ``Cwd()`` (``Path()``,
  ``Path.cwd()``, ``Path.home()``: a directory we cannot name),
  ``ArgNamespace()`` (``parser.parse_args()``), ``Starred()`` (``*args`` in a
  call: the positions after it are unknown);
* references, resolved through the summaries (``Reference``): ``Param(func,
  name)``, ``GlobalName(name)`` (a module-level name of this module, at its
  final value), ``Imported(dotted)``, ``ArgOption(dest)`` (``args.dest``: the
  option's default), ``SelfAttr(cls, name)`` (``self.name`` in a method of
  ``cls``, or a class attribute), ``CallResult(callees, args, kwargs)`` (what a
  function of the tree returns, called with these arguments);
* text and path operations (``PathOperation``): ``Join(parts)``
  (``os.path.join``, ``Path(a, b)``, ``a / b``, ``joinpath``),
  ``Concat(parts)`` (``+``, f-strings, ``str.format``), ``Parent(value)``,
  ``WithName(value, name)``, ``WithSuffix(value, suffix)``;
* ``Alternatives(values)``: one of several (branches, ``a or b``,
  reassignment under a condition);
* structures (``Structure``): ``SequenceDisplay(items)`` (a tuple or list
  display), ``DictDisplay(items)`` (``((key, value), ...)``, key None when not a
  literal or for ``**``), and the reads of them ``Each(value)`` (a ``for``
  target), ``Members(value, part)`` (a dict's ``keys()``, ``values()`` or
  ``items()``) and ``Item(value, key)`` (``value[key]``, a literal key);
* naming bindings (``Naming``), what a name is bound to rather than a value it
  holds: ``Imported(dotted)`` (``from config import TRACKER``; also a value
  reference), ``ModuleImport(dotted)`` (``import os.path`` binds ``os``),
  ``FunctionDefinition(dotted)`` / ``ClassDefinition(dotted)`` (a ``def`` or
  ``class`` of this module, by qualified name), ``Builtin(dotted)``.

Conditions (``Sink.conditional``, ``Call.conditional``): ``Flag(dest,
negated)`` (under ``if args.dest:`` / ``if not args.dest:``) and ``Opaque()``
(a loop, an except branch, an ``if`` we cannot read).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, ClassVar

__all__ = [
    "UNKNOWN", "OPAQUE", "Record", "Value", "Literal", "Const", "Unknown", "Cwd", "ArgNamespace", "Starred",
    "Reference", "Param", "GlobalName", "Imported", "ArgOption", "SelfAttr", "CallResult", "PathOperation",
    "Join", "Concat", "Parent", "WithName", "WithSuffix", "Alternatives", "Structure", "SequenceDisplay",
    "DictDisplay", "DictComprehension", "Each", "Members", "Item", "Naming", "ModuleImport", "Definition", "FunctionDefinition",
    "ClassDefinition", "Builtin", "Condition", "Flag", "Opaque",
]


class Record(tuple):
    """An immutable, hashable, picklable record whose equality includes its class.

    A subclass names its fields: ``class Param(Value, fields="func name")``. A
    class without ``fields`` is abstract (a group of kinds).
    """

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]] = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, fields: str | None = None, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if fields is None:
            def __new__(cls, *args):
                raise TypeError(f"{cls.__name__} is a group of kinds, not a kind")
            cls.__new__ = __new__
            return
        names = tuple(fields.split())
        cls.FIELDS = cls.__match_args__ = names
        for index, name in enumerate(names, 1):
            setattr(cls, name, property(itemgetter(index), doc=f"field {name!r}"))
        arguments = ", ".join(names)
        namespace: dict = {"_new": tuple.__new__}
        exec(f"def __new__(_cls{', ' if names else ''}{arguments}):\n"
             f"    return _new(_cls, (_cls, {arguments}))\n", namespace)
        namespace["__new__"].__qualname__ = f"{cls.__qualname__}.__new__"
        cls.__new__ = namespace["__new__"]

    def __getnewargs__(self) -> tuple:
        return self[1:]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self[1:]))})"

    def fields(self) -> tuple:
        """The field values, in order."""
        return self[1:]


class Value(Record):
    """What an expression may evaluate to (or, for Naming, what a name is bound to)."""

    __slots__ = ()


# --- known outright --------------------------------------------------------------------------

class Literal(Value, fields="text"):
    """A string known exactly."""

    __slots__ = ()
    text: str


class Const(Value, fields="value"):
    """A number, bool or None (argparse flag defaults; the source text of a number literal)."""

    __slots__ = ()
    value: Any


class Unknown(Value, fields=""):
    """Anything we cannot see."""

    __slots__ = ()


class Cwd(Value, fields=""):
    """``Path()``, ``Path.cwd()``, ``Path.home()``: a directory we cannot name."""

    __slots__ = ()


class ArgNamespace(Value, fields=""):
    """An argparse namespace: ``parser.parse_args()``, ``vars(...)``."""

    __slots__ = ()


class Starred(Value, fields=""):
    """``*args`` among a call's arguments: the positions from it on are unknown."""

    __slots__ = ()


# --- references: resolved through the summaries ----------------------------------------------

class Reference(Value):
    """A value another part of the audited tree decides."""

    __slots__ = ()


class Param(Reference, fields="func name"):
    """Parameter ``name`` of function ``func`` (qualified name) of this module."""

    __slots__ = ()
    func: str
    name: str


class GlobalName(Reference, fields="name"):
    """A module-level name of this module read inside a function: its final value."""

    __slots__ = ()
    name: str


class ArgOption(Reference, fields="dest"):
    """``args.dest``: an argparse option's value (its default)."""

    __slots__ = ()
    dest: str


class SelfAttr(Reference, fields="cls name"):
    """``self.name`` in a method of class ``cls``, or ``cls.name`` (a class attribute)."""

    __slots__ = ()
    cls: str
    name: str


class CallResult(Reference, fields="callees args kwargs"):
    """The return value of a call to a function of the tree.

    ``callees``: the names it may be (as Call.callees); ``args``: positional
    values; ``kwargs``: ``((name, value), ...)``.
    """

    __slots__ = ()
    callees: tuple[str, ...]
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]


# --- text and path operations ----------------------------------------------------------------

class PathOperation(Value):
    """A text or path built from other values."""

    __slots__ = ()


class Join(PathOperation, fields="parts"):
    """A path join: ``os.path.join``, ``Path(a, b)``, ``a / b``, ``joinpath``."""

    __slots__ = ()
    parts: tuple[Value, ...]


class Concat(PathOperation, fields="parts"):
    """A concatenation: ``+``, f-strings, ``str.format``."""

    __slots__ = ()
    parts: tuple[Value, ...]


class Parent(PathOperation, fields="value"):
    """``os.path.dirname`` / ``.parent``."""

    __slots__ = ()
    value: Value


class WithName(PathOperation, fields="value name"):
    """``Path.with_name``."""

    __slots__ = ()
    value: Value
    name: Value


class WithSuffix(PathOperation, fields="value suffix"):
    """``Path.with_suffix``."""

    __slots__ = ()
    value: Value
    suffix: Value


class Alternatives(Value, fields="values"):
    """One of several values: branches, ``a or b``, reassignment under a condition."""

    __slots__ = ()
    values: tuple[Value, ...]


# --- structures ------------------------------------------------------------------------------

class Structure(Value):
    """A container display, or an element read out of one."""

    __slots__ = ()


class SequenceDisplay(Structure, fields="items"):
    """A tuple, list or set display."""

    __slots__ = ()
    items: tuple[Value, ...]


class DictDisplay(Structure, fields="items"):
    """A dict display: ``((key, value), ...)``, key None when not a string literal (or for ``**``)."""

    __slots__ = ()
    items: tuple[tuple[str | None, Value], ...]


class Each(Structure, fields="value"):
    """An element of an iterable value (a ``for`` target; ``fileinput.input(files)``)."""

    __slots__ = ()
    value: Value


class DictComprehension(Structure, fields="func target iterable key value"):
    """``{key: value for target in iterable}``: ``key`` and ``value`` refer to the loop variable as
    ``Param(func, target)``, bound to each element of ``iterable`` when the dict is read."""

    __slots__ = ()
    func: str
    target: str
    iterable: Value
    key: Value
    value: Value


class Members(Structure, fields="value part"):
    """A dict's ``keys()``, ``values()`` or ``items()`` (``part``), as a sequence to iterate over."""

    __slots__ = ()
    value: Value
    part: str


class Item(Structure, fields="value key"):
    """``value[key]`` with a literal key (a string or an int)."""

    __slots__ = ()
    value: Value
    key: str | int


# --- naming bindings ---------------------------------------------------------------------------

class Naming(Value):
    """What a name is bound to when it names something: an import, a module, a def or class."""

    __slots__ = ()
    dotted: str


class Imported(Naming, Reference, fields="dotted"):
    """A name imported from another module: ``from config import TRACKER`` -> "config.TRACKER",
    ``from .paths import LOG`` -> ".paths.LOG", and attributes of imported modules ("os.path.join")."""

    __slots__ = ()


class ModuleImport(Naming, fields="dotted"):
    """A name bound to a module: ``import os`` binds ``os`` to "os"."""

    __slots__ = ()


class Definition(Naming):
    """A name bound by ``def`` or ``class`` in this module; ``dotted`` is its qualified name."""

    __slots__ = ()


class FunctionDefinition(Definition, fields="dotted"):
    __slots__ = ()


class ClassDefinition(Definition, fields="dotted"):
    __slots__ = ()


class Builtin(Naming, fields="dotted"):
    """A builtin, as "builtins.open" (never bound in a scope: what an unbound name may be)."""

    __slots__ = ()


# --- conditions ------------------------------------------------------------------------------

class Condition(Record):
    """What a sink or call runs under, within its function."""

    __slots__ = ()


class Flag(Condition, fields="dest negated"):
    """``if args.dest:`` (``negated``: ``if not args.dest:``)."""

    __slots__ = ()
    dest: str
    negated: bool


class Opaque(Condition, fields=""):
    """Anything else: a loop, an except branch, an ``if`` we cannot read."""

    __slots__ = ()


UNKNOWN = Unknown()
OPAQUE = Opaque()
