"""Shared fixtures: temporary data dirs and warehouses, the shared TMDB samples, demo data."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from watchbuddy.devtools.demo import generate
from watchbuddy.settings import Secret, Settings

# Property tests draw the same examples on every run, so `make test` passes or fails the
# same way each time (CI runs the suite once). `HYPOTHESIS_PROFILE=explore` draws new ones
# for a hunt; pin what it finds with `@example`. No per-example deadline: a deadline is a
# timed assertion, and on two loaded cores an example that takes 50 ms can take 250 (a fresh
# clone failed so once); the suite's pytest-timeout still stops a hung test.
hypothesis_settings.register_profile("repeatable", derandomize=True, deadline=None)
hypothesis_settings.register_profile("explore", derandomize=False, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# No test reaches TMDB's real export files (the `exports` job catches up at once when a
# scheduler starts, and a first run would download gigabytes): a closed loopback port, which
# every process the tests start inherits; tests of the exports use the fake's URL.
os.environ["WATCHBUDDY_TMDB_EXPORTS_URL"] = "http://127.0.0.1:9/p/exports"

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "data" / "tmdb-samples"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding end-to-end (`slow`) tests run first, the others after in their usual
    order. The suite runs on one worker per core, each taking whole files (pyproject's
    addopts); a long file handed out last would keep one worker busy while the other sits
    idle, and the short files at the end fill the gaps instead."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: files stay whole


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    return Settings(data_dir=data, warehouse=tmp_path / "warehouse")


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared TMDB samples are not at {SAMPLES} (a clone without ../shared)")
    return SAMPLES


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(20_000, out, seed=7)
    return out


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real `watchbuddy` command line in a child process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "watchbuddy", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def fake_tmdb_settings(server: Any, tmp_path: Path, **extra: Any) -> Settings:
    """Settings for a run against the fake TMDB `server`: its key and address, a fast rate
    limit, a short timeout and a year of history; `extra` overrides any of them."""
    (tmp_path / "data").mkdir(exist_ok=True)
    values: dict[str, Any] = dict(
        data_dir=tmp_path / "data",
        warehouse=tmp_path / "warehouse",
        tmdb_api_key=Secret(server.api_key),
        tmdb_base_url=server.base_url,
        tmdb_exports_url=server.exports_url,
        tmdb_rps=500.0,
        tmdb_timeout=2.0,
        ingest_start=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=365),
        details_per_run=50,
    )
    values.update(extra)
    return Settings(**values)
