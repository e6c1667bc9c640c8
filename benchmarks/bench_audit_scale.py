"""How ``statesafe audit`` scales on a tree where every file names a policy file (issue 11).

    python benchmarks/bench_audit_scale.py [--quick] [--sizes 2000,20000] [--rounds 2]
                                           [--timeout 1800] [--json FILE] [--no-stdlib]

For each size N, a tree from ``benchmarks/gen_skill_tree.py`` (skills with
same-named ``config.py`` / ``utils.py``, shared helpers, every file naming a
policy file, so the prefilter skips nothing) is generated in a temp dir, then
measured side by side, round after round (best round kept):

* statesafe cold (an empty cache folder; the run fills it), warm with nothing
  changed, and warm after appending one line to one ``utils.py``;
* the floors: every ``.py`` file through ``libcst.parse_module`` in one process,
  the same with a process pool on every core, and ``ast.parse`` in one process
  (each a fresh interpreter, timed whole like the audit: start-up, imports,
  reading; the in-process parse time is shown too). ``SKILL.md`` files are not
  parsed by libcst (the auditor reads them as text), so the floors cover the
  ``.py`` files only;
* ruff 0.x cold (``--no-cache --isolated``) with its default rules
  (E4, E7, E9, F) and with ``--select ALL``, on the same folder;
* a 10-file pre-commit run (``statesafe audit F1 .. F10`` from the tree root),
  cold and warm.

Plus this interpreter's standard library (the files ``statesafe audit``
discovers there, copied outside any repository as bench_audit.py does): cold
audit against ruff cold.

Times are wall clock of the child process; CPU is user + sys of it and its
children; "peak MB, largest" is the largest RSS of any one process of the run
(``wait4``'s ru_maxrss, which covers the pool workers), "peak MB, all" the
largest sum of PSS over the run's process tree, sampled every 0.2 s from
/proc (Linux only; shared pages of forked workers counted once; shown for
runs of a second or more). A measurement,
not a test: exit status 0 whatever the figures. ``--json FILE`` writes them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: A child's ru_maxrss starts from what its parent had mapped when it forked (vfork: the parent's
#: high-water mark), since exec records the old address space's peak. So each command runs under
#: GNU time, a small C program, and its "%M" is the figure; wait4's is the fallback.
GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
if hasattr(subprocess, "_USE_VFORK"):
    subprocess._USE_VFORK = False

# --- running and measuring one command ---------------------------------------------------------


class Run:
    """One child process: wall seconds, CPU seconds, peak memory, output."""

    def __init__(self, argv, wall, cpu, maxrss_mb, tree_mb, returncode, stdout, stderr, timed_out):
        self.argv, self.wall, self.cpu = argv, wall, cpu
        self.maxrss_mb, self.tree_mb = maxrss_mb, tree_mb
        self.returncode, self.stdout, self.stderr, self.timed_out = returncode, stdout, stderr, timed_out

    def figures(self) -> dict:
        return {"wall_s": round(self.wall, 4), "cpu_s": round(self.cpu, 3), "peak_mb_largest": round(self.maxrss_mb, 1),
                "peak_mb_all": None if self.tree_mb is None else round(self.tree_mb, 1),
                "timed_out": self.timed_out, "returncode": self.returncode}


def _proc_tree_mb(root: int) -> float | None:
    """Sum of PSS (else RSS) over ``root`` and its descendants, from /proc."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    parent: dict[int, int] = {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        parent[int(name)] = int(fields[1])
    tree, changed = {root}, True
    while changed:
        changed = False
        for pid, ppid in parent.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            try:
                with open(f"/proc/{pid}/statm", "rb") as f:
                    total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
            except OSError:
                pass
    return total / 1024


def run(argv: list[str], cwd: str | os.PathLike, env: dict | None = None, timeout: float = 1800,
        sample: bool = True, keep_output: bool = True) -> Run:
    """Run ``argv`` to completion (or ``timeout``: the whole process group is killed).

    Output goes to temp files; with ``keep_output`` False it is not read back (ruff --select ALL
    prints tens of MB on the stdlib, which would only grow this process and the figures with it).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".time") as peak_file:
        wrapped = [GNU_TIME, "-f", "%M", "-o", peak_file.name, *argv] if GNU_TIME else argv
        start = time.perf_counter()
        child = subprocess.Popen(wrapped, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        peak = [None]
        samples = [0]
        done = threading.Event()
        timed_out = [False]

        def sampler():
            while not done.wait(0.2):
                mb = _proc_tree_mb(child.pid)
                samples[0] += 1
                if mb is not None and (peak[0] is None or mb > peak[0]):
                    peak[0] = mb

        def kill():
            timed_out[0] = True
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                pass

        threads = [threading.Thread(target=sampler, daemon=True)] if sample and sys.platform == "linux" else []
        for t in threads:
            t.start()
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except BaseException:  # interrupted: take the child's whole process group down with us
            timer.cancel()
            done.set()
            os.killpg(child.pid, signal.SIGKILL)
            os.wait4(child.pid, 0)
            raise
        wall = time.perf_counter() - start
        timer.cancel()
        done.set()
        for t in threads:
            t.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        maxrss_kb = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024
        if GNU_TIME:
            lines = [line for line in peak_file.read().splitlines() if line.strip().isdigit()]
            maxrss_kb = int(lines[-1]) if lines else maxrss_kb
        tree_mb = peak[0] if samples[0] >= 5 else None  # under a second: too few samples to mean anything
        stdout = out.read().decode("utf-8", "replace") if keep_output else ""
        err.seek(max(0, os.fstat(err.fileno()).st_size - 4000))
        return Run(argv, wall, usage.ru_utime + usage.ru_stime, maxrss_kb / 1024, tree_mb, child.returncode,
                   stdout, err.read().decode("utf-8", "replace"), timed_out[0])


def statesafe_argv(args: list[str]) -> list[str]:
    """The console script, as pre-commit runs it (``python -m`` would put the working directory on sys.path)."""
    script = Path(sys.executable).with_name("statesafe")
    return [str(script) if script.exists() else "statesafe", "audit", *args]


def ruff_path() -> str | None:
    return os.environ.get("RUFF") or shutil.which("ruff") or (
        str(Path(sys.executable).with_name("ruff")) if Path(sys.executable).with_name("ruff").exists() else None)


#: ruff 0.16 widened its default rule set from 59 rules (E4, E7, E9, F) to ~400; both, and ALL (~800)
RUFF_RULES = {"ruff default": [], "ruff E4,E7,E9,F": ["--select", "E4,E7,E9,F"], "ruff ALL": ["--select", "ALL"]}


def ruff_argv(ruff: str, extra: list[str], target: str) -> list[str]:
    return [ruff, "check", "--isolated", "--no-cache", "--exit-zero", "--quiet", "--output-format", "concise",
            *extra, target]


# --- the floors: a fresh interpreter parsing every file (this script, --floor) -------------------

def _read_text(path: str) -> str:
    import io
    import tokenize

    with open(path, "rb") as f:
        source = f.read()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    return source.decode(encoding)


def _parse_libcst_chunk(paths: list[str]) -> int:
    import libcst

    ok = 0
    for path in paths:
        try:
            libcst.parse_module(_read_text(path))
        except Exception:  # noqa: BLE001, S112 - a floor counts what parses
            continue
        ok += 1
    return ok


def floor_main(kind: str, listing: str, jobs: int) -> int:
    """Parse every file listed (one path a line); print {"parsed": n, "seconds": in-process time}."""
    with open(listing, encoding="utf-8") as f:
        paths = [line.rstrip("\n") for line in f if line.strip()]
    start = time.perf_counter()
    if kind == "ast":
        import ast

        ok = 0
        for path in paths:
            try:
                ast.parse(_read_text(path), path)
                ok += 1
            except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError):
                pass
    elif kind == "libcst":
        ok = _parse_libcst_chunk(paths)
    else:  # libcst-pool: every core, largest files first dealt round-robin into 4 chunks per worker
        import concurrent.futures
        import multiprocessing

        import libcst  # noqa: F401  (loaded before forking, as the auditor's pool does)

        workers = jobs or os.cpu_count() or 1
        order = sorted(paths, key=lambda p: -os.path.getsize(p))
        count = workers * 4
        chunks = [order[k::count] for k in range(count)]
        context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            ok = sum(pool.map(_parse_libcst_chunk, chunks))
    print(json.dumps({"parsed": ok, "files": len(paths), "seconds": time.perf_counter() - start}))
    return 0


def floor_argv(kind: str, listing: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--floor", kind, "--listing", listing]


# --- one tree ------------------------------------------------------------------------------------

#: a case taking longer than this is not repeated within a round (its noise is small against it)
SLOW_SECONDS = 5.0


class Best:
    """Best (lowest wall) run per case, over rounds and repeats."""

    def __init__(self, repeat: int, files: int, record: dict):
        self.repeat = repeat
        self.files = files
        self.record = record  # case -> figures, kept current so an interrupted run still reports
        self.runs: dict[str, Run] = {}

    def add(self, case: str, result: Run) -> Run:
        known = self.runs.get(case)
        if known is None or (result.wall < known.wall and not result.timed_out):
            self.runs[case] = result
        return result

    def measure(self, case: str, make, repeat: int | None = None, note=None) -> Run:
        """``make()`` up to ``repeat`` times (once if a run is slow); prints this round's best, keeps the
        best of all rounds."""
        this_round = None
        for _ in range(self.repeat if repeat is None else repeat):
            result = self.add(case, make())
            if this_round is None or result.wall < this_round.wall:
                this_round = result
            if result.wall > SLOW_SECONDS or result.timed_out:
                break
        _say(case, this_round, note(this_round) if note else "")
        best = self.runs[case]
        figures = best.figures()
        inner = _inner_seconds(best)
        if inner is not None:
            figures["in_process_parse_s"] = round(inner, 3)
        figures["us_per_file"] = round(best.wall / self.files * 1e6, 1)
        self.record[case] = figures
        return best


def _say(case: str, result: Run, note: str = "") -> None:
    mark = " TIMED OUT" if result.timed_out else ""
    tree = "" if result.tree_mb is None else f", all {result.tree_mb:.0f} MB"
    print(f"  {case:<34} {result.wall:9.3f} s wall {result.cpu:9.2f} s cpu  peak {result.maxrss_mb:6.0f} MB{tree}"
          f"{mark}{note}", flush=True)


def _findings(result: Run) -> int | None:
    try:
        return len(json.loads(result.stdout))
    except ValueError:
        return None


def bench_tree(n: int, seed: int, work: Path, rounds: int, repeat: int, timeout: float, ruff: str | None,
               out: dict) -> None:
    sys.path.insert(0, str(HERE))
    import gen_skill_tree  # beside this script, not installed

    tree = work / f"tree-{n}"
    started = time.perf_counter()
    meta = gen_skill_tree.generate(tree, n, seed)
    print(f"\n== generated tree: {meta['files']} files ({meta['python_files']} .py, {meta['skills']} skills, "
          f"{meta['bytes'] / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s; same-named: {meta['same_named']}",
          flush=True)
    py_files = sorted(str(p) for p in tree.rglob("*.py"))
    listing = work / f"listing-{n}.txt"
    listing.write_text("\n".join(py_files) + "\n", encoding="utf-8")
    cache = work / f"cache-{n}"
    hook_cache = work / f"cache-{n}-precommit"
    env = {**os.environ, "STATESAFE_CACHE_DIR": str(cache)}
    hook_env = {**os.environ, "STATESAFE_CACHE_DIR": str(hook_cache)}
    audit = statesafe_argv(["--format", "json", "."])
    out.update({"files": meta["files"], "python_files": meta["python_files"], "skills": meta["skills"],
                "bytes": meta["bytes"], "same_named": meta["same_named"], "cases": {}})
    best = Best(repeat, meta["files"], out["cases"])
    edits = 0

    def cold():
        shutil.rmtree(cache, ignore_errors=True)
        return run(audit, tree, env, timeout)

    def edited():
        nonlocal edits
        edits += 1
        with open(tree / meta["edit_file"], "a", encoding="utf-8") as f:
            f.write(f"BENCH_EDIT_{edits} = {edits}\n")
        return run(audit, tree, env, timeout)

    def precommit_cold():
        shutil.rmtree(hook_cache, ignore_errors=True)
        return run(statesafe_argv(meta["precommit_files"]), tree, hook_env, timeout, sample=False)

    def counted(result: Run) -> str:
        return f"  ({_findings(result)} findings)"

    for round_no in range(1, rounds + 1):
        print(f" round {round_no}/{rounds} (load average {os.getloadavg()[0]:.1f})", flush=True)
        if best.measure("statesafe cold", cold, 1, counted).timed_out:
            print("  cold audit timed out: the warm cases need its cache; skipped", flush=True)
        else:
            best.measure("statesafe warm, unchanged", lambda: run(audit, tree, env, timeout), note=counted)
            best.measure("statesafe warm, 1 file edited", edited, note=counted)
        best.measure("libcst floor, 1 process", lambda: run(floor_argv("libcst", str(listing)), work, None, timeout),
                     1, _inner)
        best.measure("libcst floor, every core",
                     lambda: run(floor_argv("libcst-pool", str(listing)), work, None, timeout), 1, _inner)
        best.measure("ast.parse, 1 process", lambda: run(floor_argv("ast", str(listing)), work, None, timeout),
                     note=_inner)
        if ruff:
            for label, extra in RUFF_RULES.items():
                best.measure(label, lambda extra=extra: run(ruff_argv(ruff, extra, "."), tree, None, timeout,
                                                            keep_output=False))
        best.measure("pre-commit, 10 files, cold", precommit_cold)
        best.measure("pre-commit, 10 files, warm",
                     lambda: run(statesafe_argv(meta["precommit_files"]), tree, hook_env, timeout, sample=False))
    shutil.rmtree(tree, ignore_errors=True)


def _inner_seconds(result: Run) -> float | None:
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])["seconds"]
    except (ValueError, IndexError, KeyError, TypeError):
        return None


def _inner(result: Run) -> str:
    seconds = _inner_seconds(result)
    return "" if seconds is None else f"  (parsing alone {seconds:.2f} s)"


# --- the standard library --------------------------------------------------------------------------

def bench_stdlib(work: Path, rounds: int, repeat: int, timeout: float, ruff: str | None, out: dict) -> None:
    from statesafe.auditor import files as discovery

    source = Path(sysconfig.get_paths()["stdlib"])
    stdlib = work / "stdlib"
    found = discovery.discover([str(source)])[0]
    for path in found:
        copy = stdlib / os.path.relpath(path, source)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
    print(f"\n== stdlib: {len(found)} files copied from {source}", flush=True)
    cache = work / "cache-stdlib"
    env = {**os.environ, "STATESAFE_CACHE_DIR": str(cache)}
    out.update({"files": len(found), "cases": {}})
    best = Best(repeat, len(found), out["cases"])

    def cold():
        shutil.rmtree(cache, ignore_errors=True)
        return run(statesafe_argv(["--format", "json", "."]), stdlib, env, timeout)

    for round_no in range(1, rounds + 1):
        print(f" round {round_no}/{rounds} (load average {os.getloadavg()[0]:.1f})", flush=True)
        best.measure("statesafe cold", cold, note=lambda r: f"  ({_findings(r)} findings)")
        if ruff:
            for label, extra in RUFF_RULES.items():
                best.measure(label, lambda extra=extra: run(ruff_argv(ruff, extra, "."), stdlib, None, timeout,
                                                            keep_output=False))


# --- the report --------------------------------------------------------------------------------------

def _ratio(a: float | None, b: float | None) -> str:
    return "" if not a or not b else f"{a / b:.2f}x"


def table(results: dict) -> str:
    """Markdown tables: one per tree, then the scaling line and the stdlib."""
    lines = []
    for data in results["trees"].values():
        cases = data.get("cases")
        if not cases:
            continue
        floor = cases.get("libcst floor, 1 process", {}).get("wall_s")
        floor_pool = cases.get("libcst floor, every core", {}).get("wall_s")
        ruffs = [cases.get(label, {}).get("wall_s") for label in RUFF_RULES]
        lines += [f"\n{data['files']:,} files ({data['python_files']:,} .py, {data['skills']:,} skills):\n",
                  ("| case | s (wall) | s (cpu) | us/file | / libcst floor 1 proc | / libcst floor all cores | "
                   + " | ".join(f"/ {label}" for label in RUFF_RULES) + " | peak MB largest | peak MB all |"),
                  "|---" * (8 + len(RUFF_RULES)) + "|"]
        for case, c in cases.items():
            wall = c["wall_s"]
            mark = " (timed out)" if c["timed_out"] else ""
            every = "" if c["peak_mb_all"] is None else f"{c['peak_mb_all']:.0f}"
            lines.append(f"| {case}{mark} | {wall:.3f} | {c['cpu_s']:.2f} | {c['us_per_file']:,.0f} | "
                         f"{_ratio(wall, floor)} | {_ratio(wall, floor_pool)} | "
                         + "".join(f"{_ratio(wall, r)} | " for r in ruffs) + f"{c['peak_mb_largest']:.0f} | {every} |")
    sizes = sorted((n for n, data in results["trees"].items() if data.get("cases")), key=int)
    if len(sizes) >= 2:
        small, large = results["trees"][sizes[0]], results["trees"][sizes[-1]]
        lines += [f"\nTime per file, {int(sizes[-1]):,} files / {int(sizes[0]):,} files (wall, CPU):\n",
                  "| case | wall | cpu |", "|---|---|---|"]
        per = float(large["files"]) / small["files"]
        for case in small["cases"]:
            if case in large["cases"]:
                a, b = large["cases"][case], small["cases"][case]
                lines.append(f"| {case} | {_ratio(a['wall_s'] / per, b['wall_s'])} | {_ratio(a['cpu_s'] / per, b['cpu_s'])} |")
    if results.get("stdlib") and results["stdlib"].get("cases"):
        s = results["stdlib"]
        cases = s["cases"]
        audit = cases.get("statesafe cold", {}).get("wall_s")
        lines += [f"\nstdlib ({s['files']:,} files):\n", "| case | s (wall) | s (cpu) | statesafe cold / this | peak MB |",
                  "|---|---|---|---|---|"]
        for case, c in cases.items():
            lines.append(f"| {case} | {c['wall_s']:.3f} | {c['cpu_s']:.2f} | {_ratio(audit, c['wall_s'])} | "
                         f"{c['peak_mb_largest']:.0f} |")
    return "\n".join(lines)


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True,
                              check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=HERE, capture_output=True,
                               text=True, check=False).stdout.strip()
        return head + (" (src/ modified)" if dirty else "")
    except OSError:
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000", help="comma-separated tree sizes (files)")
    parser.add_argument("--quick", action="store_true", help="the 2,000-file tree only (and the stdlib)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds for trees of <= 5,000 files")
    parser.add_argument("--big-rounds", type=int, default=1, help="rounds for larger trees")
    parser.add_argument("--stdlib-rounds", type=int, help="rounds for the stdlib (default: --rounds)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the cheap cases within a round")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one command is killed")
    parser.add_argument("--no-stdlib", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="write the figures here")
    parser.add_argument("--report", metavar="FILE", help="print the tables of a --json FILE and exit")
    parser.add_argument("--floor", choices=["libcst", "libcst-pool", "ast"], help=argparse.SUPPRESS)
    parser.add_argument("--listing", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        return floor_main(args.floor, args.listing, args.jobs)
    if args.report:
        print(table(json.loads(Path(args.report).read_text(encoding="utf-8"))))
        return 0
    sizes = [2000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    ruff = ruff_path()
    ruff_version = (subprocess.run([ruff, "--version"], capture_output=True, text=True, check=False).stdout.strip()
                    if ruff else None)
    results: dict = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(), "python": sys.version.split()[0], "cores": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()], "ruff": ruff_version, "seed": args.seed,
        "trees": {}, "stdlib": None,
    }
    print(f"python {results['python']}, {results['cores']} cores, {ruff_version or 'ruff not found'}, commit "
          f"{results['commit']}, load average {results['load_average_start']} at start", flush=True)
    def interrupted(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)  # a killed run still cleans up and reports
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            work = Path(tmp)
            if not args.no_stdlib:
                results["stdlib"] = {}
                bench_stdlib(work, args.stdlib_rounds or args.rounds, args.repeat, args.timeout, ruff,
                             results["stdlib"])
            for n in sizes:
                rounds = args.rounds if n <= 5000 else args.big_rounds
                results["trees"][str(n)] = {}
                bench_tree(n, args.seed, work, rounds, args.repeat, args.timeout, ruff, results["trees"][str(n)])
    except KeyboardInterrupt:
        print("\ninterrupted: reporting what was measured", flush=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(table(results))
    print(f"\nload average at end: {results['load_average_end']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
