"""The Explore page's "More like this" through AppTest: the detail panel's button sets the
like filter (sidebar and link), the list becomes the titles alike to the picked one, each
naming what it shares, and a link with `like=` restores it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_app import env, results, shown, start  # noqa: F401  (env is a fixture)
from tests.test_similar import write_pool
from watchbuddy.settings import Settings


@pytest.fixture
def like_env(env: Path) -> Path:  # noqa: F811
    write_pool(Settings(data_dir=env / "data", warehouse=env / "warehouse"))
    return env


def test_more_like_this_lists_titles_alike_to_the_picked_one(like_env: Path) -> None:
    at = start(min_votes="0")
    at.selectbox(key="detail_pick").set_value("movie:1").run()  # Inception (2010)
    assert not at.exception, at.exception
    at.button(key="more_like_this").click().run()
    assert not at.exception, at.exception
    assert at.query_params["like"] == "movie:1"
    assert at.multiselect(key="f_like").value == ["movie:1"]
    assert at.multiselect(key="f_like").options == ["Inception (2010)"]  # a name, not an id
    frame = results(at)
    assert set(frame["tmdb_id"]) == {2, 3, 4, 20, 21}  # alike at all, Inception left out
    assert "similarity" in frame.columns and (frame["similarity"] > 0).all()
    shares = dict(zip(frame["tmdb_id"], frame["explanation"], strict=True))
    assert shares[2].endswith("shares: heist, dream, Action, Science Fiction")
    # The sidebar's More like clears it: the whole pool again, no similarity in the score.
    at.multiselect(key="f_like").set_value([]).run()
    assert "like" not in at.query_params
    assert 1 in results(at)["tmdb_id"].to_list()


def test_a_link_with_like_restores_it_and_an_unknown_title_is_one_error(like_env: Path) -> None:
    at = start(min_votes="0", like="movie:2", mode="obscure")
    frame = results(at)
    assert 2 not in frame["tmdb_id"].to_list() and 1 in frame["tmdb_id"].to_list()
    assert all("0.50 x similarity" in e for e in frame["explanation"])
    bad = start(like="movie:999")
    assert next(shown(e.value) for e in bad.error).startswith("movie:999 is not in the pool")


def test_for_you_without_a_history_says_how_to_import_one(like_env: Path) -> None:
    at = start(mode="for_you", min_votes="0")
    assert any("watchbuddy history import" in shown(i.value) for i in at.info)
    assert results(at).height  # ranked like balanced meanwhile
