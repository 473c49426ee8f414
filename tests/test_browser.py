"""The explorer in a real browser: Debian's chromium, headless, driven by Playwright
against `watchbuddy app` on a free port. Sets a filter, sees matching rows, and opens the
address bar's link in a fresh browser context, which must restore the same view; shows
hostile titles and links as text; and listens on this machine only."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from tests.browser_support import (
    GRID,
    choose_language,
    chromium_missing,
    launch,
    serve_app,
    titles_metric,
    wait_for_rows,
)
from tests.streaming_support import US_PROVIDERS, publish_region
from watchbuddy.pool.streaming import ATTRIBUTION
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse

pytestmark = pytest.mark.slow

# One title in Greenlandic (no demo title is), written by an attacker: Markdown links and
# images, an autolink, raw HTML and terminal escapes, in the title and the overview.
EVIL = "evil.example"
HOSTILE_TITLE = f"\x1b]0;pwned\x07![t](http://{EVIL}/title.png) [Session expired](https://{EVIL}/t)"
HOSTILE_OVERVIEW = (
    f"Log in again: [here](https://{EVIL}/login) ![pixel](http://{EVIL}/pixel.png) "
    f"<https://{EVIL}/auto> https://{EVIL}/bare www.{EVIL} <img src='http://{EVIL}/h.png'>"
    " :red[alarm] $x^2$"
)
HOSTILE_CSV = (
    "id,title,original_language,release_date,vote_count,vote_average,popularity,overview\n"
    + ",".join(
        [
            "987654321",
            '"' + HOSTILE_TITLE.replace('"', '""') + '"',
            "kl",
            "2001-01-01",
            "5000",
            "7.5",
            "50",
            '"' + HOSTILE_OVERVIEW.replace('"', '""') + '"',
        ]
    )
    + "\n"
)


def publish_netflix(warehouse: Warehouse) -> None:
    """US availability: Netflix streams the 300 most voted movies (a providers fetch)."""
    con = open_views(warehouse)
    try:
        ids = con.sql(
            "SELECT tmdb_id FROM pool WHERE media_type = 'movie' ORDER BY vote_count DESC LIMIT 300"
        ).fetchall()
    finally:
        con.close()
    publish_region(warehouse, "US", US_PROVIDERS, [(8, "flatrate", "movie", i) for (i,) in ids])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path):
    missing = chromium_missing()
    if missing:
        pytest.skip(missing)
    root = tmp_path_factory.mktemp("browser")
    settings = Settings(data_dir=root / "data", warehouse=root / "warehouse")
    settings.data_dir.mkdir()
    bootstrap(settings.with_overrides(data_dir=demo_dir))
    hostile = root / "hostile"
    hostile.mkdir()
    (hostile / "hostile_movies.csv").write_text(HOSTILE_CSV, encoding="utf-8")
    bootstrap(settings.with_overrides(data_dir=hostile))
    publish_netflix(Warehouse(settings.warehouse))
    with serve_app(settings.warehouse, settings.data_dir) as (url, _process, _up):
        yield url


def test_a_filter_shows_matching_rows_and_its_link_restores_them(app_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(app_url)
            page.wait_for_selector(GRID, timeout=60_000)
            expect(page.locator("[data-testid='stMetricValue']").first).to_have_text("100")
            # cells: poster, title, year, type, language, ...; the default view mixes languages
            wait_for_rows(page, lambda rows: len({row[4] for row in rows}) > 1)

            choose_language(page, "da")
            page.wait_for_url("**lang=da**", timeout=30_000)
            expect(page.get_by_text("language da", exact=False).first).to_be_visible()
            rows = wait_for_rows(page, lambda rows: all(row[4] == "da" for row in rows))
            count = titles_metric(page)
            shared = page.url

            other = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            other.goto(shared)
            other.wait_for_selector(GRID, timeout=60_000)
            chips = other.locator("[data-testid='stMultiSelect']").filter(
                has_text="Original language"
            )
            expect(chips).to_contain_text("da")
            expect(other.get_by_text("language da", exact=False).first).to_be_visible()
            assert titles_metric(other) == count
            assert wait_for_rows(other, lambda restored: restored == rows)
        finally:
            browser.close()


def test_streaming_availability_is_credited_to_justwatch_on_screen(app_url: str) -> None:
    """With a provider filter the rows say where they stream, the JustWatch attribution is
    visible, and the only availability link goes to TMDB's watch page."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(f"{app_url}/?region=US&provider=Netflix")
            page.wait_for_selector(GRID, timeout=60_000)
            expect(page.get_by_text(ATTRIBUTION, exact=False).first).to_be_visible()
            chips = page.locator("[data-testid='stMultiSelect']").filter(has_text="Streams on")
            expect(chips).to_contain_text("Netflix")
            wait_for_rows(page, lambda rows: all("Netflix" in " ".join(row) for row in rows))
            watch = page.locator("a[href*='/watch?locale=US']")
            expect(watch.first).to_be_visible()
            assert "themoviedb.org" in (watch.first.get_attribute("href") or "")
        finally:
            browser.close()


def test_untrusted_text_is_shown_as_text_and_fetches_nothing(app_url: str) -> None:
    """A link's parameters and a title's text are written by strangers: they show as the
    characters they are, with no link to follow and no image fetched."""
    from playwright.sync_api import expect, sync_playwright

    link_genre = f"[Session expired](https://{EVIL}/login)"
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{app_url}/?lang=kl&genre={quote(link_genre)}")
            page.wait_for_selector(GRID, timeout=60_000)
            expect(page.get_by_text(f"Ignored genre '{link_genre}'", exact=False)).to_be_visible()
            expect(page.get_by_text("Log in again: [here]", exact=False)).to_be_visible()
            expect(page.get_by_text("Session expired](https", exact=False).first).to_be_visible()
            assert page.locator(f"a[href*='{EVIL}']").count() == 0
            assert page.locator(f"img[src*='{EVIL}']").count() == 0
            expect(page.get_by_text(":red[alarm] $x^2$", exact=False)).to_be_visible()
            assert [url for url in requested if EVIL in (urlsplit(url).hostname or "")] == []
        finally:
            browser.close()


def test_the_search_box_finds_a_title_with_a_typo(app_url: str) -> None:
    """Typing a title with a typo lists it (the hostile one: shown as text, no link)."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(app_url)
            page.wait_for_selector(GRID, timeout=60_000)
            box = page.get_by_role("textbox", name="Find a title")
            box.fill("session expird")
            box.press("Enter")
            page.wait_for_url("**q=session**", timeout=30_000)
            matches = page.locator("[data-testid='stRadio']").filter(has_text="Titles matching")
            expect(matches).to_contain_text("[Session expired](https", timeout=30_000)
            assert page.locator(f"a[href*='{EVIL}']").count() == 0
        finally:
            browser.close()


def _addresses_of_this_machine() -> list[str]:
    """This machine's own addresses other than loopback (where another machine would
    connect), found without any network traffic."""
    found = set()
    for family, _, _, _, sockaddr in socket.getaddrinfo(socket.gethostname(), None):
        if family in (socket.AF_INET, socket.AF_INET6):
            found.add(sockaddr[0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:  # a UDP "connect" sends nothing; it picks the interface a route would use
            probe.connect(("192.0.2.1", 9))
            found.add(probe.getsockname()[0])
        except OSError:
            pass
    return sorted(a for a in found if not a.startswith("127.") and a not in ("::1", "0.0.0.0"))


def test_the_explorer_listens_on_this_machine_only(app_url: str) -> None:
    port = urlsplit(app_url).port
    addresses = _addresses_of_this_machine()
    if not addresses:
        pytest.skip("this machine has no address besides loopback to try")
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            with pytest.raises(OSError):
                sock.connect((address, port))


def test_more_like_this_lists_alike_titles_and_its_link_restores_them(app_url: str) -> None:
    """The detail panel's button puts the title into the like filter (the link and the
    sidebar), and the score gains the similarity; a fresh browser on the link shows the same."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(app_url)
            page.wait_for_selector(GRID, timeout=60_000)
            page.get_by_role("button", name="More like this").click()
            page.wait_for_url("**like=**", timeout=30_000)
            liked = page.url.split("like=", 1)[1].split("&", 1)[0].replace("%3A", ":")
            # The sidebar's chip names the title and its year (AppTest checks the exact
            # name), not its id.
            chips = page.locator("[data-testid='stMultiSelect']").filter(has_text="More like")
            expect(chips).to_contain_text(re.compile(r"\((\d{4}|\?)\)"))
            expect(chips).not_to_contain_text(liked)
            expect(page.get_by_text("x similarity", exact=False).first).to_be_visible()
            count = titles_metric(page)
            other = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            other.goto(page.url)
            other.wait_for_selector(GRID, timeout=60_000)
            expect(other.get_by_text("x similarity", exact=False).first).to_be_visible()
            assert titles_metric(other) == count
        finally:
            browser.close()


def test_a_history_file_uploaded_in_the_sidebar_is_imported(app_url: str, tmp_path: Path) -> None:
    """Upload a Trakt export in *Import your history*, press Import: the report adds up
    (a Trakt row carries its TMDB id, so both match, in the pool or not)."""
    from playwright.sync_api import expect, sync_playwright

    watched = [
        {
            "plays": 1,
            "last_watched_at": "2024-05-01T20:00:00.000Z",
            "movie": {"title": title, "year": year, "ids": {"trakt": i, "tmdb": tmdb_id}},
        }
        for i, (title, year, tmdb_id) in enumerate(
            [("Session expired", 2001, 987654321), ("Not In The Pool", 1999, 999_999_999)],
            start=1,
        )
    ]
    url = app_url
    upload = tmp_path / "watched-movies.json"
    upload.write_text(json.dumps(watched))
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(url)
            page.wait_for_selector(GRID, timeout=60_000)
            page.get_by_text("Import your history").click()
            box = page.locator("[data-testid='stExpander']").filter(has_text="Import your history")
            box.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(upload)
            # the upload has reached the server once its file is listed with its size
            expect(box.get_by_text("308.0B")).to_be_visible(timeout=30_000)
            page.get_by_role("button", name="Import", exact=True).click()
            report = page.get_by_text("2 rows read = 2 matched + 0 ambiguous + 0 unmatched")
            expect(report.first).to_be_visible(timeout=30_000)
        finally:
            browser.close()
