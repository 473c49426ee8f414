"""What a first run pays for: `make run` installs only what runs, the command line starts
without the modules its commands load on demand, and a notebook's connection defines one
`pool` view (the version's materialized file, or the computed view where none can be
written)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import watchbuddy
from tests.conftest import ROOT, run_cli
from watchbuddy.devtools.demo import generate
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store import pool_cache
from watchbuddy.store.views import open_views, pool_file
from watchbuddy.store.warehouse import Warehouse


def _dry_run(target: str, venv: Path) -> list[str]:
    """The pip commands `make -n target` would run for a venv that does not exist yet."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if "pip install" in line]


def test_make_run_installs_the_runtime_package_only(tmp_path: Path) -> None:
    run = _dry_run("run", tmp_path / "venv")
    assert len(run) == 1 and run[0].rstrip().endswith("-e ."), run
    for target in ("setup", "test", "lint", "bench"):
        installs = _dry_run(target, tmp_path / "venv")
        assert any(line.rstrip().endswith("-e '.[dev]'") for line in installs), (target, installs)


# Modules a command loads when it needs them, never at start-up.
ON_DEMAND = ("duckdb", "pandas", "langcodes", "rapidfuzz", "watchbuddy.sources.csv.land")


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("watchbuddy", (*ON_DEMAND, "polars", "pyarrow", "importlib.metadata")),
        ("watchbuddy.cli", ON_DEMAND),
    ],
)
def test_start_up_imports_nothing_a_command_loads_on_demand(
    module: str, absent: tuple[str, ...]
) -> None:
    probe = f"import sys, {module}; print(' '.join(m for m in {absent!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []


def test_version_option_names_the_installed_version(tmp_path: Path) -> None:
    done = run_cli("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"watchbuddy, version {watchbuddy.__version__}\n"


@pytest.fixture(scope="module")
def small_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    root = tmp_path_factory.mktemp("startup")
    generate(300, root / "data", seed=3)
    bootstrap(Settings(data_dir=root / "data", warehouse=root / "warehouse"))
    return Warehouse(root / "warehouse")


def _pool_view_sql(con: duckdb.DuckDBPyConnection) -> str:
    return con.sql("SELECT sql FROM duckdb_views() WHERE view_name = 'pool'").fetchall()[0][0]


def _columns(con: duckdb.DuckDBPyConnection, view: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.sql(f"DESCRIBE {view}").fetchall()]


def _rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.sql("SELECT * FROM pool ORDER BY media_type, tmdb_id").fetchall()


def test_pool_reads_the_file_or_else_is_the_computed_view_with_the_same_rows(
    small_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = open_views(small_warehouse)
    assert pool_file(con) is not None and "read_parquet" in _pool_view_sql(con)
    columns, rows = _columns(con, "pool"), _rows(con)
    computed = [c for c in _columns(con, "pool_computed") if c[0] not in pool_cache.SPARK_WORDS]
    assert sorted(columns) == sorted(computed)
    con.close()

    def refuse(*args: object) -> Path:
        raise OSError("read-only file system")

    monkeypatch.setattr(pool_cache, "materialize", refuse)
    fallback = open_views(small_warehouse)
    assert pool_file(fallback) is None and "pool_computed" in _pool_view_sql(fallback)
    assert _columns(fallback, "pool") == columns
    assert _rows(fallback) == rows
    fallback.close()
