"""Hostile files in the data dir: links out of it, FIFOs, directories, unreadable files,
over-long lines and duplicate columns. Real files in temporary folders, the real CLI."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import stat
import urllib.parse
from pathlib import Path

import pytest

import watchbuddy
from tests.conftest import run_cli
from watchbuddy.settings import Secret, Settings
from watchbuddy.sources.tmdb import client as tmdb
from watchbuddy.sources.tmdb.client import TmdbClient, redact

KEY = "k3y/with+plus;and=eq&amp;0123456789abcdef"  # no space: settings refuse one
MOVIES = "id,title,release_date\n1,Alpha,2020-01-01\n2,Beta,2021-02-02\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working directory as a user has it: watchbuddy.toml with a key, data/ beside it."""
    (tmp_path / "data").mkdir()
    (tmp_path / "watchbuddy.toml").write_text(f'tmdb_api_key = "{KEY}"\n')
    (tmp_path / "data" / "good_movies.csv").write_text(MOVIES)
    return tmp_path


def bootstrap_cli(project: Path, *args: str) -> tuple[dict[str, dict], str]:
    """Run `bootstrap --json` and then the table form (after `--force`), both for real;
    returns the JSON reports by file and everything the two runs printed."""
    as_json = run_cli("bootstrap", "--json", *args, cwd=project, timeout=120)
    assert "Traceback" not in as_json.stderr, as_json.stderr
    reports = {r["file"]: r for r in json.loads(as_json.stdout)}
    as_table = run_cli("bootstrap", "--force", cwd=project, timeout=120)
    assert "Traceback" not in as_table.stderr, as_table.stderr
    printed = as_json.stdout + as_json.stderr + as_table.stdout + as_table.stderr
    return reports, printed


def imports_view(project: Path) -> str:
    done = run_cli(
        "sql",
        "SELECT file, status, message FROM imports ORDER BY batch",
        "--format",
        "json",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def titles(project: Path) -> list[tuple[str, int, str]]:
    con = watchbuddy.connect(project / "warehouse")
    return con.sql("SELECT media_type, tmdb_id, title FROM pool ORDER BY ALL").fetchall()


# --- links, special files, unreadable files ---------------------------------------------------


def test_links_out_of_the_data_dir_are_not_followed_and_nothing_of_them_is_shown(
    project: Path,
) -> None:
    data = project / "data"
    (data / "notes.csv").symlink_to("../watchbuddy.toml")
    (data / "passwd.csv").symlink_to("/etc/passwd")
    (data / "environ.csv").symlink_to("/proc/self/environ")
    (data / "dangling.csv").symlink_to("/nonexistent/file.csv")
    # A title table outside the data dir is not read either: the rule is the place, not the content.
    (project / "elsewhere_movies.csv").write_text("id,title\n77,Outside\n")
    (data / "outside_movies.csv").symlink_to(project / "elsewhere_movies.csv")

    reports, printed = bootstrap_cli(project)

    assert reports["good_movies.csv"]["status"] == "landed"
    for name in ("notes.csv", "passwd.csv", "environ.csv", "dangling.csv", "outside_movies.csv"):
        assert reports[name]["status"] == "skipped", reports[name]
        assert (
            "link" in reports[name]["message"]
            and "outside the data dir" in (reports[name]["message"])
        )
        assert f"{name}: skipped:" in printed
    shown = printed + imports_view(project)
    assert KEY not in shown and urllib.parse.quote(KEY) not in shown
    assert "tmdb_api_key" not in shown and "root:" not in shown and "PATH=" not in shown
    # Reported by the link's name only: where it points is not said.
    assert "watchbuddy.toml" not in shown and "/etc/passwd" not in shown
    assert titles(project) == [("movie", 1, "Alpha"), ("movie", 2, "Beta")]


def test_a_link_to_a_regular_file_inside_the_data_dir_is_read(project: Path) -> None:
    (project / "data" / "sub").mkdir()
    (project / "data" / "sub" / "dump.txt").write_text("id,title\n5,Inside\n")
    (project / "data" / "alias_movies.csv").symlink_to("sub/dump.txt")
    reports, _ = bootstrap_cli(project)
    assert reports["alias_movies.csv"]["status"] == "landed"
    assert ("movie", 5, "Inside") in titles(project)


def test_fifos_and_directories_are_reported_by_name_and_never_block(project: Path) -> None:
    data = project / "data"
    os.mkfifo(data / "pipe.csv")  # opening it for reading would wait for a writer forever
    (data / "folder.csv").mkdir()
    (data / "folder.csv" / "inner_movies.csv").write_text("id,title\n8,Nested\n")
    reports, printed = bootstrap_cli(project)
    assert reports["good_movies.csv"]["status"] == "landed"
    assert reports["pipe.csv"]["status"] == "skipped"
    assert "not a regular file" in reports["pipe.csv"]["message"]
    assert reports["folder.csv"]["status"] == "skipped"
    assert "a directory" in reports["folder.csv"]["message"]
    assert "pipe.csv: skipped: not a regular file" in printed
    assert "folder.csv: skipped: a directory" in printed
    assert ("movie", 8, "Nested") not in titles(project)


def test_an_unreadable_file_fails_by_name_and_the_others_land(project: Path) -> None:
    locked = project / "data" / "locked_movies.csv"
    locked.write_text("id,title\n9,Locked\n")
    locked.chmod(0)
    if os.access(locked, os.R_OK):
        locked.chmod(stat.S_IRUSR | stat.S_IWUSR)
        pytest.skip("running as a user who can read any file (root): no permission to deny")
    reports, printed = bootstrap_cli(project)
    assert reports["good_movies.csv"]["status"] == "landed"
    assert reports["locked_movies.csv"]["status"] == "failed"
    assert "permission denied" in reports["locked_movies.csv"]["message"].lower()
    assert "locked_movies.csv: failed: cannot read the file" in printed


def test_messages_about_files_that_are_not_title_tables_quote_nothing_of_them(
    project: Path,
) -> None:
    data = project / "data"
    (data / "notes.csv").write_text("password = hunter2-first-line\nsecond line\n")
    (data / "lookup.csv").write_text("id,name,hunter2-in-a-header\n28,Action,x\n")
    (data / "links.csv").write_text("movieId,imdbId,tmdbId,hunter2-link\n1,0114709,862,x\n")
    (data / "packed.csv.gz").write_text("QZhunter2 is not gzip\n")  # gzip quotes 2 bytes
    reports, printed = bootstrap_cli(project)
    assert reports["packed.csv.gz"]["status"] == "failed"
    assert "not a readable gzip file" in reports["packed.csv.gz"]["message"]
    assert "QZ" not in printed
    for name, why in (
        ("notes.csv", "TMDB id column"),
        ("lookup.csv", "lookup table"),
        ("links.csv", "link table"),
    ):
        assert reports[name]["status"] == "skipped" and why in reports[name]["message"]
    assert "hunter2" not in printed + imports_view(project)


# --- long lines: the sniffer never fails a file the reader can read -----------------------


def test_a_long_overview_in_the_first_row_lands(project: Path) -> None:
    overview = "long " * 28_000  # 140 KB, over Python's csv field limit of 128 KB
    (project / "data" / "long_movies.csv").write_text(
        f'id,title,overview\n10,Long,"{overview}"\n11,Short,ok\n'
    )
    reports, _ = bootstrap_cli(project)
    assert reports["long_movies.csv"]["status"] == "landed"
    assert (reports["long_movies.csv"]["accepted"], reports["long_movies.csv"]["rejected"]) == (
        2,
        0,
    )
    con = watchbuddy.connect(project / "warehouse")
    assert con.sql("SELECT length(overview) FROM pool WHERE tmdb_id = 10").fetchall() == [
        (len(overview),)
    ]


def test_a_record_over_4_mb_is_rejected_and_the_rest_lands(project: Path) -> None:
    huge = "x" * (5 << 20)
    (project / "data" / "huge_movies.csv").write_text(
        f'id,title,overview\n10,Huge,"{huge}"\n11,After,ok\n'
    )
    reports, _ = bootstrap_cli(project)
    report = reports["huge_movies.csv"]
    assert report["status"] == "landed"
    assert (report["accepted"], report["rejected"]) == (1, 1)
    assert report["rejects_by_reason"] == {"broken record": 1}
    assert ("movie", 11, "After") in titles(project)


def test_a_stray_quote_early_in_a_file_rejects_its_record_not_the_file(project: Path) -> None:
    rest = "".join(f"{i},Title {i},plain\n" for i in range(100, 20_100))  # ~350 KB after it
    (project / "data" / "stray_movies.csv").write_text(
        f'id,title,overview\n1,One,ok\n2,Two,ok\n3,Three,"stray quote\n{rest}'
    )
    reports, _ = bootstrap_cli(project)
    report = reports["stray_movies.csv"]
    assert report["status"] == "landed"
    assert report["accepted"] >= 2 and report["rejected"] >= 1
    assert report["rows_read"] == report["accepted"] + report["duplicates"] + report["rejected"]


def test_a_header_of_a_hundred_thousand_columns_is_read_whole(project: Path) -> None:
    extra = [f"extra{i}" for i in range(100_000)]
    header = ",".join(["id", "title", *extra, "release_date"])
    row = ",".join(["42", "Wide", *("v" for _ in extra), "2020-05-05"])
    (project / "data" / "wide_movies.csv").write_text(f"{header}\n{row}\n")
    reports, _ = bootstrap_cli(project)
    report = reports["wide_movies.csv"]
    assert (report["status"], report["accepted"], report["rejected"]) == ("landed", 1, 0)
    con = watchbuddy.connect(project / "warehouse")
    assert con.sql("SELECT release_date::VARCHAR FROM pool WHERE tmdb_id = 42").fetchall() == [
        ("2020-05-05",)
    ]


def test_a_transcoded_file_keeps_its_modification_time_as_its_records_age(
    project: Path,
) -> None:
    """The repaired copy read for a non-UTF-8 file is new; its records are as old as the file."""
    path = project / "data" / "latin_movies.csv"
    path.write_bytes("id,title\n3,Caf\xe9\n".encode("cp1252"))
    when = dt.datetime(2020, 6, 1, tzinfo=dt.UTC)
    os.utime(path, (when.timestamp(), when.timestamp()))
    reports, _ = bootstrap_cli(project)
    assert reports["latin_movies.csv"]["status"] == "landed"
    con = watchbuddy.connect(project / "warehouse")
    (row,) = con.sql("SELECT title, updated_at FROM pool WHERE tmdb_id = 3").fetchall()
    assert row[0] == "Caf\u00e9" and row[1] == when


# --- duplicate columns --------------------------------------------------------------------


def test_a_duplicate_column_name_uses_the_first_and_says_so(project: Path) -> None:
    (project / "data" / "good_movies.csv").unlink()
    (project / "data" / "dup_movies.csv").write_text(
        "id,title,title,release_date\n1,First,Second,2020-01-01\n"
    )
    reports, printed = bootstrap_cli(project)
    message = reports["dup_movies.csv"]["message"]
    assert 'duplicate column "title"' in message and "the first" in message
    assert 'dup_movies.csv: duplicate column "title"' in printed
    assert 'duplicate column \\"title\\"' in imports_view(project)
    assert titles(project) == [("movie", 1, "First")]


def test_two_aliases_of_one_field_use_the_first_and_say_which(project: Path) -> None:
    (project / "data" / "good_movies.csv").unlink()
    (project / "data" / "alias_movies.csv").write_text(
        "id,tmdb_id,title,release_date\n1,99,Film,2020-01-01\n"
    )
    reports, printed = bootstrap_cli(project)
    message = reports["alias_movies.csv"]["message"]
    assert '"id" and "tmdb_id" both map to tmdb_id: "id" (column 1) was used' in message
    assert '"id" and "tmdb_id" both map to tmdb_id' in printed
    assert titles(project) == [("movie", 1, "Film")]


def test_header_names_in_messages_are_bounded_and_escaped(project: Path) -> None:
    (project / "data" / "good_movies.csv").unlink()
    # Still the `title` column once punctuation is ignored; shown with its escapes visible.
    name = "\x07title\x1b" + "-" * 500
    (project / "data" / "esc_movies.csv").write_text(f"id,title,{name},{name}\n1,Film,a,b\n")
    reports, printed = bootstrap_cli(project)
    message = reports["esc_movies.csv"]["message"]
    assert "all map to title" in message
    assert "\x1b" not in message and "\x07" not in message and "\\u001b" in message
    assert "-" * 100 not in message
    assert "\x1b" not in printed


# --- the credential scrubber --------------------------------------------------------------


def encoded_forms(secret: str) -> list[str]:
    quoted = urllib.parse.quote(secret, safe="")
    return [
        secret,
        quoted,
        quoted.lower(),
        urllib.parse.quote(secret),  # `/` left as is
        urllib.parse.quote_plus(secret),
        urllib.parse.quote_plus(secret).lower(),
        "".join(f"%{b:02X}" for b in secret.encode()),  # every byte escaped
        urllib.parse.quote(urllib.parse.quote(secret, safe=""), safe=""),  # twice
        json.dumps(secret)[1:-1].replace("/", "\\/"),  # JSON, `/` escaped as some encoders do
        "".join(f"\\u{ord(c):04x}" for c in secret),
    ]


@pytest.mark.parametrize("form", range(len(encoded_forms(KEY))))
def test_the_scrubber_removes_the_key_in_every_likely_encoding(form: int) -> None:
    settings = Settings(tmdb_api_key=Secret(KEY), tmdb_read_access_token=Secret("tok.en-_9"))
    encoded = encoded_forms(KEY)[form]
    for text in (
        f"GET https://api.themoviedb.org/3/movie/1?language=en&api_key={encoded}&page=2",
        f"Authorization: Bearer {encoded}",
        f"error: {encoded}",
    ):
        scrubbed = redact(text, settings)
        assert encoded not in scrubbed and "***" in scrubbed
        assert "k3y" not in scrubbed and "0123456789abcdef" not in scrubbed
    assert redact("Bearer tok.en-_9 and tok%2Een%2D_9", settings).count("***") == 2
    # Words that merely share letters with the key stay.
    assert redact("plus and equals", settings) == "plus and equals"


def test_http_client_logs_scrub_the_encoded_key(tmp_path: Path, caplog, monkeypatch) -> None:
    # Only this test's key: the filter also scrubs keys of clients earlier tests made in
    # this process (a one-letter test key would turn `api_key` into `api_***ey`).
    monkeypatch.setattr(tmdb._REDACTOR, "secrets", set())
    caplog.set_level(logging.INFO)
    TmdbClient(Settings(tmdb_api_key=Secret(KEY), tmdb_base_url="http://127.0.0.1:9/3"))
    logging.getLogger("httpx").info(
        "HTTP Request: GET %s", f"http://x/3/movie?api_key={urllib.parse.quote_plus(KEY)}"
    )
    assert urllib.parse.quote_plus(KEY) not in caplog.text and "api_key=***" in caplog.text
