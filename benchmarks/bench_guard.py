"""What the runtime guard costs, measured side by side in one run.

    python benchmarks/bench_guard.py [--rounds N]

Targets (issue 4): open() for reading under the guard <= 1.05x bare; open() for
writing an unrelated file <= 1.2x bare; ``import statesafe.guard`` + install()
<= 15 ms in a fresh process. The open() ratios come from one process with the
guard armed and disarmed in alternating rounds (best round of each), so machine
noise hits both sides alike; they run in the temp dir and, where it exists, in
/dev/shm (tmpfs: the cheapest open there is, so the guard's fixed cost per write,
an lstat and a hook call, shows most). The start-up costs are the best of N fresh
subprocesses (bytecode cached, as installed), shown absolute and against a bare
``python -c pass``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from statesafe import guard


def per_call(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def side_by_side(fn, rounds: int, calls: int) -> tuple[float, float]:
    """Best per-call time bare and guarded, alternating rounds."""
    bare, guarded = [], []
    for _ in range(rounds):
        guard.uninstall()
        bare.append(per_call(fn, calls))
        guard.install()
        guarded.append(per_call(fn, calls))
    guard.uninstall()
    return min(bare), min(guarded)


def compiled_env(cache: str) -> dict[str, str]:
    """Start-up as installed: bytecode cached (in a private prefix, not the source tree)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def startup(code: str, runs: int, env: dict[str, str]) -> float:
    subprocess.run([sys.executable, "-c", code], check=True, env=env)  # warm the bytecode cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        times.append(time.perf_counter() - start)
    return min(times)


def in_process_import(runs: int, env: dict[str, str]) -> float:
    code = ("import time; t = time.perf_counter(); import statesafe.guard; statesafe.guard.install(); "
            "print(time.perf_counter() - t)")
    out = [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                env=env).stdout) for _ in range(runs)]
    return min(out)


def measure_opens(work: str, place: str, rounds: int, calls: int) -> list[tuple[str, float, float, float]]:
    """open() read and write timings in ``work``, bare and guarded."""
    os.chdir(work)
    with open("threads_daily_tracker.json", "w") as f:
        f.write('{"posts": []}\n')
    with open("data.json", "w") as f:
        f.write("{}\n" * 100)

    def read():
        with open("data.json") as f:
            f.read()

    def read_tracker():
        with open("threads_daily_tracker.json", "rb") as f:
            f.read()

    def write():
        with open("notes.json", "w") as f:
            f.write("{}\n")

    rows = []
    for label, fn, target in ((f"open() read, unrelated ({place})", read, 1.05),
                              (f"open() read, tracker ({place})", read_tracker, 1.05),
                              (f"open() write, unrelated ({place})", write, 1.20)):
        bare, guarded = side_by_side(fn, rounds, calls)
        rows.append((label, bare, guarded, target))
    os.chdir(os.path.dirname(work))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--startups", type=int, default=21)
    args = parser.parse_args()

    rows = []
    places = [("tempdir", None)] + ([("/dev/shm", "/dev/shm")] if os.path.isdir("/dev/shm") else [])
    for place, parent in places:
        with tempfile.TemporaryDirectory(dir=parent) as work:
            rows += measure_opens(work, place, args.rounds, args.calls)

    print(f"{'operation':34s} {'bare':>9s} {'guarded':>9s} {'ratio':>6s}  target")
    for label, bare, guarded, target in rows:
        ratio = guarded / bare
        print(f"{label:34s} {bare * 1e6:7.2f}us {guarded * 1e6:7.2f}us {ratio:6.3f}  <= {target:.2f}"
              f"  {'ok' if ratio <= target else 'OVER'}")

    with tempfile.TemporaryDirectory() as cache:
        env = compiled_env(cache)
        bare_start = startup("pass", args.startups, env)
        guarded_start = startup("import statesafe.guard; statesafe.guard.install()", args.startups, env)
        measured = in_process_import(args.startups, env)
    print(f"\npython -c pass                    {bare_start * 1e3:7.1f} ms")
    print(f"python -c 'import + install'      {guarded_start * 1e3:7.1f} ms  "
          f"(+{(guarded_start - bare_start) * 1e3:.1f} ms, {guarded_start / bare_start:.2f}x bare)")
    print(f"import statesafe.guard + install  {measured * 1e3:7.1f} ms  measured inside the fresh process"
          f"  <= 15 ms  {'ok' if measured <= 0.015 else 'OVER'}")
    heavy = subprocess.run([sys.executable, "-c", "import sys, statesafe.guard; statesafe.guard.install(); "
                            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('libcst', 'click') "
                            "or m.startswith(('statesafe.agents', 'statesafe.auditor', 'statesafe.readers', "
                            "'statesafe.writers')))))"],
                           check=True, capture_output=True, text=True).stdout.strip()
    print(f"libcst, click, the agent hooks, the auditor, the readers or the writers loaded on that path: "
          f"{heavy or 'none'}")


if __name__ == "__main__":
    main()
