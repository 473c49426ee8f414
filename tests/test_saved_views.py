"""Saved views (issue 15): the Explore filters under a name in the warehouse, listed and
applied in the sidebar, and read by `recommend --preset NAME` (explicit options win); and
the language picker showing names ("Danish (da)")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_app import results, start, url_notes
from watchbuddy.errors import InvalidViewName, UnknownPreset
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.saved_views import delete_view, find_view, list_views, save_view
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse


@pytest.fixture(scope="module")
def views_warehouse(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("views") / "warehouse"
    bootstrap(Settings(data_dir=demo_dir, warehouse=root))
    return root


@pytest.fixture
def warehouse(views_warehouse: Path) -> Warehouse:
    """The demo warehouse with no saved view."""
    store = Warehouse(views_warehouse)
    for view in list_views(store):
        delete_view(store, view.name)
    return store


def test_a_resave_replaces_by_name_and_delete_removes(warehouse: Warehouse) -> None:
    save_view(warehouse, "Danish  thrillers", "lang=da&genre=Thriller")
    save_view(warehouse, "short", "runtime_max=100")
    save_view(warehouse, "Danish thrillers", "lang=da&genre=Thriller&mode=obscure")
    views = list_views(warehouse)
    assert [v.name for v in views] == ["Danish thrillers", "short"]
    assert views[0].query == "lang=da&genre=Thriller&mode=obscure"
    con = open_views(warehouse)  # a warehouse table like the others, with its view
    assert con.sql("SELECT count(*) FROM saved_views").fetchall() == [(2,)]
    con.close()
    delete_view(warehouse, "short")
    assert [v.name for v in list_views(warehouse)] == ["Danish thrillers"]
    with pytest.raises(UnknownPreset, match="saved views: 'Danish thrillers'"):
        find_view(warehouse, "short")
    with pytest.raises(UnknownPreset, match="saved views: 'Danish thrillers'"):
        delete_view(warehouse, "short")
    with pytest.raises(InvalidViewName):
        save_view(warehouse, "   ", "")
    delete_view(warehouse, "Danish thrillers")
    assert list_views(warehouse) == []
    assert warehouse.read_manifest().files("saved_views") == []


def test_recommend_preset_applies_the_view_and_explicit_options_win(
    tmp_path: Path, warehouse: Warehouse
) -> None:
    env = {
        "WATCHBUDDY_DATA_DIR": str(tmp_path),
        "WATCHBUDDY_WAREHOUSE": str(warehouse.root),
    }
    save_view(warehouse, "tv no music", "media=tv&no_genre=Music&min_votes=0&limit=7")

    def recommend(*args: str) -> list[dict]:
        done = run_cli(
            "recommend", *args, "--format", "json", "--no-fallback", cwd=tmp_path, env=env
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    rows = recommend("--preset", "tv no music")
    assert len(rows) == 7 and {r["media_type"] for r in rows} == {"tv"}
    assert not any("Music" in r["genres"] for r in rows)
    # Given here, an option overrides the view's value; the rest of the view still applies.
    rows = recommend("--preset", "tv no music", "--media-type", "movie", "--limit", "3")
    assert len(rows) == 3 and {r["media_type"] for r in rows} == {"movie"}
    assert not any("Music" in r["genres"] for r in rows)

    unknown = run_cli("recommend", "--preset", "nope", cwd=tmp_path, env=env)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        "Error: No saved view is called 'nope'; saved views: 'tv no music'."
    ]
    listed = run_cli("presets", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and "tv no music" in listed.stdout
    assert "media=tv&no_genre=Music" in listed.stdout
    gone = run_cli("presets", "delete", "tv no music", cwd=tmp_path, env=env)
    assert gone.returncode == 0, gone.stderr
    again = run_cli("presets", "delete", "tv no music", cwd=tmp_path, env=env)
    assert again.returncode == 2 and "none is saved yet" in again.stderr
    empty = run_cli("presets", "list", cwd=tmp_path, env=env)
    assert "No saved views yet" in empty.stdout


@pytest.fixture
def app_env(tmp_path: Path, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("WATCHBUDDY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WATCHBUDDY_WAREHOUSE", str(warehouse.root))
    monkeypatch.setenv("WATCHBUDDY_SCHEDULER_IN_APP", "false")
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    monkeypatch.delenv("TMDB_READ_ACCESS_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return warehouse


def test_explore_saves_a_view_and_applies_it_later(app_env: Warehouse) -> None:
    at = start(mode="obscure", no_genre="Music,Talk", runtime_max="120", poster="with")
    assert at.multiselect(key="f_no_genre").value == ["Music", "Talk"]
    assert at.number_input(key="f_runtime_max").value == 120
    assert at.radio(key="f_poster").value == "with"
    saved_rows = results(at)["tmdb_id"].to_list()
    at.text_input(key="view_name").input("Short, no concerts").run()
    at.button(key="view_save").click().run()
    assert not at.exception, at.exception
    assert any("Saved the view 'Short, no concerts'" in s.value for s in at.success)
    views = list_views(app_env)
    assert [(v.name, v.query) for v in views] == [
        ("Short, no concerts", "mode=obscure&no_genre=Music%2CTalk&runtime_max=120&poster=with")
    ]

    at = start()  # another day: the default view
    assert at.query_params == {}
    assert at.selectbox(key="view_pick").options == ["Short, no concerts"]
    at.selectbox(key="view_pick").set_value("Short, no concerts").run()
    at.button(key="view_apply").click().run()
    assert not at.exception, at.exception
    assert at.query_params == {
        "mode": "obscure",
        "no_genre": "Music,Talk",
        "runtime_max": "120",
        "poster": "with",
    }
    assert at.selectbox(key="f_mode").value == "obscure"
    assert at.multiselect(key="f_no_genre").value == ["Music", "Talk"]
    assert results(at)["tmdb_id"].to_list() == saved_rows
    assert not url_notes(at)

    at.selectbox(key="view_pick").set_value("Short, no concerts").run()
    at.button(key="view_delete").click().run()
    assert not at.exception, at.exception
    assert list_views(app_env) == []
    assert at.selectbox(key="view_pick").options == []


def test_the_language_picker_shows_names(app_env: Warehouse) -> None:
    at = start()
    assert {"Danish (da)", "French (fr)"} <= set(at.multiselect(key="f_lang").options)
    at.multiselect(key="f_lang").select("da").run()
    assert at.query_params == {"lang": "da"}  # the link keeps the code
    assert (results(at)["original_language"] == "da").all()


def test_explore_takes_typed_keywords_and_a_runtime_range(app_env: Warehouse) -> None:
    at = start(min_votes="0")
    everything = results(at)["tmdb_id"].to_list()
    at.multiselect(key="f_keyword").select("City").run()
    at.number_input(key="f_runtime_min").set_value(60).run()
    at.number_input(key="f_runtime_max").set_value(100).run()
    assert not at.exception, at.exception
    assert at.query_params == {
        "min_votes": "0",
        "keyword": "City",
        "runtime_min": "60",
        "runtime_max": "100",
    }
    shown = results(at)
    narrowed = list(zip(shown["media_type"], shown["tmdb_id"], strict=True))
    assert narrowed and shown["tmdb_id"].to_list() != everything
    con = open_views(app_env)
    ok = set(
        con.sql(
            "SELECT media_type, tmdb_id FROM pool WHERE runtime BETWEEN 60 AND 100 AND "
            "list_contains(list_transform(keywords, lambda k: lower(trim(k))), 'city')"
        ).fetchall()
    )
    con.close()
    assert set(narrowed) <= ok
