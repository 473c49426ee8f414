"""The explorer in a real browser: Debian's chromium, headless, driven by Playwright
against `watchbuddy app` on a free port. Sets a filter, sees matching rows, and opens the
address bar's link in a fresh browser context, which must restore the same view."""

from __future__ import annotations

from pathlib import Path

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
from watchbuddy.land import bootstrap
from watchbuddy.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path):
    missing = chromium_missing()
    if missing:
        pytest.skip(missing)
    root = tmp_path_factory.mktemp("browser")
    settings = Settings(data_dir=root / "data", warehouse=root / "warehouse")
    settings.data_dir.mkdir()
    bootstrap(settings.with_overrides(data_dir=demo_dir))
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
