"""The explorer and your history: the detail panel's "Not interested" button and the
"For me" toggle (the link parameter `for_me`)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import start
from tests.test_history_import import LETTERBOXD_RATINGS, MOVIES, SHOWS
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.sources.history.land import import_files
from watchbuddy.sources.history.lists import app_list
from watchbuddy.store.warehouse import Warehouse

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    data = tmp_path / "data"
    data.mkdir()
    (data / "movies.csv").write_text(MOVIES, encoding="utf-8")
    (data / "shows.csv").write_text(SHOWS, encoding="utf-8")
    bootstrap(Settings(data_dir=data, warehouse=tmp_path / "warehouse"))
    monkeypatch.setenv("WATCHBUDDY_DATA_DIR", str(data))
    monkeypatch.setenv("WATCHBUDDY_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("WATCHBUDDY_SCHEDULER_IN_APP", "false")
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    monkeypatch.delenv("TMDB_READ_ACCESS_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return Warehouse(tmp_path / "warehouse")


def shown(at: AppTest) -> set[str]:
    return set(pl.from_pandas(at.dataframe[0].value)["title"].to_list())


def test_the_not_interested_button_removes_the_title_for_good(warehouse):
    at = start(min_votes="0")
    assert "Arrival" in shown(at)
    at.selectbox(key="detail_pick").set_value("movie:10").run()
    at.button(key="not_interested_movie_10").click().run()
    assert not at.exception, at.exception
    assert app_list(warehouse) == [("movie", 10)]
    assert "Arrival" not in shown(at)
    # It sticks: a new session, without the For me toggle, does not show it either.
    assert "Arrival" not in shown(start(min_votes="0"))


def test_the_for_me_toggle_and_link_leave_out_what_you_rated(warehouse, tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(LETTERBOXD_RATINGS, encoding="utf-8")
    import_files(warehouse, [path])
    at = start(min_votes="0")
    assert {"Amélie", "Crouching Tiger, Hidden Dragon"} <= shown(at)
    at.checkbox(key="f_for_me").check().run()
    assert not {"Amélie", "Crouching Tiger, Hidden Dragon"} & shown(at)
    assert at.query_params["for_me"] == "true"
    linked = start(min_votes="0", for_me="true")
    assert "Amélie" not in shown(linked) and "Solaris" in shown(linked)


def test_an_uploaded_export_is_imported_and_for_me_leaves_it_out(warehouse):
    at = start(min_votes="0", for_me="true")
    assert "Amélie" in shown(at)  # nothing imported yet
    uploader = next(u for u in at.get("file_uploader") if u.proto.label == "Export files")
    uploader.upload("ratings.csv", LETTERBOXD_RATINGS.encode(), "text/csv").run()
    at.button(key="history_import").click().run()
    assert not at.exception, at.exception
    captions = [c.value.replace("\\", "") for c in at.sidebar.caption]  # markdown escapes
    assert any(
        "ratings.csv (letterboxd ratings): 7 rows read = 4 matched + 2 ambiguous + 1 unmatched" in c
        for c in captions
    ), captions
    assert not {"Amélie", "Crouching Tiger, Hidden Dragon"} & shown(at)
    # An export of no known format is one error line, and nothing is imported.
    uploader = next(u for u in at.get("file_uploader") if u.proto.label == "Export files")
    uploader.clear().upload("notes.csv", b"a,b\n1,2\n", "text/csv").run()
    at.button(key="history_import").click().run()
    errors = [e.value.replace("\\", "") for e in at.sidebar.error]
    assert any("notes.csv is not a known export; understood:" in e for e in errors), errors
