"""How fast ``statesafe audit`` is, side by side with Fixit and semgrep running one equivalent rule.

    python benchmarks/bench_audit.py [--only stdlib|tree] [--files 20000] [--repeat 3]

Targets: this interpreter's standard library (the files ``statesafe audit``
discovers there, ~1,800) and a generated tree of small files shaped like a
monorepo of skills (most modules generic, a few skills naming policy files
through config modules and helpers). Each tool gets the same files. Measured,
wall clock, best of ``--repeat``:

* statesafe cold (empty cache) vs Fixit and vs semgrep; the rule the other two
  run is the simplest slice of ours: ``open(<literal policy file>, "w")``.
* statesafe warm: the same run again, nothing changed.
* a 10-file pre-commit run (explicit files, working directory at the root), cold and warm.
* with --full-parse, --strict --no-cache: every file parsed, which is what the prefilter saves.

Acceptance: cold >= 10x faster than Fixit and no slower than semgrep, warm
<= 0.5 s on the stdlib, 10-file run <= 0.3 s. Fixit and semgrep are not
statesafe dependencies and pin versions that clash with it (Fixit wants
click < 8.2), so install them into venvs of their own
(benchmarks/requirements-audit.txt) and point FIXIT / SEMGREP at their
executables, or have them on PATH; a missing tool is reported and skipped.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from statesafe.auditor import files as discovery
from statesafe.policy import default_policy

POLICY = default_policy()
POLICY_NAMES = [p.rsplit("/", 1)[-1] for p in (*POLICY.destructive, *POLICY.logs, *POLICY.companion, *POLICY.compiled)]
NAME_REGEX = "^(.*/)?(" + "|".join(n.replace(".", r"\.") for n in POLICY_NAMES) + ")$"

FIXIT_RULE = f'''\
import re
import libcst as cst
from fixit import LintRule

POLICY = re.compile(r"{NAME_REGEX}")


class RawPolicyWrite(LintRule):
    """open(<literal policy file>, "w"): the simplest slice of statesafe's FS1xx."""

    MESSAGE = "raw write to a policy file"

    def visit_Call(self, node: cst.Call) -> None:
        if not (isinstance(node.func, cst.Name) and node.func.value == "open" and node.args):
            return
        target = node.args[0].value
        mode = next((a.value for a in node.args[1:] if a.keyword is None or a.keyword.value == "mode"), None)
        if (isinstance(target, cst.SimpleString) and POLICY.match(target.evaluated_value)
                and isinstance(mode, cst.SimpleString) and "w" in mode.evaluated_value):
            self.report(node)
'''

SEMGREP_RULE = f'''\
rules:
  - id: raw-policy-write
    languages: [python]
    severity: ERROR
    message: raw write to a policy file
    patterns:
      - pattern-either:
          - pattern: open("$NAME", "$MODE", ...)
          - pattern: open("$NAME", mode="$MODE", ...)
      - metavariable-regex:
          metavariable: $NAME
          regex: '{NAME_REGEX}'
      - metavariable-regex:
          metavariable: $MODE
          regex: '.*w.*'
'''


# --- the generated tree --------------------------------------------------------------------------

GENERIC = '''\
"""Module {n} of package {pkg}."""
import os
from . import {sibling}


def step_{n}(values):
    total = 0
    for v in values:
        total += len(str(v))
    return {{"module": {n}, "total": total, "cwd": os.getcwd()}}


def report_{n}(path):
    with open(path, "w") as f:
        f.write(str(step_{n}(range(10))))
'''

SKILL_CONFIG = '''\
TRACKER = "threads_daily_tracker.json"
STYLE_GUIDE = "style_guide.md"
LOG = "threads_refresh.log"
'''

SKILL_HELPERS = '''\
import json
import os


def save_tracker(path, data):
    with open(path, "w") as f:
        json.dump(data, f)


def save_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
'''

SKILL_CLI = '''\
import argparse
import os

from config import TRACKER, STYLE_GUIDE
from helpers import save_tracker, save_text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=".")
    args = parser.parse_args()
    save_tracker(os.path.join(args.dir, TRACKER), {{"posts": []}})
    save_text(os.path.join(args.dir, STYLE_GUIDE), "# style\\n")
    with open("threads_refresh.log", "w") as f:
        f.write("ran {n}\\n")


if __name__ == "__main__":
    main()
'''

SKILL_MD = '''\
---
name: skill-{n}
description: Refreshes the tracker.
allowed-tools: Read, Write, Bash
---

Run `python scripts/cli.py --dir data`.
'''


def generate_tree(root: Path, total: int, seed: int = 7) -> list[str]:
    """~``total`` files: packages of 50 generic modules; every 10th package is a skill. Returns 10 files
    a pre-commit run might be handed (8 generic, 2 from a skill)."""
    rng = random.Random(seed)
    per_package = 50
    made = 0
    package = 0
    picks: list[str] = []
    while made < total:
        pkg = f"pkg{package:04d}"
        folder = root / "packages" / pkg
        folder.mkdir(parents=True)
        count = min(per_package, total - made)
        if package % 10 == 0 and count >= 4:
            scripts = folder / "scripts"
            scripts.mkdir()
            (scripts / "config.py").write_text(SKILL_CONFIG)
            (scripts / "helpers.py").write_text(SKILL_HELPERS)
            (scripts / "cli.py").write_text(SKILL_CLI.format(n=package))
            (folder / "SKILL.md").write_text(SKILL_MD.format(n=package))
            made += 4
            count -= 4
            if package == 10:
                picks += [f"packages/{pkg}/scripts/cli.py", f"packages/{pkg}/scripts/helpers.py"]
        (folder / "__init__.py").write_text("")
        made += 1
        for n in range(count - 1):
            sibling = f"mod{rng.randrange(count - 1):02d}"
            (folder / f"mod{n:02d}.py").write_text(GENERIC.format(n=n, pkg=pkg, sibling=sibling))
            made += 1
            if package == 3 and n < 8:
                picks.append(f"packages/{pkg}/mod{n:02d}.py")
        package += 1
    return picks


# --- running the tools ----------------------------------------------------------------------------

class Timing(float):
    """Wall-clock seconds, carrying the CPU seconds (user + sys, all processes) spent meanwhile."""

    cpu: float

    def __new__(cls, wall: float, cpu: float):
        self = super().__new__(cls, wall)
        self.cpu = cpu
        return self

    def __format__(self, spec: str) -> str:
        return f"{format(float(self), spec)} s wall, {self.cpu:.2f} s cpu"


def timed(argv: list[str], cwd: Path, env: dict | None = None, ok=(0, 1)) -> tuple[Timing, subprocess.CompletedProcess]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(elapsed, cpu), done


def best(repeat: int, run) -> tuple[Timing, subprocess.CompletedProcess]:
    """The fastest of ``repeat`` runs: the machine may be shared, noise only ever adds time."""
    results = [run() for _ in range(repeat)]
    return min(results, key=lambda r: r[0])


def tool(name: str, env_var: str) -> str | None:
    return os.environ.get(env_var) or shutil.which(name)


def statesafe(args: list[str]) -> list[str]:
    """The console script, as pre-commit runs it (``python -m`` would put the working directory on
    sys.path, and in the stdlib copy that shadows the real standard library)."""
    script = Path(sys.executable).with_name("statesafe")
    return [str(script) if script.exists() else "statesafe", "audit", *args]


def bench_target(label: str, root: Path, targets: list[str], work: Path, repeat: int, slow_repeat: int,
                 precommit: list[str], whole_folder: bool, full_parse: bool, only_statesafe: bool) -> None:
    print(f"\n== {label}: {len(targets)} files ==")
    cache = work / f"cache-{label}"
    env = {**os.environ, "STATESAFE_CACHE_DIR": str(cache)}

    def cold():
        shutil.rmtree(cache, ignore_errors=True)
        return timed(statesafe(["--format", "json", str(root)]), work, env)

    t_cold, done = best(repeat, cold)
    findings = done.stdout.count('"code"')
    t_warm, _ = best(repeat, lambda: timed(statesafe(["--format", "json", str(root)]), work, env))
    print(f"statesafe cold   {t_cold:8.2f}   ({findings} findings)")
    print(f"statesafe warm   {t_warm:8.2f}   (limit 0.5 s on the stdlib)")
    if full_parse:
        t_full, _ = best(1, lambda: timed(statesafe(["--no-cache", "--format", "json", "--strict", str(root)]),
                                          work, env))
        print(f"statesafe --strict, no cache (parses every file): {t_full:.2f}")

    # the same files for every tool: named one by one, or the folder when that is the same set
    argv_targets = [str(root)] if whole_folder else targets
    fixit = None if only_statesafe else tool("fixit", "FIXIT")
    if fixit:
        config = work / "fixit-config"
        config.mkdir(exist_ok=True)
        (config / "statesafe_bench_rule.py").write_text(FIXIT_RULE)
        fixit_env = {**os.environ, "PYTHONPATH": str(config)}  # --rules replaces the built-in rule set
        t_fixit, done = best(slow_repeat, lambda: timed(
            [fixit, "--rules", "statesafe_bench_rule:RawPolicyWrite", "lint", *argv_targets], work, fixit_env,
            ok=(0, 1, 2, 3)))  # 2: some files did not parse (the stdlib ships deliberately broken ones)
        hits = done.stdout.count("RawPolicyWrite")
        print(f"fixit (1 rule)   {t_fixit:8.2f}   ({hits} findings)   statesafe cold is "
              f"{t_fixit / t_cold:6.1f}x faster (needs >= 10x)")
    elif not only_statesafe:
        print("fixit: not installed (FIXIT=... or on PATH); skipped")
    semgrep = None if only_statesafe else tool("semgrep", "SEMGREP")
    if semgrep:
        rule = work / "semgrep-rule.yaml"
        rule.write_text(SEMGREP_RULE)
        t_semgrep, done = best(slow_repeat, lambda: timed(
            [semgrep, "scan", "--config", str(rule), "--metrics=off", "--disable-version-check", "--json",
             "--quiet", "--no-git-ignore", *argv_targets], work, ok=(0, 1)))
        hits = done.stdout.count('"check_id"')
        print(f"semgrep (1 rule) {t_semgrep:8.2f}   ({hits} findings)   statesafe cold is "
              f"{t_semgrep / t_cold:6.2f}x semgrep's speed (needs >= 1x)")
    elif not only_statesafe:
        print("semgrep: not installed (SEMGREP=... or on PATH); skipped")

    hook_cache = work / f"cache-{label}-hook"
    hook_env = {**os.environ, "STATESAFE_CACHE_DIR": str(hook_cache)}

    def hook_cold():
        shutil.rmtree(hook_cache, ignore_errors=True)
        return timed(statesafe(precommit), root, hook_env)

    t_hook_cold, _ = best(repeat, hook_cold)
    t_hook_warm, _ = best(repeat, lambda: timed(statesafe(precommit), root, hook_env))
    print(f"pre-commit, 10 files: cold {t_hook_cold:.3f}; warm {t_hook_warm:.3f} (limit 0.3 s)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["stdlib", "tree"])
    parser.add_argument("--files", type=int, default=20_000, help="size of the generated tree")
    parser.add_argument("--repeat", type=int, default=3, help="runs of statesafe per figure (best kept)")
    parser.add_argument("--slow-repeat", type=int, default=1, help="runs of fixit / semgrep per figure")
    parser.add_argument("--only-statesafe", action="store_true", help="skip Fixit and semgrep")
    parser.add_argument("--full-parse", action="store_true",
                        help="also time --strict --no-cache, which parses every file (what the prefilter saves; slow)")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        work = Path(tmp)
        if args.only in (None, "stdlib"):
            # A copy of the files statesafe finds there, outside any repository: the interpreter may
            # live in a git checkout whose .gitignore covers it (pyenv's does), which Fixit honours.
            source = Path(sysconfig.get_paths()["stdlib"])
            stdlib = work / "stdlib"
            found = discovery.discover([str(source)])[0]
            for path in found:
                copy = stdlib / os.path.relpath(path, source)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)
            targets = discovery.discover([str(stdlib)])[0]
            assert len(targets) == len(found)
            picks = [os.path.relpath(t, stdlib) for t in targets if t.endswith(".py")][:: len(targets) // 10][:10]
            bench_target("stdlib", stdlib, targets, work, args.repeat, args.slow_repeat, picks, whole_folder=True,
                         full_parse=args.full_parse, only_statesafe=args.only_statesafe)
        if args.only in (None, "tree"):
            tree = work / "tree"
            picks = generate_tree(tree, args.files)
            targets = discovery.discover([str(tree)])[0]
            bench_target("tree", tree, targets, work, args.repeat, args.slow_repeat, picks, whole_folder=True,
                         full_parse=args.full_parse, only_statesafe=args.only_statesafe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
