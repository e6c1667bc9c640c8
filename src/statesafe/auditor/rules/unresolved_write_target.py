"""FS801 (--strict): a raw write whose target the auditor cannot resolve, but which may name a policy file."""

from __future__ import annotations

from collections.abc import Iterator

from statesafe.auditor.resolve import display, is_resolved
from statesafe.auditor.rule import Invalid, Rule, SinkSite, Valid
from statesafe.auditor.types import Finding

#: actions that change a file without statesafe; the source of a Python rename (rename-away) is left
#: out: in ``os.replace(tmp, target)`` it is the fresh temp, whose name is seldom resolvable
RAW_ACTIONS = frozenset({"write", "append", "append-chunked", "touch", "rename-onto", "copy-onto", "delete",
                         "truncate", "shell-write", "shell-append", "shell-copy-onto", "shell-move-onto",
                         "shell-move-away", "shell-delete", "shell-touch", "remove-tree", "shell-remove-tree"})


class UnresolvedWriteTarget(Rule):
    '''
    ## What it does
    Under `statesafe audit --strict` only: checks for a raw write (open for writing, rename, copy,
    delete, `write_text`, a shell command that writes) whose target the auditor cannot resolve
    (a path read from input, built by code it cannot follow, or a helper nobody in the audited
    tree calls).

    ## Why is this bad?
    Such a write may reach a policy file; the default run stays silent about it to avoid noise.
    Strict mode is for skills that want every raw write either proved harmless or moved to
    statesafe.

    ## Example
    ```python
    def save(path, data):
        with open(path, "w") as f:
            json.dump(data, f)
    ```

    Use instead:
    ```python
    def save(path, data):
        statesafe.write(path, data)  # or a path the auditor can follow
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS801"
    NAME = "unresolved-write-target"
    MESSAGE = "{api} writes a path the auditor cannot resolve ({target})"
    STRICT_ONLY = True

    VALID = [
        Valid('import sys\nopen(sys.argv[1], "w").write("x")\n'),
        Valid('open("out.txt", "w").write("x")\n', strict=True),
    ]
    INVALID = [
        Invalid('import sys\nopen(sys.argv[1], "w").write("x")\n', strict=True, line=2),
    ]

    @classmethod
    def check_sink(cls, site: SinkSite) -> Iterator[Finding]:
        """Reported once per sink, naming its first unresolved target, unless some target resolved
        to a policy file (then the other rules have spoken)."""
        unresolved = None
        for target in site.targets:
            if target.file_class is not None:
                return
            if (unresolved is None and target.action in RAW_ACTIONS and not is_resolved(target.text)
                    and site.resolver.partial(target.text) is not None):  # some value may be a policy file
                unresolved = target.text
        if unresolved is not None:
            yield site.finding(cls, api=site.sink.api, target=display(unresolved))
