"""The cross-module phase's resolver: what the symbolic values of the summaries may be, as texts.

A Resolver sees every summary of the audited tree. It follows a value
(values.py, dispatched on its class) through constants, imports, argparse
defaults, ``self`` attributes, return values and the visible call sites of a
parameter, and answers with candidate texts, each with the call site
("path:line") that supplied it when it came through a parameter. Unknown parts
of a text are ``\\x00`` (so ``…/threads_daily_tracker.json`` still classifies
by its name), a parameter kept symbolic is ``\\x01name\\x01`` (never a policy
file). It also finds callees and callers, binds arguments to parameters, and
tells whether code under some conditions always runs. Classification goes
through the policy only (``Policy.classify_name``, and ``classify_tree`` for a
folder removed whole). What is reported is the engine's and the rules' business.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections import defaultdict
from collections.abc import Sequence

from statesafe.auditor import shell
from statesafe.auditor.files import module_parts, nearest_module
from statesafe.auditor.summary import Call, FunctionSummary, ModuleSummary, Sink
from statesafe.auditor.values import (
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
    Param,
    Record,
    Parent,
    SelfAttr,
    SequenceDisplay,
    Starred,
    Unknown,
    Value,
    WithName,
    WithSuffix,
)
from statesafe.effects import Kind, mode_kind
from statesafe.policy import FileClass, Policy

UNKNOWN_TEXT = "\x00"
MAX_TEXTS = 24  # candidates kept per value: enough for real scripts, bounded for generated ones
MAX_DEPTH = 12

Texts = tuple  # tuple[tuple[str, str | None], ...]: (text, via)
_UNKNOWN: Texts = ((UNKNOWN_TEXT, None),)
#: kinds of value that never stand for a text we could name (containers, numbers, namespaces, names
#: of modules and definitions)
_NO_TEXT = frozenset({Unknown, ArgNamespace, Const, Cwd, SequenceDisplay, DictDisplay, Starred, ModuleImport,
                      FunctionDefinition, ClassDefinition, Builtin})


_SYMBOL = re.compile("\x01([^\x01]*)\x01")


def display(text: str) -> str:
    """A candidate text for messages: unknown parts as "…", a parameter as {name}."""
    return _SYMBOL.sub(r"{\1}", text.replace(UNKNOWN_TEXT, "…"))


def _join(texts: list[str]) -> str:
    out = ""
    for text in texts:
        if not text or text == ".":
            continue
        if text.startswith("/") or not out:
            out = text
        else:
            out = out.rstrip("/") + "/" + text
    return out or "."


def _parent(text: str) -> str:
    text = text.rstrip("/")
    if "/" not in text:
        return UNKNOWN_TEXT if UNKNOWN_TEXT in text else "."
    return text.rsplit("/", 1)[0] or "/"


def _with_suffix(text: str, suffix: str) -> str:
    head, _, last = text.rpartition("/")
    stem = last.rsplit(".", 1)[0] if "." in last[1:] else last
    return (head + "/" if head else "") + stem + suffix


def is_resolved(text: str) -> bool:
    last = text.rstrip("/").rsplit("/", 1)[-1]
    return bool(last) and UNKNOWN_TEXT not in last and "\x01" not in last


def _reach(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


class Resolver:
    def __init__(self, summaries: Sequence[ModuleSummary], policy: Policy):
        self.policy = policy
        self.modules = [s for s in summaries if s.kind == "python"]
        self.by_path = {s.path: s for s in self.modules}
        self.by_suffix: dict[str, list[ModuleSummary]] = defaultdict(list)
        for s in self.modules:
            parts = module_parts(s.path)
            for i in range(len(parts)):
                self.by_suffix[".".join(parts[i:])].append(s)
        self.argparse: dict[str, list[tuple[ModuleSummary, Value, str]]] = defaultdict(list)
        for s in self.modules:
            for dest, entries in s.argparse.items():
                self.argparse[dest].extend((s, value, func) for value, func in entries)
        self._memo: dict = {}
        self._active: set = set()
        self._callers: dict | None = None
        self._module_cache: dict = {}
        self._imported: dict[str, set[str]] | None = None
        self._related: dict[str, frozenset[str]] = {}

    # --- modules and functions ------------------------------------------------------------

    def find_module(self, dotted: str, importer: ModuleSummary) -> ModuleSummary | None:
        key = (dotted, importer.path)
        if key in self._module_cache:
            return self._module_cache[key]
        found = None
        if dotted.startswith("."):
            level = len(dotted) - len(dotted.lstrip("."))
            rest = dotted[level:]
            base = posixpath.dirname(importer.path)
            for _ in range(level - 1):
                base = posixpath.dirname(base)
            stem = posixpath.join(base, *rest.split(".")) if rest else base
            found = self.by_path.get(stem + ".py") or self.by_path.get(posixpath.join(stem, "__init__.py"))
        else:  # where Python would look from the importer first, else the nearest by folder
            near = nearest_module(importer.path, dotted.split("."), self.by_path.__contains__)
            candidates = [self.by_path[near]] if near is not None else self.by_suffix.get(dotted, [])
            if candidates:
                here = importer.path.split("/")
                found = max(candidates, key=lambda s: (_common(here, s.path.split("/")), -len(s.path)))
        self._module_cache[key] = found
        return found

    def split_import(self, dotted: str, importer: ModuleSummary) -> tuple[ModuleSummary | None, list[str]]:
        """The module of the tree a dotted name lives in, and the attribute chain after it."""
        level = len(dotted) - len(dotted.lstrip("."))
        parts = dotted[level:].split(".") if dotted[level:] else []
        for i in range(len(parts), -1, -1):
            if i == 0 and not level:
                break
            module = self.find_module("." * level + ".".join(parts[:i]), importer)
            if module is not None:
                return module, parts[i:]
        return None, parts

    def related(self, mod: ModuleSummary) -> frozenset[str]:
        """Paths of the modules an ``args`` namespace can come to ``mod`` from: those sharing an
        importer with it (itself included), i.e. every module some program that loads ``mod``
        also loads. The runner's prefilter follows the same edges (up to the importers, then down)."""
        if self._imported is None:
            self._imported = {s.path: {m.path for name in s.imports if (m := self.split_import(name, s)[0])}
                              for s in self.modules}
            self._importers: dict[str, set[str]] = defaultdict(set)
            for path, targets in self._imported.items():
                for target in targets:
                    self._importers[target].add(path)
        found = self._related.get(mod.path)
        if found is None:
            up = _reach({mod.path}, self._importers)
            found = self._related[mod.path] = frozenset(_reach(up, self._imported))
        return found

    def argparse_entries(self, dest: str, mod: ModuleSummary) -> list[tuple[ModuleSummary, Value, str]]:
        """The options ``args.<dest>`` can mean in ``mod``: its own parser's, else a related module's."""
        own = [(mod, value, f) for value, f in mod.argparse.get(dest, ())]
        if own:
            return own
        related = self.related(mod)
        return [entry for entry in self.argparse.get(dest, []) if entry[0].path in related]

    def callees(self, name: str, mod: ModuleSummary, method: bool):
        """(module, function, first parameter bound) for a callee name seen in ``mod``."""
        target, qual = mod, name
        if name not in mod.functions and name not in mod.classes:
            target, chain = self.split_import(name, mod)
            if target is None or not chain or target is mod:
                return []
            qual = ".".join(chain)
        if qual in target.functions:
            return [(target, target.functions[qual], method)]
        if qual in target.classes and f"{qual}.__init__" in target.functions:
            return [(target, target.functions[f"{qual}.__init__"], True)]
        return []

    @property
    def callers(self) -> dict:
        if self._callers is None:
            callers: dict = defaultdict(list)
            for mod in self.modules:
                for fq, func in mod.functions.items():
                    for call in func.calls:
                        for name in call.callees:
                            for gmod, g, bound in self.callees(name, mod, call.method):
                                callers[(gmod.path, g.qualname)].append((mod, fq, call, bound))
            self._callers = callers
        return self._callers

    @staticmethod
    def argument(call: Call, g: FunctionSummary, param: str, bound: bool) -> Value | None:
        params = g.params[1:] if bound else g.params
        for name, value in call.kwargs:
            if name == param:
                return value
        if param in params:
            index = params.index(param)
            if index < len(call.args) and not any(isinstance(a, Starred) for a in call.args[:index + 1]):
                return call.args[index]
        return None

    def bind(self, call: Call, caller: ModuleSummary, cq: str, env, gmod, g, bound) -> dict:
        bound_env = {}
        for param in g.params:
            value = self.argument(call, g, param, bound)
            if value is not None:
                bound_env[param] = self.texts(value, caller, cq, env)
            elif param in g.defaults:
                bound_env[param] = self.texts(g.defaults[param], gmod, "<module>", None)
            else:
                bound_env[param] = _UNKNOWN
        return bound_env

    # --- values -----------------------------------------------------------------------------

    def texts(self, v: Value, mod: ModuleSummary, func: str, env: dict | None, depth: int = 0) -> Texts:
        """Candidate texts of value ``v`` seen in ``func`` of ``mod`` (``env``: bound parameters)."""
        kind = type(v)
        if kind is Literal:
            return ((v.text, None),)
        if kind in _NO_TEXT:
            return _UNKNOWN
        env_key = None if env is None else tuple(sorted(env.items()))
        key = (v, mod.path, func, env_key)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        if key in self._active or depth > MAX_DEPTH:
            return _UNKNOWN
        self._active.add(key)
        try:
            result = self._texts(v, mod, func, env, depth + 1)
        finally:
            self._active.discard(key)
        result = tuple(dict.fromkeys(result))[:MAX_TEXTS] or _UNKNOWN
        self._memo[key] = result
        return result

    def _texts(self, v: Value, mod: ModuleSummary, func: str, env, depth: int) -> list:
        match v:
            case Alternatives(values):
                return [t for item in values for t in self.texts(item, mod, func, env, depth)]
            case Join(parts) | Concat(parts):
                texts = [self.texts(item, mod, func, env, depth) for item in parts]
                out = []
                for combo in itertools.islice(itertools.product(*texts), MAX_TEXTS):
                    pieces = [t for t, _ in combo]
                    via = next((w for _, w in combo if w), None)
                    out.append((_join(pieces) if isinstance(v, Join) else "".join(pieces), via))
                return out
            case Parent(value):
                return [(_parent(t), w) for t, w in self.texts(value, mod, func, env, depth)]
            case WithName(value, other) | WithSuffix(value, other):
                out = []
                for (t, w), (n, w2) in itertools.islice(itertools.product(
                        self.texts(value, mod, func, env, depth), self.texts(other, mod, func, env, depth)), MAX_TEXTS):
                    out.append(((_join([_parent(t), n]) if isinstance(v, WithName) else _with_suffix(t, n)), w or w2))
                return out
            case GlobalName(name):
                value = mod.globals.get(name)
                return list(self.texts(value, mod, "<module>", None, depth)) if value is not None else list(_UNKNOWN)
            case Imported(dotted):
                target, chain = self.split_import(dotted, mod)
                if target is not None and len(chain) == 1 and chain[0] in target.globals:
                    return list(self.texts(target.globals[chain[0]], target, "<module>", None, depth))
            case Param(owner, name):
                return self._param(owner, name, mod, func, env, depth)
            case ArgOption(dest):
                entries = self.argparse_entries(dest, mod)
                return [t for m, value, f in entries for t in self.texts(value, m, f, None, depth)] or list(_UNKNOWN)
            case SelfAttr(cls, name):
                entries = mod.self_attrs.get((cls, name), ())
                return [t for value, f in entries for t in self.texts(value, mod, f, None, depth)] or list(_UNKNOWN)
            case CallResult(callees, args, kwargs):
                call = Call(callees, args, kwargs, (0, 0, 0, 0), 0)
                out = []
                for name in callees:
                    for gmod, g, bound in self.callees(name, mod, False):
                        genv = self.bind(call, mod, func, env, gmod, g, bound)
                        for ret in g.returns:
                            out.extend(self.texts(ret, gmod, g.qualname, genv, depth))
                return out or list(_UNKNOWN)
            case Each(value):
                out = []
                for s, m, f, e in self.structures(value, mod, func, env, depth):
                    if isinstance(s, SequenceDisplay):
                        out.extend(t for item in s.items for t in self.texts(item, m, f, e, depth))
                    elif isinstance(s, DictDisplay):  # iterating a dict: its keys
                        out.extend((k, None) for k, _ in s.items if isinstance(k, str))
                return out or list(_UNKNOWN)
            case Item(value, Record() as key):  # NAMES[k]: each key the value can be
                return [t for text, _ in self.texts(key, mod, func, env, depth)
                        for t in self.texts(Item(value, text), mod, func, env, depth)] or list(_UNKNOWN)
            case Item(value, key):
                out = []
                for s, m, f, e in self.structures(value, mod, func, env, depth):
                    if isinstance(s, DictDisplay):
                        out.extend(t for k, item in s.items if k == key for t in self.texts(item, m, f, e, depth))
                    elif isinstance(s, SequenceDisplay) and isinstance(key, int) and -len(s.items) <= key < len(s.items):
                        out.extend(self.texts(s.items[key], m, f, e, depth))
                return out or list(_UNKNOWN)
        return list(_UNKNOWN)

    def _param(self, fq: str, name: str, mod, func, env, depth) -> list:
        if env is not None and fq == func and name in env:
            return list(env[name])
        g = mod.functions.get(fq)
        if g is None:
            return list(_UNKNOWN)
        sites = self.callers.get((mod.path, fq), [])
        out = []
        use_default = not sites
        for cmod, cq, call, bound in sites:
            value = self.argument(call, g, name, bound)
            if value is None:
                use_default = True
                continue
            site = f"{cmod.path}:{call.position[0]}"
            out.extend((t, w or site) for t, w in self.texts(value, cmod, cq, None, depth))
        if use_default and name in g.defaults:
            out.extend(self.texts(g.defaults[name], mod, "<module>", None, depth))
        return out or list(_UNKNOWN)

    def structures(self, v: Value, mod, func, env, depth) -> list:
        """The tuple/list/dict displays a value may be, each with the context it was written in:
        (display, module, function, env)."""
        if isinstance(v, (SequenceDisplay, DictDisplay)):
            return [(v, mod, func, env)]
        if depth > MAX_DEPTH:
            return []
        match v:
            case Alternatives(values):
                return [s for item in values for s in self.structures(item, mod, func, env, depth + 1)]
            case GlobalName(name) if name in mod.globals:
                return self.structures(mod.globals[name], mod, "<module>", None, depth + 1)
            case Imported(dotted):
                target, chain = self.split_import(dotted, mod)
                if target is not None and len(chain) == 1 and chain[0] in target.globals:
                    return self.structures(target.globals[chain[0]], target, "<module>", None, depth + 1)
            case SelfAttr(cls, name):
                return [s for value, f in mod.self_attrs.get((cls, name), ())
                        for s in self.structures(value, mod, f, None, depth + 1)]
            case Item(value, key):
                out = []
                for s, m, f, e in self.structures(value, mod, func, env, depth + 1):
                    if isinstance(s, DictDisplay):
                        out.extend(x for k, item in s.items if k == key
                                   for x in self.structures(item, m, f, e, depth + 1))
                    elif isinstance(s, SequenceDisplay) and isinstance(key, int) and -len(s.items) <= key < len(s.items):
                        out.extend(self.structures(s.items[key], m, f, e, depth + 1))
                return out
            case Each(value):  # an element that is itself a display: the pairs of a list of (path, text)
                return [x for s, m, f, e in self.structures(value, mod, func, env, depth + 1)
                        if isinstance(s, SequenceDisplay) for item in s.items
                        for x in self.structures(item, m, f, e, depth + 1)]
            case DictComprehension(owner, target, iterable, key, value):  # one single-entry dict per element
                out = []
                for element, _ in self.texts(Each(iterable), mod, func, env, depth + 1)[:MAX_TEXTS]:
                    bound = {**(env or {}), target: ((element, None),)}
                    for key_text, _ in self.texts(key, mod, owner, bound, depth + 1):
                        out.append((DictDisplay(((key_text, value),)), mod, owner, bound))
                return out
            case Members(value, part):  # a dict's keys(), values() or items(), as a sequence
                out = []
                for s, m, f, e in self.structures(value, mod, func, env, depth + 1):
                    if isinstance(s, DictDisplay):
                        keys = [Literal(k) if isinstance(k, str) else Unknown() for k, _ in s.items]
                        items = {"keys": keys, "values": [item for _, item in s.items],
                                 "items": [SequenceDisplay((k, item)) for k, (_, item) in zip(keys, s.items)]}[part]
                        out.append((SequenceDisplay(tuple(items)), m, f, e))
                return out
            case CallResult(callees, args, kwargs):  # a helper returning a dict or a list of paths
                call = Call(callees, args, kwargs, (0, 0, 0, 0), 0)
                out = []
                for name in callees:
                    for gmod, g, bound in self.callees(name, mod, False):
                        genv = self.bind(call, mod, func, env, gmod, g, bound)
                        for ret in g.returns:
                            out.extend(self.structures(ret, gmod, g.qualname, genv, depth + 1))
                return out
        return []

    # --- conditions -------------------------------------------------------------------------

    def always(self, conditions: tuple[Condition, ...], mod: ModuleSummary) -> bool:
        """Whether code under these conditions runs on every path (argparse options at their defaults)."""
        for condition in conditions:
            if not isinstance(condition, Flag):
                return False
            defaults = {value.value for _, value, _ in self.argparse_entries(condition.dest, mod)
                        if isinstance(value, Const)}
            if len(defaults) != 1 or bool(defaults.pop()) == condition.negated:
                return False
        return True

    def classify(self, text: str, tree: bool = False) -> FileClass | None:
        """Class of the file a text names; with ``tree``, of the policy files the folder it names holds."""
        if not is_resolved(text):
            return None
        return self.policy.classify_tree(text) if tree else self.policy.classify_name(text)

    def partial(self, text: str) -> tuple[FileClass, bool, str] | None:
        """A text known in part (a date, a key, a parameter in its name) against the policy's patterns:
        (class, every value matches, the pattern), or None when no value can be a policy file."""
        return self.policy.classify_partial(_SYMBOL.sub(UNKNOWN_TEXT, text), UNKNOWN_TEXT)


def _common(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a[:-1], b[:-1]):
        if x != y:
            break
        n += 1
    return n


def symbolic_env(g: FunctionSummary) -> dict:
    """An environment binding each parameter of ``g`` to itself, kept symbolic (``\x01name\x01``):
    what ``g`` does to its parameters, whoever calls it."""
    return {p: ((f"\x01{p}\x01", None),) for p in g.params}


def sink_texts(resolver: Resolver, mod: ModuleSummary, fq: str, sink: Sink, env: dict | None = None) -> list[tuple]:
    """(action, text, via, how) for what a sink does (in ``fq`` called with ``env``); shell commands
    expand into their operations."""
    if sink.action == "open":
        return _open_texts(resolver, mod, fq, sink, env)
    if sink.action != "shell":
        return [(sink.action, t, w, None) for t, w in resolver.texts(sink.target, mod, fq, env)]
    out = []
    seqs = [s for s in resolver.structures(sink.target, mod, fq, env, 0) if isinstance(s[0], SequenceDisplay)]
    if seqs:
        for s, m, f, e in seqs:
            words = [resolver.texts(item, m, f, e) for item in s.items]
            for combo in itertools.islice(itertools.product(*words), MAX_TEXTS):
                via = next((w for _, w in combo if w), None)
                out.extend((op, path, via, how) for op, path, how in shell.operations([t for t, _ in combo]))
    else:
        for text, via in resolver.texts(sink.target, mod, fq, env):
            out.extend((op, path, via, how) for op, path, how in shell.operations(text))
    return out


_OPEN_ACTIONS = {Kind.WRITE: "write", Kind.APPEND: "append"}


def _open_texts(resolver: Resolver, mod: ModuleSummary, fq: str, sink: Sink, env: dict | None) -> list[tuple]:
    """open(path, mode) with the mode a value: one action per mode it can be (a read: none).

    When the mode is a parameter of the helper the open is in (``def open_log(path, mode="a")``),
    mode and path are resolved together at each call site, so one caller's ``"w"`` is not paired
    with another caller's file.
    """
    g = mod.functions.get(fq)
    sites = resolver.callers.get((mod.path, fq), []) if env is None and g is not None else []
    if not sites or not _mentions_param(sink.mode, fq):
        sites = [(None, None, None, None)]
    out = []
    for cmod, cq, call, bound in sites:
        site_env, via = env, None
        if call is not None:
            site_env = resolver.bind(call, cmod, cq, None, mod, g, bound)
            via = f"{cmod.path}:{call.position[0]}"
        actions = []
        for mode, _ in resolver.texts(sink.mode, mod, fq, site_env):
            kind = mode_kind(mode) if UNKNOWN_TEXT not in mode and "\x01" not in mode else None
            action = _OPEN_ACTIONS.get(kind)
            if action and action not in actions:
                actions.append(action)
        how = f"the mode can be {' or '.join(actions)}" if len(actions) > 1 else None
        out.extend((action, text, text_via or via, how)
                   for action in actions for text, text_via in resolver.texts(sink.target, mod, fq, site_env))
    return out


def _mentions_param(value, fq: str) -> bool:
    """Whether a value is built from a parameter of function ``fq``."""
    if isinstance(value, Param):
        return value.func == fq
    if not isinstance(value, tuple):
        return False
    parts = value[1:] if isinstance(value, Record) else value  # a record's fields, or a tuple of values
    return any(_mentions_param(part, fq) for part in parts)
