"""What the writers cost, measured side by side in one run (not a test: the machine is noisy).

1. ``statesafe.write`` of a destructive file (lock, settle check, stale-temp sweep, temp,
   fsync, hard-link backup, prune, rename, directory fsync) against the minimal safe replace
   (temp + fsync + rename + directory fsync), at 1 KB, 1 MB, 10 MB and 100 MB. Targets:
   <= 1.5x at 1 KB, <= 1.15x at 10 MB and above. For reference, the same write with hard
   links disabled, so the backup is a copy (the fallback on filesystems without links).
2. ``statesafe.append`` (one JSON line per call, run_id and timestamp added) against a bare
   ``open(path, "a").write(line)`` per record; target >= 0.8x the throughput. The headline
   (and the verdict) is against a bare writer that writes a line made beforehand; as context,
   one that calls json.dumps per record (as a skill must), and ``durable=True`` (fsync per
   line, compared with the bare write plus fsync).

Each pair runs interleaved (A B, then B A), round after round; the figure is the median of
the per-round ratios. Run: ``python benchmarks/bench_writers.py [--dir DIR] [--quick]``.
The directory must be on the disk you care about (default: a temp dir under the working
directory, not /tmp, which may be tmpfs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

import statesafe
from statesafe.policy import default_policy

POLICY = default_policy()
SIZES = [("1 KB", 1 << 10, 300), ("1 MB", 1 << 20, 40), ("10 MB", 10 << 20, 12), ("100 MB", 100 << 20, 5)]
RECORD = {"event": "refresh", "posts": 128, "note": "window 7d, 3 new posts"}


def minimal_safe_replace(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + ".tmp-bench")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def interleaved(a, b, rounds: int) -> tuple[float, float, float]:
    """(median time of a, median time of b, median of the per-round ratios b/a)."""
    times_a, times_b, ratios = [], [], []
    for round_ in range(rounds):
        if round_ % 2:
            tb, ta = timed(b), timed(a)
        else:
            ta, tb = timed(a), timed(b)
        times_a.append(ta)
        times_b.append(tb)
        ratios.append(tb / ta)
    return statistics.median(times_a), statistics.median(times_b), statistics.median(ratios)


def bench_write(root: Path, label: str, size: int, rounds: int, copy_backups: bool = False) -> float:
    base_dir, ours_dir = root / "base", root / "ours"
    for folder in (base_dir, ours_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    data = os.urandom(size)
    base, ours = base_dir / POLICY.tracker, ours_dir / POLICY.tracker
    links = mock.patch.object(os, "link", side_effect=OSError(1, "links disabled")) if copy_backups else None
    if links:
        links.start()
    try:
        for _ in range(POLICY.keep_backups + 1):  # steady state: every write also prunes one backup
            minimal_safe_replace(base, data)
            statesafe.write(ours, data, policy=POLICY)
        ms_base, ms_ours, ratio = interleaved(lambda: minimal_safe_replace(base, data),
                                              lambda: statesafe.write(ours, data, policy=POLICY), rounds)
    finally:
        if links:
            links.stop()
    note = "  (backups copied: hard links disabled)" if copy_backups else ""
    print(f"  write {label:>6}: minimal {ms_base * 1e3:8.2f} ms   statesafe {ms_ours * 1e3:8.2f} ms   "
          f"ratio {ratio:5.2f}x{note}")
    return ratio


def bench_append(root: Path, records: int, rounds: int, durable: bool, serialise: bool = True) -> float:
    """``serialise``: the bare writer calls json.dumps per record too (as a skill must);
    without it the bare writer writes one line made beforehand."""
    folder = root / "logs"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    bare_log, our_log = folder / "bare.log", folder / POLICY.logs[0]
    prebuilt = json.dumps(RECORD) + "\n"

    def bare():
        for _ in range(records):
            with open(bare_log, "a", encoding="utf-8") as f:
                f.write(json.dumps(RECORD) + "\n" if serialise else prebuilt)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())

    def ours():
        for _ in range(records):
            statesafe.append(our_log, RECORD, durable=durable, policy=POLICY)

    t_bare, t_ours, ratio = interleaved(bare, ours, rounds)
    throughput = 1 / ratio
    what = ("durable=True vs bare write + fsync" if durable else "default (no fsync) vs bare write") + (
        "" if serialise else ", bare line made beforehand")
    print(f"  append {what}: bare {records / t_bare:9.0f} lines/s   statesafe {records / t_ours:9.0f} lines/s"
          f"   throughput {throughput:4.2f}x")
    return throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir here)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no 100 MB")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-statesafe-", dir=args.dir or Path.cwd()))
    try:
        print(f"in {root}")
        print("statesafe.write (destructive) / minimal safe replace, median of interleaved rounds:")
        results = {}
        for label, size, rounds in SIZES:
            if args.quick and size > 10 << 20:
                continue
            results[label] = bench_write(root, label, size, max(3, rounds // 3) if args.quick else rounds)
        for label, size, rounds in SIZES[2:3]:
            bench_write(root, label, size, max(3, rounds // 3), copy_backups=True)
        print("statesafe.append / bare open(path, 'a').write(line), per record:")
        records, rounds = (2000, 5) if args.quick else (5000, 9)
        append = bench_append(root, records, rounds, durable=False, serialise=False)
        print(" context:")
        bench_append(root, records, rounds, durable=False)
        bench_append(root, 200, 3 if args.quick else 5, durable=True)
        print("targets: write <= 1.5x at 1 KB, <= 1.15x at 10 MB and 100 MB; append >= 0.8x")
        verdicts = [("1 KB", results.get("1 KB"), 1.5), ("10 MB", results.get("10 MB"), 1.15),
                    ("100 MB", results.get("100 MB"), 1.15)]
        for label, ratio, target in verdicts:
            if ratio is not None:
                print(f"  write {label}: {ratio:.2f}x {'meets' if ratio <= target else 'MISSES'} <= {target}x")
        print(f"  append (vs a line made beforehand): {append:.2f}x {'meets' if append >= 0.8 else 'MISSES'} >= 0.8x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
