"""TMDB misbehaving on purpose: odd Retry-After values, and a stop while TMDB is down."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import watchbuddy
from watchbuddy.devtools.fake_tmdb import Catalogue, FakeTmdb
from watchbuddy.settings import Secret, Settings
from watchbuddy.sources.tmdb import client as tmdb_module
from watchbuddy.sources.tmdb.client import (
    BACKOFF_BASE,
    RETRY_AFTER_CAP,
    TmdbClient,
    retry_after_seconds,
)
from watchbuddy.sources.tmdb.ingest import ingest_new_content

TODAY = dt.date.today()
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def http_date(when: dt.datetime) -> str:
    return email.utils.format_datetime(when, usegmt=True)


@pytest.fixture
def tmdb():
    catalogue = Catalogue.generate(60, 20, TODAY - dt.timedelta(days=30), TODAY, seed=3)
    with FakeTmdb(catalogue, api_key="k") as server:
        yield server


def settings_for(server: FakeTmdb, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        warehouse=tmp_path / "wh",
        tmdb_api_key=Secret("k"),
        tmdb_base_url=server.base_url,
        tmdb_rps=500.0,
        ingest_start=TODAY - dt.timedelta(days=30),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 7 ", 7.0),
        ("0.2", 0.2),  # not RFC 9110's digits, but unambiguous: tolerated
        ("0", 0.0),
        ("120", RETRY_AFTER_CAP),
        ("1000000000000", RETRY_AFTER_CAP),
        ("9" * 400, RETRY_AFTER_CAP),  # float() of it is inf
        (http_date(NOW + dt.timedelta(seconds=30)), 30.0),
        (http_date(NOW + dt.timedelta(days=365)), RETRY_AFTER_CAP),
        ("Fri, 31 Dec 9999 23:59:59 GMT", RETRY_AFTER_CAP),
        (http_date(NOW - dt.timedelta(hours=1)), 0.0),  # in the past: now
        ("Sun Nov  6 08:49:37 1994", 0.0),  # asctime, one of RFC 9110's obsolete forms
        ("NaN", None),
        ("nan", None),
        ("inf", None),
        ("-inf", None),
        ("Infinity", None),
        ("-1", None),
        ("1e12", None),
        ("", None),
        ("   ", None),
        ("soon", None),
        ("Wed, 32 Oct 2015 07:28:00 GMT", None),
        ("Wed, 21 Oct 99999 07:28:00 GMT", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date_capped_and_anything_else_is_ignored(
    value, expected
) -> None:
    assert retry_after_seconds(value, now=NOW) == expected


class RecordingSleep:
    """The client's sleep, recording each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def get_with(settings: Settings, sleep: RecordingSleep, path: str = "/genre/movie/list"):
    async def go():
        async with TmdbClient(settings, sleep=sleep) as client:
            return await client.get(path), client.stats

    return asyncio.run(go())


IGNORED = ["NaN", "inf", "-1", "1e12", "", "garbage", "Wed, 32 Oct 2015 07:28:00 GMT"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("value", IGNORED)
@pytest.mark.parametrize("status", [503, 429])
def test_a_retry_after_that_is_not_a_sane_wait_gets_the_ordinary_backoff(
    tmdb, tmp_path, status, value
) -> None:
    tmdb.faults.update({"status_burst": 2, "burst_status": status, "retry_after": value})
    sleep = RecordingSleep()
    body, stats = get_with(settings_for(tmdb, tmp_path), sleep)
    assert body["genres"] and stats.retries == 2 and tmdb.faults.status_burst == 0
    # the ordinary backoff: 5xx up to BACKOFF_BASE * 2**n, a 429 at most 2 s
    assert len(sleep.waits) >= 2
    assert all(0 <= w <= max(BACKOFF_BASE * 2**2, 2.0) for w in sleep.waits), sleep.waits


@pytest.mark.parametrize("status", [503, 429])
def test_a_huge_or_far_future_retry_after_is_capped(tmdb, tmp_path, status) -> None:
    far = http_date(dt.datetime.now(dt.UTC) + dt.timedelta(days=3650))
    for value in ("1000000000000", far):
        tmdb.faults.update({"status_burst": 1, "burst_status": status, "retry_after": value})
        sleep = RecordingSleep()
        body, stats = get_with(settings_for(tmdb, tmp_path), sleep)
        assert body["genres"] and stats.retries == 1
        assert max(sleep.waits) == pytest.approx(RETRY_AFTER_CAP, abs=1.0), sleep.waits


def test_a_future_http_date_is_waited_for(tmdb, tmp_path) -> None:
    then = http_date(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20))
    tmdb.faults.update({"status_burst": 1, "burst_status": 503, "retry_after": then})
    sleep = RecordingSleep()
    body, _ = get_with(settings_for(tmdb, tmp_path), sleep)
    assert body["genres"] and 15 <= sleep.waits[0] <= 20


@pytest.mark.timeout(120)
def test_503_with_retry_after_nan_then_200_ingests_with_bounded_retries(
    tmdb, tmp_path, monkeypatch
) -> None:
    # The backoff's scale (not whether it is used) is the test's business: keep it short.
    monkeypatch.setattr(tmdb_module, "BACKOFF_BASE", 0.01)
    tmdb.faults.update({"status_burst": 3, "burst_status": 503, "retry_after": "NaN"})
    result = ingest_new_content(settings_for(tmdb, tmp_path), "movie")
    assert result.run.status == "ok" and result.run.titles_new == 60
    assert result.run.retries == 3 and tmdb.faults.status_burst == 0


# ---------------------------------------------------------------- stopping a stuck ingest

# `python -m watchbuddy` as a shell would start it, with SIGINT at its default even when the
# test runner was started with SIGINT ignored (a background job of a non-interactive shell).
CLI = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('watchbuddy', run_name='__main__', alter_sys=True)"
)


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "exit_code", "said"),
    [
        (signal.SIGINT, 130, "Interrupted (Ctrl-C); nothing half-written was published."),
        (signal.SIGTERM, 143, "Stopped by SIGTERM; nothing half-written was published."),
    ],
)
@pytest.mark.parametrize("retry_after", ["3600", "NaN"])
def test_ctrl_c_or_sigterm_stop_an_ingest_stuck_behind_503s_with_one_line(
    tmdb, tmp_path, sig, exit_code, said, retry_after
) -> None:
    total = 1_000_000
    tmdb.faults.update({"status_burst": total, "burst_status": 503, "retry_after": retry_after})
    env = {
        **os.environ,
        "TMDB_API_KEY": "k",
        "WATCHBUDDY_TMDB_BASE_URL": tmdb.base_url,
        "WATCHBUDDY_WAREHOUSE": str(tmp_path / "wh"),
        "WATCHBUDDY_DATA_DIR": str(tmp_path / "data"),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, "ingest", "movie"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # TMDB has answered a 503: the ingest is in its retry loop (waiting, or spinning on
        # a NaN), not starting up.
        wait_for(lambda: tmdb.faults.status_burst < total)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == exit_code, stderr
    assert stderr.splitlines() == [said]
    con = watchbuddy.connect(tmp_path / "wh")
    rows = con.sql("SELECT status, messages[-1] FROM runs").fetchall()
    assert len(rows) == 1
    status, message = rows[0]
    assert status == "failed" and message.startswith("interrupted (Ctrl-C or SIGTERM)")
    assert con.sql("SELECT count(*) FROM checkpoints").fetchall() == [(0,)]
