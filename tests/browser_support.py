"""Driving the real explorer in Debian's chromium: start `watchbuddy app` on a free port,
launch the browser, read the results grid. Shared by tests/test_browser.py and
benchmarks/bench_browser.py, so the benchmark measures what the test checks."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from watchbuddy.pool.languages import picker_label

CHROMIUM = os.environ.get("WATCHBUDDY_CHROMIUM", "/usr/bin/chromium")
# Headless as root, with nothing that phones home: this machine's network is closed and
# chromium's background connections would otherwise be refused, many at a time.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GRID = "[data-testid='stDataFrame']"


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or None."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"chromium is not installed at {CHROMIUM} (make test installs Debian's chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_app(
    warehouse: Path, data_dir: Path, timeout: float = 180
) -> Iterator[tuple[str, subprocess.Popen, float]]:
    """Run `watchbuddy app` until the block ends; yields its URL, the process and the
    monotonic time at which its health endpoint first answered (the server is up)."""
    port = free_port()
    env = {
        **os.environ,
        "WATCHBUDDY_WAREHOUSE": str(warehouse),
        "WATCHBUDDY_DATA_DIR": str(data_dir),
        "WATCHBUDDY_SCHEDULER_IN_APP": "false",
    }
    log = open(warehouse.parent / f"app-{port}.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "watchbuddy", "app", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        up = wait_until_healthy(url, process, timeout)
        yield url, process, up
    finally:
        stop_app(process)
        log.close()


def stop_app(process: subprocess.Popen) -> None:
    """Ask `watchbuddy app` to stop; kill it if it has not within 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 180) -> float:
    """The monotonic time at which `watchbuddy app` at `url` first answered its health check
    (RuntimeError when it exits or does not answer within `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"watchbuddy app exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"watchbuddy app did not answer at {url} within {timeout:.0f} s")


def launch(playwright):  # type: ignore[no-untyped-def]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)


ROWS_JS = """rows => rows
    .map(r => Array.from(r.querySelectorAll('[role=gridcell]')).map(c => c.innerText))
    .filter(cells => cells.length > 0)"""


def result_rows(page) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The visible rows of the results grid, as cell texts (the grid draws on a canvas and
    mirrors the visible cells into an accessible table, which is what is read here), read
    in one go because the grid re-renders them at any time."""
    return page.locator(GRID).first.locator("[role='row']").evaluate_all(ROWS_JS)


def wait_for_rows(page, accept, timeout: float = 30.0) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Poll the grid until `accept(rows)` holds (a rerun replaces the rows a moment after
    the widget changed); returns those rows."""
    deadline = time.monotonic() + timeout
    rows: list[list[str]] = []
    while time.monotonic() < deadline:
        rows = result_rows(page)
        if rows and accept(rows):
            return rows
        time.sleep(0.02)
    raise AssertionError(f"the results never matched; last rows: {rows[:3]}")


def titles_metric(page) -> str:  # type: ignore[no-untyped-def]
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Titles")
    return metric.locator("[data-testid='stMetricValue']").inner_text()


def choose_language(page, code: str) -> None:  # type: ignore[no-untyped-def]
    """Pick a language by typing its whole label ("French (fr)"): the picker finds what
    contains the typed text, and "fr" alone is in "Afrikaans (af)" too, listed first."""
    box = page.locator("[data-testid='stMultiSelect']").filter(has_text="Original language")
    box.locator("input").click()
    page.keyboard.type(picker_label(code))
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
