"""The runtime guard's audit-hook dispatch is built from the effects table.

:data:`statesafe.effects.PYTHON_APIS` names, for each Python write API, the audit
event the guard refuses it by. The guard has one handler per event; these tests
fail when the table names an event the guard has no handler for (a write technique
it would let through), or the guard handles an event no row of the table explains.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from statesafe import effects
from statesafe.guard import runtime

pytestmark = pytest.mark.statesafe_off  # subprocesses of their own; nothing here writes a policy file


def test_every_audit_event_of_the_table_has_a_handler():
    assert effects.AUDIT_EVENTS, "the table names no audit event at all"
    assert runtime.UNHANDLED == set(), f"the effects table names events the guard ignores: {runtime.UNHANDLED}"
    assert set(runtime._REFUSERS) == set(effects.AUDIT_EVENTS), "a handler for an event no table row names"


def test_the_dispatch_is_the_tables_events_plus_the_guards_own_bookkeeping():
    assert set(runtime._HANDLERS) == (set(effects.AUDIT_EVENTS) - {"open"}) | set(runtime._BOOKKEEPING)
    assert set(runtime._BOOKKEEPING) == {"os.mkdir", runtime._PROBE}
    assert not set(runtime._BOOKKEEPING) & effects.AUDIT_EVENTS
    for event in effects.AUDIT_EVENTS - {"open"}:
        assert runtime._HANDLERS[event] is runtime._REFUSERS[event]


def test_every_row_with_an_event_is_refused_through_its_handler():
    """Each row's event reaches a handler: the rows and the handlers cannot drift apart silently."""
    rows = {api.name: api.event for api in effects.PYTHON_APIS if api.event}
    assert {"builtins.open", "os.open", "os.replace", "os.remove", "os.truncate", "shutil.copy2", "os.link",
            "shutil.rmtree", "Path.write_text", "fileinput.input"} <= set(rows)
    assert all(event in runtime._REFUSERS for event in rows.values())


def test_a_table_event_without_a_handler_is_reported_not_a_start_up_crash():
    """A row naming a new event makes UNHANDLED non-empty (the test above fails); the guard still starts."""
    code = textwrap.dedent("""
        import statesafe.effects as effects
        effects.AUDIT_EVENTS = effects.AUDIT_EVENTS | {"os.chmod"}
        from statesafe.guard import runtime
        runtime.install()
        print(sorted(runtime.UNHANDLED), "os.chmod" in runtime._HANDLERS)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["['os.chmod']", "False"]


def test_the_hot_path_flags_are_the_tables_write_flags():
    expected = 0
    for name in effects.WRITE_FLAG_NAMES:
        expected |= getattr(os, name)
    assert runtime._WRITE_FLAGS == expected
    assert runtime._audit.__defaults__ == (expected,)  # bound once: one bitwise test per read


@pytest.mark.parametrize("flags, appends", [
    (os.O_WRONLY | os.O_APPEND, True),
    (os.O_RDWR | os.O_APPEND | os.O_CREAT, True),
    (os.O_WRONLY | os.O_APPEND | os.O_TRUNC, False),
    (os.O_WRONLY, False),
    (os.O_RDWR | os.O_CREAT | os.O_TRUNC, False),
])
def test_a_log_takes_what_the_table_calls_an_append(tmp_path, flags, appends):
    """The guard's append-vs-write decision on a log is effects.flag_bits_kind's."""
    assert (effects.flag_bits_kind(flags) is effects.Kind.APPEND) is appends
    log = tmp_path / "threads_refresh.log"
    log.write_text("")
    code = textwrap.dedent(f"""
        import os
        from statesafe import guard
        from statesafe.errors import PolicyViolation
        guard.install()
        try:
            os.close(os.open("threads_refresh.log", {flags}))
            print("passed")
        except PolicyViolation:
            print("refused")
    """)
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == ("passed" if appends else "refused"), out.stderr
