"""Untrusted text never drives the user's terminal: titles and file names carrying escape
sequences (set the window title, clear the screen, ring the bell, rewrite the line) are
shown as visible escapes by every human-readable command, and kept as data in JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import run_cli
from watchbuddy.safe_text import plain_markdown, printable

# What a terminal obeys: C0 controls but newline and tab, DEL, C1 controls (CSI is
# U+009B), and the bidi controls that make text read in another order.
OBEYED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")

TITLE = "\x1b]0;pwned\x07\x1b[2J\x1b[1;31mRed\x08\rOver\u202ewritten\x9b31m"
FILE_NAME = "\x1b]0;file\x07movies.csv"


@given(st.text())
def test_printable_leaves_nothing_a_terminal_obeys(text: str) -> None:
    shown = printable(text)
    assert not OBEYED.search(shown)
    if not OBEYED.search(text):
        assert shown == text
    assert "\n" not in printable(text, one_line=True)


@given(st.text())
def test_plain_markdown_escapes_every_markdown_character(text: str) -> None:
    shown = plain_markdown(text)
    assert not OBEYED.search(shown)
    # Each Markdown character is preceded by a backslash; removing the escapes and the
    # autolink breakers gives back the printable text.
    assert re.sub(r"\\(.)", r"\1", shown.replace("\u200b", "")) == printable(text)
    assert not re.search(r"(?<!\\)[\[\]()<>!`*_$:]", shown.replace("\\\\", ""))


@pytest.fixture(scope="module")
def hostile_pool(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("terminal")
    data = root / "data"
    data.mkdir()
    with open(data / FILE_NAME, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "title", "original_language", "release_date", "vote_count"])
        writer.writerow([77, TITLE, "en", "2001-01-01", 9000])
        writer.writerow([78, "Plain", "en", "2001-01-01", 10])
    env = {"WATCHBUDDY_DATA_DIR": str(data), "WATCHBUDDY_WAREHOUSE": str(root / "warehouse")}
    return root, env


@pytest.mark.parametrize(
    "args",
    [
        ("bootstrap",),
        ("recommend", "--limit", "5", "--no-fallback"),
        ("sql", "SELECT title FROM pool"),
        ("stats",),
        ("search", "pwned over written"),
        ("search", "\x1b]0;nothing\x07 zzqxv"),
        ("--data-dir", "/nonexistent/\x1b]0;dir\x07", "bootstrap"),
    ],
    ids=["bootstrap", "recommend", "sql", "stats", "search", "search-no-match", "error"],
)
def test_human_output_shows_escapes_instead_of_obeying_them(
    hostile_pool: tuple[Path, dict[str, str]], args: tuple[str, ...]
) -> None:
    root, env = hostile_pool
    done = run_cli(*args, cwd=root, env=env)
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert not OBEYED.search(output), repr(output)
    if args[0] in ("recommend", "sql") or args[1:] == ("pwned over written",):
        assert "\\u001b]0;pwned\\u0007" in done.stdout


def test_json_keeps_the_title_as_data(hostile_pool: tuple[Path, dict[str, str]]) -> None:
    root, env = hostile_pool
    done = run_cli("recommend", "--no-fallback", "--format", "json", cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    assert not OBEYED.search(done.stdout)
    assert TITLE in {row["title"] for row in json.loads(done.stdout)}


def test_csv_keeps_the_title_as_escaped_text(hostile_pool: tuple[Path, dict[str, str]]) -> None:
    root, env = hostile_pool
    done = run_cli("recommend", "--no-fallback", "--format", "csv", cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    assert not OBEYED.search(done.stdout)
    titles = {row["title"] for row in csv.DictReader(io.StringIO(done.stdout))}
    assert printable(TITLE) in titles
