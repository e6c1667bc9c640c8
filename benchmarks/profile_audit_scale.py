"""Where a cold ``statesafe audit`` spends its time on a generated skill tree (issue 11).

    python benchmarks/profile_audit_scale.py profile [--files 2000] [--out audit.prof] [--top 15]
    python benchmarks/profile_audit_scale.py phases [--sizes 500,1000,2000,4000]

``profile``: one cold audit (``runner.audit``, no cache, serial: ``jobs=1``, so
the per-file work shows up in this process instead of in pool workers) under
cProfile, timed in CPU seconds (``time.process_time``: the box is shared, and
wall-clock profiles of a loaded machine charge the waits to whatever ran last).
Prints the top functions by cumulative and by own time, the own time summed by
area (libcst's parser, libcst's visitor machinery, the extractor, CPython's
``compile``, the resolver, the runner's import graph, the cache, discovery), and
the shape of the import graph (edges per module, candidates per same-named import).

``phases``: no profiler; each phase of a cold audit timed on its own at several
sizes, to show which ones grow faster than the number of files. The per-file
phase is split the way ``engine.summarize`` does its work (``compile`` to an
AST, ``libcst.parse_module``, the extractor's walk, call positions): that split
mirrors engine.summarize as of the measured commit and must follow it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
import tokenize
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _tree(files: int, seed: int, work: str) -> str:
    sys.path.insert(0, str(HERE))
    import gen_skill_tree  # beside this script, not installed

    root = os.path.join(work, f"tree-{files}")
    gen_skill_tree.generate(root, files, seed)
    return root


AREAS = (  # (label, test on (file, function name)); the first match wins
    ("libcst parser (native + python wrapper)", lambda f, n: "libcst/_parser" in f or "libcst_native" in f
     or "libcst/_nodes/deep_equals" in f),
    ("libcst visitor machinery (_visit_and_replace_children, visit, on_visit dispatch)",
     lambda f, n: "libcst/" in f and ("_nodes" in f or "_visitors" in f or "_typed_visitor" in f
                                      or "_batched_visitor" in f or "metadata" in f)),
    ("libcst other", lambda f, n: "libcst/" in f),
    ("statesafe extractor (extract.py, fixshapes.py, effects.py)",
     lambda f, n: f.endswith(("auditor/extract.py", "auditor/fixshapes.py", "statesafe/effects.py"))),
    ("CPython compile() to AST + ast.walk (call positions)",
     lambda f, n: n in ("<built-in method builtins.compile>",) or f.endswith("/ast.py")),
    ("engine.py (summarize glue, resolve loop, rules)",
     lambda f, n: f.endswith(("auditor/engine.py", "auditor/rule.py")) or "auditor/rules" in f),
    ("resolve.py (Resolver: find_module, related, texts, callers)", lambda f, n: f.endswith("auditor/resolve.py")),
    ("runner.py (prefilter, import graph, closure)", lambda f, n: f.endswith("auditor/runner.py")),
    ("cache.py + hashing + pickling", lambda f, n: f.endswith("auditor/cache.py") or "blake2b" in n
     or "pickle" in n),
    ("files.py (discovery, .gitignore)", lambda f, n: f.endswith("auditor/files.py")),
    ("dataclasses replace/init (summary objects)", lambda f, n: f.endswith("dataclasses.py") or "<string>" in f),
    ("policy.py (classify)", lambda f, n: f.endswith("statesafe/policy.py")),
)


def _area(file: str, name: str) -> str:
    for label, test in AREAS:
        if test(file, name):
            return label
    return "other (builtins, re, os, posixpath, ...)"


def profile(args) -> int:
    with tempfile.TemporaryDirectory(prefix="profile-audit-") as work:
        root = args.tree or _tree(args.files, args.seed, work)
        os.chdir(root)
        from statesafe.auditor import runner
        from statesafe.policy import load_policy

        policy = load_policy()
        # imported before profiling: loading them is not the per-file cost
        import libcst  # noqa: F401

        import statesafe.auditor.engine  # noqa: F401

        profiler = cProfile.Profile(time.process_time)
        wall = time.perf_counter()
        cpu = time.process_time()
        profiler.enable()
        report = runner.audit(["."], policy, use_cache=False, jobs=1)
        profiler.disable()
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        print(f"cold audit, {report.checked} files, {report.analysed} analysed, {len(report.findings)} findings: "
              f"{cpu:.1f} s CPU ({wall:.1f} s wall) under cProfile, serial (jobs=1)")
        if args.out:
            profiler.dump_stats(args.out)
        stats = pstats.Stats(profiler)
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
            text = out.getvalue()
            print(f"\n--- top {args.top} by {order} ---")
            print(text[text.find("   ncalls"):].rstrip())
        areas: dict[str, float] = defaultdict(float)
        total = 0.0
        for (file, _, name), (_, _, tottime, _, _) in stats.stats.items():
            areas[_area(file, name)] += tottime
            total += tottime
        print(f"\n--- own time by area (of {total:.1f} s) ---")
        for label, seconds in sorted(areas.items(), key=lambda kv: -kv[1]):
            print(f"{seconds:8.2f} s {seconds / total:6.1%}  {label}")
        key = {}
        for (file, line, name), (cc, nc, tottime, cumtime, _) in stats.stats.items():
            short = f"{os.path.basename(file)}:{name}"
            if short in WATCH:
                key[short] = (nc, cumtime)
        print("\n--- key functions (calls, cumulative s) ---")
        for short in WATCH:
            if short in key:
                nc, cum = key[short]
                print(f"{cum:8.2f} s {cum / total:6.1%}  {nc:>10,} calls  {short}")
        graph_shape(root)
    return 0


WATCH = ("runner.py:audit", "runner.py:_summarize_all", "engine.py:summarize", "entrypoints.py:parse_module",
         "module.py:visit", "base.py:visit", "engine.py:_call_positions", "engine.py:resolve",
         "resolve.py:__init__", "resolve.py:callers", "resolve.py:callees", "resolve.py:split_import",
         "resolve.py:find_module", "resolve.py:related", "resolve.py:argparse_entries", "resolve.py:texts",
         "resolve.py:_reach", "engine.py:_sink_findings", "engine.py:finding", "runner.py:_import_graph",
         "runner.py:resolve", "runner.py:closure", "runner.py:imported_names", "files.py:discover",
         "cache.py:entry")


def graph_shape(root: str) -> None:
    """How many edges the runner's import graph has, and how many candidates a same-named import matches."""
    from statesafe.auditor import files as files_mod
    from statesafe.auditor import runner

    cwd = os.getcwd()
    os.chdir(root)
    try:
        found = files_mod.discover(["."])[0]
        modules = [p for p in found if p.endswith(".py")]
        index = runner._ModuleIndex(modules)
        edges = 0
        per_name: dict[str, list[int]] = defaultdict(list)
        for path in modules:
            with open(path, "rb") as f:
                names = runner.imported_names(f.read())
            targets = set()
            for level, name in names:
                hits = index.resolve(path, level, name)
                if hits:
                    per_name[name].append(len(hits))
                targets.update(h for h in hits if h != path)
            edges += len(targets)
        print(f"\n--- import graph (runner._import_graph's edges) over {len(modules):,} modules ---")
        print(f"{edges:,} edges, {edges / len(modules):.1f} per module")
        for name, counts in sorted(per_name.items(), key=lambda kv: -sum(kv[1]))[:6]:
            print(f"  import {name!r}: in {len(counts):,} modules, {sum(counts) / len(counts):.0f} candidate files "
                  f"each ({sum(counts):,} edges)")
    finally:
        os.chdir(cwd)


def phases(args) -> int:
    import ast

    import libcst as cst

    from statesafe.auditor import engine, runner
    from statesafe.auditor import files as files_mod
    from statesafe.auditor.extract import Extractor
    from statesafe.policy import load_policy

    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix="phases-audit-") as work:
            root = _tree(n, args.seed, work)
            cwd = os.getcwd()
            os.chdir(root)
            try:
                policy = load_policy()
                t: dict[str, float] = {}
                start = time.process_time()
                found = files_mod.discover(["."])[0]
                t["discover"] = time.process_time() - start
                sources = {}
                start = time.process_time()
                wanted = runner.needles(policy)
                for path in found:
                    with open(path, "rb") as f:
                        sources[path] = f.read()
                    runner.mentions_policy(sources[path], wanted)
                t["read + prefilter"] = time.process_time() - start
                modules = [p for p in found if p.endswith(".py")]
                start = time.process_time()
                index = runner._ModuleIndex(modules)
                graph = {p: sorted({h for lv, nm in runner.imported_names(sources[p])
                                    for h in index.resolve(p, lv, nm) if h != p}) for p in modules}
                t["import graph (runner)"] = time.process_time() - start
                start = time.process_time()
                runner.closure(modules, graph)
                t["closure"] = time.process_time() - start
                # the per-file phase, split as engine.summarize does it
                for key in ("decode", "compile (ast)", "libcst.parse_module", "extractor walk", "call positions"):
                    t[key] = 0.0
                for path in modules:
                    a = time.process_time()
                    encoding, _ = tokenize.detect_encoding(io.BytesIO(sources[path]).readline)
                    text = sources[path].decode(encoding)
                    b = time.process_time()
                    tree = compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
                    c = time.process_time()
                    module = cst.parse_module(text)
                    d = time.process_time()
                    extractor = Extractor(path)
                    module.visit(extractor)
                    e = time.process_time()
                    engine._call_positions(text, tree, extractor.call_nodes)
                    f_ = time.process_time()
                    t["decode"] += b - a
                    t["compile (ast)"] += c - b
                    t["libcst.parse_module"] += d - c
                    t["extractor walk"] += e - d
                    t["call positions"] += f_ - e
                start = time.process_time()
                summaries = [engine.summarize(p, sources[p], policy) for p in found]
                t["summarize (all, as the engine does it)"] = time.process_time() - start
                start = time.process_time()
                findings = engine.resolve(summaries, policy)
                t["resolve (cross-module)"] = time.process_time() - start
                rows.append((n, t, len(findings)))
                print(f"{n:>6} files: " + ", ".join(f"{k} {v:.2f}" for k, v in t.items())
                      + f"; {len(findings)} findings", flush=True)
            finally:
                os.chdir(cwd)
    if len(rows) >= 2:
        import math

        first, last = rows[0], rows[-1]
        print(f"\nCPU seconds per phase, and growth exponent k in time ~ N^k between {first[0]:,} and {last[0]:,} "
              "files (1 = linear, 2 = quadratic):")
        header = "| phase | " + " | ".join(f"{n:,} files" for n, _, _ in rows) + " | k |"
        print(header)
        print("|---" * (len(rows) + 2) + "|")
        for key in first[1]:
            values = [t[key] for _, t, _ in rows]
            k = (math.log(last[1][key] / first[1][key]) / math.log(last[0] / first[0])
                 if first[1][key] > 0.005 and last[1][key] > 0 else float("nan"))
            print(f"| {key} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {k:.2f} |")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("profile")
    p.add_argument("--files", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tree", help="profile this tree instead of generating one")
    p.add_argument("--out", help="write the pstats file here")
    p.add_argument("--top", type=int, default=15)
    p.set_defaults(run=profile)
    q = sub.add_parser("phases")
    q.add_argument("--sizes", default="500,1000,2000,4000")
    q.add_argument("--seed", type=int, default=1)
    q.set_defaults(run=phases)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
