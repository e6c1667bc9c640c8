"""Runs the engine over a set of files, parsing as few of them as a sound answer allows.

Three things keep ``statesafe audit`` fast, in the order they act:

1. **A byte-level prefilter.** A write is flagged only if its target resolves to
   a policy file, and the engine resolves targets only from string literals of
   the audited tree (constants, defaults, arguments, joins, f-strings,
   ``with_suffix``...). So some module must spell the policy file's name, or at
   least its stem and its extension (``Path("style_guide").with_suffix(".md")``).
   Such a module is a *seed*. A name reaches a write only by flowing along
   imports: *up* into the modules that import a seed (imported constants, return
   values), any number of levels, then *down* into the modules those import
   (arguments passed to helpers), any number of levels. A value that went down
   comes back up into another importer only through module state assigned at
   run time, which the engine does not follow either. So the engine is given
   every module that can contribute to a finding, and returns what a full parse
   would (tested on every rule's cases and on the example skill). Import edges
   are read from the bytes by a regex that errs towards more edges, and a dotted
   name is matched the engine's way, keeping every candidate (the engine picks
   one of them). SKILL.md manifests are always analysed (a manifest that never
   names the policy is itself a finding). ``--strict`` reports writes whose
   target cannot be resolved, which any module may hold, so it parses every
   module. An ``args.NAME`` resolves through the module's own parser or one in
   a module sharing an importer with it: the same up-then-down edges. Not
   seen: a name assembled from pieces that split its stem
   (``"threads_" + kind + "_tracker.json"``).
2. **A cache** (:mod:`statesafe.auditor.cache`): per file, stat -> content hash
   and the prefilter's facts; per (path, content), the engine's summary; and the
   last import closure and cross-module result. A warm run reads no unchanged
   file and, when nothing it analyses changed, does not load the engine at all.
3. **A process pool**, only when there is enough to parse to pay for starting it.
"""

from __future__ import annotations

import os
import posixpath
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from statesafe.auditor import cache as cache_mod
from statesafe.auditor import files as files_mod
from statesafe.auditor import suppress
from statesafe.auditor.types import Finding
from statesafe.policy import Policy

#: A pool pays (fork, pickling, a cold libcst in each worker's caches) once the estimated
#: serial parse time, per file plus per byte as measured on small and large files, passes this.
POOL_MIN_SECONDS = 0.3
SECONDS_PER_FILE = 0.008
SECONDS_PER_BYTE = 0.000_004

_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)|import[ \t]+([^\n#;]*))", re.M)


@dataclass
class Report:
    findings: list[Finding]
    checked: int  # files audited (reported on)
    parsed: int  # files handed to the engine in this run (not answered by the cache)
    analysed: int  # files whose summaries went into the cross-module phase
    errors: list[str] = field(default_factory=list)  # one line each: bit 2 of the exit code
    skipped: int = 0  # files named on the command line that are neither Python nor a manifest


def needles(policy: Policy) -> tuple[tuple[bytes, tuple[bytes, ...]], ...] | None:
    """(extension, stems) groups: a module spelling an extension and one of its stems is a seed.

    Spelling a policy file's name spells both halves, so this takes in every
    module that names one, and ``Path("style_guide").with_suffix(".md")`` as
    well. For a glob, the longest literal run of its last part is the stem (no
    extension); a glob with no literal worth the name (``*``) makes every
    module a seed (None). Grouped by extension because the few extensions are
    rare in code: most files are scanned once per extension, not once per name.
    A folder that patterns name (``compiled``) counts when the bytes spell it as a
    string or a path part (``"compiled"``, ``'compiled/``, ``/compiled"``): removing
    it removes the policy files in it. The bare word would take in any module whose
    prose says "compiled", and through imports most of a large tree.
    """
    groups: dict[bytes, set[bytes]] = {}
    for base, is_glob in policy.file_names():
        if is_glob:
            literal = max(re.split(r"\*|\?|\[[^\]]*\]", base), key=len)
            if len(literal) < 3:
                return None
            groups.setdefault(b"", set()).add(literal.encode())
            continue
        stem, dot, ext = base.rpartition(".")
        stem, ext = (stem.encode(), b"." + ext.encode()) if dot and stem else (base.encode(), b"")
        groups.setdefault(ext, set()).add(stem)
    for folder in policy.folder_names():  # shutil.rmtree("compiled") names no file, only its folder
        if len(folder) >= 3:  # as a string or a path part, not the bare word (common in prose and names)
            name = folder.encode()  # the bare name gates the group: one scan for most files, as for an extension
            groups.setdefault(name, set()).update(
                q + name + end for q in (b'"', b"'", b"/") for end in (b'"', b"'", b"/") if q + end != b"//")
    return tuple((ext, tuple(sorted(stems))) for ext, stems in sorted(groups.items()))


def mentions_policy(source: bytes, wanted: tuple[tuple[bytes, tuple[bytes, ...]], ...] | None) -> bool:
    return wanted is None or any(ext in source and any(stem in source for stem in stems) for ext, stems in wanted)


def imported_names(source: bytes) -> tuple[tuple[int, str], ...]:
    """(level, dotted name) for every import the bytes seem to make; level > 0 for relative ones.

    ``from a import b`` yields both ``a`` and ``a.b`` (b may be a module).
    """
    out = []
    for m in _IMPORT.finditer(source):
        if m.group(3) is not None:
            for part in m.group(3).decode("latin-1").split(","):
                name = part.split(" as ")[0].strip()
                if name:
                    out.append((0, name))
            continue
        module = m.group(1).decode("latin-1")
        level = len(module) - len(module.lstrip("."))
        base = module[level:]
        if base or level:
            out.append((level, base))
        for part in m.group(2).decode("latin-1").strip("()").replace("\\", " ").split(","):
            name = part.split(" as ")[0].strip()
            if name and name != "*" and name.isidentifier():
                out.append((level, f"{base}.{name}" if base else name))
    return tuple(out)


class _ModuleIndex:
    """Dotted names -> files of the audited tree, the engine's way: relative imports by folder;
    absolute ones first where Python would look from the importer (its own folder, then each
    folder above it: a script's folder is sys.path[0], a package is rooted above), else every
    file whose dotted name ends in them (sys.path is unknown). Looking near first keeps a tree
    where every skill has its own ``utils.py`` linear: one edge per import, not one per skill."""

    def __init__(self, paths: Iterable[str]):
        self.paths = set(paths)
        self.by_last: dict[str, list[tuple[str, list[str]]]] = {}
        for path in self.paths:
            parts = files_mod.module_parts(path)
            if parts:
                self.by_last.setdefault(parts[-1], []).append((path, parts))

    def resolve(self, importer: str, level: int, dotted: str) -> list[str]:
        if not level:
            want = dotted.split(".")
            near = files_mod.nearest_module(importer, want, self.paths.__contains__)
            if near is not None:
                return [near]
            return [path for path, parts in self.by_last.get(want[-1], ()) if parts[-len(want):] == want]
        base = posixpath.dirname(importer)
        for _ in range(level - 1):
            base = posixpath.dirname(base)
        stem = posixpath.join(base, *dotted.split(".")) if dotted else base
        return [c for c in (stem + ".py", posixpath.join(stem, "__init__.py")) if c in self.paths]


def closure(seeds: Iterable[str], imports: dict[str, list[str]]) -> set[str]:
    """Seeds, then every module importing them (transitively), then everything those import."""
    importers: dict[str, list[str]] = {}
    for importer, targets in imports.items():
        for target in targets:
            importers.setdefault(target, []).append(importer)
    up = set(seeds)
    stack = list(up)
    while stack:
        for importer in importers.get(stack.pop(), ()):
            if importer not in up:
                up.add(importer)
                stack.append(importer)
    need = set(up)
    stack = list(up)
    while stack:
        for target in imports.get(stack.pop(), ()):
            if target not in need:
                need.add(target)
                stack.append(target)
    return need


def _import_graph(modules: list[str], entries: dict, store, read) -> dict[str, list[str]]:
    index = _ModuleIndex(modules)
    graph = {}
    for path in modules:
        if entries[path].imports is None:
            store.set_imports(path, imported_names(read(path)))
        graph[path] = sorted({hit for level, name in entries[path].imports
                              for hit in index.resolve(path, level, name) if hit != path})
    return graph


# --- calling the engine ----------------------------------------------------------------------

def _summarize_chunk(chunk: list[tuple[str, bytes]], policy: Policy) -> list:
    from statesafe.auditor.engine import summarize
    return [summarize(path, source, policy) for path, source in chunk]


def _summarize_all(items: list[tuple[str, bytes]], policy: Policy, jobs: int | None) -> list:
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    estimate = len(items) * SECONDS_PER_FILE + sum(len(source) for _, source in items) * SECONDS_PER_BYTE
    if workers < 2 or len(items) < 2 or estimate < POOL_MIN_SECONDS:
        return _summarize_chunk(items, policy)
    import concurrent.futures
    import multiprocessing

    import statesafe.auditor.engine  # noqa: F401  (loaded once here; forked workers inherit it)
    # Largest first, dealt round-robin into a few chunks per worker: even loads, little pickling.
    order = sorted(range(len(items)), key=lambda i: -len(items[i][1]))
    count = workers * 4
    chunks = [[items[i] for i in order[k::count]] for k in range(count)]
    index = [order[k::count] for k in range(count)]
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    results: list = [None] * len(items)
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        for positions, summaries in zip(index, pool.map(_summarize_chunk, chunks, [policy] * count)):
            for position, summary in zip(positions, summaries):
                results[position] = summary
    return results


# --- the run ---------------------------------------------------------------------------------

def audit(paths: Sequence[str], policy: Policy | None = None, *, strict: bool = False,
          excludes: Sequence[str] = (), use_cache: bool = True, jobs: int | None = None,
          prefilter: bool = True) -> Report:
    """Audit PATHs: findings after suppressions, plus run statistics.

    With ``policy`` every file is judged under it; without, each file is judged under the
    policy nearest to it (its folder's statesafe.toml, ``[tool.statesafe]`` or FAILSAFE.md,
    or the nearest above), so a repository of several skills audited from its root gets
    each skill's own rules. Files under the same policy are resolved together.
    Files named one by one (pre-commit) are resolved together with the candidate
    files beside them, so a changed helper is judged with its unchanged callers;
    findings are reported for the named files (or made through a call in one).
    ``prefilter=False`` parses every file (what the prefilter must agree with).
    """
    report_files, explicit, skipped = files_mod.discover(paths, excludes)
    context = sorted(set(report_files) | set(files_mod.siblings(explicit))) if explicit else report_files
    if policy is not None:
        reports = [_audit_group(report_files, explicit, context, policy, strict, use_cache, jobs, prefilter)]
    else:
        reports = []
        for group_policy, members in _by_policy(context):
            inside = set(members)
            reports.append(_audit_group([p for p in report_files if p in inside], [p for p in explicit if p in inside],
                                        members, group_policy, strict, use_cache, jobs, prefilter))
    findings = reports[0].findings if len(reports) == 1 else sorted({f for r in reports for f in r.findings},
                                                                    key=Finding.order)
    return Report(findings, sum(r.checked for r in reports),
                  sum(r.parsed for r in reports), sum(r.analysed for r in reports),
                  [e for r in reports for e in r.errors], len(skipped))


def _by_policy(files: Sequence[str]) -> list[tuple[Policy, list[str]]]:
    """The files grouped by the policy nearest to each (equal policies share a group).

    Each folder is looked at once, and a folder without a source of its own takes its
    parent's answer: a tree of many folders costs one check per folder, not one search each.
    """
    from pathlib import Path

    from statesafe.policy import default_policy, load_file, source_in

    nearest: dict[str, Path | None] = {}

    def source_of(folder: str) -> Path | None:
        chain = []
        while folder not in nearest:
            chain.append(folder)
            found = source_in(Path(folder))
            parent = os.path.dirname(folder)
            if found is not None or parent == folder:
                nearest[folder] = found
                chain.pop()
                break
            folder = parent
        for below in chain:
            nearest[below] = nearest[folder]
        return nearest[chain[0] if chain else folder]

    policies: dict[Path | None, Policy] = {}
    by_folder: dict[str, Policy] = {}  # a folder as the paths spell it -> its policy
    groups: dict[Policy, list[str]] = {}
    for path in files:
        folder = posixpath.dirname(path)
        found = by_folder.get(folder)
        if found is None:
            source = source_of(os.path.abspath(folder or "."))
            found = policies.get(source)
            if found is None:
                found = policies[source] = load_file(source) if source is not None else default_policy()
            by_folder[folder] = found
        groups.setdefault(found, []).append(path)
    return list(groups.items()) or [(default_policy(), [])]


def _audit_group(report_files: list[str], explicit: list[str], context: list[str], policy: Policy, strict: bool,
                 use_cache: bool, jobs: int | None, prefilter: bool) -> Report:
    """One policy's part of the run: the files judged under ``policy``."""
    store = cache_mod.Cache.open(policy, strict) if use_cache else cache_mod.Cache.disabled()
    wanted = needles(policy)
    entries: dict[str, cache_mod.Entry] = {}
    sources: dict[str, bytes] = {}
    errors: list[str] = []
    for path in context:
        try:
            entry, source = store.entry(path, lambda data: mentions_policy(data, wanted))
        except OSError as exc:
            if path in explicit or path in report_files:
                errors.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        entries[path] = entry
        if source is not None:
            sources[path] = source

    def read(path: str) -> bytes:
        if path not in sources:
            with open(path, "rb") as f:
                sources[path] = f.read()
        return sources[path]

    manifests = [p for p in entries if files_mod.is_manifest(p)]
    modules = [p for p in entries if not files_mod.is_manifest(p)]
    if strict or not prefilter:
        needed = set(modules)
    else:
        seeds = [p for p in modules if entries[p].mentions]
        needed = set()
        if seeds:
            tree_key = cache_mod.digest("\0".join(f"{p}\0{entries[p].digest}" for p in modules).encode())
            needed = store.known_closure(tree_key)
            if needed is None:
                needed = closure(seeds, _import_graph(modules, entries, store, read))
                store.set_closure(tree_key, frozenset(needed))
    analyse = sorted(needed) + sorted(manifests)

    analysed_key = cache_mod.digest("\0".join(f"{p}\0{entries[p].digest}" for p in analyse).encode())
    findings: list[Finding] | None = store.known_findings(analysed_key) if analyse else []
    missing: list[str] = []
    if findings is None:
        summaries = []
        for path in analyse:
            summary = store.summary(path, entries[path].digest)
            if summary is None:
                missing.append(path)
            else:
                summaries.append(summary)
        if missing:
            fresh = _summarize_all([(path, read(path)) for path in missing], policy, jobs)
            for path, summary in zip(missing, fresh):
                store.put_summary(path, entries[path].digest, summary)
            summaries.extend(fresh)
        from statesafe.auditor.engine import resolve
        findings = resolve(summaries, policy, strict=strict)
        store.set_findings(analysed_key, findings)
    if explicit:
        named = set(report_files)
        findings = [f for f in findings if f.path in named or (f.via or "").rsplit(":", 1)[0] in named]
    findings = [f for f in findings if not files_mod.is_test_code(f.path)]
    marked = [p for p in report_files if p in entries and store.marked(p, read)]
    findings, suppression_errors = suppress.apply(findings, {p: read(p) for p in marked})
    errors.extend(suppression_errors)
    store.save()
    return Report(sorted(set(findings), key=Finding.order), len(report_files), len(missing), len(analyse), errors)
