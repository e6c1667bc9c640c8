"""FS501: one function, or one call path through helpers, rewriting two destructive files outside a transaction."""

from __future__ import annotations

from collections.abc import Iterator

from statesafe.auditor.resolve import Resolver, display, sink_texts, symbolic_env
from statesafe.auditor.rule import Invalid, Rule, Run, Valid
from statesafe.auditor.summary import FunctionSummary, ModuleSummary
from statesafe.auditor.types import Finding
from statesafe.policy import FileClass

#: actions that rewrite a file as a whole; shell commands too (`sed -i`, `>`, `cp`/`mv` onto it):
#: a write run through a subprocess fails half-way all the same
REWRITE_ACTIONS = frozenset({"write", "rename-onto", "copy-onto", "statesafe-write", "truncate", "shell-write",
                             "shell-copy-onto", "shell-move-onto"})
#: how many calls deep a function's writes are followed into helpers
MAX_CALL_DEPTH = 4


class MultiFileWriteOutsideTransaction(Rule):
    '''
    ## What it does
    Checks for one function (or one call path through helpers of the audited tree) that rewrites
    two or more destructive-writes files outside a single `statesafe.transaction()`, even when
    each write on its own goes through `statesafe.write`. Writes made by shell commands it runs
    (`sed -i`, `>`, `cp`/`mv` onto a file) count too.

    ## Why is this bad?
    FAILSAFE.md's multi-file rule (`/review` writes tracker + style guide + concept library in
    one go): back up all of them before writing any, and abort the whole write phase if one
    backup fails. Separate writes can stop after the first, leaving a half-updated set that is
    worse than no write at all.

    ## Example
    ```python
    statesafe.write(TRACKER, tracker)
    statesafe.write(STYLE_GUIDE, style)
    ```

    Use instead:
    ```python
    with statesafe.transaction() as tx:
        tx.write(TRACKER, tracker)
        tx.write(STYLE_GUIDE, style)
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS501"
    NAME = "multi-file-write-outside-transaction"
    MESSAGE = "writes {files} outside one statesafe.transaction(): a failure leaves them half-updated"

    VALID = [
        Valid('import statesafe\nwith statesafe.transaction() as tx:\n'
              '    tx.write("threads_daily_tracker.json", {})\n    tx.write("style_guide.md", "")\n'),
        Valid('import statesafe\n\ndef save(path, data):\n    statesafe.write(path, data)\n\n'
              'def a():\n    save("threads_daily_tracker.json", {})\n\ndef b():\n    save("style_guide.md", "")\n'),
        Valid('import statesafe\nstatesafe.write("threads_daily_tracker.json", {})\nstatesafe.write("posts_by_date.md", "")\n'),
        Valid('import subprocess\nimport statesafe\n\ndef tune():\n'
              '    statesafe.write("threads_booster_config.json", {})\n'
              '    subprocess.run(["grep", "Tone", "brand_voice.md"], check=True)\n'),
    ]
    INVALID = [
        Invalid('import statesafe\n\ndef review(t, s):\n    statesafe.write("threads_daily_tracker.json", t)\n'
                '    statesafe.write("style_guide.md", s)\n', line=5),
        Invalid(
            'import statesafe\n\ndef save(path, data):\n    statesafe.write(path, data)\n\n'
            'def review():\n    save("threads_daily_tracker.json", {})\n    save("concept_library.md", "")\n',
            line=8,
        ),
        Invalid('import subprocess\nimport statesafe\n\ndef tune(tone):\n'
                '    statesafe.write("threads_booster_config.json", {})\n'
                '    subprocess.run(["sed", "-i", f"s/^Tone: .*/Tone: {tone}/", "brand_voice.md"], check=True)\n',
                line=6),
    ]

    @classmethod
    def check_function(cls, run: Run, mod: ModuleSummary, func: FunctionSummary) -> Iterator[Finding]:
        result = run.state(cls, _Writes).reports(mod, func)
        if result is None:
            return
        written, position = result
        shown = [display(text) for text in written]
        files = ", ".join(shown[:-1]) + " and " + shown[-1]
        yield cls.finding(mod.path, position, files=files, target=shown[1], file_class=FileClass.DESTRUCTIVE.value)


class _Writes:
    """The destructive files each function rewrites, itself or through helpers, outside a transaction
    (memoized for the run)."""

    def __init__(self, resolver: Resolver):
        self.resolver = resolver
        self.memo: dict = {}
        self.reports_memo: dict = {}

    def writes(self, mod, g, env, depth: int = 0) -> list[str]:
        """Destructive texts written (outside a transaction) by calling ``g`` with ``env``."""
        key = (mod.path, g.qualname, tuple(sorted(env.items())))
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = []
        found = [t for _, texts, _ in self.sites(mod, g, env, depth) for t in texts]
        self.memo[key] = found
        return found

    def sites(self, mod, g, env, depth) -> list[tuple]:
        """(position, destructive texts, the call or None) for each write or call in ``g``."""
        resolver = self.resolver
        out = []
        for sink in g.sinks:
            if (sink.action in REWRITE_ACTIONS or sink.action == "shell") and not sink.in_transaction:
                texts = [(text, via) for action, text, via, _ in sink_texts(resolver, mod, g.qualname, sink, env)
                         if action in REWRITE_ACTIONS]
                out.append((sink.position, self.destructive(texts), None))
        if depth < MAX_CALL_DEPTH:
            for call in g.calls:
                if call.in_transaction:
                    continue
                texts = []
                for name in call.callees:
                    for gmod, callee, bound in resolver.callees(name, mod, call.method):
                        genv = resolver.bind(call, mod, g.qualname, env, gmod, callee, bound)
                        texts.extend(self.writes(gmod, callee, genv, depth + 1))
                out.append((call.position, list(dict.fromkeys(texts)), call))
        return out

    def destructive(self, texts) -> list[str]:
        return [t for t, _ in texts if self.resolver.classify(t) is FileClass.DESTRUCTIVE]

    def reports(self, mod, g) -> tuple | None:
        """(the files written, in order, and the position of the write of the second) when ``g`` is
        reported: it writes two or more, and no helper it calls that writes them all is reported itself."""
        key = (mod.path, g.qualname)
        if key in self.reports_memo:
            return self.reports_memo[key]
        self.reports_memo[key] = None
        sites = sorted(self.sites(mod, g, symbolic_env(g), 0), key=lambda s: s[0])
        seen: list[str] = []
        second_at = None
        for site in sites:
            for text in site[1]:
                if text not in seen:
                    seen.append(text)
                    if len(seen) == 2:
                        second_at = site[0]
        result = None
        if len(seen) >= 2:
            covered_by_callee = any(
                site[2] is not None and set(seen) <= set(site[1]) and any(
                    self.reports(gmod, callee) for name in site[2].callees
                    for gmod, callee, _ in self.resolver.callees(name, mod, site[2].method))
                for site in sites)
            if not covered_by_callee:
                result = (tuple(seen), second_at)
        self.reports_memo[key] = result
        return result
