"""Paths known only in part, and folders, against the policy's patterns (no filesystem access)."""

from __future__ import annotations

import fnmatch
import random

import pytest

from statesafe.policy import FileClass, Policy, default_policy

U = "\x00"  # a run of characters not known statically


@pytest.fixture
def policy() -> Policy:
    return Policy(destructive=("archive/*.json", "tasks.json"), logs=("logs/*.md",), companion=("notes/*-*.md",),
                  compiled=("cache/index.json",), keep_backups=5, compiled_fields=(), tracker="tasks.json")


@pytest.mark.parametrize("text, expected", [
    (f"logs/{U}.md", (FileClass.LOG, True, "logs/*.md")),  # a dated log: any value is a log
    (f"skill/logs/2026-{U}.md", (FileClass.LOG, True, "logs/*.md")),
    (f"logs/{U}.txt", None),  # no value can be a policy file
    (f"other/{U}.md", None),
    (f"notes/{U}-{U}.md", (FileClass.COMPANION, True, "notes/*-*.md")),
    (f"notes/{U}.md", (FileClass.COMPANION, False, "notes/*-*.md")),  # only a value with a dash
    (f"{U}/x.md", (FileClass.LOG, False, "logs/*.md")),  # an unknown folder may be logs/
    (f"archive/{U}.json", (FileClass.DESTRUCTIVE, True, "archive/*.json")),
    ("tasks.json", (FileClass.DESTRUCTIVE, True, "tasks.json")),
    (f"{U}.json", (FileClass.DESTRUCTIVE, False, "tasks.json")),
])
def test_partial_paths(policy, text, expected):
    assert policy.classify_partial(text) == expected


def _instances(text: str, rng: random.Random) -> list[str]:
    alphabet = "ab-.jsonmd0"
    return [text.replace(U, "".join(rng.choice(alphabet) for _ in range(rng.randrange(4))))
            for _ in range(60)]


def test_always_and_never_hold_for_random_values():
    """'always': every value tried matches the glob; None: no value does (random texts and globs)."""
    rng = random.Random(7)
    pieces = ["a", "b", "-", ".json", ".md", U, "*", "?", "s"]
    for _ in range(400):
        glob = "".join(rng.choice([p for p in pieces if p != U]) for _ in range(rng.randrange(1, 4)))
        text = "".join(rng.choice([p for p in pieces if p not in "*?"]) for _ in range(rng.randrange(1, 4)))
        policy = Policy(destructive=(glob,), logs=(), companion=(), compiled=(), keep_backups=5, compiled_fields=(),
                        tracker="x")
        verdict = policy.classify_partial(text)
        matches = [fnmatch.fnmatchcase(value, glob) for value in _instances(text, rng) if value]
        if verdict is None:
            assert not any(matches), (text, glob)
        elif verdict[1]:
            assert all(matches), (text, glob)


@pytest.mark.parametrize("folder, expected", [
    ("compiled", FileClass.COMPILED), ("skill/compiled", FileClass.COMPILED), (".", FileClass.DESTRUCTIVE),
    ("build", None), ("compiled/sub", None),
])
def test_folders_holding_policy_files(folder, expected):
    assert default_policy().classify_tree(folder) is expected
