"""The `watchbuddy` command line as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli


@pytest.fixture
def project(tmp_path: Path, demo_dir: Path) -> Path:
    (tmp_path / "data").mkdir()
    for csv in demo_dir.glob("*.csv"):
        shutil.copy(csv, tmp_path / "data" / csv.name)
    return tmp_path


def test_bootstrap_json_report_adds_up_and_rerun_is_a_no_op(project: Path) -> None:
    done = run_cli("bootstrap", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)
    assert {r["status"] for r in reports} == {"landed"}
    for r in reports:
        assert r["rows_read"] == r["accepted"] + r["duplicates"] + r["rejected"]
    again = json.loads(run_cli("bootstrap", "--json", cwd=project).stdout)
    assert {r["status"] for r in again} == {"unchanged"}


def test_bootstrap_table_output_names_every_file(project: Path) -> None:
    (project / "data" / "genres.csv").write_text("id,name\n28,Action\n")
    done = run_cli("bootstrap", cwd=project)
    assert done.returncode == 0, done.stderr
    for name in (
        "synthetic_TMDB_movie_dataset_v11.csv",
        "synthetic_TMDB_tv_dataset_v3.csv",
        "genres.csv",
    ):
        assert name in done.stdout
    assert "genres.csv: skipped: not a title table" in done.stdout


def test_read_commands_auto_bootstrap_an_empty_pool_and_say_so(project: Path) -> None:
    done = run_cli("stats", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "The pool is empty: landing 2 file(s)" in done.stderr
    stats = json.loads(done.stdout)
    assert stats["titles"] > 0 and set(stats["by_media_type"]) == {"movie", "tv"}


def test_auto_bootstrap_can_be_turned_off(project: Path) -> None:
    done = run_cli("stats", "--json", cwd=project, env={"WATCHBUDDY_AUTO_BOOTSTRAP": "false"})
    assert done.returncode == 0 and json.loads(done.stdout)["titles"] == 0


def test_sql_reads_views_and_refuses_writes_and_outside_files(project: Path) -> None:
    ok = run_cli(
        "sql",
        "SELECT media_type, count(*) AS n FROM pool GROUP BY ALL ORDER BY 1",
        "--format",
        "json",
        cwd=project,
    )
    assert ok.returncode == 0, ok.stderr
    assert [r["media_type"] for r in json.loads(ok.stdout)] == ["movie", "tv"]
    csv = run_cli("sql", "SELECT 1 AS x", "--format", "csv", cwd=project)
    assert csv.stdout == "x\n1\n"
    for query in (
        "CREATE TABLE t AS SELECT 1",
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY (SELECT 1) TO 'out.csv'",
        "SELECT 1; SELECT 2",
        "SELECT * FROM read_parquet('../x.parquet')",
    ):
        refused = run_cli("sql", query, cwd=project)
        assert refused.returncode == 2, query
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert not (project / "out.csv").exists()
    bad = run_cli("sql", "SELEC nonsense", cwd=project)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: SQL error")


def test_compact_keeps_the_same_pool(project: Path) -> None:
    run_cli("bootstrap", cwd=project)
    query = (
        "SELECT count(*) AS n, sum(tmdb_id) AS ids, round(sum(mainstream_score), 6) AS m FROM pool"
    )
    before = run_cli("sql", query, "--format", "json", cwd=project).stdout
    done = run_cli("compact", cwd=project)
    assert done.returncode == 0 and "Compacted 2 file(s)" in done.stdout
    assert run_cli("sql", query, "--format", "json", cwd=project).stdout == before
    assert "Nothing to compact" in run_cli("compact", cwd=project).stdout


def test_demo_data_command_writes_marked_files(tmp_path: Path) -> None:
    done = run_cli("demo-data", "--rows", "500", "--out", "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert names == ["synthetic_TMDB_movie_dataset_v11.csv", "synthetic_TMDB_tv_dataset_v3.csv"]


def test_bad_settings_are_one_line_errors(tmp_path: Path) -> None:
    done = run_cli("stats", cwd=tmp_path, env={"WATCHBUDDY_TMDB_RPS": "fast"})
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Error: Setting tmdb_rps (WATCHBUDDY_TMDB_RPS) has an invalid value; expected a finite "
        "number above 0."
    )


def test_empty_data_dir_says_what_to_do(tmp_path: Path) -> None:
    done = run_cli("bootstrap", cwd=tmp_path)
    assert done.returncode == 0
    assert "watchbuddy demo-data" in done.stderr


def _make_data(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`make data` (what `make run` does before starting the app) on a data dir of ours."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {
        **os.environ,
        "WATCHBUDDY_DATA_DIR": str(tmp_path / "data"),
        "WATCHBUDDY_WAREHOUSE": str(tmp_path / "wh"),
    }
    return subprocess.run(
        ["make", "--no-print-directory", "data", "DEMO_ROWS=400"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_make_run_lands_real_data_without_generating_demo_data(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "TMDB_movie_dataset_v11.csv").write_text(
        "id,title,vote_count\n27205,Inception,34495\n"
    )
    done = _make_data(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no demo data generated" in done.stdout
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["TMDB_movie_dataset_v11.csv"]
    stats = json.loads(
        run_cli("--warehouse", str(tmp_path / "wh"), "stats", "--json", cwd=tmp_path).stdout
    )
    assert stats["titles"] == 1 and stats["synthetic_titles"] == 0


@pytest.mark.slow
def test_make_run_on_an_empty_data_dir_lands_demo_data_and_stats_says_so(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    done = _make_data(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "holds no CSV: generating the synthetic demo dataset" in done.stdout
    stats = run_cli("--warehouse", str(tmp_path / "wh"), "stats", cwd=tmp_path)
    assert "Warning: All titles in the pool are synthetic demo data" in stats.stdout
    as_json = json.loads(
        run_cli("--warehouse", str(tmp_path / "wh"), "stats", "--json", cwd=tmp_path).stdout
    )
    assert as_json["synthetic_titles"] == as_json["titles"] > 0


def test_messages_say_what_is_true_and_what_to_do(tmp_path: Path, project: Path) -> None:
    env = {"WATCHBUDDY_DATA_DIR": str(tmp_path / "nothing"), "TMDB_API_KEY": ""}
    empty = run_cli("--warehouse", str(tmp_path / "empty"), "recommend", cwd=tmp_path, env=env)
    assert empty.returncode == 1 and "The pool is empty: put TMDB CSV dumps in" in empty.stderr
    (tmp_path / "afile").write_text("")
    bad_out = run_cli("demo-data", "--rows", "100", "--out", str(tmp_path / "afile"), cwd=tmp_path)
    assert bad_out.returncode == 2 and bad_out.stderr.count("\n") == 1
    assert "give a folder with --out" in bad_out.stderr
    run_cli("bootstrap", cwd=project)
    lists = run_cli("sql", "SELECT genres FROM pool LIMIT 1", "--format", "csv", cwd=project)
    assert lists.returncode == 0 and lists.stdout.startswith("genres\n")
    install = run_cli("sql", "INSTALL httpfs", cwd=project)
    assert install.returncode == 2 and "Refused INSTALL" in install.stderr
    past = run_cli("recommend", "--offset", "999999", "--no-fallback", cwd=project)
    assert "past the end of the list" in past.stderr and "credential" not in past.stderr
    for args, message in (
        (("--year-min", "3000"), "outside the years titles can have (1870-2199)"),
        (("--limit", "0"), "--limit"),
        (("--language", "Klingon"), "No title in the pool has the language Klingon (tlh)"),
    ):
        done = run_cli("recommend", *args, cwd=project)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert done.stderr.count("\n") == 1
    named = run_cli("recommend", "--language", "Danish", "--format", "json", cwd=project)
    assert named.returncode == 0, named.stderr
    assert {r["original_language"] for r in json.loads(named.stdout)} <= {"da"}
