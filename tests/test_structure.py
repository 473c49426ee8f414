"""The package's shape: public interfaces between packages, no import cycles, and stage
packages that depend on each other only in the direction the data flows.

Read from the source with `ast` (nothing is imported), so a rule broken in a module no test
imports is still caught. import-linter would check (b) and (c) from a contract in
pyproject.toml, but not (a) nor "devtools only in `demo-data`", and each allowed edge would
lose its reason: the table below is the one place they are written.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "watchbuddy"

# Every module belongs to one stage: the longest prefix below that matches its name.
STAGE_OF_PREFIX = {
    # Imported by every stage, import only each other: the errors a user meets, settings,
    # terminal-safe text, credential redaction, the title normalizer, the SQL loader and
    # shipped reference data.
    "watchbuddy.errors": "base",
    "watchbuddy.settings": "base",
    "watchbuddy.safe_text": "base",
    "watchbuddy.redact": "base",
    "watchbuddy.titles": "base",
    "watchbuddy.sql": "base",
    "watchbuddy.reference": "base",
    "watchbuddy": "api",  # the package itself: `connect()`, `get_candidates`, `__version__`
    "watchbuddy.__main__": "cli",
    "watchbuddy.cli": "cli",
    "watchbuddy.store": "store",
    "watchbuddy.sources": "sources",  # the namespace package only
    "watchbuddy.sources.csv": "sources.csv",
    "watchbuddy.sources.tmdb": "sources.tmdb",
    "watchbuddy.sources.exports": "sources.exports",
    "watchbuddy.sources.history": "sources.history",
    "watchbuddy.pool": "pool",
    "watchbuddy.jobs": "jobs",
    "watchbuddy.query": "query",
    "watchbuddy.explorer": "explorer",
    "watchbuddy.devtools": "devtools",
}

# The pipeline: store <- sources <- pool <- jobs <- query / explorer / cli. A stage may import
# itself and `base`; any other stage it imports is listed here with the reason it needs it.
ALLOWED: dict[str, dict[str, str]] = {
    "base": {},
    "api": {
        "store": "connect() opens the views over a warehouse",
        "pool": "get_candidates, CandidateFilters and search_titles, the public API (loaded on "
        "first use)",
    },
    "store": {},
    "sources": {},
    "sources.csv": {"store": "lands files into the warehouse: schema, writer, views"},
    "sources.tmdb": {"store": "publishes fetched titles, votes, removals, runs, checkpoints"},
    "sources.exports": {"store": "publishes popularity history, export records, rejects, runs"},
    "sources.history": {
        "store": "publishes your history rows and their rejects; matches against the pool view",
        "sources.csv": "an export is CSV read the way landing reads one (utf8_csv_bytes)",
    },
    "pool": {
        "store": "candidates are read from the pool view and its materialized file",
        "sources.csv": "a watched list is read as CSV the way landing reads one (sniff)",
        "sources.tmdb": "an empty pool is filled from TMDB (fallback.fill_from_tmdb); stats "
        "show the rolling refresh's pace (refresh_titles)",
    },
    "jobs": {
        "store": "jobs take the write lock, stage runs and compact",
        "sources.tmdb": "the scheduled jobs are the TMDB ingest, the vote and the rolling "
        "refresh, and the providers fetch",
        "pool": "after a publish the candidate table is built for the new version; `jobs` "
        "shows the data age (stats)",
        "sources.exports": "the daily `exports` job lands TMDB's ID exports",
    },
    "query": {"store": "`watchbuddy sql` reads the views, sealed in a child process"},
    "explorer": {
        "api": "the About page shows __version__",
        "store": "pages read the views and the manifest",
        "sources.csv": "the app lands the data dir on first start (bootstrap)",
        "sources.tmdb": "the Pool and Jobs pages hand the refresh job's pace "
        "(refresh_titles.Pace) to the data-age statistics",
        "pool": "the pages show candidates, modes, genres and pool statistics",
        "jobs": "the app runs the scheduler; the Jobs page lists and runs jobs",
        "sources.history": "the detail panel's Not interested button writes the app's list",
    },
    "cli": {
        "api": "--version",
        "store": "warehouse paths, views and `compact`",
        "sources.csv": "`bootstrap` lands the data dir",
        "sources.tmdb": "`ingest`, `refresh-votes`, `refresh-titles` and `providers` run the "
        "TMDB jobs' functions",
        "sources.exports": "`exports` lands TMDB's daily ID exports",
        "sources.history": "`history import` and `not-interested`",
        "pool": "`recommend` and `stats`",
        "jobs": "`schedule`, `jobs` and `jobs run`",
        "query": "`sql`",
        "explorer": "`app` serves the explorer (serving, connection warm-up)",
        "devtools": "`demo-data` only (test_devtools_are_used_only_by_demo_data)",
    },
    "devtools": {"store": "demo files and the fake TMDB use the schema's genre table"},
}

# Allowed exceptions to the rules below: none. A new one needs its reason here, and the
# tests fail once it is gone, so the list never outlives what it excuses.
KNOWN_LAYER_EXCEPTIONS: set[tuple[str, str]] = set()
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES: dict[str, ast.Module] = {
    name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in MODULES.items()
}


def stage(module: str) -> str:
    prefixes = [p for p in STAGE_OF_PREFIX if module == p or module.startswith(p + ".")]
    return STAGE_OF_PREFIX[max(prefixes, key=len)]


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # a module of the package
    name: str | None  # the name taken from `target` (None: the module itself)
    line: int
    module_level: bool  # runs when the importer is imported (not in a function, not typing)
    function: str | None  # the outermost function it sits in


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _imports(importer: str) -> Iterator[Import]:
    def visit(node: ast.AST, runtime: bool, function: str | None) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            here = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                here = function or getattr(child, "name", "<lambda>")
            at_import = runtime and here is None
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name in MODULES:
                        yield Import(importer, alias.name, None, child.lineno, at_import, here)
            elif isinstance(child, ast.ImportFrom):
                source = _absolute(importer, child)
                if source not in MODULES:
                    continue
                for alias in child.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in MODULES:
                        yield Import(importer, submodule, None, child.lineno, at_import, here)
                    else:
                        yield Import(importer, source, alias.name, child.lineno, at_import, here)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                yield from visit(child, False, here)
            else:
                yield from visit(child, runtime, here)

    yield from visit(TREES[importer], True, None)


IMPORTS: list[Import] = [imp for module in MODULES for imp in _imports(module)]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_attribute_uses(importer: str) -> Iterator[tuple[str, str, int]]:
    """`alias._name` where `alias` is another module of the package."""
    aliases: dict[str, str] = {}
    for node in ast.walk(TREES[importer]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("watchbuddy"):
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        aliases["watchbuddy"] = "watchbuddy"
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(importer, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
    for node in ast.walk(TREES[importer]):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        chain: list[str] = []
        value: ast.expr = node.value
        while isinstance(value, ast.Attribute):
            chain.insert(0, value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in aliases:
            module = ".".join([aliases[value.id], *chain])
            if module in MODULES and module != importer:
                yield module, node.attr, node.lineno


def test_every_module_has_a_stage_in_the_table() -> None:
    assert set(STAGE_OF_PREFIX.values()) == set(ALLOWED)
    for module in MODULES:
        assert stage(module) in ALLOWED, module


def test_no_module_uses_another_modules_private_names() -> None:
    """A `_name` is private to its module: what another module needs is made public (and
    documented) where it is defined. (`from x import public as _alias` is fine: the name
    taken is public.)"""
    found = {
        (imp.importer, imp.target, imp.name)
        for imp in IMPORTS
        if imp.name and _private(imp.name) and imp.target != imp.importer
    }
    found |= {
        (module, target, name)
        for module in MODULES
        for target, name, _line in _private_attribute_uses(module)
    }
    unexpected = sorted(found - KNOWN_PRIVATE_IMPORTS)
    assert not unexpected, "private names used from another module:\n" + "\n".join(
        f"  {importer} uses {target}.{name}" for importer, target, name in unexpected
    )
    gone = sorted(KNOWN_PRIVATE_IMPORTS - found)
    assert not gone, f"fixed, remove from KNOWN_PRIVATE_IMPORTS: {gone}"


def _parents(module: str) -> Iterator[str]:
    while "." in module:
        module = module.rpartition(".")[0]
        yield module


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    cycles = []
    for component in components:
        start = min(component)
        paths = {start: [start]}
        frontier = [start]
        while frontier:  # breadth first: the shortest way back to `start`
            node = frontier.pop(0)
            for nxt in sorted(graph[node] & component):
                if nxt == start:
                    frontier = []
                    cycles.append([*paths[node], start])
                    break
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    frontier.append(nxt)
    return cycles


def test_cycle_finder_reports_the_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert sorted(_cycles(graph)) == [["a", "b", "c", "a"], ["e", "e"]]


def test_no_import_cycles_between_modules() -> None:
    """Counting what runs at import time: module-level imports, and the packages each one
    imports first. An import inside a function (or under TYPE_CHECKING) breaks no import,
    but is still a dependency, which the stage table checks."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for imp in IMPORTS:
        if imp.module_level:
            for target in (imp.target, *_parents(imp.target)):
                if target != imp.importer and not imp.importer.startswith(target + "."):
                    graph[imp.importer].add(target)
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join("  " + " -> ".join(c) for c in cycles)


def test_stage_packages_depend_only_in_the_pipeline_direction() -> None:
    found: dict[tuple[str, str], Import] = {}
    for imp in IMPORTS:
        source, target = stage(imp.importer), stage(imp.target)
        if source == target or target == "base" or target in ALLOWED[source]:
            continue
        found.setdefault((imp.importer, imp.target), imp)
    unexpected = sorted(set(found) - KNOWN_LAYER_EXCEPTIONS)
    assert not unexpected, "imports against the pipeline:\n" + "\n".join(
        f"  {importer} ({stage(importer)}) imports {target} ({stage(target)}), "
        f"line {found[importer, target].line}"
        for importer, target in unexpected
    )
    gone = sorted(KNOWN_LAYER_EXCEPTIONS - set(found))
    assert not gone, f"fixed, remove from KNOWN_LAYER_EXCEPTIONS: {gone}"


def test_every_allowed_edge_is_used() -> None:
    """A reason nobody needs any more is a door left open: close it."""
    used = {(stage(imp.importer), stage(imp.target)) for imp in IMPORTS}
    unused = sorted(
        (source, target)
        for source, targets in ALLOWED.items()
        for target in targets
        if (source, target) not in used
    )
    assert not unused, f"allowed but unused, remove from ALLOWED: {unused}"


def test_devtools_are_used_only_by_demo_data() -> None:
    """The demo generator and the fake TMDB are for tests and `demo-data`; nothing else in
    the package runs them."""
    users = {
        (imp.importer, imp.function)
        for imp in IMPORTS
        if stage(imp.target) == "devtools" and stage(imp.importer) != "devtools"
    }
    assert users == {("watchbuddy.cli", "demo_data_command")}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_user_facing_errors_are_declared_in_errors_py(module: str) -> None:
    """Every WatchBuddyError lives in errors.py, under the one base class."""
    declared = {
        node.name for node in ast.walk(TREES["watchbuddy.errors"]) if isinstance(node, ast.ClassDef)
    }
    if module == "watchbuddy.errors":
        return
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.ClassDef):
            bases = {getattr(b, "id", None) or getattr(b, "attr", "") for b in node.bases}
            assert not bases & declared, (
                f"{module}.{node.name} subclasses {sorted(bases & declared)}: declare it in "
                "watchbuddy/errors.py"
            )


def test_the_public_api_is_importable_from_the_package() -> None:
    import watchbuddy
    from watchbuddy.pool.candidates import Candidates, get_candidates
    from watchbuddy.pool.filters import CandidateFilters

    assert watchbuddy.get_candidates is get_candidates
    assert watchbuddy.CandidateFilters is CandidateFilters
    assert watchbuddy.Candidates is Candidates
    assert set(watchbuddy.__all__) >= {"connect", "get_candidates", "CandidateFilters"}
    with pytest.raises(AttributeError):
        watchbuddy.no_such_name  # noqa: B018
