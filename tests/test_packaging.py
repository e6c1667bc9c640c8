"""Release-ready packaging: the config schema agrees with the loader; a clean build ships code, types, licence."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import jsonschema
import pytest

import statesafe
from statesafe.errors import ConfigError
from statesafe.policy import _check

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((Path(statesafe.__file__).parent / "statesafe.schema.json").read_text())

TABLES = [
    {}, {"destructive": ["tracker.json"]}, {"append-only": ["logs/*.jsonl"], "keep-backups": 3},
    {"compiled": ["compiled/*.md"], "compiled-fields": ["generated_at"], "tracker": "t.json"},
    {"policy-document": "FAILSAFE.md"},
    {"destructive": "tracker.json"}, {"destructive": [""]}, {"destructive": ["/"]}, {"destructive": [1]},
    {"keep-backups": 0}, {"keep-backups": True}, {"keep-backups": "5"}, {"tracker": ""}, {"tracker": 3},
    {"unknown-key": 1}, {"companion": []},
]


@pytest.mark.parametrize("table", TABLES, ids=[json.dumps(t) for t in TABLES])
def test_the_schema_accepts_exactly_what_the_loader_accepts(table):
    try:
        _check(Path("statesafe.toml"), table)
        loader_ok = True
    except ConfigError:
        loader_ok = False
    schema_ok = jsonschema.Draft7Validator(SCHEMA).is_valid(table)
    assert schema_ok == loader_ok, table


def test_the_version_has_one_source():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text and 'attr = "statesafe.__version__"' in text
    assert "\nversion =" not in text.split("[tool.setuptools.dynamic]")[0]


@pytest.mark.slow
def test_a_clean_build_ships_code_types_and_licence_and_no_tests(tmp_path):
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path), str(ROOT)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "DeprecationWarning" not in result.stdout + result.stderr
    wheel = zipfile.ZipFile(next(tmp_path.glob("*.whl")))
    names = wheel.namelist()
    assert {"statesafe/__init__.py", "statesafe/py.typed", "statesafe/statesafe.schema.json",
            "statesafe/guard/boot/sitecustomize.py"} <= set(names)
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/"))]
    metadata = wheel.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert f"Version: {statesafe.__version__}" in metadata and "License-Expression: MIT" in metadata
    assert "Classifier: Programming Language :: Python :: 3.13" in metadata
    sdist = tarfile.open(next(tmp_path.glob("*.tar.gz"))).getnames()
    assert any(n.endswith("/LICENSE") for n in sdist) and not [n for n in sdist if "/tests/" in n]
