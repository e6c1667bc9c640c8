"""The auditor's symbolic values (values.py): typed, immutable, hashable, picklable records."""

from __future__ import annotations

import pickle
from dataclasses import fields, is_dataclass

import pytest

from statesafe.auditor import values
from statesafe.auditor.engine import summarize
from statesafe.auditor.values import (
    OPAQUE,
    UNKNOWN,
    Alternatives,
    CallResult,
    Concat,
    Const,
    DictDisplay,
    Each,
    Flag,
    Imported,
    Item,
    Join,
    Literal,
    ModuleImport,
    Param,
    Record,
    SelfAttr,
    SequenceDisplay,
    Starred,
)
from statesafe.policy import default_policy

#: every kind: the classes that name their fields (the groups, such as Reference, do not)
KINDS = [cls for cls in vars(values).values() if isinstance(cls, type) and issubclass(cls, Record)
         and cls is not Record and "FIELDS" in vars(cls)]


def sample(cls):
    """One value of each kind, its fields filled with something of the right shape."""
    filler = {"text": "a", "value": Literal("v"), "func": "f", "name": "n", "dotted": "m.x", "dest": "d",
              "cls": "C", "callees": ("save",), "args": (Literal("a"),), "kwargs": (("k", UNKNOWN),),
              "parts": (Literal("a"), UNKNOWN), "values": (Literal("a"), Literal("b")), "items": (),
              "key": "k", "suffix": Literal(".md"), "negated": False, "part": "values",
              "func": "f", "target": "k", "iterable": Literal("x")}
    return cls(*(filler[name] for name in cls.FIELDS))


def test_every_kind_is_a_record_with_named_fields():
    assert {cls.__name__ for cls in KINDS} >= {
        "Literal", "Const", "Unknown", "Cwd", "ArgNamespace", "Starred", "Param", "GlobalName", "Imported",
        "ArgOption", "SelfAttr", "CallResult", "Join", "Concat", "Parent", "WithName", "WithSuffix",
        "Alternatives", "SequenceDisplay", "DictDisplay", "Each", "Item", "ModuleImport", "FunctionDefinition",
        "ClassDefinition", "Builtin", "Flag", "Opaque"}
    for cls in KINDS:
        value = sample(cls)
        assert type(value) is cls and value.fields() == tuple(getattr(value, name) for name in cls.FIELDS)
        assert cls.__match_args__ == cls.FIELDS


@pytest.mark.parametrize("cls", KINDS, ids=lambda cls: cls.__name__)
def test_values_are_immutable_hashable_and_pickle_to_themselves(cls):
    value = sample(cls)
    assert value == sample(cls) and hash(value) == hash(sample(cls))
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(value, protocol))
        assert back == value and type(back) is cls
    for name in cls.FIELDS:
        with pytest.raises(AttributeError):
            setattr(value, name, "x")
    with pytest.raises(AttributeError):
        value.other = 1


def test_equality_takes_the_kind_into_account():
    assert Literal("a") != Imported("a") and hash(Literal("a")) != hash(Imported("a"))
    assert Join((Literal("a"), Literal("b"))) != Concat((Literal("a"), Literal("b")))
    assert Param("f", "p") != SelfAttr("f", "p")
    assert ModuleImport("os") != Imported("os")
    assert len({Literal("a"), Imported("a"), Literal("a")}) == 2
    assert Literal("a") != ("lit", "a")


def test_groups_are_not_kinds():
    with pytest.raises(TypeError):
        values.Reference()
    with pytest.raises(TypeError):
        values.Definition("f")
    with pytest.raises(TypeError):
        Literal()  # a kind takes exactly its fields
    assert isinstance(Imported("config.TRACKER"), values.Naming)
    assert isinstance(Imported("config.TRACKER"), values.Reference)
    assert isinstance(Join(()), values.PathOperation) and isinstance(Item(UNKNOWN, 0), values.Structure)


def test_values_match_by_class_pattern():
    match Alternatives((Item(Param("f", "cfg"), "path"), Literal("x"))):
        case Alternatives((Item(Param(func, name), key), Literal(text))):
            assert (func, name, key, text) == ("f", "cfg", "path", "x")
        case _:
            pytest.fail("no match")


def _records(obj, seen):
    """Every value, condition and plain tuple reachable from a summary."""
    if isinstance(obj, Record):
        seen.append(obj)
        for field in obj.fields():
            _records(field, seen)
    elif isinstance(obj, (tuple, list)):
        if obj and isinstance(obj[0], str) and obj[0] in {
                "lit", "unk", "param", "name", "imp", "join", "cat", "parent", "with_name", "with_suffix", "alts",
                "arg", "attr", "call", "seq", "dict", "each", "item", "const", "cwd", "argns", "mod", "def",
                "star", "flag", "opaque"} and len(obj) <= 4 and not all(isinstance(x, str) for x in obj):
            raise AssertionError(f"a string-tagged tuple: {obj!r}")
        for item in obj:
            _records(item, seen)
    elif isinstance(obj, dict):
        for key, item in obj.items():
            _records(key, seen)
            _records(item, seen)
    elif is_dataclass(obj):
        for f in fields(obj):
            _records(getattr(obj, f.name), seen)


def test_summaries_hold_typed_values_only():
    source = '''\
import argparse, json, os, shutil, subprocess, sys
from pathlib import Path
from config import DATA
import statesafe

TRACKER = os.path.join(DATA, "threads_daily_tracker.json")
NAMES = ["style_guide.md", "brand_voice.md"]
CONFIG = {"tracker": TRACKER, "log": Path(DATA) / "threads_refresh.log"}


class Store:
    ROOT = Path.cwd()

    def __init__(self, root):
        self.root = root

    def save(self, name, data, *extra):
        target = (self.root / name).with_suffix(".json")
        if os.path.exists(target):
            shutil.copy2(target, f"{target}.bak-x")
        with open(target if data else name, "w") as f:
            json.dump(data, f)
        return target.parent


def pick(name, *rest):
    return name


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=".")
    parser.add_argument("--backup", action="store_true")
    args = parser.parse_args(argv)
    for name in NAMES:
        if args.backup:
            Store(args.dir).save(name, {}, *sys.argv)
            pick(name, *sys.argv)
    open(pick(TRACKER), "a").write("x")
    out = CONFIG.get("tracker", "x") + ".{}".format(1)
    statesafe.write(CONFIG["log"], {"a": 1, **{}})
    subprocess.run(["sed", "-i", "s/a/b/", NAMES[0]])
    Path("posts_by_date.md").with_name("comments.md").write_text(out)
'''
    summary = summarize("skill/scripts/case.py", source.encode(), default_policy())
    assert summary.kind == "python"
    seen: list = []
    _records(summary, seen)
    kinds = {type(v) for v in seen}
    assert {Literal, Join, Concat, Param, SelfAttr, CallResult, SequenceDisplay, DictDisplay, Each, Item, Const,
            Imported, Flag, Starred, Alternatives} <= kinds, kinds
    assert OPAQUE in seen or any(isinstance(v, Flag) for v in seen)
    assert pickle.loads(pickle.dumps(summary)) == summary
