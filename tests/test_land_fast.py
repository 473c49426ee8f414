"""The fast path (Polars reads the file) lands exactly what the DuckDB path lands.

Every test lands the same files twice, once as `bootstrap` chooses and once with the DuckDB
reader forced, and compares every Parquet file's rows and schema and the import reports;
where a file is clean it also checks that the fast path really ran, and where it is not,
that it fell back without leaving anything behind. The cell shapes of fast.py are checked
against the SQL macros rule by rule, and with random cells (hypothesis).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from watchbuddy.devtools.demo import MOVIE_FILE, TV_FILE, without_broken_records
from watchbuddy.settings import Settings
from watchbuddy.sources.csv import fast as fast_module
from watchbuddy.sources.csv import identity, land
from watchbuddy.sources.csv.fast import OUTPUT_SCHEMA, ROWS, SHAPES, FastCells
from watchbuddy.sources.csv.land import ImportReport, bootstrap
from watchbuddy.sources.csv.sniff import Dialect
from watchbuddy.sources.csv.validate import load_cell_macros
from watchbuddy.store.schema import ALIASES, TABLE_SCHEMAS, ColumnPlan, plan_columns

# What differs between two landings of the same files by design: when, and how long.
TIMING = {"landed_at", "seconds"}
HEADER = "id,title,original_title,overview,status,release_date,genres,keywords,runtime,"
HEADER += "popularity,vote_average,vote_count,adult,imdb_id,poster_path,original_language"
GOOD = (
    '862,Toy Story,Toy Story,"Woody, a cowboy doll, is ""jealous"".",Released,1995-10-30,'
    '"Animation, Comedy, Family","toy, rivalry",81,21.946,7.7,5415,False,tt0114709,'
    "/rhIRbceoE9lR4veEXuwCC2wARtG.jpg,en"
)


def _tables(warehouse: Path) -> dict[str, tuple[object, list[dict]]]:
    """Every table's published rows, in file order, without the timing columns."""
    found = {}
    for table in TABLE_SCHEMAS:
        files = sorted((warehouse / table).glob("*.parquet"))
        if not files:
            continue
        schema = pq.read_schema(files[0])
        frame = pl.concat([pl.read_parquet(f) for f in files])
        found[table] = (schema, frame.drop(TIMING & set(frame.columns)).to_dicts())
    return found


def _report(report: ImportReport) -> dict:
    return {k: v for k, v in report.to_dict().items() if k not in TIMING}


def land_both(
    data: Path, tmp: Path, caplog: pytest.LogCaptureFixture | None
) -> tuple[list[ImportReport], list[str]]:
    """Land `data` both ways, assert both warehouses hold the same, and return the fast
    landing's reports and the log lines saying which reader read each file (with `caplog`)."""
    if caplog:
        caplog.set_level(logging.DEBUG, logger="watchbuddy.sources.csv.land")
    landed = {}
    for fast in (True, False):
        warehouse = tmp / f"warehouse-{fast}"
        shutil.rmtree(warehouse, ignore_errors=True)
        if caplog:
            caplog.clear()
        reports = bootstrap(Settings(data_dir=data, warehouse=warehouse), fast_path=fast)
        readers = [r.getMessage() for r in caplog.records] if caplog else []
        assert not any((warehouse / "tmp").iterdir()), "a temporary file was left behind"
        landed[fast] = (reports, _tables(warehouse), readers)
    (fast_reports, fast_tables, readers), (slow_reports, slow_tables, _) = (
        landed[True],
        landed[False],
    )
    assert [_report(r) for r in fast_reports] == [_report(r) for r in slow_reports]
    assert fast_tables.keys() == slow_tables.keys()
    for table, (schema, rows) in fast_tables.items():
        assert schema == slow_tables[table][0], table
        assert rows == slow_tables[table][1], table
    return fast_reports, readers


def _write(data: Path, name: str, content: bytes | str) -> None:
    data.mkdir(parents=True, exist_ok=True)
    (data / name).write_bytes(content.encode() if isinstance(content, str) else content)


def test_the_demo_data_lands_the_same_both_ways(
    demo_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The demo has a record with too many fields on purpose: DuckDB reads that file. Without
    that record, Polars reads it, and rejects the demo's bad values the same way."""
    _, readers = land_both(demo_dir, tmp_path, caplog)
    assert any(MOVIE_FILE in r and "DuckDB" in r for r in readers)
    clean = tmp_path / "clean"
    without_broken_records(demo_dir, clean)
    reports, readers = land_both(clean, tmp_path, caplog)
    assert all("read by Polars" in r for r in readers), readers
    assert sum(r.rejected for r in reports) == 5  # four bad values and a negative id


def test_the_real_samples_land_the_same_both_ways(
    samples: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    shutil.copytree(samples, data, ignore=shutil.ignore_patterns("api", "*.md"))
    reports, readers = land_both(data, tmp_path, caplog)
    assert {r.status for r in reports} == {"landed", "skipped"}
    assert any("devnxh_sample_movies.csv: read by Polars" in r for r in readers), readers


def _row(**cells: str) -> str:
    """A record with the given cells (already quoted where needed), the others empty."""
    return ",".join(cells.get(f, "") for f in HEADER.split(",")) + "\n"


# Each: (file text, whether Polars may read it). Files Polars must not read are broken in a
# way its reader would hide; the others must come out the same whichever reader read them.
DEFECTS = {
    "clean": (f"{HEADER}\n{GOOD}\n", True),
    "ragged_long": (f"{HEADER}\n{GOOD}\n{GOOD},extra\n{GOOD}\n", False),
    "ragged_short": (f"{HEADER}\n{GOOD}\n863,Short Row,x\n{GOOD}\n", False),
    "blank_line": (f"{HEADER}\n{GOOD}\n\n{GOOD}\n", False),
    "stray_quote": (f'{HEADER}\n{GOOD}\n864,Bad "Quote" Here{"," * 15}\n', None),
    "text_after_quote": (f'{HEADER}\n{GOOD}\n865,"Closed" then text{"," * 15}\n', False),
    "cut_off": (f'{HEADER}\n{GOOD}\n866,"Cut off mid-fie', False),
    "bad_values": (
        f"{HEADER}\n{GOOD}\n"
        + _row(id="abc", title="Bad Id")
        + _row(id="-4", title="Negative Id")
        + _row(id="5")
        + _row(id="6", title="Bad Date", release_date="2001-13-45")
        + _row(id="7", title="Feb 30", release_date="2001-02-30")
        + _row(id="8", title="Bad Votes", vote_count="lots")
        + _row(id="9", title="Bad Rating", vote_average="11")
        + _row(id="10", title="Bad Pop", popularity="-1")
        + _row(id="11", title="Bad Runtime", runtime="forever")
        + _row(id="12", title="Bad Adult", adult="maybe")
        + _row(id="13", title="Bad Language", original_language="english")
        + _row(id="14", title="Ancient", release_date="1492-10-12")
        + f"{GOOD}\n",
        True,
    ),
    "odd_values": (
        f"{HEADER}\n"
        + _row(
            id=" 15 ",
            title=" spaced title ",
            original_title="  ",
            overview="nan",
            status="N/A",
            release_date="2001/02/03",
            genres='"[{""name"": ""Drama""}]"',
            keywords="a|b",
            runtime='"[45, 60]"',
            popularity="1e-05",
            vote_average='"7,5"',
            vote_count='"1,234"',
            adult="yes",
            imdb_id="816692",
            poster_path="NULL",
            original_language="en-US",
        )
        + _row(
            id="16.0",
            title="Short",
            original_title="None",
            release_date="3/4/2005",
            genres="Drama|Crime",
            keywords="\"['x', 'y']\"",
            runtime="44.6",
            popularity=".5",
            vote_average="10",
            vote_count="0",
            adult="F",
            imdb_id="tt0000001",
            original_language="EN",
        )
        + _row(
            id="17",
            title="Tab\tEnd\t",
            overview="\x00nul",
            status="Released\x00",
            release_date="2005-06-07T10:00:00Z",
            genres=" Action ",
            keywords="  ",
            runtime="0",
            adult="T",
            poster_path="[]",
            original_language="xx_YY",
        ),
        True,
    ),
    "duplicate_ids": (f"{HEADER}\n{GOOD}\n{GOOD.replace('5415', '5416')}\n", True),
    "bom_crlf": (("\ufeff" + f"{HEADER}\r\n{GOOD}\r\n{GOOD}\r\n"), True),
    "crlf_quoted_line_break": (
        f"{HEADER}\r\n{GOOD}\r\n"
        + _row(id="19", title="Two Lines", overview='"a\r\nb"')[:-1]
        + "\r\n",
        True,
    ),
    "line_before_header": (f"Exported by someone\n{HEADER}\n{GOOD}\n{GOOD}\n", True),
    "tab_delimited": (f"{HEADER}\n{GOOD}\n".replace(",", "\t"), None),
    "mixed_line_ends": (f"{HEADER}\r\n{GOOD}\n{GOOD}\r\n", False),
    "empty": ("", None),
    "header_only": (f"{HEADER}\n", True),
    "no_final_newline": (f"{HEADER}\n{GOOD}", False),  # cut off, most likely
    "not_utf8": (f"{HEADER}\n{GOOD}\n".encode() + b"18,Caf\xe9" + b"," * 14 + b"\n", False),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_kind_of_defect_lands_the_same_both_ways(
    defect: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    content, polars_may_read = DEFECTS[defect]
    data = tmp_path / "data"
    _write(data, f"{defect}_movies.csv", content)
    reports, readers = land_both(data, tmp_path, caplog)
    assert all(r.adds_up for r in reports)
    if polars_may_read is not None:
        assert any("read by Polars" in r for r in readers) == polars_may_read, readers


# ------------------------------------------------------------------ cell shapes vs SQL
def _plan() -> ColumnPlan:
    return plan_columns(HEADER.split(","), "cells_movies.csv")


@pytest.fixture(scope="module")
def cells() -> FastCells:
    con = duckdb.connect()
    load_cell_macros(con)
    return FastCells(con, _plan())


def _both(cells: FastCells, field: str, values: list[str | None]) -> tuple[list, list]:
    """The fast path's and the landing query's output for rows that differ only in `field`:
    (accepted?, value) per cell, through `landing_output` and straight from the query."""
    plan = cells.plan
    width = len(HEADER.split(","))
    base = dict.fromkeys((f"c{i}" for i in range(width)), None)
    base[f"c{plan.positions['tmdb_id']}"] = "1"
    base[f"c{plan.positions['title']}"] = "A title"
    rows = pl.DataFrame(
        [{**base, f"c{plan.positions[field]}": v} for v in values],
        schema=dict.fromkeys(base, pl.String),
        orient="row",
    )
    fast = cells.landing_output(rows)
    query = cells.ask(rows.with_columns(pl.all().replace("", None)))  # the reference
    # As text: a rejected row's date may be out of Python's range (year 0).
    pick = [pl.col(field).cast(pl.String) if field == "release_date" else pl.col(field), "_reason"]
    return fast.select(pick).rows(), query.select(pick).rows()


# Cells of every shape fast.py converts itself, and their near misses, per field.
RULE_CELLS = {
    "tmdb_id": [
        "862",
        "0",
        "007",
        "2147483647",
        "2147483648",
        "99999999999999999999",
        "-4",
        "+5",
        " 7",
        "8.0",
        "1e3",
        "abc",
        "",
        "nan",
    ],
    "vote_count": ["0", "5415", "2147483648", "-1", "1,234", "10.0", "lots"],
    "vote_average": [
        "7.7",
        "10",
        "10.0",
        "10.0001",
        "0",
        ".5",
        "5.",
        "1e-05",
        "1E1",
        "11",
        "-0.5",
        "inf",
        "NaN",
        "7,5",
        " 7.7 ",
        "0x10",
        "1_0",
    ],
    "popularity": [
        "21.946",
        "0",
        "1e308",
        "1e309",
        "123456789012345.12345678901234567",
        "-1",
        "1,234.5",
    ],
    "release_date": [
        "1995-10-30",
        "2001-02-30",
        "2001-13-45",
        "1869-12-31",
        "1870-01-01",
        "2199-12-31",
        "2200-01-01",
        "0000-01-01",
        "2001-1-5",
        "2001/02/03",
        "3/4/2005",
        "05.06.2007",
        "2005-06-07T10:00:00Z",
        "infinity",
        "epoch",
    ],
    "title": [
        "Toy Story",
        "Up",
        "nan",
        "N/A",
        " Padded ",
        "Tab\tEnd\t",
        "Nul\x00Byte",
        "\u00a0NBSP Title",
        "Zero\u200bWidth\u200b",
        "Ünïcode Title",
        "<NA>",
        "1234567",
    ],
    "original_title": ["Toy Story", "None", "   "],
    "status": ["Released", "In Production", "null", "Released\x00"],
    "poster_path": ["/rhIRbceoE9lR4veEXuwCC2wARtG.jpg", "[]", "{}"],
    "overview": ["A story.", " spaced ", "nan", "\x00", "x\x00y", "Line\nbreak"],
    "imdb_id": ["tt0114709", "tt123", "816692", "816692.0", "TT0114709", " tt0114709"],
    "keywords": [
        "toy, rivalry",
        "a,b,,a",
        " , , ",
        "Action",
        "a|b",
        "['x', 'y']",
        '[{"name": "Drama"}]',
        "{}",
        "one,\ttwo",
        "x\u00a0y, z",
        "toy, toy, Toy",
    ],
    "genres": ["Animation, Comedy, Family", "Drama", "Drama|Crime", "[18, 35]"],
    "runtime": ["81", "0", "44.6", "[45, 60]", "[48]", "-5", "forever", "2147483648"],
    "adult": ["False", "True", "true", "0", "1.0", "yes", "maybe", "F"],
    "original_language": ["en", "EN", "en-US", "pt_BR", "english", "e"],
}


def test_every_field_has_cells_checked_against_the_query() -> None:
    assert set(RULE_CELLS) == set(ALIASES) - {"media_type", "synthetic"}
    assert set(SHAPES) <= set(RULE_CELLS)


@pytest.mark.parametrize("field", sorted(RULE_CELLS))
def test_fast_cells_agree_with_the_query_rule_by_rule(cells: FastCells, field: str) -> None:
    """For every field, cells of its fast shape and cells just outside it: the fast path's
    verdict and value are the landing query's."""
    fast, query = _both(cells, field, [*RULE_CELLS[field], None])
    assert fast == query


def test_output_schema_is_the_query_output(cells: FastCells) -> None:
    cells.con.register(ROWS, pl.DataFrame({c: ["1"] for c in cells.used}).to_arrow())
    assert sorted(cells.con.sql(cells.query).columns) == sorted(OUTPUT_SCHEMA)
    cells.con.unregister(ROWS)


def test_answers_kept_from_earlier_batches_are_not_taken_for_unasked_cells() -> None:
    """A cell first met in a later batch (here an empty one, after batches without) is asked
    then, not taken for known (found by the property test below)."""
    con = duckdb.connect()
    load_cell_macros(con)
    fresh = FastCells(con, _plan())
    for values in (["0", "1"], [None], ["yes", None, "maybe"]):
        fast, query = _both(fresh, "adult", values)
        assert fast == query


_CELL_TEXT = st.text(
    alphabet=st.sampled_from(list("0123456789.,-+eE tT[]{}|'\"abnN/:\t\u00a0\u200bé\x00")),
    max_size=14,
)


@hypothesis_settings(max_examples=60)
@given(field=st.sampled_from(sorted(RULE_CELLS)), values=st.lists(_CELL_TEXT, max_size=12))
@example(field="popularity", values=["00.10", "1.", "1e5"])
def test_random_cells_agree_with_the_query(cells: FastCells, field: str, values: list[str]) -> None:
    fast, query = _both(cells, field, values)
    assert fast == query


# ------------------------------------------------------------------ identity pass
@hypothesis_settings(max_examples=80)
@given(content=st.binary(max_size=40).map(lambda b: bytes(b'\r\n,a"'[x % 5] for x in b)))
@example(content=b"a\r\nb\r\n")
@example(content=b"a\nb\r\n")
def test_identity_counts_bytes_and_line_ends(
    content: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The file's SHA-1 (what `imports.content_hash` has always recorded), the delimiter
    count, and the kinds of line end, whatever chunk boundaries fall between CR and LF."""
    path = tmp_path_factory.mktemp("identity") / "f.csv"
    path.write_bytes(content)
    crlf = content.count(b"\r\n")
    kinds = sum(1 for n in (crlf, content.count(b"\r") - crlf, content.count(b"\n") - crlf) if n)
    for chunk in (3, identity.CHUNK_BYTES):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(identity, "CHUNK_BYTES", chunk)
            found = identity.read_identity(path, ",")
        assert found.digest == "sha1:" + hashlib.sha1(content).hexdigest()
        assert found.delimiters == content.count(b",")
        assert found.quotes == content.count(b'"')
        assert found.line_end_kinds == kinds
        assert bool(found.cr) == (content.count(b"\r") > crlf)


def test_a_file_that_fails_after_parts_were_written_falls_back_cleanly(
    demo_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With small parts, the fast path has written several before it meets the demo's broken
    record (or, for a short record, before the counts at the end): they are deleted, DuckDB
    lands the file, and nothing is published twice."""
    monkeypatch.setattr(land, "BATCH_ROWS", 3000)
    monkeypatch.setattr(land, "PART_ROWS", 5000)
    data = tmp_path / "data"
    without_broken_records(demo_dir, data)
    (data / TV_FILE).unlink()  # the movie file is the one with parts to throw away
    movies = data / MOVIE_FILE
    text = movies.read_bytes()
    short = b"\n999999999,Short Record,7.5\n"  # fewer fields than the header, near the end
    cut = text.rindex(b"\n", 0, len(text) - 5000)
    movies.write_bytes(text[:cut] + short + text[cut + 1 :])
    shutil.copy(demo_dir / MOVIE_FILE, data / "synthetic_movies_as_generated.csv")
    reports, readers = land_both(data, tmp_path, caplog)
    assert sum("read by DuckDB" in r for r in readers) == 2, readers
    assert all(r.adds_up for r in reports)


def test_an_unchanged_file_stops_being_read_and_takes_no_batch(
    demo_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(data_dir=demo_dir, warehouse=tmp_path / "warehouse")
    bootstrap(settings)
    manifest = (settings.warehouse / "manifest.json").read_text()
    again = bootstrap(settings)
    assert {r.status for r in again} == {"unchanged"}
    assert (settings.warehouse / "manifest.json").read_text() == manifest
    assert not any((settings.warehouse / "tmp").iterdir())


_FIELD_NAMES = HEADER.split(",")
_ROW = st.fixed_dictionaries(
    {
        f: st.one_of(
            st.sampled_from(RULE_CELLS.get(f if f != "id" else "tmdb_id", [""])), _CELL_TEXT
        )
        for f in _FIELD_NAMES
    }
)


def _csv_line(cells: dict[str, str], quoted: bool, fields: int) -> str:
    """A record as a CSV writer would write it (`quoted`), or cells joined as they are
    (broken wherever a cell holds a comma, quote or line break), with `fields` fields."""
    values = [cells[f] for f in _FIELD_NAMES][:fields] + ["x"] * max(fields - len(_FIELD_NAMES), 0)
    if quoted:
        values = [
            '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v for v in values
        ]
    return ",".join(values) + "\n"


@hypothesis_settings(max_examples=6)
@given(
    rows=st.lists(st.tuples(_ROW, st.booleans(), st.sampled_from([16, 16, 16, 15, 17])), max_size=6)
)
def test_random_files_land_the_same_both_ways(
    rows: list, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Random records, clean or broken: whichever reader lands them, the result is the same."""
    tmp = tmp_path_factory.mktemp("random")
    data = tmp / "data"
    body = "".join(_csv_line(cells, quoted, fields) for cells, quoted, fields in rows)
    _write(data, "random_movies.csv", f"{HEADER}\n{GOOD}\n{body}".replace("\x00", ""))
    reports, _ = land_both(data, tmp, None)
    assert all(r.adds_up for r in reports)


# ------------------------------------------------------------------ resuming (resume.py)
FRAME = 4  # records per fast-path frame in these tests: a few frames in a small file


def _record(i: int) -> str:
    """The i-th record of a resumable file: distinct ids, now and then a bad value, a
    duplicate id, a quoted line break or an empty cell, so rejects and duplicates fall on
    both sides of wherever the file is resumed."""
    if i % 11 == 5:
        return _row(id=str(1000 + i), title=f"Bad {i}", vote_average="11")
    if i % 13 == 7:
        return _row(id=str(1000 + i), title=f'"Two\nLines {i}"', overview='""')
    if i % 17 == 3:
        return _row(id="1000", title=f"Again {i}", release_date="2001-02-03")
    return GOOD.replace("862", str(1000 + i), 1).replace("Toy Story", f"Story {i}") + "\n"


LONG = _row(id="999999", title="Long")[:-1] + ",extra\n"  # a field more than the header
SHORT = "999998,Short Row,x\n"


def _file(records: int, insert: dict[int, str], crlf: bool = False) -> str:
    """A movie file of `records` records with `insert[i]` put before record i."""
    body = "".join(insert.get(i, "") + _record(i) for i in range(records))
    text = f"{HEADER}\n{body}{insert.get(records, '')}"
    return text.replace("\n", "\r\n") if crlf else text


def _polars_stopping(frames: int, misordered: int = 0) -> Callable[..., Iterator]:
    """fast.polars_batches as Polars behaves at a broken record: `frames` frames of the
    records before it, in order (the last `misordered` replaced by frames from further on,
    as Polars 2.1 may do when it reads ahead), then the error. Polars' own reader decides
    where it stops by how far it has read ahead in parallel, which a test cannot fix."""

    def batches(path: Path, dialect: Dialect, batch_rows: int) -> Iterator[pl.DataFrame]:
        names = [f"c{i}" for i in range(len(dialect.header))]
        every = pl.read_csv(
            path,
            has_header=False,
            skip_lines=dialect.skip_lines + 1,
            schema=dict.fromkeys(names, pl.String),
            truncate_ragged_lines=True,  # only records before the broken one are yielded
        )
        order = list(range(frames - misordered)) + [frames + 1 + k for k in range(misordered)]
        for k in order:
            yield every.slice(k * batch_rows, batch_rows)
        raise pl.exceptions.ComputeError("found more fields than defined in 'Schema'")

    return batches


def land_resumable(
    text: str | bytes,
    tmp: Path,
    caplog: pytest.LogCaptureFixture | None,
    monkeypatch: pytest.MonkeyPatch,
    polars_frames: int | None = None,
    misordered: int = 0,
    frame: int = FRAME,
) -> str:
    """Land `text` both ways in frames of `frame` records, Polars stopping after
    `polars_frames` frames (None: where it does); the fast landing's log line."""
    monkeypatch.setattr(land, "BATCH_ROWS", frame)
    monkeypatch.setattr(land, "PART_ROWS", 2 * frame)  # parts on both sides of the resume
    if polars_frames is not None:
        monkeypatch.setattr(
            fast_module, "polars_batches", _polars_stopping(polars_frames, misordered)
        )
    data = tmp / "data"
    shutil.rmtree(data, ignore_errors=True)
    _write(data, "resumed_movies.csv", text)
    reports, readers = land_both(data, tmp, caplog)
    assert all(r.adds_up for r in reports)
    assert any(r.rejected for r in reports)
    return "".join(r for r in readers if "resumed_movies.csv" in r)


RESUMED = "read by Polars up to record"
# (file, frames Polars yields before it stops, whether DuckDB takes over from there rather
# than from the start). Records 21 on are the sixth frame.
RESUME_CASES = {
    "long_record_several_frames_in": (_file(30, {21: LONG}), 5, True),
    "long_record_in_the_last_frame": (_file(30, {29: LONG}), 7, True),
    "long_record_last_in_the_file": (_file(30, {30: LONG}), 7, True),
    "long_record_in_the_first_frame": (_file(30, {2: LONG}), 0, False),
    "two_long_records": (_file(30, {9: LONG, 22: LONG}), 2, True),
    "short_record_before_a_long_one": (_file(30, {6: SHORT, 21: LONG}), 5, False),
    "short_record_after_a_long_one": (_file(30, {21: LONG, 25: SHORT}), 5, True),
    "blank_line_before_a_long_one": (_file(30, {6: "\n", 21: LONG}), 5, False),
    # Blank lines right where DuckDB takes over, then a broken record: its raw text keeps them.
    "blank_lines_after_the_kept_frames": (_file(30, {20: "\n\n" + SHORT + LONG}), 5, True),
    "quoted_line_breaks_before_a_long_one": (_file(40, {33: LONG}), 8, True),
    "crlf_line_ends": (_file(30, {21: LONG}, crlf=True), 5, True),
    "odd_quote_after_a_long_one": (_file(30, {21: LONG, 25: '7,"Never closed\n'}), 5, False),
}


@pytest.mark.parametrize("case", sorted(RESUME_CASES))
def test_a_broken_record_midway_resumes_with_the_same_result(
    case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where Polars stops at a broken record after some frames, DuckDB lands the records
    after them, and the warehouse holds what the DuckDB path alone lands (rows, rejects with
    their line numbers and reasons, reports, schemas); where the kept frames might be read
    otherwise by DuckDB, the file is landed by the DuckDB path from the start."""
    text, frames, resumes = RESUME_CASES[case]
    line = land_resumable(text, tmp_path, caplog, monkeypatch, frames)
    assert "read by DuckDB" in line
    assert (RESUMED in line) == resumes, line


@pytest.mark.parametrize("misordered", [1, 2])
def test_records_polars_read_out_of_order_are_not_kept(
    misordered: int,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Polars 2.1 may yield records from beyond the broken one before it raises. The frame
    read last is held back until the next one is read, so when only it holds them it is
    dropped and DuckDB takes over before it; when a frame already landed holds them, the
    file starts over."""
    text = _file(40, {33: LONG})
    line = land_resumable(text, tmp_path, caplog, monkeypatch, 6, misordered)
    if misordered == 1:
        assert f"{RESUMED} 20," in line, line  # 5 frames of 4 records kept
    else:
        assert RESUMED not in line and "reads them otherwise" in line, line


def test_polars_own_reader_resumes_or_starts_over_with_the_same_result(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polars' real reader on a file it reads in several chunks (over 64 KB): wherever it
    stops, and whatever it yields before, the result is the DuckDB path's."""
    line = land_resumable(_file(1500, {1200: LONG}), tmp_path, caplog, monkeypatch, frame=64)
    assert "read by DuckDB" in line


@hypothesis_settings(max_examples=10, deadline=None)
@given(
    records=st.integers(min_value=1, max_value=24),
    data=st.data(),
    broken=st.sampled_from([LONG, SHORT + LONG, "\n" + LONG, LONG + "\n\n", LONG + LONG]),
)
def test_wherever_the_broken_record_sits_the_result_is_the_same(
    records: int, data: st.DataObject, broken: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Whatever record is broken and however many frames Polars yields before it stops,
    resumed or started over, the fast landing is the DuckDB path's."""
    where = data.draw(st.integers(min_value=0, max_value=records), label="broken before")
    frames = data.draw(st.integers(min_value=0, max_value=where // FRAME), label="frames")
    tmp = tmp_path_factory.mktemp("resume")
    with pytest.MonkeyPatch.context() as patch:
        land_resumable(_file(records, {where: broken}), tmp, None, patch, frames)
