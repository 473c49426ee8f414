"""Hostile or broken input gets one clear line and the right exit code, never a traceback."""

from __future__ import annotations

import datetime as dt
import errno
import json
import pathlib
import shutil
import signal
import sys
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

import watchbuddy
from tests.browser_support import free_port
from tests.conftest import run_cli
from watchbuddy import cli
from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb

TODAY = dt.date.today()


def one_line(done, exit_code: int) -> str:
    """The single stderr line of a command that failed as expected."""
    assert done.returncode == exit_code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Path:
    """A project folder whose demo data is landed; tests that change it take a copy."""
    root = tmp_path_factory.mktemp("landed")
    (root / "data").mkdir()
    for csv in demo_dir.glob("*.csv"):
        shutil.copy(csv, root / "data" / csv.name)
    done = run_cli("bootstrap", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def project(landed: Path, tmp_path: Path) -> Path:
    shutil.copytree(landed, tmp_path / "p")
    return tmp_path / "p"


@pytest.fixture
def tmdb():
    catalogue = Catalogue.generate(40, 10, TODAY - dt.timedelta(days=20), TODAY, seed=2)
    with FakeTmdb(catalogue, api_key="k") as server:
        yield server


# ---------------------------------------------------------------- recommend


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--offset", str(2**63)),
        ("--limit", str(2**63)),
        ("--offset", str(2**64 + 5)),
        ("--limit", "10000001"),
    ],
)
def test_recommend_offset_and_limit_past_the_maximum_are_one_line(landed, option, value) -> None:
    line = one_line(run_cli("recommend", option, value, cwd=landed), 2)
    assert line.startswith(f"Error: Invalid value for '{option}'") and "10000000" in line


def test_recommend_at_the_maximum_offset_says_the_list_ended(landed) -> None:
    done = run_cli("recommend", "--offset", "10000000", "--no-fallback", cwd=landed)
    assert done.returncode == 0, done.stderr
    assert "past the end of the list" in done.stderr


# ---------------------------------------------------------------- credentials and URLs


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TMDB_READ_ACCESS_TOKEN", "eyJhbGciOiJIUzI1NiJ9.tökén"),
        ("TMDB_READ_ACCESS_TOKEN", "abc def"),
        ("TMDB_API_KEY", "kéy0123456789"),
        ("TMDB_API_KEY", "key\x07bell"),
    ],
)
def test_a_malformed_credential_is_named_and_never_shown(tmp_path, variable, value) -> None:
    env = {variable: value, "WATCHBUDDY_TMDB_BASE_URL": "http://127.0.0.1:9/3"}
    for command in (("ingest", "movie"), ("stats",)):
        line = one_line(run_cli(*command, cwd=tmp_path, env=env), 2)
        assert f"({variable}) is malformed" in line and value not in line


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "api.themoviedb.org/3",
        "ftp://example.com/3",
        "http://",
        "http://exa mple.com/3",
        "http://example.com:99999/3",
        "https://api.themoviedb.org/3?api_key=x",
    ],
)
def test_a_bad_base_url_is_refused_when_settings_load(tmp_path, url) -> None:
    env = {"WATCHBUDDY_TMDB_BASE_URL": url, "TMDB_API_KEY": "k"}
    for command in (("ingest", "movie"), ("stats",)):
        line = one_line(run_cli(*command, cwd=tmp_path, env=env), 2)
        assert "tmdb_base_url (WATCHBUDDY_TMDB_BASE_URL) is not a usable URL" in line


def test_a_bad_base_url_in_the_toml_file_is_named_too(tmp_path) -> None:
    (tmp_path / "watchbuddy.toml").write_text('tmdb_base_url = "ftp://example.com/3"\n')
    line = one_line(run_cli("stats", cwd=tmp_path), 2)
    assert "Setting tmdb_base_url" in line and "http:// or https://" in line


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WATCHBUDDY_TMDB_TIMEOUT", "nan"),
        ("WATCHBUDDY_TMDB_RPS", "inf"),
        ("WATCHBUDDY_WAREHOUSE", "~no-such-user-here/wh"),
    ],
)
def test_settings_that_cannot_work_are_one_line(tmp_path, variable, value) -> None:
    line = one_line(run_cli("stats", cwd=tmp_path, env={variable: value}), 2)
    assert f"({variable}) has an invalid value" in line


def test_an_infinite_integer_in_the_toml_file_is_one_line(tmp_path) -> None:
    (tmp_path / "watchbuddy.toml").write_text("tmdb_concurrency = 1e400\n")
    line = one_line(run_cli("stats", cwd=tmp_path), 2)
    assert "tmdb_concurrency (WATCHBUDDY_TMDB_CONCURRENCY) has an invalid value" in line


# ---------------------------------------------------------------- other options


def test_out_of_range_options_are_one_line(tmp_path) -> None:
    line = one_line(run_cli("demo-data", "--seed", "-1", "--out", "d", cwd=tmp_path), 2)
    assert "'--seed'" in line
    line = one_line(run_cli("app", "--port", "99999", cwd=tmp_path), 2)
    assert "'--port'" in line


def test_a_warehouse_that_cannot_be_created_is_one_line(tmp_path) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "movies.csv").write_text("id,title\n1,A\n")
    line = one_line(run_cli("--warehouse", "afile/wh", "bootstrap", cwd=tmp_path), 1)
    assert line.startswith("Error: Cannot write to the warehouse ") and "afile/wh" in line


def test_refresh_days_beyond_the_calendar_mean_every_title(tmp_path, tmdb) -> None:
    env = {"TMDB_API_KEY": "k", "WATCHBUDDY_TMDB_BASE_URL": tmdb.base_url}
    assert run_cli("ingest", "movie", cwd=tmp_path, env=env).returncode == 0
    done = run_cli(
        "refresh-votes", "movie", "--days", "99999999999", "--limit", "5", cwd=tmp_path, env=env
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "refreshed votes of 5 of 5 recent titles" in done.stdout


# ---------------------------------------------------------------- a file deleted by hand


def test_a_published_file_deleted_by_hand_is_named_with_the_way_back(project) -> None:
    manifest = json.loads((project / "warehouse" / "manifest.json").read_text())
    victim = project / "warehouse" / manifest["tables"]["titles"][0]
    victim.unlink()
    shutil.rmtree(project / "warehouse" / "cache", ignore_errors=True)
    port = free_port()
    for command in (
        ("stats",),
        ("recommend", "--no-fallback"),
        ("sql", "SELECT count(*) FROM pool"),
        ("compact",),
        ("bootstrap",),
        ("app", "--port", str(port)),
    ):
        line = one_line(run_cli(*command, cwd=project, timeout=120), 1)
        assert line == (
            f"Error: The warehouse file {victim} is missing (deleted by hand?): run "
            "`watchbuddy repair` to drop it from the warehouse, then `watchbuddy bootstrap "
            "--force` to land the CSVs again."
        ), command
    repaired = run_cli("repair", cwd=project)
    assert repaired.returncode == 0, repaired.stderr
    assert manifest["tables"]["titles"][0] in repaired.stdout
    assert "bootstrap --force" in repaired.stdout
    assert run_cli("stats", cwd=project).returncode == 0
    assert run_cli("bootstrap", "--force", cwd=project).returncode == 0
    con = watchbuddy.connect(project / "warehouse")
    landed_ids = con.sql("SELECT count(*) FROM pool").fetchall()[0][0]
    assert landed_ids > 15_000
    again = run_cli("repair", cwd=project)
    assert again.returncode == 0 and "Nothing to repair" in again.stdout


# ---------------------------------------------------------------- a full disk


def run_main(*args: str, capsys) -> tuple[int, str, str]:
    """`watchbuddy ARGS` in this process (so the test can make a write fail), as main()
    reports it: exit code, stdout, stderr."""
    previous = signal.getsignal(signal.SIGTERM)
    argv = sys.argv
    sys.argv = ["watchbuddy", *args]
    code = 0
    try:
        cli.main()
    except SystemExit as exit:
        code = exit.code or 0
    finally:
        sys.argv = argv
        signal.signal(signal.SIGTERM, previous)
    out = capsys.readouterr()
    return code, out.out, out.err


def published(warehouse: Path) -> tuple[int, dict]:
    manifest = json.loads((warehouse / "manifest.json").read_text())
    return manifest["version"], manifest["tables"]


def _polars_full(self, *args, **kwargs):
    raise pl.exceptions.ComputeError(
        "parquet: File out of specification: underlying IO error: "
        "No space left on device (os error 28)"
    )


def _pyarrow_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28]")


_real_write_text = pathlib.Path.write_text


def _manifest_full(self, *args, **kwargs):
    if self.suffix == ".json" and self.parent.name == "tmp":
        raise OSError(errno.ENOSPC, "No space left on device")
    return _real_write_text(self, *args, **kwargs)


@pytest.mark.parametrize(
    ("target", "name", "fail"),
    [
        (pl.DataFrame, "write_parquet", _polars_full),  # the landed rows
        (pq, "write_table", _pyarrow_full),  # rejects and the import report
        (pathlib.Path, "write_text", _manifest_full),  # the manifest
    ],
)
def test_a_full_disk_while_landing_is_one_line_and_publishes_nothing(
    tmp_path, demo_dir, monkeypatch, capsys, target, name, fail
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(demo_dir / "synthetic_TMDB_tv_dataset_v3.csv", data)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main("bootstrap", capsys=capsys)
    assert code == 0, err
    before = published(tmp_path / "warehouse")
    shutil.copy(demo_dir / "synthetic_TMDB_movie_dataset_v11.csv", data)
    monkeypatch.setattr(target, name, fail)
    code, _, err = run_main("bootstrap", capsys=capsys)
    assert code == 1 and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"Error: No space left on device while writing {tmp_path}/warehouse")
    assert err.rstrip().endswith(
        ": free some space and run again; nothing half-written was published."
    )
    monkeypatch.undo()
    assert published(tmp_path / "warehouse") == before
    assert list((tmp_path / "warehouse" / "tmp").iterdir()) == []  # the space is given back
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main("bootstrap", capsys=capsys)  # once there is room again
    assert code == 0, err
    assert len(published(tmp_path / "warehouse")[1]["titles"]) == 2


def test_a_full_disk_while_ingesting_ends_the_run_failed_saying_so(
    tmp_path, tmdb, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMDB_API_KEY", "k")
    monkeypatch.setenv("WATCHBUDDY_TMDB_BASE_URL", tmdb.base_url)
    real = pq.write_table
    calls = []

    def second_write_fails(*args, **kwargs):
        # 1: the run's 'running' record; 2: the new titles; then there is room again
        calls.append(args[1])
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(pq, "write_table", second_write_fails)
    code, _, err = run_main("ingest", "movie", capsys=capsys)
    assert code == 1 and len(err.splitlines()) == 1, err
    assert err.startswith("Error: No space left on device while writing ")
    con = watchbuddy.connect(tmp_path / "warehouse")
    rows = con.sql("SELECT status, messages[-1] FROM runs").fetchall()
    assert len(rows) == 1 and rows[0][0] == "failed"
    assert rows[0][1].startswith("No space left on device while writing ")
    assert con.sql("SELECT count(*) FROM titles").fetchall() == [(0,)]
    assert con.sql("SELECT count(*) FROM checkpoints").fetchall() == [(0,)]
