"""FS102: a rename or move onto a destructive file that was not backed up first on every path."""

from __future__ import annotations

from statesafe.auditor.resolve import Resolver, symbolic_env
from statesafe.auditor.rule import Invalid, Rule, SinkSite, Target, Valid
from statesafe.auditor.values import Param
from statesafe.names import BACKUP_MARK
from statesafe.policy import FileClass


class RenameOntoDestructiveFile(Rule):
    '''
    ## What it does
    Checks for `os.replace`, `os.rename`, `shutil.move`, `Path.replace` or `Path.rename` onto a
    destructive-writes file when the same function has not first backed the file up to a
    `.bak-` sibling on every path.

    ## Why is this bad?
    A temp file renamed over the target is atomic, but it is only half of the policy: without the
    backup copy taken first, a bad write (an empty list, a wrong field) replaces the only copy of
    the data, and FAILSAFE.md's recovery ("list the `.bak-*` copies, let the user pick") has
    nothing to offer. A backup that only happens behind an option that is off by default does not
    count; a copy guarded by a check that the file exists does.

    ## Example
    ```python
    tmp = TRACKER + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, TRACKER)
    ```

    Use instead:
    ```python
    statesafe.write(TRACKER, data)
    ```

    ## Fix safety
    No automatic fix: the hand-rolled sequence around the rename has to go as a whole.
    '''

    CODE = "FS102"
    NAME = "rename-onto-destructive-file"
    MESSAGE = "{api} replaces the destructive file {target} without backing it up first"
    FILE_CLASSES = frozenset({FileClass.DESTRUCTIVE})
    ACTIONS = frozenset({"rename-onto"})

    VALID = [
        Valid(
            'import json, os, shutil, time\n\n'
            'def save(path, data):\n'
            '    if os.path.exists(path):\n'
            '        shutil.copy2(path, f"{path}.bak-{time.strftime(\'%Y%m%dT%H%M%SZ\', time.gmtime())}")\n'
            '    tmp = f"{path}.tmp-{os.getpid()}"\n'
            '    with open(tmp, "w") as f:\n'
            '        json.dump(data, f)\n'
            '    os.replace(tmp, path)\n\n'
            'save("threads_daily_tracker.json", {})\n'
        ),
        Valid(
            'import os, shutil\n\n'
            'def backup(path):\n    shutil.copy2(path, path + ".bak-20260101T000000Z")\n\n'
            'def replace_from_temp(path, text):\n'
            '    open(path + ".tmp", "w").write(text)\n    os.replace(path + ".tmp", path)\n\n'
            'def main():\n    backup("concept_library.md")\n    replace_from_temp("concept_library.md", "x")\n'
        ),
        Valid('import os\nos.replace("threads_daily_tracker.json", "threads_daily_tracker.json.bak-20260101T000000Z")\n'),
        Valid('import os\nos.replace("out.json.tmp", "out.json")\n'),
    ]
    INVALID = [
        Invalid(
            'import json, os\n\nTRACKER = "threads_daily_tracker.json"\n'
            'tmp = TRACKER + ".tmp"\nwith open(tmp, "w") as f:\n    json.dump({}, f)\nos.replace(tmp, TRACKER)\n',
            line=7,
        ),
        Invalid(
            'import argparse, os, shutil\n\n'
            'def save(path, text, backup):\n'
            '    if backup:\n'
            '        shutil.copy2(path, path + ".bak-x")\n'
            '    open(path + ".tmp", "w").write(text)\n'
            '    os.replace(path + ".tmp", path)\n\n'
            'def main():\n'
            '    parser = argparse.ArgumentParser()\n'
            '    parser.add_argument("--backup", action="store_true")\n'
            '    args = parser.parse_args()\n'
            '    save("style_guide.md", "x", args.backup)\n',
            line=7, via="skill/scripts/case.py:13",
        ),
        Invalid('from pathlib import Path\nPath("new.md").rename("concept_library.md")\n', line=2),
        Invalid('import shutil\nshutil.move("/tmp/draft.json", "threads_booster_config.json")\n', line=2),
        Invalid(
            'import os, shutil\n\n'
            'def backup(path):\n    shutil.copy2(path, path + ".bak-20260101T000000Z")\n\n'
            'def replace_from_temp(path, text):\n'
            '    open(path + ".tmp", "w").write(text)\n    os.replace(path + ".tmp", path)\n\n'
            'def main():\n    replace_from_temp("concept_library.md", "x")\n    backup("concept_library.md")\n',
            line=8, via="skill/scripts/case.py:11",
        ),
    ]

    @classmethod
    def exempt(cls, site: SinkSite, target: Target) -> bool:
        """A rename onto a file copied to a ``.bak-`` sibling before it, on every path, passes."""
        return target.action == "rename-onto" and _backed_up(site, target.text)


def _backed_up(site: SinkSite, text: str) -> bool:
    """Whether the target is copied to a ``.bak-`` sibling on every path before this rename.

    The copy may sit in the same function, in a helper it calls first, or, when the
    target is a parameter, in every caller that passes this file, before the call.
    """
    return _backs_up_before(site.resolver, site.mod, site.qualname, site.func, site.sink.target, text,
                            site.sink.order, depth=0)


def _backs_up_before(resolver: Resolver, mod, fq, func, target, text: str, order: int, depth: int) -> bool:
    def same(value) -> bool:
        return value == target or text in {t for t, _ in resolver.texts(value, mod, fq, None)}

    for other in func.sinks:
        if (other.action == "copy-onto" and other.order < order and resolver.always(other.conditional, mod)
                and _is_backup_name(resolver.texts(other.target, mod, fq, None)) and same(other.other)):
            return True
    for call in func.calls:
        if call.order >= order or not resolver.always(call.conditional, mod):
            continue
        for name in call.callees:
            for gmod, g, bound in resolver.callees(name, mod, call.method):
                for param in _backup_params(resolver, gmod, g):
                    value = resolver.argument(call, g, param, bound)
                    if value is not None and same(value):
                        return True
    if not isinstance(target, Param) or target.func != fq or depth >= 3:
        return False
    sites = []
    for cmod, cq, call, bound in resolver.callers.get((mod.path, fq), []):
        value = resolver.argument(call, func, target.name, bound)
        if value is not None and text in {t for t, _ in resolver.texts(value, cmod, cq, None)}:
            sites.append((cmod, cq, call, value))
    return bool(sites) and all(
        _backs_up_before(resolver, cmod, cq, cmod.functions[cq], value, text, call.order, depth + 1)
        for cmod, cq, call, value in sites)


def _is_backup_name(texts) -> bool:
    return any(BACKUP_MARK in t.rstrip("/").rsplit("/", 1)[-1] for t, _ in texts)


def _backup_params(resolver: Resolver, gmod, g) -> list[str]:
    """Parameters a helper always copies to a ``.bak-`` sibling (``def backup(path): shutil.copy2(path, ...)``)."""
    env = symbolic_env(g)
    return [other.other.name for other in g.sinks
            if other.action == "copy-onto" and isinstance(other.other, Param)
            and other.other.func == g.qualname and resolver.always(other.conditional, gmod)
            and _is_backup_name(resolver.texts(other.target, gmod, g.qualname, env))]
