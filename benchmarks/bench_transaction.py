"""What a 3-file transaction costs, measured side by side in one run (not a test).

``statesafe.transaction()`` writing three files over two folders (two destructive, one
companion: backups, priors, temps, a pointer and a primary journal, renames) against the
same three files written by three separate ``statesafe.write`` calls (each safe, but not
all-or-nothing) and by three minimal safe replaces (temp + fsync + rename + directory
fsync). No target: the figure says what all-or-nothing costs (the journal's two file
fsyncs and the directory fsyncs around the commit point).

Interleaved rounds; the figure is the median of the per-round ratios. Run:
``python benchmarks/bench_transaction.py [--dir DIR] [--rounds N]`` with DIR on the disk
you care about (default: a temp dir under the working directory; /tmp may be tmpfs).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import statesafe
from bench_writers import minimal_safe_replace  # the one baseline both benchmarks compare with

FILES = ("threads_daily_tracker.json", "style_guide.md", "sub/posts_by_date.md")
SIZES = [("1 KB", 1 << 10), ("1 MB", 1 << 20)]


def in_transaction(root: Path, data: bytes) -> None:
    with statesafe.transaction() as tx:
        for name in FILES:
            tx.write(root / name, data)


def separately(root: Path, data: bytes) -> None:
    for name in FILES:
        statesafe.write(root / name, data)


def minimal(root: Path, data: bytes) -> None:
    for name in FILES:
        minimal_safe_replace(root / name, data)


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--dir", type=Path, default=None)
    cli.add_argument("--rounds", type=int, default=60)
    args = cli.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-tx-", dir=args.dir or Path.cwd()))
    try:
        print(f"3 files over 2 folders, {args.rounds} interleaved rounds, in {base}")
        for label, size in SIZES:
            roots = {}
            for way in (in_transaction, separately, minimal):
                root = roots[way] = base / f"{way.__name__}-{size}"
                (root / "sub").mkdir(parents=True)
                way(root, b"x" * size)
            times = {way: [] for way in roots}
            for round_ in range(args.rounds):
                order = list(roots) if round_ % 2 else list(reversed(roots))
                for way in order:
                    start = time.perf_counter()
                    way(roots[way], bytes([round_ % 256]) * size)
                    times[way].append(time.perf_counter() - start)
            tx, sep, low = (times[w] for w in (in_transaction, separately, minimal))
            print(f"{label:>5}: transaction {statistics.median(tx) * 1e3:6.2f} ms | "
                  f"3 x statesafe.write {statistics.median(sep) * 1e3:6.2f} ms | "
                  f"3 x minimal replace {statistics.median(low) * 1e3:6.2f} ms | "
                  f"transaction / writes {statistics.median(a / b for a, b in zip(tx, sep)):.2f}x, "
                  f"/ minimal {statistics.median(a / b for a, b in zip(tx, low)):.2f}x")
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
