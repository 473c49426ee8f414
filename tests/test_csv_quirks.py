"""CSVs as other tools leave them: line ends mixed by hand edits and concatenation, Excel's
"Unicode text" (UTF-16), list cells of objects without names. Real files landed by
`bootstrap`, read back from the pool; the watched list through the real CLI."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import watchbuddy
from tests.conftest import run_cli
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.sources.csv.sniff import REPAIR_CHUNK

HEADER = b"id,title,original_language,overview"


def land(settings: Settings, name: str, data: bytes) -> list:
    if name.endswith(".gz"):
        data = gzip.compress(data)
    (settings.data_dir / name).write_bytes(data)
    return bootstrap(settings)


def pool(settings: Settings) -> list[dict]:
    con = watchbuddy.connect(settings.warehouse)
    rel = con.sql("SELECT * FROM pool ORDER BY media_type, tmdb_id")
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def rejects(settings: Settings) -> list[tuple[int, str]]:
    con = watchbuddy.connect(settings.warehouse)
    return con.sql("SELECT line, reason FROM rejects ORDER BY line").fetchall()


def lines(ends: list[bytes]) -> bytes:
    """The header and one row per line end after it, each line ended as given."""
    records = [HEADER] + [b"%d,Title %d,en,Plot %d" % (i, i, i) for i in range(1, len(ends))]
    return b"".join(record + end for record, end in zip(records, ends, strict=True))


@pytest.mark.parametrize(
    "ends",
    [
        pytest.param([b"\r\n"] + [b"\n"] * 5, id="crlf-header-lf-rows"),
        pytest.param([b"\n"] * 3 + [b"\r\n"] + [b"\n"] * 2, id="lf-rows-one-crlf-row"),
        pytest.param([b"\r\n"] * 5 + [b"\n"], id="crlf-but-the-last-line-lf"),
        pytest.param([b"\n"] * 3 + [b"\r"] + [b"\n"] * 2, id="lf-rows-one-lone-cr"),
        pytest.param([b"\r"] + [b"\r\n"] * 5, id="cr-header-crlf-rows"),
    ],
)
def test_mixed_line_ends_land_every_row_without_a_trailing_cr(
    settings: Settings, ends: list[bytes]
) -> None:
    (report,) = land(settings, "movies.csv", lines(ends))
    assert report.status == "landed", report.message
    assert (report.rows_read, report.accepted, report.rejected) == (5, 5, 0)
    rows = pool(settings)
    assert [(r["tmdb_id"], r["original_language"], r["overview"]) for r in rows] == [
        (i, "en", f"Plot {i}") for i in range(1, 6)
    ]
    assert "line ends" in report.message


def test_mixed_line_ends_keep_breaks_inside_quotes_and_line_numbers(settings: Settings) -> None:
    """A line end inside a quoted cell is part of the cell, whatever kind it is; a reject's
    line counts records as landing always does (one per record, the header is line 1)."""
    data = (
        HEADER + b"\r\n"
        b'1,One,en,"first\r\nsecond"\r\n'
        b'2,Two,en,"a\nb and a ""quote"""\n'
        b'3,Mid"quote,en,plain\r\n'
        b"abc,Bad id,en,x\r"
        b"5,Five,en,last"
    )
    (report,) = land(settings, "movies.csv", data)
    assert report.status == "landed", report.message
    assert (report.rows_read, report.accepted, report.rejected) == (5, 4, 1)
    got = {r["tmdb_id"]: (r["title"], r["overview"]) for r in pool(settings)}
    assert got == {
        1: ("One", "first\r\nsecond"),
        2: ("Two", 'a\nb and a "quote"'),
        3: ('Mid"quote', "plain"),
        5: ("Five", "last"),
    }
    assert rejects(settings) == [(5, "id 'abc' is not a whole number from 1 to 2147483647")]


def test_excel_line_ends_are_one_kind_and_a_cut_off_row_stays_a_reject(settings: Settings) -> None:
    """Excel ends records with CRLF and lines inside a cell with LF: that is not mixed, and
    a broken record in such a file is a reject, not a reason to rewrite the file."""
    data = HEADER + b'\r\n1,One,en,"two\nlines"\r\n2,Two,en,plain\r\n3,Cut,en,"off mid'
    (report,) = land(settings, "movies.csv", data)
    assert (report.rows_read, report.accepted, report.rejected) == (3, 2, 1)
    assert "line ends" not in report.message
    assert [r["overview"] for r in pool(settings)] == ["two\nlines", "plain"]
    assert rejects(settings) == [(4, "broken record: unterminated quote (file cut off?)")]


def test_mixed_line_ends_deep_in_a_large_file_and_across_read_chunks(settings: Settings) -> None:
    """Past the sniffer's head, a CRLF split by the repair's read (CR the last byte of one
    chunk) and a quoted cell whose doubled quote is split by the next one."""
    data = bytearray(HEADER + b"\n")
    next_id = 1

    def row(overview: bytes, end: bytes) -> None:
        nonlocal next_id
        data.extend(b"%d,Title %d,en,%s%s" % (next_id, next_id, overview, end))
        next_id += 1

    def fill_until(offset: int) -> None:
        while len(data) + 300 < offset:
            row(b"x" * 200, b"\n")

    fill_until(REPAIR_CHUNK)
    row(
        b"y" * (REPAIR_CHUNK - 1 - len(data) - len(b"%d,Title %d,en," % (next_id, next_id))),
        b"\r\n",
    )
    assert data[REPAIR_CHUNK - 1 : REPAIR_CHUNK + 1] == b"\r\n"
    fill_until(2 * REPAIR_CHUNK)
    lead = b"%d,Title %d,en," % (next_id, next_id)
    pad = b"z" * (2 * REPAIR_CHUNK - 1 - len(data) - len(lead) - 1)
    row(b'"' + pad + b'""quoted"" \r\nline"', b"\n")
    assert data[2 * REPAIR_CHUNK - 1 : 2 * REPAIR_CHUNK + 1] == b'""'
    fill_until(2 * REPAIR_CHUNK + 100_000)
    row(b"last", b"\r")
    (report,) = land(settings, "movies.csv.gz", bytes(data))
    assert report.status == "landed", report.message
    assert (report.rows_read, report.accepted, report.rejected) == (next_id - 1,) * 2 + (0,)
    con = watchbuddy.connect(settings.warehouse)
    assert con.sql(
        "SELECT count(*), count(*) FILTER (WHERE contains(overview, chr(13))) FROM pool"
    ).fetchall() == [(next_id - 1, 1)]
    quoted = con.sql("SELECT overview FROM pool WHERE contains(overview, 'quoted')").fetchall()
    assert quoted == [(pad.decode() + '"quoted" \r\nline',)]


@hypothesis_settings(max_examples=20, deadline=None)
@given(
    records=st.lists(
        st.tuples(
            st.text(alphabet='ab,"\r\né', max_size=8),  # the overview after a letter
            st.sampled_from([b"\n", b"\r\n", b"\r"]),
        ),
        min_size=1,
        max_size=8,
    ),
    header_end=st.sampled_from([b"\n", b"\r\n", b"\r"]),
)
# DuckDB reads a quoted last cell before a line end of the other kind as an unterminated
# quote: no error, one broken record.
@example(records=[(",", b"\n")], header_end=b"\r\n")
@example(records=[("", b"\r")], header_end=b"\n")  # the kind that ends the file
def test_any_line_ends_read_as_pythons_csv_module_reads_them(
    records: list[tuple[str, bytes]], header_end: bytes
) -> None:
    data = HEADER + header_end
    for i, (overview, end) in enumerate(records, start=1):
        line = io.StringIO()  # the terminator's characters are the ones csv quotes cells for
        csv.writer(line, lineterminator="\r\n").writerow([i, f"T{i}", "en", "o" + overview])
        data += line.getvalue().removesuffix("\r\n").encode() + end
    expected = list(csv.reader(io.StringIO(data.decode(), newline="")))[1:]
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder) / "data", warehouse=Path(folder) / "wh")
        settings.data_dir.mkdir()
        (report,) = land(settings, "movies.csv", data)
        assert report.status == "landed", report.message
        got = [
            [str(r["tmdb_id"]), r["title"], r["original_language"], r["overview"]]
            for r in pool(settings)
        ]
    assert got == expected


@pytest.mark.parametrize(
    ("codec", "bom", "label"),
    [
        ("utf-16-le", b"\xff\xfe", "UTF-16"),
        ("utf-16-be", b"\xfe\xff", "UTF-16"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32"),
        ("utf-32-be", b"\x00\x00\xfe\xff", "UTF-32"),
    ],
)
@pytest.mark.parametrize("name", ["movies.csv", "movies.csv.gz"])
def test_unicode_text_with_a_byte_order_mark_is_transcoded(
    settings: Settings, codec: str, bom: bytes, label: str, name: str
) -> None:
    """Excel's "Unicode text" is UTF-16 with a BOM, tab-delimited, CRLF."""
    text = "id\ttitle\toriginal_language\r\n1\tAmélie\tfr\r\n2\t東京物語\tja\r\n3\t😀 Emoji\ten\r\n"
    (report,) = land(settings, name, bom + text.encode(codec))
    assert report.status == "landed", report.message
    assert (report.rows_read, report.accepted, report.rejected) == (3, 3, 0)
    assert [(r["tmdb_id"], r["title"], r["original_language"]) for r in pool(settings)] == [
        (1, "Amélie", "fr"),
        (2, "東京物語", "ja"),
        (3, "😀 Emoji", "en"),
    ]
    assert label in report.message and "transcoded" in report.message


def test_a_cut_off_utf16_gzip_file_fails_with_one_clear_line(settings: Settings) -> None:
    """Past the sniffer's head, only the transcoding reads it: a cut-off download is the
    file's fault, not an internal error."""
    rows = "".join(f"{i}\tTitle {i}\ten\r\n" for i in range(1, 60_000))
    whole = gzip.compress(("id\ttitle\toriginal_language\r\n" + rows).encode("utf-16"))
    (settings.data_dir / "movies.csv.gz").write_bytes(whole[: len(whole) * 2 // 3])
    (report,) = bootstrap(settings)
    assert report.status == "failed"
    assert report.message == "movies.csv.gz is not a readable gzip file (EOFError)"


def test_a_watched_list_in_utf16_is_read(tmp_path: Path) -> None:
    project = tmp_path
    (project / "data").mkdir()
    (project / "data" / "movies.csv").write_text(
        "id,title,release_date,vote_count,vote_average\n"
        "1,Alpha,2020-01-01,500,7\n2,Beta,2021-02-02,500,7\n3,Gamma,2022-03-03,500,7\n"
    )
    assert run_cli("bootstrap", cwd=project).returncode == 0
    watched = project / "watched.csv"
    # A BOM and UTF-16LE, as Excel saves "Unicode text"; line ends mixed by a hand edit.
    watched.write_bytes("Title,tmdbId\r\nAlpha,1\rGamma,3\n".encode("utf-16"))
    done = run_cli(
        "recommend",
        "--exclude-file",
        str(watched),
        "--no-fallback",
        "--format",
        "json",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    assert [r["tmdb_id"] for r in json.loads(done.stdout)] == [2]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('"[{""id"": ""x""}]"', []),
        ('"[{""id"": 18}, {""id"": 35, ""name"": ""Comedy""}]"', ["Comedy"]),
        ('"[{""id"": 18, ""name"": ""Drama""}]"', ["Drama"]),
        ('"[{""name"": null}]"', []),
        ('"{""id"": 18, ""name"": ""Drama""}"', ["Drama"]),
        ('"{""a"": 1}"', []),
        ("\"[{'id': 35, 'name': 'Comedy'}, 5, None]\"", ["Comedy"]),
        ('"[""Drama"", ""Romance""]"', ["Drama", "Romance"]),
    ],
)
def test_a_list_of_objects_gives_their_names_only(
    settings: Settings, cell: str, expected: list[str]
) -> None:
    data = f"id,title,genres,keywords\n1,X,{cell},{cell}\n".encode()
    (report,) = land(settings, "movies.csv", data)
    assert report.accepted == 1, report.message
    (row,) = pool(settings)
    assert (row["genres"], row["keywords"]) == (expected, expected)
