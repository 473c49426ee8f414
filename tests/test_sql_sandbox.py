"""`watchbuddy sql` against a hostile user: no write path at all, bounded time and memory,
Ctrl-C that stops at once, and output that a terminal cannot be tricked by."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.conftest import run_cli
from watchbuddy.devtools.demo import generate
from watchbuddy.errors import ConfigError, QueryRefused, WatchBuddyError
from watchbuddy.query.readonly import run_query
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.views import materialized_pool, open_views
from watchbuddy.store.warehouse import Warehouse

ENDLESS = "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A landed demo warehouse, its pool's file built (so a first query writes nothing)."""
    root = tmp_path_factory.mktemp("sql")
    generate(2_000, root / "data", seed=3)
    bootstrap(Settings(data_dir=root / "data", warehouse=root / "wh"))
    materialized_pool(Warehouse(root / "wh"))
    return root / "wh"


@pytest.fixture
def project(pristine: Path, tmp_path: Path) -> Path:
    """A project folder (the CLI's working dir) with its own copy of the warehouse in
    `wh/`, so that a query that does damage cannot spoil the next test."""
    shutil.copytree(pristine, tmp_path / "wh")  # copy2 keeps mtimes: the pool file stays valid
    return tmp_path


@pytest.fixture
def warehouse(project: Path) -> Warehouse:
    return Warehouse(project / "wh")


def _cli(project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return run_cli("--warehouse", str(project / "wh"), *args, cwd=project, env=env, timeout=timeout)


def _files(warehouse: Warehouse) -> dict[str, str]:
    """Every file under the warehouse with a digest of its content."""
    return {
        str(p.relative_to(warehouse.root)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(warehouse.root.rglob("*"))
        if p.is_file()
    }


def _refused(warehouse: Warehouse, query: str) -> str:
    """The refusal of `query`, checking that it changed no file in the warehouse."""
    before = _files(warehouse)
    with pytest.raises(QueryRefused) as refused:
        run_query(warehouse, query)
    assert _files(warehouse) == before, f"{query} changed the warehouse"
    return str(refused.value)


def test_explain_analyze_copy_cannot_overwrite_the_manifest(warehouse: Warehouse) -> None:
    for explain in ("EXPLAIN ANALYZE", "EXPLAIN (ANALYZE, FORMAT json)", "EXPLAIN ANALYZE /* */"):
        query = f"{explain} COPY (SELECT 'x') TO '{warehouse.manifest_path}'"
        assert "Refused COPY inside EXPLAIN" in _refused(warehouse, query)
    assert run_query(warehouse, "SELECT count(*) AS n FROM pool")["n"][0] > 0


def test_copy_partition_by_overwrite_cannot_empty_a_warehouse_folder(
    warehouse: Warehouse,
) -> None:
    query = (
        "EXPLAIN ANALYZE COPY (SELECT media_type, tmdb_id FROM titles) "
        f"TO '{warehouse.root / 'titles'}' (FORMAT parquet, PARTITION_BY (media_type), "
        "OVERWRITE true)"
    )
    assert "Refused COPY" in _refused(warehouse, query)


@pytest.mark.parametrize(
    "template",
    [
        "WITH t AS (COPY (SELECT 'x') TO '{path}') SELECT 1",
        "SELECT * FROM (WITH t AS (COPY (SELECT 'x') TO '{path}') SELECT 1)",
        "SELECT 1 UNION ALL (WITH t AS (COPY (SELECT 'x') TO '{path}') SELECT 1)",
        "EXPLAIN ANALYZE WITH t AS (COPY (SELECT 'x') TO '{path}') SELECT 1",
    ],
)
def test_a_write_hidden_in_a_cte_is_refused(warehouse: Warehouse, template: str) -> None:
    """DuckDB calls these SELECT statements, and on their own they do write the file."""
    query = template.format(path=warehouse.manifest_path)
    assert "Refused COPY inside the query" in _refused(warehouse, query)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("WITH t AS (INSERT INTO x VALUES (1) RETURNING *) SELECT * FROM t", "INSERT"),
        ("ATTACH '{wh}/x.db' AS x", "ATTACH"),
        ("EXPORT DATABASE '{wh}/export'", "EXPORT"),
        ("SET memory_limit = '100GB'", "SET"),
        ("SET VARIABLE watchbuddy_pool_file = '/etc/passwd'", "SET"),
        ("PRAGMA enable_profiling", "PRAGMA"),
        ("CALL checkpoint()", "CALL"),
        ("CHECKPOINT", "CHECKPOINT"),
        ("INSTALL httpfs", "INSTALL"),
        ("LOAD httpfs", "LOAD"),
        ("EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1", "CREATE"),
        # DuckDB runs a PIVOT without an IN list as several statements (one creates a type)
        (
            "SELECT * FROM (PIVOT titles ON media_type USING count(*))",
            "SELECT that runs as several",
        ),
    ],
)
def test_every_statement_but_a_query_is_refused_by_name(
    warehouse: Warehouse, query: str, named: str
) -> None:
    message = _refused(warehouse, query.format(wh=warehouse.root))
    assert message.startswith(f"Refused {named}")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_text('{wh}/manifest.json')",
        "SELECT * FROM glob('{wh}/*')",
        "SELECT count(*) FROM read_csv('{wh}/manifest.json', store_rejects = true)",
        "SELECT * FROM read_parquet('{wh}/titles/*.parquet', union_by_name = true)",
        "SELECT * FROM read_csv('/etc/passwd')",
    ],
)
def test_only_the_files_behind_the_views_can_be_opened(warehouse: Warehouse, query: str) -> None:
    assert "outside the views" in _refused(warehouse, query.format(wh=warehouse.root))


def test_read_only_queries_still_work_and_come_back_whole(warehouse: Warehouse) -> None:
    for query in (
        "EXPLAIN SELECT count(*) FROM pool",
        "/* a comment */ EXPLAIN ANALYZE SELECT 1",
        "EXPLAIN ANALYZE SELECT count(*) FROM pool",
        "DESCRIBE pool",
        "SHOW TABLES",
        "SUMMARIZE SELECT vote_count FROM pool",
        "FROM runs",
        "SELECT * FROM query_table('titles') LIMIT 1",
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) FROM t",
    ):
        run_query(warehouse, query)
    query = "SELECT * FROM pool ORDER BY media_type, tmdb_id"
    con = open_views(warehouse)
    try:
        direct = con.sql(query).pl()
    finally:
        con.close()
    assert_frame_equal(run_query(warehouse, query), direct)


def _landlock_available() -> bool:
    """Whether this kernel can lock a process out of writing (asked in a throwaway process:
    the lock lasts for the life of the process that takes it)."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from watchbuddy.query.sandbox import forbid_file_writes as f; print(f())",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return probe.stdout.strip() == "True"


def test_the_query_process_can_write_no_file_at_all(warehouse: Warehouse, tmp_path: Path) -> None:
    """The kernel's lock, on its own: even a COPY that got past the parse-tree check and
    DuckDB's path list could not replace a file the views read."""
    if not _landlock_available():
        pytest.skip("Landlock is not available on this kernel")
    target = warehouse.path(warehouse.read_manifest().files("titles")[0])
    script = f"""
import duckdb, os
from watchbuddy.query.readonly import contained_connection
from watchbuddy.store.warehouse import Warehouse
con = contained_connection(Warehouse({str(warehouse.root)!r}))
try:
    con.execute("COPY (SELECT 1 AS x) TO {str(target)!r} (FORMAT parquet, USE_TMP_FILE false)")
except duckdb.Error as exc:
    print("refused:", str(exc).splitlines()[0])
attempts = (lambda: open({str(tmp_path / "new.txt")!r}, "w"), lambda: os.unlink({str(target)!r}))
for attempt in attempts:
    try:
        attempt()
    except PermissionError:
        print("blocked")
"""
    before = _files(warehouse)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("blocked") == 2 and "refused:" in done.stdout, done.stdout
    assert _files(warehouse) == before
    assert not (tmp_path / "new.txt").exists()


def test_a_query_that_never_ends_is_stopped_at_the_time_limit(project: Path) -> None:
    done = _cli(project, "sql", ENDLESS, env={"WATCHBUDDY_SQL_TIMEOUT": "1"}, timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "WATCHBUDDY_SQL_TIMEOUT" in done.stderr and "stopped" in done.stderr


@pytest.mark.parametrize(
    "query",
    [
        # DuckDB's own memory: a hash table of 20M distinct strings.
        "SELECT count(DISTINCT range::VARCHAR) FROM range(20000000)",
        # The result: 20M rows are 160 MB of Arrow, outside DuckDB's accounting.
        "SELECT range FROM range(20000000)",
    ],
)
def test_a_query_past_the_memory_limit_fails_with_one_sentence(project: Path, query: str) -> None:
    done = _cli(
        project, "sql", query, "--format", "csv", env={"WATCHBUDDY_SQL_MEMORY_LIMIT": "64MB"}
    )
    assert done.returncode == 1, done.stdout[-200:]
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "WATCHBUDDY_SQL_MEMORY_LIMIT allows (64MB)" in done.stderr


def test_a_bad_memory_setting_is_a_config_error(warehouse: Warehouse) -> None:
    with pytest.raises(ConfigError, match="WATCHBUDDY_SQL_MEMORY_LIMIT"):
        run_query(warehouse, "SELECT 1", memory_limit="lots")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def _runs_a_query(pid: int) -> bool:
    try:
        return b"watchbuddy.query.readonly" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it ended meanwhile
        return False


def test_ctrl_c_stops_a_runaway_query_at_once(project: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "watchbuddy", "--warehouse", str(project / "wh"), "sql", ENDLESS],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        deadline = time.monotonic() + 60
        query_process = None
        while query_process is None and time.monotonic() < deadline and proc.poll() is None:
            # The query's own process, not another child the command may start on the way.
            listed = children.read_text().split() if children.exists() else []
            query_process = next((int(p) for p in listed if _runs_a_query(int(p))), None)
            time.sleep(0.05)
        assert query_process is not None, "the query never got its own process"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert stderr == "Error: The query was stopped (Ctrl-C); nothing was written.\n"
    assert not Path(f"/proc/{query_process}").exists(), "the query process outlived Ctrl-C"


def test_csv_writes_lists_and_structs_as_text(project: Path) -> None:
    query = (
        "SELECT genres, keywords, ['a', 'b'] AS messages, {'k': 1, 'l': [1, 2]} AS s, "
        "[[1, 2], [3]] AS nested FROM pool WHERE len(genres) > 1 LIMIT 1"
    )
    done = _cli(project, "sql", query, "--format", "csv")
    assert done.returncode == 0, done.stderr
    row = pl.read_csv(done.stdout.encode()).row(0, named=True)
    assert "|" in row["genres"] and row["messages"] == "a|b"
    assert json.loads(row["s"]) == {"k": 1, "l": [1, 2]}
    assert json.loads(row["nested"]) == [[1, 2], [3]]


def test_json_has_no_nan(project: Path) -> None:
    done = _cli(project, "sql", "SELECT 'nan'::DOUBLE AS n, 1.5::DOUBLE AS x", "--format", "json")
    assert done.returncode == 0, done.stderr

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    assert json.loads(done.stdout, parse_constant=refuse) == [{"n": None, "x": 1.5}]


def test_sql_table_is_one_line_a_row_with_control_characters_shown(project: Path) -> None:
    hostile = "'a' || chr(27) || '[2J' || chr(10) || 'b' || repeat('x', 200)"
    query = f'SELECT {hostile} AS "col{chr(27)}", [{hostile}] AS l, range AS n FROM range(60)'
    done = _cli(project, "sql", query)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "shape:" not in done.stdout
    assert "a\\u001b[2J b" in done.stdout and "col\\u001b" in done.stdout
    lines = done.stdout.splitlines()
    body = [line for line in lines if "a\\u001b[2J" in line]
    assert len(body) == 50, "one line per row, the first 50 rows"
    assert all(len(line) < 200 for line in lines), "long values are cut"
    assert lines[-1] == "50 of 60 rows shown; --format csv or json prints them all."
    as_json = json.loads(_cli(project, "sql", query, "--format", "json").stdout)
    assert as_json[0][f"col{chr(27)}"].startswith("a\x1b[2J\nb"), "data formats keep the data"


def test_errors_from_the_query_process_are_one_line(project: Path) -> None:
    refused = _cli(project, "sql", f"WITH t AS (COPY (SELECT 1) TO '{project}/x.csv') SELECT 1")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert not (project / "x.csv").exists()
    missing = _cli(project, "sql", "SELECT * FROM no_such_view")
    assert missing.returncode == 1 and missing.stderr.startswith("Error: SQL error: Catalog")
    assert missing.stderr.count("\n") == 1


def test_run_query_raises_watchbuddy_errors(warehouse: Warehouse) -> None:
    with pytest.raises(WatchBuddyError, match="WATCHBUDDY_SQL_TIMEOUT"):
        run_query(warehouse, ENDLESS, timeout=1)


def test_every_column_type_comes_back_in_every_format(project: Path) -> None:
    """Types Polars cannot import from Arrow (INTERVAL, UNION, BIT), bytes, and a repeated
    column name used to end in a Rust panic's traceback."""
    query = (
        "SELECT 'a'::BLOB AS blob, INTERVAL 3 DAY AS i, union_value(n := 1) AS un, "
        "'101'::BIT AS bit, {'x': INTERVAL 1 DAY} AS st, MAP {'k': 1} AS m, "
        "[1, 2]::INTEGER[2] AS arr, 1 AS dup, 2 AS dup"
    )
    outputs = {}
    for fmt in ("table", "csv", "json"):
        done = _cli(project, "sql", query, "--format", fmt)
        assert done.returncode == 0 and not done.stderr, (fmt, done.stderr)
        outputs[fmt] = done.stdout
    assert json.loads(outputs["json"]) == [
        {
            "blob": "61",
            "i": "3 days",
            "un": "1",
            "bit": "101",
            "st": "{'x': 1 day}",
            "m": {"k": 1},
            "arr": [1, 2],
            "dup": 1,
            "dup_1": 2,
        }
    ]
    assert outputs["csv"].splitlines()[0] == "blob,i,un,bit,st,m,arr,dup,dup_1"
    assert "3 days" in outputs["table"]
