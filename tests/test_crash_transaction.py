"""SIGKILL during a 3-file transaction: afterwards every file is from one generation.

Two ways of killing: a forked child killed at each filesystem call of one commit in turn
(every step, deterministically), and a child process running transactions in a loop,
killed at random moments (>= 20 kills here, >= 200 in the slow tier). The state is then
settled by ``statesafe recover`` or by the next ``statesafe.write`` of one member.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import statesafe
from fs_support import child_env
from tx_support import (FILES, commit_dying, committed, fresh, generations, journals, leftovers, one_generation,
                        payload, write_generation)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def commit_dying_at(root: Path, step: int) -> bool:
    """Commit generation 2, SIGKILLed just before the ``step``-th filesystem call."""
    calls = itertools.count(1)
    return commit_dying(root, 2, lambda name, args: next(calls) == step)


def settle_by_writing(root: Path) -> int:
    """Write one member as the next writer would; it must settle the transaction first."""
    statesafe.write(root / "style_guide.md", payload(99, "style_guide.md"))
    assert json.loads((root / "style_guide.md").read_text())["gen"] == 99  # not overwritten by a roll-forward
    # nothing pending; a pointer whose primary was never written may stay until recover or the
    # next write in its own folder removes it
    assert not any("members" in journal.read_text() for journal in journals(root))
    return one_generation(root, [f for f in FILES if f != "style_guide.md"])


def test_a_kill_at_every_step_of_a_commit_leaves_one_generation(home):
    outcomes = {}
    step = 0
    while True:
        step += 1
        root = fresh(home / f"step{step}")
        if not commit_dying_at(root, step):
            assert one_generation(root) == 2 and leftovers(root) == []
            break
        forward = committed(root)
        if step % 2:
            report = statesafe.recover(root)
            gen = one_generation(root)
            assert leftovers(root) == [], report.lines()
        else:
            gen = settle_by_writing(root)
            statesafe.recover(root)
            assert leftovers(root) == []
        assert gen == (2 if forward else gen), f"killed at step {step}: committed, yet rolled back"
        outcomes[step] = gen
    # the commit point splits the steps: before it, the old generation; from it on, the new one
    gens = list(outcomes.values())
    assert gens == sorted(gens) and gens[0] == 1 and gens[-1] == 2, outcomes
    print(f"{step - 1} kill points; the first rolled forward: {min(k for k, g in outcomes.items() if g == 2)}")
    assert step > 30  # every backup, temp, journal, rename and fsync of three files was a step


def test_a_kill_at_every_step_of_an_in_process_undo_leaves_one_generation(home):
    """A rename fails after two files landed, one of them new, and the undo is killed at each
    of its steps in turn: before the rollback journal lands the commit stands (forward);
    after it the undo does, the new file removed again."""
    files = FILES + ("sub/comments.md",)  # sorts second: new, and installed before the failure

    def generation_of(root: Path) -> int:
        found = generations(root, files)
        assert found in (dict.fromkeys(files, 2), {**dict.fromkeys(FILES, 1), "sub/comments.md": None}), found
        return found[FILES[0]]

    outcomes = {}
    step = 0
    while True:
        step += 1
        root = fresh(home / f"step{step}")
        third = str(sorted(root / f for f in files)[2])
        failed, calls = [], itertools.count(1)

        def failing(name, args):
            if name == "replace" and os.fspath(args[1]) == third and not failed:
                failed.append(True)
                return True
            return False

        if not commit_dying(root, 2, lambda name, args: bool(failed) and next(calls) == step, failing, files):
            assert generation_of(root) == 1 and leftovers(root) == []  # the undo completed in process
            break
        states = {json.loads(p.read_text()).get("state") for p in journals(root)} - {None}
        state = states.pop() if states else "removed"  # the undo ran to the primary's removal
        statesafe.recover(root)
        outcomes[step] = generation_of(root)
        assert leftovers(root) == []
        assert outcomes[step] == {"commit": 2, "rollback": 1, "removed": 1}[state], f"undo step {step}, {state}"
    gens = list(outcomes.values())
    assert gens[0] == 2 and gens[-1] == 1 and gens == sorted(gens, reverse=True), outcomes


CHILD = textwrap.dedent("""
    import json, sys
    import statesafe, statesafe.transactions
    files, gen, pad = sys.argv[2:], int(sys.argv[1]), "x" * 20000
    print("ready", flush=True)
    while True:
        gen += 1
        with statesafe.transaction() as tx:
            for name in files:
                tx.write(name, json.dumps({"gen": gen, "file": name, "pad": pad}) + "\\n")
        print(gen, flush=True)  # acknowledged: the block has exited
""")


def crash_loop(root: Path, kills: int, seed: int) -> dict[str, int]:
    """Run the looping child ``kills`` times, SIGKILLing it at a random moment; check each time."""
    rng = random.Random(seed)
    (root / "sub").mkdir()
    acked, stats = 0, {"roll-forward": 0, "by-write": 0, "acknowledged": 0}
    for kill in range(kills):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(acked), *FILES], cwd=root, env=child_env(),
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "ready\n"
        first = int(child.stdout.readline())  # under way: kill it somewhere in the next transactions
        time.sleep(rng.uniform(0, 0.03))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        acks = [first] + [int(line) for line in out.split()]
        acked = max([acked, *acks])
        stats["acknowledged"] += len(acks)
        stats["roll-forward"] += committed(root)
        if kill % 4 == 3 and acked:
            stats["by-write"] += 1
            gen = settle_by_writing(root)
            statesafe.recover(root)
            if gen is not None:  # put the written member back in step with the others
                with statesafe.transaction() as tx:
                    write_generation(tx, root, gen, ["style_guide.md"])
        elif kill % 4 == 0:  # the command line, as a person would run it
            result = subprocess.run([sys.executable, "-m", "statesafe", "recover", str(root)], env=child_env(),
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode in (0, 1), result.stderr
            gen = one_generation(root)
        else:
            statesafe.recover(root)
            gen = one_generation(root)
        assert leftovers(root) == []
        if gen is not None:  # None: killed before the very first commit landed
            assert acked <= gen <= acked + 1, f"kill {kill}: generation {gen}, last acknowledged {acked}"
        else:
            assert acked == 0
        acked = max(acked, gen or 0)
    return stats


def test_random_kills_of_a_transaction_loop(home):
    print(crash_loop(home, kills=20, seed=20))


@pytest.mark.slow
def test_random_kills_of_a_transaction_loop_many_times(home):
    stats = crash_loop(home, kills=200, seed=200)
    print(stats)
    assert stats["roll-forward"] > 0  # some kills landed after a commit point, before its end
