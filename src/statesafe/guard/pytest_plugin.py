"""pytest plugin (entry point ``statesafe``): the whole test run under the guard.

``pytest --statesafe`` (or ``--statesafe-mode=enforce|warn|off``, or ``statesafe =
enforce|warn|off`` in the ini file) arms the guard before conftest files are
imported and leaves it on through collection, fixtures of every scope, the tests,
session teardown and ``atexit``, and in the Python scripts the tests start (the
same start-up hook as ``statesafe run``). A refusal a test catches and hides still
fails that test; one outside any test fails the session.
``@pytest.mark.statesafe_off`` lets a test (setup, body, teardown, the scripts it
starts) break the rules on purpose. The ``statesafe_skill_dir`` fixture gives a
test a temporary working directory with the guard on.

Precedence, most explicit first: the ``statesafe_off`` marker, the
``statesafe_skill_dir`` fixture (enforce), the command line, the ini option.
Removing whole temporary trees (tmp_path cleanup, TemporaryDirectory, rmtree of a
directory the run made) is cleanup and passes; see docs/guard.md.

It uses only the guard's public API (:mod:`statesafe.guard`): ``current()`` and
``restore()`` put an outer session's guard back after a nested (pytester) one.
"""

from __future__ import annotations

import os

import pytest

from statesafe import guard
from statesafe.errors import StatesafeError
from statesafe.guard import boot

MODES = ("enforce", "warn", "off")
_previous = pytest.StashKey[object]()
_environ = pytest.StashKey[dict]()
_leftover = pytest.StashKey[list]()
_depth = 0  # pytest sessions running in this process (pytester runs them nested)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("statesafe", "statesafe runtime guard")
    group.addoption("--statesafe", action="store_const", const="enforce", dest="statesafe",
                    help="run the whole session under the statesafe guard: raw writes to policy files fail.")
    group.addoption("--statesafe-mode", choices=MODES, dest="statesafe",
                    help="guard mode for this run: enforce (as --statesafe), warn (report, let it happen) or off.")
    parser.addini("statesafe", default="off",
                  help="statesafe guard mode for every run: enforce, warn or off (default off).")


def _session_mode(config: pytest.Config) -> str:
    namespace = getattr(config, "known_args_namespace", None)
    value = getattr(namespace, "statesafe", None) or config.getoption("statesafe", None) \
        or config.getini("statesafe") or "off"
    if value not in MODES:
        raise pytest.UsageError(f"statesafe: ini option 'statesafe' must be one of {', '.join(MODES)}, "
                                f"got {value!r}")
    return value


def _start(config: pytest.Config) -> None:
    global _depth
    if _previous in config.stash:
        return
    config.stash[_previous] = guard.current()
    config.stash[_environ] = {name: os.environ.get(name) for name in boot.VARIABLES}
    _depth += 1
    mode = _session_mode(config)
    if mode != "off":
        try:
            guard.install(mode, exit_on_violation=True)
        except StatesafeError as exc:
            raise pytest.UsageError(f"statesafe: {exc}") from None
        os.environ.update(boot.environment(mode, str(config.invocation_params.dir), os.environ))
        basetemp = config.getoption("basetemp", None) or getattr(config.known_args_namespace, "basetemp", None)
        if basetemp:
            guard.add_scratch(basetemp)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser, args) -> None:
    _start(early_config)  # before conftest files are imported


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "statesafe_off: run this test (setup, body, teardown) without the "
                                       "statesafe guard, to break the rules on purpose.")
    _start(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _depth
    if _previous not in config.stash:
        return
    _depth -= 1
    if _depth > 0:  # a nested (pytester) session: put back the outer session's guard
        guard.restore(config.stash[_previous])
        _set_environ(config.stash[_environ])
    # The outermost session leaves the guard on: atexit handlers still run after this.


def _set_environ(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _phase(item: pytest.Item):
    if item.get_closest_marker("statesafe_off") is None:
        yield
        return
    environ = {name: os.environ.get(name) for name in boot.VARIABLES}
    with guard.suspended():
        _set_environ(item.config.stash[_environ])  # the scripts it starts run unguarded too
        try:
            yield
        finally:
            _set_environ(environ)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    yield from _phase(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    yield from _phase(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem):
    yield from _phase(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    refused = guard.take_violations()
    if refused and report.passed:  # the code under test caught the refusal and carried on
        report.outcome = "failed"
        report.longrepr = ("statesafe guard refused a raw write that was caught and hidden:\n"
                           + "\n".join(refused))


@pytest.hookimpl(trylast=True)  # after conftest sessionfinish hooks, which are guarded too
def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    refused = guard.take_violations()
    session.config.stash[_leftover] = refused
    if refused and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    refused = config.stash.get(_leftover, None)
    if refused:
        terminalreporter.section("statesafe", sep="=", red=True)
        terminalreporter.line("raw writes refused outside any test (collection, session fixtures):")
        for line in refused:
            terminalreporter.line(f"  {line}")


@pytest.fixture
def statesafe_skill_dir(request, tmp_path, monkeypatch):
    """A temporary skill directory, made the working directory, with the guard on (enforce).

    The policy is the session's (that of the directory pytest was started in). Seed
    the directory through ``statesafe.write``; raw writes to policy files fail the test.
    """
    skill = tmp_path / "skill"
    skill.mkdir()
    session = guard.current()
    policy = session.policy if session else str(request.config.invocation_params.dir)
    monkeypatch.chdir(skill)
    with guard.guarded("enforce", policy=policy, exit_on_violation=bool(session and session.exit_on_violation)):
        yield skill
