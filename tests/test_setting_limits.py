"""Settings and options at the edge of what they can mean: each is refused when it comes in,
with one line naming the setting or option and what it accepts, never a traceback later."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.conftest import run_cli
from watchbuddy.errors import ConfigError
from watchbuddy.settings import load_settings

LONG = "x" * 100_000
NOWHERE = {"TMDB_API_KEY": "k", "WATCHBUDDY_TMDB_BASE_URL": "http://127.0.0.1:9/3"}


def one_line(done, exit_code: int) -> str:
    """The single stderr line of a command that failed as expected."""
    assert done.returncode == exit_code, (done.stdout[-500:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    return lines[0]


def refused(tmp_path: Path, text: str, **env: str) -> str:
    """The ConfigError message for a watchbuddy.toml with `text` (and environment `env`)."""
    (tmp_path / "watchbuddy.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(env, cwd=tmp_path)
    return str(caught.value)


# ---------------------------------------------------------------- memory sizes


@pytest.mark.parametrize(
    "variable", ["WATCHBUDDY_DUCKDB_MEMORY_LIMIT", "WATCHBUDDY_SQL_MEMORY_LIMIT"]
)
@pytest.mark.parametrize("value", ["0", "0GB", "1PB", "lots", "1GB'; --", "100", "1KB", "101TB"])
def test_a_memory_limit_duckdb_cannot_take_is_refused_when_settings_load(
    tmp_path: Path, variable: str, value: str
) -> None:
    line = one_line(run_cli("stats", cwd=tmp_path, env={variable: value}), 2)
    assert f"({variable})" in line and "from 16MB to 100TB" in line


@pytest.mark.parametrize("value", ["64MB", "1.5GB", "512MiB", "2 GiB", "100TB", "16MB"])
def test_memory_limits_in_duckdb_units_are_kept_as_written(tmp_path: Path, value: str) -> None:
    settings = load_settings({"WATCHBUDDY_DUCKDB_MEMORY_LIMIT": value}, cwd=tmp_path)
    assert settings.duckdb_memory_limit == value


def test_a_bad_memory_limit_fails_bootstrap_once_not_every_file(tmp_path: Path) -> None:
    assert run_cli("demo-data", "--rows", "100", cwd=tmp_path).returncode == 0
    env = {"WATCHBUDDY_DUCKDB_MEMORY_LIMIT": "1PB"}
    line = one_line(run_cli("bootstrap", cwd=tmp_path, env=env), 2)
    assert "duckdb_memory_limit" in line and "ParserException" not in line


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1"])
def test_a_sql_timeout_that_would_never_stop_is_refused(tmp_path: Path, value: str) -> None:
    line = one_line(run_cli("stats", cwd=tmp_path, env={"WATCHBUDDY_SQL_TIMEOUT": value}), 2)
    assert "(WATCHBUDDY_SQL_TIMEOUT)" in line


# ---------------------------------------------------------------- schedules


@pytest.mark.parametrize(
    "schedule",
    [
        "every 99999999999999999999d",
        "every 1000000000d",
        "every 367d",
        "every 1s at +99999999999d",
        "every 1d at +2d",
        "every 2h at +2h",
    ],
)
def test_an_interval_or_offset_past_a_year_or_period_is_one_line(
    tmp_path: Path, schedule: str
) -> None:
    env = {"WATCHBUDDY_SCHEDULE_INGEST_MOVIES": schedule}
    line = one_line(run_cli("jobs", cwd=tmp_path, env=env), 2)
    assert "schedule_ingest_movies (WATCHBUDDY_SCHEDULE_INGEST_MOVIES)" in line


@pytest.mark.parametrize("schedule", ["every \u0665m", "every +5m", "every 5_0m"])
def test_an_interval_is_plain_ascii_digits(tmp_path: Path, schedule: str) -> None:
    env = {"WATCHBUDDY_SCHEDULE_INGEST_TV": schedule}
    line = one_line(run_cli("jobs", cwd=tmp_path, env=env), 2)
    assert "(WATCHBUDDY_SCHEDULE_INGEST_TV)" in line and "30s, 15m, 2h or 1d" in line


def test_a_cron_expression_that_never_fires_is_refused(tmp_path: Path) -> None:
    env = {"WATCHBUDDY_SCHEDULE_COMPACT": "0 0 30 2 *"}  # February 30th
    line = one_line(run_cli("jobs", cwd=tmp_path, env=env), 2)
    assert "(WATCHBUDDY_SCHEDULE_COMPACT)" in line and "never" in line


def test_the_longest_schedules_still_work(tmp_path: Path) -> None:
    env = {
        "WATCHBUDDY_SCHEDULE_INGEST_MOVIES": "every 366d at +365d",
        "WATCHBUDDY_SCHEDULE_INGEST_TV": "every 1d at +23h",
    }
    done = run_cli("jobs", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr


def test_a_long_schedule_is_not_echoed_whole(tmp_path: Path) -> None:
    env = {"WATCHBUDDY_SCHEDULE_COMPACT": "every " + LONG}
    line = one_line(run_cli("jobs", cwd=tmp_path, env=env), 2)
    assert len(line) < 400


# ---------------------------------------------------------------- watchbuddy.toml


@pytest.mark.parametrize(
    "encoded",
    ['warehouse = "caf\u00e9"\n'.encode("latin-1"), 'warehouse = "wh"\n'.encode("utf-16")],
    ids=["latin-1", "utf-16"],
)
def test_a_toml_file_that_is_not_utf8_is_one_line(tmp_path: Path, encoded: bytes) -> None:
    (tmp_path / "watchbuddy.toml").write_bytes(encoded)
    line = one_line(run_cli("stats", cwd=tmp_path), 2)
    assert "watchbuddy.toml" in line and "UTF-8" in line


def test_a_toml_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    (tmp_path / "watchbuddy.toml").write_bytes("refresh_limit = 7\n".encode("utf-8-sig"))
    assert load_settings({}, cwd=tmp_path).refresh_limit == 7


def test_an_infinite_number_for_a_count_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "watchbuddy.toml").write_text("refresh_limit = 1e400\n")
    line = one_line(run_cli("stats", cwd=tmp_path), 2)
    assert "(WATCHBUDDY_REFRESH_LIMIT)" in line


@pytest.mark.parametrize("key", ["warehouse", "data_dir"])
def test_a_path_with_a_nul_character_is_refused(tmp_path: Path, key: str) -> None:
    (tmp_path / "watchbuddy.toml").write_text(f'{key} = "a\\u0000b"\n')
    line = one_line(run_cli("bootstrap", cwd=tmp_path), 2)
    assert f"Setting {key}" in line and "NUL" in line and "\x00" not in line


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        ("tmdb_api_key = 12345\n", "tmdb_api_key"),
        ("[tmdb_api_key]\na = 1\n", "tmdb_api_key"),
        ("tmdb_read_access_token = [1, 2]\n", "tmdb_read_access_token"),
        ("app_address = 127\n", "app_address"),
        ("schedule_compact = 5\n", "schedule_compact"),
        ("warehouse = 1\n", "warehouse"),
        ("refresh_limit = true\n", "refresh_limit"),
        ("tmdb_rps = false\n", "tmdb_rps"),
        ("auto_bootstrap = 1\n", "auto_bootstrap"),
        ("ingest_start = 2024-01-01T00:00:00\n", "ingest_start"),
        ("ingest_start = 12:00:00\n", "ingest_start"),
    ],
)
def test_a_toml_value_of_the_wrong_type_is_refused(tmp_path: Path, text: str, setting: str) -> None:
    message = refused(tmp_path, text)
    assert message.startswith(f"Setting {setting} (")


def test_toml_values_of_the_right_type_are_read(tmp_path: Path) -> None:
    (tmp_path / "watchbuddy.toml").write_text(
        'tmdb_api_key = "abc123"\ningest_start = 2023-05-01\ntmdb_rps = 5\n'
        "refresh_limit = 9\nauto_bootstrap = false\n"
    )
    settings = load_settings({}, cwd=tmp_path)
    assert settings.tmdb_api_key is not None and settings.tmdb_api_key.reveal() == "abc123"
    assert type(settings.ingest_start) is dt.date and settings.ingest_start == dt.date(2023, 5, 1)
    assert settings.tmdb_rps == 5.0 and settings.refresh_limit == 9
    assert settings.auto_bootstrap is False


# ---------------------------------------------------------------- warehouse


@pytest.mark.parametrize("where", ["/dev/null", "afile"])
def test_a_warehouse_that_is_a_file_is_named_as_not_a_folder(tmp_path: Path, where: str) -> None:
    (tmp_path / "afile").write_text("x")
    assert run_cli("demo-data", "--rows", "100", cwd=tmp_path).returncode == 0
    done = run_cli("bootstrap", cwd=tmp_path, env={"WATCHBUDDY_WAREHOUSE": where})
    line = one_line(done, 1)
    assert "is not a folder" in line and "WATCHBUDDY_WAREHOUSE" in line


def test_reading_a_warehouse_that_is_a_file_is_named_as_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    line = one_line(run_cli("stats", cwd=tmp_path, env={"WATCHBUDDY_WAREHOUSE": "afile"}), 1)
    assert "is not a folder" in line


# ---------------------------------------------------------------- options


# Not 5000001 itself: before the ceiling that would really generate 5M rows (~9 GB).
@pytest.mark.parametrize("rows", ["2000000000", "100000000000000000000"])
def test_demo_data_rows_have_a_ceiling(tmp_path: Path, rows: str) -> None:
    line = one_line(run_cli("demo-data", "--rows", rows, "--out", "d", cwd=tmp_path), 2)
    assert "'--rows'" in line and "5000000" in line
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("option", ["--genre", "--language"])
def test_an_unknown_long_filter_value_is_not_echoed_whole(tmp_path: Path, option: str) -> None:
    assert run_cli("demo-data", "--rows", "200", cwd=tmp_path).returncode == 0
    assert run_cli("bootstrap", cwd=tmp_path).returncode == 0
    line = one_line(run_cli("recommend", option, LONG, cwd=tmp_path), 2)
    assert len(line) < 1000 and "…" in line


def test_an_ingest_start_after_today_names_the_setting_not_until(tmp_path: Path) -> None:
    env = {**NOWHERE, "WATCHBUDDY_INGEST_START": "9999-12-31"}
    line = one_line(run_cli("ingest", "movie", cwd=tmp_path, env=env), 2)
    assert "--until" not in line and "WATCHBUDDY_INGEST_START" in line and "today" in line


def test_a_since_after_until_names_both_options(tmp_path: Path) -> None:
    done = run_cli(
        "ingest",
        "movie",
        "--since",
        "2024-02-01",
        "--until",
        "2024-01-01",
        cwd=tmp_path,
        env=NOWHERE,
    )
    line = one_line(done, 2)
    assert "--since 2024-02-01" in line and "--until 2024-01-01" in line
