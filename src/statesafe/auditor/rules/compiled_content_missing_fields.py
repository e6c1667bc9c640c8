"""FS403: content written to a compiled-memory file that visibly lacks a required field."""

from __future__ import annotations

from collections.abc import Iterator

from statesafe.auditor.resolve import UNKNOWN_TEXT, Resolver
from statesafe.auditor.rule import Invalid, Rule, SinkSite, Valid
from statesafe.auditor.summary import Sink
from statesafe.auditor.types import Finding
from statesafe.auditor.values import DictDisplay
from statesafe.policy import FileClass

#: writes whose content the extractor keeps (Sink.data): statesafe.write, tx.write, Path.write_text / write_bytes
_WRITES = frozenset({"statesafe-write", "tx-write", "write"})


class CompiledContentMissingFields(Rule):
    '''
    ## What it does
    Checks for content written to a compiled-memory file that visibly lacks a required metadata
    field (the policy's `compiled-fields`: `generated_at`, `source_tracker_hash`, `posts_count`,
    `confidence_level`, `coverage_notes`). JSON content is a dict display carrying them at top
    level or under `"_meta"`; markdown content is text whose front matter names them. Content
    built where the auditor cannot see it is not reported.

    ## Why is this bad?
    Without `source_tracker_hash` and `generated_at` nobody can tell a stale cache from a fresh
    one, and the runtime trusts compiled claims the tracker no longer supports. statesafe refuses
    such content at run time.

    ## Example
    ```python
    statesafe.write("compiled/cluster_wiki.json", {"clusters": clusters})
    ```

    Use instead:
    ```python
    statesafe.write("compiled/cluster_wiki.json",
                    {"_meta": statesafe.compiled_metadata(tracker, confidence_level="high",
                                                          coverage_notes="all posts"),
                     "clusters": clusters})
    ```

    ## Fix safety
    No automatic fix: the values of the fields have to come from the build.
    '''

    CODE = "FS403"
    NAME = "compiled-content-missing-fields"
    MESSAGE = "content written to the compiled file {target} lacks {missing}"

    VALID = [
        Valid('import statesafe\nmeta = {"generated_at": 1, "source_tracker_hash": "h", "posts_count": 2,\n'
              '        "confidence_level": "low", "coverage_notes": ""}\n'
              'statesafe.write("compiled/cluster_wiki.json", {"_meta": meta, "clusters": []})\n'),
        Valid('import statesafe\n\ndef build(payload):\n    statesafe.write("compiled/cluster_wiki.json", payload)\n'),
        Valid('import statesafe\nstatesafe.write("compiled/account_wiki.md", f"---\\n{front}---\\n# Wiki\\n")\n'),
    ]
    INVALID = [
        Invalid('import statesafe\nstatesafe.write("compiled/cluster_wiki.json", {"clusters": []})\n', line=2),
        Invalid('import statesafe\nWIKI = "compiled/account_wiki.md"\n'
                'body = "---\\ngenerated_at: now\\nposts_count: 3\\n---\\n# Wiki\\n"\n'
                'statesafe.write(WIKI, body)\n', line=4),
    ]

    @classmethod
    def check_sink(cls, site: SinkSite) -> Iterator[Finding]:
        sink = site.sink
        if sink.data is None:
            return
        for target in site.targets:
            if target.file_class is FileClass.COMPILED and target.action in _WRITES:
                missing = _missing_fields(site.resolver, site.mod, site.qualname, sink, target.text)
                if missing:
                    yield site.finding(cls, target=target.shown, missing=", ".join(missing),
                                       file_class=target.file_class.value, via=target.via)
                    return


def _missing_fields(resolver: Resolver, mod, fq, sink: Sink, text: str) -> list[str] | None:
    """Required fields the written content visibly lacks; None when the content cannot be seen."""
    required = resolver.policy.compiled_fields
    structures = resolver.structures(sink.data, mod, fq, None, 0)
    if structures:
        missing_per_candidate = []
        for value, m, f, e in structures:
            if not isinstance(value, DictDisplay):
                return None
            keys = {k for k, _ in value.items}
            if None in keys:
                return None
            for k, meta in value.items:
                if k == "_meta":
                    metas = [s for s, *_ in resolver.structures(meta, m, f, e, 0)]
                    if not metas or any(not isinstance(s, DictDisplay) or None in {mk for mk, _ in s.items}
                                        for s in metas):
                        return None
                    keys |= {mk for s in metas for mk, _ in s.items}
            missing_per_candidate.append([field for field in required if field not in keys])
        return missing_per_candidate[0] if all(missing_per_candidate) else None
    if not text.endswith(".md"):
        return None
    for content, _ in resolver.texts(sink.data, mod, fq, None):
        if content.startswith(UNKNOWN_TEXT):
            return None
        if not content.startswith("---"):
            return list(required)
        end = content.find("\n---", 3)
        front = content[3:end] if end != -1 else content
        missing = [field for field in required if field not in front]
        if missing and UNKNOWN_TEXT not in front:
            return missing
    return None
