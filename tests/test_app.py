"""The Streamlit app through AppTest: an empty warehouse says what to do; a pool shows stats."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("WATCHBUDDY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WATCHBUDDY_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("WATCHBUDDY_SCHEDULER_IN_APP", "false")  # tested in test_scheduler
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_empty_warehouse_says_what_to_do(env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("The pool is empty" in info.value for info in at.info)
    assert "not endorsed or certified by TMDB" in at.caption[0].value


def test_app_lands_data_on_first_start_and_shows_the_pool(env: Path, demo_dir: Path) -> None:
    for csv in demo_dir.glob("*.csv"):
        shutil.copy(csv, env / "data" / csv.name)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Titles"].replace(",", "")) > 15_000
    assert int(metrics["tv"].replace(",", "")) > 1_000
    assert len(at.dataframe) == 3  # imports, rejects, scheduled jobs


def test_app_starts_one_scheduler_and_shows_the_jobs(
    env: Path, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for csv in demo_dir.glob("*.csv"):
        shutil.copy(csv, env / "data" / csv.name)
    monkeypatch.setenv("WATCHBUDDY_SCHEDULER_IN_APP", "true")
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    monkeypatch.delenv("TMDB_READ_ACCESS_TOKEN", raising=False)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    at.run()  # a rerun must not start a second scheduler
    assert not at.exception
    assert any("No TMDB credential" in w.value for w in at.warning)
    assert (env / "warehouse" / ".scheduler.lock").exists()
