"""Explore's title search through AppTest: typing a title lists its matches, a pick shows
it in the *Why this title* panel (also a title the filters leave out), and `?q=` links."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import start
from tests.test_search import land_search_pool

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def search_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return land_search_pool(tmp_path_factory.mktemp("app-search"))


@pytest.fixture
def env(tmp_path: Path, search_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("WATCHBUDDY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WATCHBUDDY_WAREHOUSE", str(search_warehouse))
    monkeypatch.setenv("WATCHBUDDY_SCHEDULER_IN_APP", "false")
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    monkeypatch.delenv("TMDB_READ_ACCESS_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def options(at: AppTest) -> list[str]:
    """The search's matches as shown (their labels are Markdown-escaped)."""
    return [o.replace("\\", "") for o in at.radio(key="search_pick").options]


def headings(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("### ")]


def test_typing_a_title_lists_matches_and_a_pick_shows_it_in_the_panel(env: Path) -> None:
    at = start()
    at.text_input(key="f_q").input("amelie").run()
    assert not at.exception, at.exception
    assert at.query_params["q"] in ("amelie", ["amelie"])
    matches = at.radio(key="search_pick")
    assert options(at)[:3] == [
        "Amélie (2001) · movie · original: Le Fabuleux Destin d'Amélie Poulain · 11,000 votes "
        "· match 100",
        "Amélie (2019) · tv · 12 votes · match 100",
        "Amelie (2010) · movie · 5 votes · match 100",
    ]
    assert matches.value is None  # nothing picked yet
    # Amelie (2010) has 5 votes: under the balanced mode's floor, so not in the list; a pick
    # shows it all the same, scored in the chosen mode.
    matches.set_value("movie:77").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="detail_pick").value == "movie:77"
    assert "### Amelie (2010)" in headings(at)
    assert any("mode the score is" in m.value for m in at.markdown)


def test_a_link_with_q_fills_the_box(env: Path) -> None:
    at = start(q="interstelar")
    assert at.text_input(key="f_q").value == "interstelar"
    assert options(at)[0].startswith("Interstellar (2014) · movie")
    assert not any("Ignored" in w.value for w in at.warning)


def test_no_match_and_nothing_to_search_for_say_so(env: Path) -> None:
    at = start(q="zzqxv wwkj")
    assert any("No title matches" in i.value for i in at.info)
    at.text_input(key="f_q").input(" ?! ").run()
    assert any("Nothing to search for" in w.value for w in at.warning)
    at.text_input(key="f_q").input("").run()
    assert "q" not in at.query_params
