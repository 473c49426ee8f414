"""Landing's fast path: Polars reads a file that parses cleanly, and answers for each cell what
the landing query would, without DuckDB's CSV reader.

DuckDB's reader is the careful one: it keeps broken records aside and reports them, which
Polars' reader cannot (it stops at the first, or pads a short record with nulls). But most
files are not broken (a pandas-written Kaggle dump never is), and for those Polars reads the
text in half the time. So landing first tries this path; any doubt that Polars saw every
record as DuckDB would raises `NeedsCarefulReader`, and the file is landed by the DuckDB path
instead (land.py), as if this path had not run; but where Polars stops at a record it cannot
read (`BrokenRecord`), the frames before it may be kept and the DuckDB path land only the
rest (resume.py).

The rules stay in sql/cells.sql and the landing query (validate.py): a cell of one of the
plain shapes a dump is made of (`SHAPES`: digits, ISO dates, trimmed text, comma lists) is
converted by a Polars expression that tests/test_land_fast.py proves equal to the SQL for
that shape; every other distinct cell of a batch is asked of the landing query itself, in a
row of its own; and a row with a cell the query rejects goes through the query whole, so its
reason and raw cells come from there. Records are checked against the counts the identity
pass took of the same bytes (identity.py): every record has all its fields (a short record
or a blank line leaves delimiters missing), one kind of line end, no line too long.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from watchbuddy.sources.csv.identity import Identity, IdentityPass
from watchbuddy.sources.csv.sniff import MAX_LINE_BYTES, Dialect
from watchbuddy.sources.csv.validate import NULL_TOKEN_CHARS, landing_query
from watchbuddy.store.schema import ALIASES, TITLE_POLARS_SCHEMA, VALUE_RULES, ColumnPlan, ValueRule

# The landing query's output: one column per canonical field, then the verdict.
OUTPUT_SCHEMA = pl.Schema(
    [
        *((f, TITLE_POLARS_SCHEMA[f]) for f in ALIASES),
        ("_reason", pl.String()),
        ("_raw", pl.String()),
    ]
)
FIELDS = tuple(f for f in ALIASES if f != "media_type")  # the media type is the file's
ROWS = "fast_rows"  # the table of records the landing query reads here


class NeedsCarefulReader(Exception):
    """Polars' reading of this file may differ from DuckDB's: land it the careful way."""


@dataclass(frozen=True)
class ReadSoFar:
    """What Polars read of a file before a record it could not read: what resume.py needs to
    tell whether DuckDB would read those records alike."""

    # After each frame yielded: (records so far, `cells_digest` of their cells).
    frames: tuple[tuple[int, int], ...]
    blank: bool  # a record with no cell (a blank line, which DuckDB skips, reads so)

    @property
    def records(self) -> int:
        return self.frames[-1][0] if self.frames else 0


class BrokenRecord(NeedsCarefulReader):
    """Polars' reader stopped at a record it cannot read (too many fields, most likely, or
    bytes that are not UTF-8), after `read`: the frames yielded before may be kept."""

    def __init__(self, reason: str, read: ReadSoFar) -> None:
        super().__init__(reason)
        self.read = read


def refusal(dialect: Dialect, plan: ColumnPlan, compressed: bool) -> str | None:
    """Why a file cannot take the fast path at all (None: it may)."""
    if compressed:
        return "gzip-compressed"
    if dialect.encoding != "utf-8":
        return "not UTF-8"
    if dialect.delimiter == ";":
        return "';' files may write decimal commas"
    if plan.media_type is None:
        return "the media type is a column"
    if "tmdb_id" not in plan.positions or "title" not in plan.positions:
        return "no id or title column"  # a title taken from another column depends on two
    if len(set(plan.positions.values())) < len(plan.positions):
        return "a column feeds two fields"
    if len(dialect.header) < 2:
        return "one column"
    return None


# ------------------------------------------------------------------ shapes
# Each shape: (cell text, non-null) -> (the cell has the shape and passes every rule, value).
# A cell without the shape is not wrong: it is asked of the landing query.
Shape = Callable[[pl.Expr], tuple[pl.Expr, pl.Expr]]
# Neither blank nor invisible at either end (so no trim changes it), no NUL anywhere.
_EDGE = r"[^\s\p{Z}\p{C}]"
_TEXT = rf"^{_EDGE}(?s:[^\x00]*){_EDGE}$"
# Comma lists without brackets, braces, pipes or quotes, blanks only as plain spaces inside.
_ITEM_CHAR = r"""[^\[\]{}|'"\s\p{Z}\p{C}]"""
_LIST = rf"^{_ITEM_CHAR}(?:{_ITEM_CHAR}| )*{_ITEM_CHAR}$"


def _in_range(rule: ValueRule, value: pl.Expr) -> pl.Expr:
    if rule.high is None:
        return (value >= rule.low) & value.is_finite()
    return value.is_between(rule.low, rule.high)


def _whole(rule: ValueRule) -> Shape:
    def shape(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        value = cell.str.to_integer(strict=False)
        return cell.str.contains(r"^[0-9]{1,18}$") & _in_range(rule, value), value

    return shape


def _number(rule: ValueRule) -> Shape:
    def shape(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        value = cell.cast(pl.Float64, strict=False)
        plain = cell.str.contains(r"^[0-9]{1,15}(\.[0-9]{1,17})?([eE][+-]?[0-9]{1,3})?$")
        return plain & _in_range(rule, value), value

    return shape


def _iso_date(rule: ValueRule) -> Shape:
    def shape(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        value = cell.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        plain = cell.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        return plain & _in_range(rule, value), value

    return shape


def _long(cell: pl.Expr) -> pl.Expr:
    return cell.str.len_chars() > NULL_TOKEN_CHARS


def _text(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    return _long(cell) & cell.str.contains(_TEXT), cell


def _free_text(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    return ~cell.str.contains("\x00", literal=True), cell


def _imdb_id(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    return cell.str.contains(r"^tt[0-9]{5,10}$"), cell


def _comma_list(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    items = (
        cell.str.split(",")
        .list.eval(pl.element().str.strip_chars(" "))
        .list.eval(pl.element().filter(pl.element().str.len_bytes() > 0))
        .list.unique(maintain_order=True)
    )
    return _long(cell) & cell.str.contains(_LIST), items


SHAPES: dict[str, Shape] = {
    "tmdb_id": _whole(VALUE_RULES["tmdb_id"]),
    "vote_count": _whole(VALUE_RULES["vote_count"]),
    "vote_average": _number(VALUE_RULES["vote_average"]),
    "popularity": _number(VALUE_RULES["popularity"]),
    "release_date": _iso_date(VALUE_RULES["release_date"]),
    "title": _text,
    "original_title": _text,
    "status": _text,
    "poster_path": _text,
    "overview": _free_text,
    "imdb_id": _imdb_id,
    "keywords": _comma_list,
    # Not "genres": a file has a few thousand kinds of genre cell, which are asked of the
    # query once each for less than a parse of every cell costs.
}


# ------------------------------------------------------------------ reading
@dataclass
class _Counts:
    """What the parse saw, to compare with the identity pass's counts of the bytes."""

    records: int = 0
    delimiters_in_cells: int = 0
    digest: int = 0
    frames: list[tuple[int, int]] = dataclasses.field(default_factory=list)  # see ReadSoFar
    blank: bool = False


def landing_frames(
    path: Path,
    dialect: Dialect,
    plan: ColumnPlan,
    con: duckdb.DuckDBPyConnection,
    identity: IdentityPass,
    batch_rows: int,
) -> Iterator[pl.DataFrame]:
    """The landing query's output for `path`, in frames of about `batch_rows` records, read
    by Polars; raises NeedsCarefulReader (possibly after the last frame) when the file must
    be read by DuckDB. `identity` must have been started with the dialect's delimiter."""
    with open(path, "rb") as handle:
        if handle.seek(0, os.SEEK_END):
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                # A download cut off mid-record, most likely: no need to read it to find out.
                raise NeedsCarefulReader("the file does not end with a line end")
    width = len(dialect.header)
    names = [f"c{i}" for i in range(width)]
    reader = polars_batches(path, dialect, batch_rows)
    cells = FastCells(con, plan)
    counts = _Counts()
    delimiter = dialect.delimiter
    while True:
        failure = None
        try:
            frame = next(reader)
        except StopIteration:
            break
        except (pl.exceptions.PolarsError, OSError) as exc:
            # Polars' strict reader stops at a broken record (or bytes that are not UTF-8).
            failure = type(exc).__name__
        if failure is not None:
            # Raised outside the handler, with the reader let go: its error's traceback
            # would hold this frame, and so the reader and its mapped file, in a cycle
            # until the garbage collector runs, while DuckDB reads the file (resume.py).
            del reader
            raise BrokenRecord(failure, ReadSoFar(tuple(counts.frames), counts.blank))
        if not frame.height:
            continue
        delimiters, longest, blank = frame.select(
            pl.sum_horizontal(
                pl.col(n).str.count_matches(delimiter, literal=True).sum() for n in names
            ).alias("delimiters"),
            pl.sum_horizontal(pl.col(n).str.len_bytes().fill_null(0) for n in names)
            .max()
            .alias("longest"),
            pl.all_horizontal(pl.col(n).is_null() for n in names).any().alias("blank"),
        ).row(0)
        # A line's text is at most twice its cells' (quotes doubled) plus quotes and commas.
        if longest * 2 + 3 * width >= MAX_LINE_BYTES:
            raise NeedsCarefulReader("a record near the line size limit")
        used = cells.query_cells(frame)
        counts.digest = cells_digest(used, counts.records, counts.digest)
        counts.records += frame.height
        counts.frames.append((counts.records, counts.digest))
        counts.delimiters_in_cells += delimiters
        counts.blank = counts.blank or blank
        if identity.done():  # the sooner a doubt is known, the less work is thrown away
            check_bytes(identity)
        yield cells.answer(used)
    _check_counts(path, dialect, identity, counts)


def polars_batches(path: Path, dialect: Dialect, batch_rows: int) -> Iterator[pl.DataFrame]:
    """The file's records as Polars' strict reader reads them, in frames of `batch_rows`,
    columns c0..cN as text; it raises at a record it cannot read, but may first yield
    records read after it (Polars 2.1 does, when it reads ahead in parallel): see resume.py."""
    return pl.scan_csv(
        path,
        has_header=False,
        separator=dialect.delimiter,
        quote_char='"',
        skip_lines=dialect.skip_lines + 1,
        schema={f"c{i}": pl.String for i in range(len(dialect.header))},
        raise_if_empty=False,
    ).collect_batches(chunk_size=batch_rows)


def used_columns(plan: ColumnPlan) -> list[str]:
    """The columns (c0..cN) the landing query reads for `plan`."""
    return sorted({f"c{i}" for i in plan.positions.values()})


def query_cells(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """`columns` of `frame` as DuckDB's reader gives them: an empty cell is NULL, quoted or
    not (Polars reads a quoted one as empty text)."""
    return frame.select(
        pl.when(pl.col(c).str.len_bytes() > 0).then(pl.col(c)).alias(c) for c in columns
    )


def cells_digest(cells: pl.DataFrame, first: int, digest: int = 0) -> int:
    """`digest` (of the records before) with the records of `cells` (`used_columns`, as
    `query_cells` gives them), the first being record number `first` (0-based) of the file.
    Order matters and content does, whatever frames the records come in: two readings of
    the same records with equal digests hold the same cells in the same places but for a
    64-bit hash collision (resume.py compares Polars' reading with DuckDB's)."""
    hashes = cells.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + first).alias("_record")
    ).hash_rows(seed=0)
    return (digest + int(hashes.to_numpy().sum(dtype=np.uint64))) % 2**64  # sums wrap


def _check_counts(path: Path, dialect: Dialect, identity: IdentityPass, counts: _Counts) -> None:
    """Every record Polars read had all its fields, and nothing else was read as records:
    the file's delimiters are the header's, the cells', and width - 1 per record. A short
    record or a blank line (which DuckDB skips and Polars reads as a row) leaves some
    missing; Polars refuses a long record itself."""
    found = check_bytes(identity)
    head = 0
    with open(path, "rb") as handle:
        for _ in range(dialect.skip_lines + 1):
            head += handle.readline().count(dialect.delimiter.encode())
    expected = head + counts.delimiters_in_cells + counts.records * (len(dialect.header) - 1)
    if found.delimiters != expected:
        raise NeedsCarefulReader("a record with fields missing, or a blank line")


def check_bytes(identity: IdentityPass) -> Identity:
    """What the identity pass alone rules out: line ends of several kinds or a lone CR
    (DuckDB refuses them, Polars reads them), an odd number of quotes (a quote never
    closed, or one inside an unquoted cell)."""
    found = identity.result()
    if found.delimiters is None:
        raise NeedsCarefulReader("the delimiters were not counted")
    if found.line_end_kinds > 1 or found.cr:
        raise NeedsCarefulReader("line ends of several kinds, or CR alone")
    if found.quotes % 2:
        raise NeedsCarefulReader("an odd number of quotes")
    return found


# ------------------------------------------------------------------ validation
class FastCells:
    """The landing query's answer for a batch of records, computed in Polars where the cells
    have a plain shape and asked of the query for everything else."""

    def __init__(self, con: duckdb.DuckDBPyConnection, plan: ColumnPlan) -> None:
        self.con = con
        self.plan = plan
        self.query = landing_query(plan, decimal_comma=False, rows=ROWS)
        self.used = used_columns(plan)
        self.column = {f: f"c{plan.positions[f]}" for f in FIELDS if f in plan.positions}
        self.shapes = {f: SHAPES[f] for f in FIELDS if f in SHAPES and f in self.column}
        # A row the query accepts whatever the other cells: an id and a title, nothing else.
        self.template = dict.fromkeys(self.used)
        self.template[self.column["tmdb_id"]] = "1"
        self.template[self.column["title"]] = "title"
        # field -> what the query said of each cell asked so far: key, ok, out.
        self.answers: dict[str, pl.DataFrame] = {}

    def ask(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The landing query over `rows` (text columns c0..cN), in their order."""
        self.con.register(ROWS, rows.select(self.used).to_arrow())
        try:
            answer = self.con.sql(self.query).pl()
        finally:
            self.con.unregister(ROWS)
        return answer.select(pl.col(n).cast(t) for n, t in OUTPUT_SCHEMA.items())

    def landing_output(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The landing query's output for `frame`'s records, row for row."""
        return self.answer(self.query_cells(frame))

    def query_cells(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The cells of `frame` the landing query reads (see `query_cells`)."""
        return query_cells(frame, self.used)

    def answer(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The landing query's output for the records of `query_cells`, row for row."""
        shaped = frame.with_columns(
            expr.alias(name)
            for field, shape in self.shapes.items()
            for name, expr in zip(
                (f"_fast_{field}", f"_value_{field}"),
                shape(pl.col(self.column[field])),
                strict=True,
            )
        ).with_columns(pl.col(f"_fast_{f}").fill_null(False) for f in self.shapes)
        frame = self._ask_the_rest(shaped)
        ok = pl.all_horizontal(pl.col(f"_ok_{f}") for f in FIELDS)
        outputs = [pl.lit(self.plan.media_type, pl.String).alias("media_type")]
        outputs += [pl.col(f"_out_{f}").alias(f) for f in FIELDS]
        outputs += [pl.lit(None, pl.String).alias("_reason"), pl.lit(None, pl.String).alias("_raw")]
        good = frame.select(outputs).select(pl.col(n).cast(t) for n, t in OUTPUT_SCHEMA.items())
        verdict = frame.select(ok).to_series()
        if verdict.all():
            return good
        rest = self.ask(frame.filter(~verdict))
        index = pl.int_range(pl.len(), dtype=pl.Int64)
        return (
            pl.concat(
                [
                    good.with_columns(index.alias("_at")).filter(verdict),
                    rest.with_columns(
                        frame.select(index.alias("_at")).filter(~verdict).to_series()
                    ),
                ]
            )
            .sort("_at")
            .drop("_at")
        )

    def _ask_the_rest(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Add `_ok_<field>` and `_out_<field>` for every field: the shape's where the cell
        has one, else the query's for a row with that cell and only an id and a title
        (asked once per distinct cell and file: `answers` keeps what it said)."""
        wanted: dict[str, pl.Series] = {}
        fresh: dict[str, pl.Series] = {}
        for field in FIELDS:
            if field not in self.column:
                keys = pl.Series("key", [None], pl.String)
            else:
                # Series, not select(): an eager select goes through the query engine, which
                # costs more than the work here.
                cells = frame.get_column(self.column[field])
                if field in self.shapes:
                    cells = cells.filter(~frame.get_column(f"_fast_{field}"))
                keys = cells.unique().rename("key")
            wanted[field] = keys
            known = self.answers.get(field)
            unknown = keys if known is None else _not_in(keys, known.get_column("key"))
            if len(unknown):
                fresh[field] = unknown
        if fresh:
            self._learn(fresh)
        columns: list[pl.Expr] = []
        for field, keys in wanted.items():
            fast = pl.col(f"_fast_{field}") if field in self.shapes else pl.lit(False)
            value = pl.col(f"_value_{field}") if field in self.shapes else None
            dtype = OUTPUT_SCHEMA[field]
            ok_q: pl.Expr
            out_q: pl.Expr
            if not len(keys):
                ok_q, out_q = pl.lit(False), pl.lit(None, dtype)
                columns.append((fast | ok_q).alias(f"_ok_{field}"))
                out = pl.when(fast).then(value).otherwise(out_q) if value is not None else out_q
                columns.append(out.cast(dtype).alias(f"_out_{field}"))
                continue
            table = self.answers[field]
            if len(keys) < len(table):
                table = table.filter(_in(pl.col("key"), keys))
            if field not in self.column or (len(keys) == 1 and keys[0] is None):
                # Every cell the query is asked about is empty: one answer for all.
                ok_q, out_q = pl.lit(table["ok"][0]), pl.lit(table["out"][0], dtype)
            else:
                # Joined on the key column alone: a join copies every column it carries.
                found = (
                    frame.get_column(self.column[field])
                    .to_frame()
                    .join(
                        table.rename({"ok": f"_okq_{field}", "out": f"_outq_{field}"}),
                        left_on=self.column[field],
                        right_on="key",
                        how="left",
                        nulls_equal=True,
                        maintain_order="left",
                    )
                    .select(f"_okq_{field}", f"_outq_{field}")
                )
                frame = frame.hstack(found)
                ok_q = pl.col(f"_okq_{field}").fill_null(False)
                out_q = pl.col(f"_outq_{field}")
            columns.append((fast | ok_q).alias(f"_ok_{field}"))
            out = pl.when(fast).then(value).otherwise(out_q) if value is not None else out_q
            columns.append(out.cast(dtype).alias(f"_out_{field}"))
        return frame.with_columns(columns)

    def _learn(self, fresh: dict[str, pl.Series]) -> None:
        """Ask the landing query about each cell of `fresh`, in a row of its own."""
        rows = pl.concat(
            [
                pl.DataFrame({"key": keys}).select(
                    *(
                        pl.col("key").alias(c)
                        if c == self.column.get(field)
                        else pl.lit(value, pl.String).alias(c)
                        for c, value in self.template.items()
                    )
                )
                for field, keys in fresh.items()
            ]
        )
        answers = self.ask(rows)
        start = 0
        for field, keys in fresh.items():
            part = answers.slice(start, len(keys))
            start += len(keys)
            learned = pl.DataFrame(
                {
                    "key": keys,
                    "ok": part.get_column("_reason").is_null(),
                    "out": part.get_column(field),
                }
            )
            known = self.answers.get(field)
            self.answers[field] = learned if known is None else pl.concat([known, learned])


def _in(expr: pl.Expr, keys: pl.Series) -> pl.Expr:
    """`expr` is one of `keys`, a null one included when `keys` has a null."""
    found = expr.is_in(keys.drop_nulls().implode()).fill_null(False)  # a null is in no list
    return found | expr.is_null() if keys.has_nulls() else found


def _not_in(keys: pl.Series, known: pl.Series) -> pl.Series:
    return keys.to_frame("key").filter(~_in(pl.col("key"), known)).to_series()
