from statesafe.auditor.rule import Invalid, Rule, Valid


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
