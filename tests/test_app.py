"""The Streamlit explorer through AppTest: every page on an empty warehouse and on a demo
pool, filters that change results and the URL, links with bad parameters, new data without
a restart, and a job started from the Jobs page."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from watchbuddy.jobs.scheduler import job_lock
from watchbuddy.pool.detail import title_detail
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = {
    "pool": "watchbuddy/explorer/page_pool.py",
    "jobs": "watchbuddy/explorer/page_jobs.py",
    "about": "watchbuddy/explorer/page_about.py",
    "explore": "watchbuddy/explorer/page_explore.py",
}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("WATCHBUDDY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WATCHBUDDY_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("WATCHBUDDY_SCHEDULER_IN_APP", "false")  # tested on its own below
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    monkeypatch.delenv("TMDB_READ_ACCESS_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("app-pool")
    bootstrap(Settings(data_dir=demo_dir, warehouse=root / "warehouse"))
    return root / "warehouse"


@pytest.fixture
def demo_env(env: Path, demo_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WATCHBUDDY_WAREHOUSE", str(demo_warehouse))
    return env


def start(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def results(at: AppTest) -> pl.DataFrame:
    """The Explore results table (the first dataframe on the page)."""
    return pl.from_pandas(at.dataframe[0].value)


def run_now(at: AppTest, job: str) -> None:
    """Press the Jobs page's Run now button for `job`."""
    at.selectbox(key="job_to_run").set_value(job)
    at.button[0].click().run()


def rerun_until(at: AppTest, shown, seconds: float = 60) -> None:
    """Rerun the page (as its auto-refresh would) until `shown()` holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at.run()
        if shown():
            return
        time.sleep(0.2)
    pytest.fail("the page never showed what was expected")


def shown(markdown: str) -> str:
    """Markdown source as the reader sees it: without the escapes that keep untrusted text
    literal (see `watchbuddy.safe_text.plain_markdown`)."""
    return re.sub(r"\\(.)", r"\1", markdown.replace("\u200b", ""))


def url_notes(at: AppTest) -> list[str]:
    """The page's warnings, without the demo pool's standing synthetic-data banner."""
    return [shown(w.value) for w in at.warning if "synthetic demo data" not in w.value]


def metric(at: AppTest, label: str) -> int:
    return int(next(m.value for m in at.metric if m.label == label).replace(",", ""))


def test_every_page_on_an_empty_warehouse_says_what_to_do(env: Path) -> None:
    at = start()
    assert any("The pool is empty" in info.value for info in at.info)
    assert any("not endorsed or certified by TMDB" in c.value for c in at.caption)
    for page in ("pool", "jobs", "about"):
        at.switch_page(PAGES[page]).run()
        assert not at.exception, (page, at.exception)
    at.switch_page(PAGES["pool"]).run()
    assert any("The pool is empty" in info.value for info in at.info)
    at.switch_page(PAGES["jobs"]).run()
    assert any("No scheduler is running" in info.value for info in at.info)
    assert any("No TMDB credential" in w.value for w in at.warning)
    assert any("No job has run yet" in m.value for m in at.markdown)


def test_explore_filters_change_results_and_the_url(demo_env: Path, demo_warehouse: Path) -> None:
    at = start()
    default = results(at)
    assert default.height == 100 and metric(at, "Titles") == 100
    assert at.query_params == {}  # the default view has a bare URL

    at.selectbox(key="f_mode").set_value("obscure").run()
    obscure = results(at)
    assert obscure["tmdb_id"].to_list() != default["tmdb_id"].to_list()
    assert (obscure["vote_count"] >= 20).all()
    assert at.query_params == {"mode": "obscure"}

    at.multiselect(key="f_lang").select("fr").run()
    at.multiselect(key="f_genre").select("Thriller").run()
    at.number_input(key="f_year_min").set_value(1990).run()
    at.number_input(key="f_year_max").set_value(2015).run()
    at.radio(key="f_media").set_value("movie").run()
    narrowed = results(at)
    assert 0 < narrowed.height < 100
    assert (narrowed["original_language"] == "fr").all()
    assert (narrowed["media_type"] == "movie").all()
    assert narrowed["year"].is_between(1990, 2015).all()
    assert all("Thriller" in genres for genres in narrowed["genres"])
    assert at.query_params == {
        "mode": "obscure",
        "media": "movie",
        "lang": "fr",
        "genre": "Thriller",
        "year_min": "1990",
        "year_max": "2015",
    }
    # the detail panel explains the first result with the mode's weights
    first = narrowed.row(0, named=True)
    assert at.selectbox(key="detail_pick").value == f"movie:{first['tmdb_id']}"
    explanation = next(m.value for m in at.markdown if "mode the score is" in m.value)
    assert "**obscure** mode" in explanation and "0.30 x obscurity" in explanation
    # ... with what the candidate row lacks: the overview and where the record came from
    full = title_detail(open_views(Warehouse(demo_warehouse)), "movie", first["tmdb_id"])
    assert full is not None and full["overview"]
    assert any(shown(m.value) == full["overview"] for m in at.markdown)
    assert any(f"source {full['source_name']}" in shown(c.value) for c in at.caption)


def test_a_shared_link_restores_the_filters(demo_env: Path) -> None:
    link = {"mode": "very_obscure", "media": "tv", "min_votes": "15", "limit": "40"}
    at = start(**link)
    assert at.selectbox(key="f_mode").value == "very_obscure"
    assert at.radio(key="f_media").value == "tv"
    assert at.number_input(key="f_min_votes").value == 15
    rows = results(at)
    assert 0 < rows.height <= 40
    assert (rows["media_type"] == "tv").all() and (rows["vote_count"] >= 15).all()
    assert at.query_params == link
    assert not url_notes(at)


def test_pages_follow_on_from_each_other(demo_env: Path) -> None:
    whole = results(start(mode="obscure", limit="60"))
    second = start(mode="obscure", limit="30", offset="30")
    assert results(second)["tmdb_id"].to_list() == whole["tmdb_id"].to_list()[30:]
    assert any("Rows 31–60 of the list" in c.value for c in second.caption)
    beyond = start(mode="obscure", offset="1000000")
    assert any("No titles after the first 1,000,000" in i.value for i in beyond.info)


def test_bad_link_parameters_are_ignored_with_a_note(demo_env: Path) -> None:
    at = start(
        mode="obscure",
        lang="fr,zz",
        genre="Thriller,Telenovela",
        year_min="199x",
        min_rating="11",
        utm_source="mail",
    )
    notes = " ".join(url_notes(at))
    for ignored in ("lang zz", "'Telenovela'", "year_min='199x'", "min_rating='11'", "utm_source"):
        assert ignored in notes, ignored
    rows = results(at)  # the valid parts still apply
    assert (rows["original_language"] == "fr").all()
    assert all("Thriller" in genres for genres in rows["genres"])
    assert at.query_params == {"mode": "obscure", "lang": "fr", "genre": "Thriller"}
    at.checkbox(key="f_adult").check().run()  # a change of filters retires the notes
    assert not url_notes(at)


def test_filters_survive_a_visit_to_another_page(demo_env: Path) -> None:
    at = start(mode="popular", lang="de")
    before = results(at)["tmdb_id"].to_list()
    at.switch_page(PAGES["about"]).run()
    at.switch_page(PAGES["explore"]).run()
    assert not at.exception
    assert at.selectbox(key="f_mode").value == "popular"
    assert results(at)["tmdb_id"].to_list() == before


def test_the_pool_page_counts_what_is_in_the_pool(demo_env: Path) -> None:
    at = start()
    at.switch_page(PAGES["pool"]).run()
    assert not at.exception
    titles = metric(at, "Titles")
    assert titles > 15_000 and metric(at, "Movies") + metric(at, "Shows") == titles
    headers = [h.value for h in at.subheader]
    for section in ("Languages", "Decades", "Genres", "Score distributions", "Data age"):
        assert section in headers
    assert any("rows rejected, by file and reason" in c.value for c in at.caption)
    tables = [pl.from_pandas(df.value) for df in at.dataframe]
    reasons = next(t for t in tables if "reason" in t.columns and "rows" in t.columns)
    assert reasons["rows"].sum() > 0
    assert metric(at, "Synthetic (demo)") == titles and metric(at, "Removed from TMDB") == 0


def test_every_page_says_when_the_pool_holds_synthetic_data(demo_env: Path) -> None:
    at = start()
    for page in ("explore", "pool", "jobs", "about"):
        at.switch_page(PAGES[page]).run()
        assert not at.exception, (page, at.exception)
        assert any(
            "synthetic demo data made up by `watchbuddy demo-data`, not TMDB data" in w.value
            for w in at.warning
        ), page


def test_a_real_pool_shows_no_synthetic_warning(env: Path) -> None:
    (env / "data" / "movies.csv").write_text("id,title,vote_count\n27205,Inception,34495\n")
    at = start()
    assert not any("synthetic" in w.value for w in at.warning)


def test_new_data_appears_without_a_restart(env: Path, demo_dir: Path) -> None:
    shutil.copy(demo_dir / "synthetic_TMDB_tv_dataset_v3.csv", env / "data")
    settings = Settings(data_dir=env / "data", warehouse=env / "warehouse")
    bootstrap(settings)
    at = start(media="movie")
    empty = " ".join(i.value for i in at.info)
    # It names the filter set and the mode's floor, the two things to loosen.
    assert "No title matches" in empty and "Loosen one you set (Media type)" in empty
    assert "lower the balanced mode's vote floor (50 votes)" in empty
    shutil.copy(demo_dir / "synthetic_TMDB_movie_dataset_v11.csv", env / "data")
    bootstrap(settings)  # another process publishes a new warehouse version
    at.run()
    assert not at.exception
    assert metric(at, "Titles") == 100 and (results(at)["media_type"] == "movie").all()


def test_a_job_runs_from_the_jobs_page(env: Path, demo_dir: Path) -> None:
    shutil.copy(demo_dir / "synthetic_TMDB_tv_dataset_v3.csv", env / "data")
    at = start()  # lands the data dir on first start
    at.switch_page(PAGES["jobs"]).run()
    run_now(at, "compact")
    assert not at.exception
    rerun_until(
        at, lambda: any("compact (started from the app) finished" in s.value for s in at.success)
    )
    history = pl.from_pandas(at.dataframe[1].value)
    assert history.filter(pl.col("job") == "compact")["status"].to_list() == ["skipped"]


def test_the_app_starts_one_scheduler(
    env: Path, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(demo_dir / "synthetic_TMDB_tv_dataset_v3.csv", env / "data")
    monkeypatch.setenv("WATCHBUDDY_SCHEDULER_IN_APP", "true")
    at = start()
    at.run()  # a rerun must not start a second scheduler
    assert not at.exception
    at.switch_page(PAGES["jobs"]).run()
    assert any("Scheduler active in process" in s.value for s in at.success)
    assert (env / "warehouse" / ".scheduler.lock").exists()


def test_the_about_page_credits_tmdb_and_lists_versions(demo_env: Path) -> None:
    at = start()
    at.switch_page(PAGES["about"]).run()
    assert not at.exception
    assert "not endorsed or certified by TMDB" in at.info[0].value
    versions = pl.from_pandas(at.dataframe[-1].value)
    assert {"watchbuddy", "duckdb", "polars", "streamlit"} <= set(versions["component"])


def test_a_watched_list_removes_those_titles(demo_env: Path) -> None:
    at = start(mode="popular")
    shown = results(at).head(5)
    watched = "tmdb_id,type\n" + "".join(
        f"{row['tmdb_id']},{'show' if row['media_type'] == 'tv' else 'movie'}\n"
        for row in shown.iter_rows(named=True)
    )
    uploader = next(u for u in at.get("file_uploader"))
    uploader.upload("watched.csv", watched.encode(), "text/csv").run()
    assert not at.exception
    after = results(at)
    kept = set(zip(after["media_type"], after["tmdb_id"], strict=True))
    assert not kept & set(zip(shown["media_type"], shown["tmdb_id"], strict=True))
    assert any("Excluding 5 titles from 5 rows" in c.value for c in at.sidebar.caption)
    uploader = next(u for u in at.get("file_uploader"))
    uploader.clear().upload("bad.csv", b"title\nNo ids here\n", "text/csv").run()
    assert any("has no TMDB id column" in e.value for e in at.sidebar.error)


def test_run_now_says_so_when_the_job_is_already_running(env: Path) -> None:
    at = start()
    at.switch_page(PAGES["jobs"]).run()
    with job_lock(Warehouse(env / "warehouse"), "compact"):
        at.run()
        status = pl.from_pandas(at.dataframe[0].value)
        assert status.filter(pl.col("job") == "compact")["now"].item().startswith("running")
        run_now(at, "compact")
        rerun_until(at, lambda: any("compact is already running" in e.value for e in at.error))


@pytest.fixture
def history_env(env: Path) -> Path:
    """A small real pool with three weeks of daily exports: one title rising, one falling,
    one flat, one no export lists."""
    import datetime as dt

    from tests.history_support import publish_export_day

    (env / "data" / "movies.csv").write_text(
        "id,title,release_date,genres,original_language,vote_count,vote_average,popularity\n"
        "1,Rising Star,2001-01-01,Drama,en,300,7.0,20\n"
        "2,Falling Star,2001-01-01,Drama,en,300,7.0,20\n"
        "3,Steady Star,2001-01-01,Drama,en,300,7.0,20\n"
        "4,Unlisted Star,2001-01-01,Drama,en,300,7.0,20\n"
    )
    settings = Settings(data_dir=env / "data", warehouse=env / "warehouse")
    bootstrap(settings)
    start_day = dt.date.today() - dt.timedelta(days=20)
    for i in range(21):  # regular files only: no day is complete, so nothing is flagged
        popularity = {1: 10.0 + 3 * i, 2: 80.0 - 3 * i, 3: 20.0}
        day = start_day + dt.timedelta(days=i)
        publish_export_day(Warehouse(settings.warehouse), "movie", day, popularity)
    return env


def test_explore_shows_sparklines_and_the_history_chart(history_env: Path) -> None:
    at = start(mode="trending", min_votes="0")
    table = results(at)
    assert table["title"].to_list()[0] == "Rising Star"
    recent = dict(zip(table["title"], table["recent"], strict=True))
    # a byte a day: each within 2.2 % of 1 + popularity (pool/sparklines.py)
    expected = [10.0 + 3 * i for i in range(21)]
    assert list(recent["Rising Star"]) == pytest.approx(expected, rel=0.025)
    assert recent["Unlisted Star"] is None
    assert "trend_score" in table.columns and "popularity_change_7d" in table.columns
    charts = at.get("vega_lite_chart")
    assert charts, "the detail panel draws the history of the first title"
    assert any("21 daily export days" in c.value for c in at.caption)
    at.selectbox(key="detail_pick").set_value("movie:4").run()
    assert any("No popularity history" in c.value for c in at.caption)


def test_the_pool_page_shows_what_rises_and_falls(history_env: Path) -> None:
    at = start()
    at.switch_page(PAGES["pool"]).run()
    assert not at.exception, at.exception
    movers = [
        pl.from_pandas(frame.value)
        for frame in at.dataframe
        if "popularity_change_7d" in frame.value.columns
    ]
    rising, falling = movers  # side by side: rising, then falling
    assert rising["title"].to_list() == ["Rising Star"]
    assert falling["title"].to_list() == ["Falling Star"]
