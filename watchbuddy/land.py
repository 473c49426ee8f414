"""Landing: every CSV in the data dir becomes canonical Parquet in the warehouse, nothing lost.

Per file: hash the bytes (a file already landed with the same hash is skipped), find the
dialect and header (`sniff`), map columns to the canonical schema (`schema`), stream the
rows out of DuckDB's CSV reader (which records structurally broken rows instead of
stopping), validate and normalize each batch with Polars (`cells`), and write one Parquet
file of titles plus its rejects and a one-row import report, all published in one manifest
commit. Every record read ends up accepted, counted as a duplicate, or in the rejects with
its reason, so `rows_read = accepted + duplicates + rejected` for every file.

Duplicates: within a file the last occurrence of a `(media_type, tmdb_id)` wins; across
files the newest landed batch wins. Both rules are applied by the `pool` view, so `titles`
keeps every landed record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from watchbuddy import cells
from watchbuddy.errors import LandingError
from watchbuddy.schema import (
    ALIASES,
    IMPORT_SCHEMA,
    REJECT_SCHEMA,
    TITLE_SCHEMA,
    ColumnPlan,
    NotATitleTable,
    plan_columns,
)
from watchbuddy.settings import Settings
from watchbuddy.sniff import Dialect, first_line, sniff, transcode_to_utf8
from watchbuddy.views import new_connection, open_views
from watchbuddy.warehouse import Warehouse, WarehouseWriter, utcnow

BATCH_ROWS = 131_072
PART_ROWS = 700_000
# zstd level 1: within 20% of the default level's size at 20% less CPU (benchmarks/RESULTS.md).
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 1}
INPUT_PATTERNS = ("*.csv", "*.csv.gz", "*.CSV", "*.CSV.GZ")
WRITE_LOCK_WAIT_SECONDS = 30.0
MAX_REASON_VALUE = 60

# (file name, rows done, fraction done or None) -> None
Progress = Callable[[str, int, float | None], None]

TITLE_POLARS_SCHEMA = pl.DataFrame(TITLE_SCHEMA.empty_table()).schema
_FIELD_DTYPES = {name: dtype for name, dtype in TITLE_POLARS_SCHEMA.items()}


@dataclass
class ImportReport:
    """One file's outcome; the `imports` view has one row of these per landed version."""

    file: str
    content_hash: str
    bytes: int
    status: str  # 'landed', 'skipped' (not a title table), 'unchanged', 'failed'
    message: str = ""
    media_types: str = ""
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0
    batch: int | None = None
    rejects_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def adds_up(self) -> bool:
        return self.rows_read == self.accepted + self.duplicates + self.rejected

    def to_dict(self) -> dict:
        return asdict(self)


def find_inputs(data_dir: Path) -> list[Path]:
    if not data_dir.is_dir():
        return []
    found = {p.resolve() for pattern in INPUT_PATTERNS for p in data_dir.glob(pattern)}
    return sorted((p for p in found if p.is_file()), key=lambda p: p.name)


def content_hash(path: Path) -> str:
    """Identity of a file's content. SHA-1 is 4x faster than SHA-256 here and collisions
    between CSV dumps are not an attack we defend against."""
    digest = hashlib.sha1(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return "sha1:" + digest.hexdigest()


def known_hashes(warehouse: Warehouse) -> set[str]:
    """Hashes of files already landed or already found not to be title tables."""
    con = open_views(warehouse)
    try:
        rows = con.sql(
            "SELECT DISTINCT content_hash FROM imports WHERE status IN ('landed', 'skipped')"
        ).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}


def bootstrap(
    settings: Settings,
    force: bool = False,
    progress: Progress | None = None,
    on_report: Callable[[ImportReport], None] | None = None,
) -> list[ImportReport]:
    """Land every CSV in the data dir that is not landed yet (all of them with `force`)."""
    files = find_inputs(settings.data_dir)
    warehouse = Warehouse(settings.warehouse)
    reports: list[ImportReport] = []
    if not files:
        return reports
    with warehouse.writer("bootstrap", wait_seconds=WRITE_LOCK_WAIT_SECONDS) as writer:
        known = set() if force else known_hashes(warehouse)
        for path in files:
            report = _land_one(path, known, writer, settings, progress)
            if report.status in ("landed", "skipped"):
                known.add(report.content_hash)
            reports.append(report)
            if on_report:
                on_report(report)
    return reports


def _land_one(
    path: Path,
    known: set[str],
    writer: WarehouseWriter,
    settings: Settings,
    progress: Progress | None,
) -> ImportReport:
    started = time.perf_counter()
    try:
        digest = content_hash(path)
        size = path.stat().st_size
    except OSError as exc:
        return ImportReport(path.name, "", 0, "failed", f"cannot read the file: {exc.strerror}")
    if digest in known:
        return ImportReport(
            path.name, digest, size, "unchanged", "already landed with the same content"
        )
    try:
        report = land_file(path, digest, writer, settings, progress)
    except LandingError as exc:
        report = ImportReport(path.name, digest, size, "failed", str(exc))
    except Exception as exc:  # a bug must not stop the other files; keep the evidence
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        report = ImportReport(path.name, digest, size, "failed", f"internal error: {detail}")
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def land_file(
    path: Path,
    digest: str,
    writer: WarehouseWriter,
    settings: Settings,
    progress: Progress | None = None,
) -> ImportReport:
    """Land one file as a new batch and publish it; returns its import report."""
    started = time.perf_counter()
    size = path.stat().st_size
    dialect = sniff(path)
    if dialect is None:
        reason = (
            f"not a title table: no line among the first ten names a TMDB id column "
            f"(first line: {first_line(path)!r})"
        )
        return _publish_skip(path, digest, size, reason, writer, started)
    try:
        plan = plan_columns(dialect.header, path.name)
    except NotATitleTable as exc:
        return _publish_skip(path, digest, size, f"not a title table: {exc}", writer, started)

    batch = writer.allocate_batch()
    repaired_lines = 0
    scan = _scan(path, dialect, plan, batch, writer, settings, progress, path.name)
    if scan.encoding_errors:
        # Not UTF-8 (a spreadsheet re-save): transcode and read the repaired copy instead.
        for part in scan.parts:
            part.unlink(missing_ok=True)
        source = writer.tmp_file(".csv")
        repaired_lines = transcode_to_utf8(path, source)
        scan = _scan(source, dialect, plan, batch, writer, settings, progress, path.name)
        source.unlink(missing_ok=True)

    landed_at = utcnow()
    rejects = scan.rejects(path.name, batch, landed_at)
    report = ImportReport(
        file=path.name,
        content_hash=digest,
        bytes=size,
        status="landed",
        media_types=",".join(sorted(scan.media_types)),
        rows_read=scan.rows_read,
        accepted=scan.valid - scan.duplicates,
        duplicates=scan.duplicates,
        rejected=rejects.num_rows,
        batch=batch,
        rejects_by_reason=_reasons(rejects),
    )
    notes = [f"media type from {plan.media_type_origin}"]
    if repaired_lines:
        notes.append(f"{repaired_lines} lines were not UTF-8 and were read as Windows-1252")
    if dialect.skip_lines:
        notes.append(f"skipped {dialect.skip_lines} line(s) before the header")
    if dialect.delimiter != ",":
        notes.append(f"delimiter {dialect.delimiter!r}")
    report.message = "; ".join(notes)
    report.seconds = round(time.perf_counter() - started, 3)

    stem = f"batch-{batch:06d}"
    add: dict[str, list[str]] = {}
    if scan.parts:
        add["titles"] = [
            writer.stage("titles", part, f"{stem}-part{i:03d}.parquet")
            for i, part in enumerate(scan.parts)
        ]
    if rejects.num_rows:
        add["rejects"] = [writer.stage("rejects", _write_table(writer, rejects), f"{stem}.parquet")]
    add["imports"] = [
        writer.stage(
            "imports", _write_table(writer, _import_row(report, landed_at)), f"{stem}.parquet"
        )
    ]
    writer.commit(add=add)
    return report


def _publish_skip(
    path: Path, digest: str, size: int, reason: str, writer: WarehouseWriter, started: float
) -> ImportReport:
    report = ImportReport(path.name, digest, size, "skipped", reason)
    report.batch = writer.allocate_batch()
    report.seconds = round(time.perf_counter() - started, 3)
    table = _import_row(report, utcnow())
    name = f"batch-{report.batch:06d}.parquet"
    writer.commit(add={"imports": [writer.stage("imports", _write_table(writer, table), name)]})
    return report


def _write_table(writer: WarehouseWriter, table: pa.Table) -> Path:
    tmp = writer.tmp_file()
    pq.write_table(table, tmp, compression="zstd")
    return tmp


def _import_row(report: ImportReport, landed_at: dt.datetime) -> pa.Table:
    row = {name: [getattr(report, name, None)] for name in IMPORT_SCHEMA.names}
    row["landed_at"] = [landed_at]
    return pa.table(row, schema=IMPORT_SCHEMA)


def _reasons(rejects: pa.Table) -> dict[str, int]:
    if not rejects.num_rows:
        return {}
    kinds = (
        pl.from_arrow(rejects)
        .select(pl.col("reason").str.replace(r" '.*$", "").str.replace(r":.*$", ""))
        .to_series()
        .value_counts(sort=True)
    )
    return {row[0]: int(row[1]) for row in kinds.iter_rows()}


@dataclass
class _Scan:
    """What one pass over a CSV found."""

    skip: int
    parsed_rows: int = 0
    valid: int = 0
    duplicates: int = 0
    media_types: set[str] = field(default_factory=set)
    structural: list[tuple[int, str, str]] = field(default_factory=list)  # line, reason, raw
    value_rejects: list[pl.DataFrame] = field(default_factory=list)  # source_row, reason, raw
    parts: list[Path] = field(default_factory=list)  # Parquet files of accepted titles
    encoding_errors: bool = False

    @property
    def rows_read(self) -> int:
        return self.parsed_rows + len(self.structural)

    def rejects(self, file: str, batch: int, landed_at: dt.datetime) -> pa.Table:
        """All rejects with the line numbers DuckDB uses (a record with embedded newlines
        counts as one line; the header is line `skip`)."""
        broken = sorted(self.structural)
        lines: list[int] = []
        reasons: list[str] = []
        raws: list[str] = []
        if self.value_rejects:
            values = pl.concat(self.value_rejects)
            # Parsed row i is the (i + 1 + c)-th record, c = broken records before it.
            gaps = np.array(
                [line - self.skip - j for j, (line, _, _) in enumerate(broken, start=1)],
                dtype=np.int64,
            )
            rows = values["source_row"].to_numpy()
            records = rows + 1 + np.searchsorted(gaps, rows, side="right")
            lines.extend((records + self.skip).tolist())
            reasons.extend(values["reason"].to_list())
            raws.extend(values["raw"].to_list())
        for line, reason, raw in broken:
            lines.append(line)
            reasons.append(reason)
            raws.append(raw)
        n = len(lines)
        table = pa.table(
            {
                "batch": [batch] * n,
                "file": [file] * n,
                "line": lines,
                "reason": reasons,
                "raw": raws,
                "landed_at": [landed_at] * n,
            },
            schema=REJECT_SCHEMA,
        )
        return table.sort_by("line")


def _scan(
    source: Path,
    dialect: Dialect,
    plan: ColumnPlan,
    batch: int,
    writer: WarehouseWriter,
    settings: Settings,
    progress: Progress | None,
    display_name: str,
) -> _Scan:
    """Stream `source` through DuckDB's CSV reader and Polars validation into Parquet parts."""
    skip = dialect.skip_lines + 1
    scan = _Scan(skip=skip)
    column_index = {name: i for i, name in enumerate(dialect.header)}
    # Header names never reach SQL text: columns are named c0..cN, we pick the mapped ones.
    columns = {f"c{i}": "VARCHAR" for i in range(len(dialect.header))}
    picks = ", ".join(
        f"c{column_index[source_name]} AS {canonical}"
        for canonical, source_name in plan.columns.items()
    )
    con = new_connection(memory_limit=settings.duckdb_memory_limit)
    query = (
        f"SELECT {picks} FROM read_csv($path, auto_detect = false, columns = $columns, "
        "header = false, skip = $skip, delim = $delim, quote = '\"', escape = '\"', "
        "strict_mode = true, store_rejects = true, max_line_size = 16777216)"
    )
    updated_at = dt.datetime.fromtimestamp(source.stat().st_mtime, dt.UTC)
    landed_at = utcnow()
    bytes_per_row = dialect.sample_bytes / max(dialect.sample_rows, 1)
    expected_rows: float | None = max(source.stat().st_size / bytes_per_row, 1.0)
    if source.name.lower().endswith(".gz"):
        expected_rows = None
    keys: list[pl.DataFrame] = []
    pending: list[pl.DataFrame] = []
    decimal_comma = dialect.delimiter == ";"
    provenance = {
        "source": pl.lit("csv"),
        "source_name": pl.lit(display_name),
        "batch": pl.lit(batch, dtype=pl.Int64),
        "updated_at": pl.lit(updated_at, dtype=_FIELD_DTYPES["updated_at"]),
        "landed_at": pl.lit(landed_at, dtype=_FIELD_DTYPES["landed_at"]),
    }

    def flush() -> None:
        # Polars writes one frame with all cores; a part per ~PART_ROWS bounds memory.
        if pending:
            part = writer.tmp_file()
            pl.concat(pending).write_parquet(part, **PARQUET_OPTIONS)
            scan.parts.append(part)
            pending.clear()

    try:
        reader = con.sql(
            query,
            params={
                "path": str(source),
                "columns": columns,
                "skip": skip,
                "delim": dialect.delimiter,
            },
        ).to_arrow_reader(BATCH_ROWS)
        for raw in _frames(reader, BATCH_ROWS):
            accepted, rejected = validate(raw, plan, scan.parsed_rows, decimal_comma)
            scan.parsed_rows += raw.height
            if rejected.height:
                scan.value_rejects.append(rejected)
            if accepted.height:
                accepted = accepted.with_columns(**provenance).select(
                    [pl.col(n).cast(t) for n, t in TITLE_POLARS_SCHEMA.items()]
                )
                pending.append(accepted)
                keys.append(accepted.select("media_type", "tmdb_id"))
                scan.valid += accepted.height
                if sum(f.height for f in pending) >= PART_ROWS:
                    flush()
            if progress:
                fraction = min(scan.parsed_rows / expected_rows, 0.99) if expected_rows else None
                progress(display_name, scan.parsed_rows, fraction)
        flush()
        for line, kind, raw_line, message in con.sql(
            "SELECT line, error_type, csv_line, error_message FROM reject_errors ORDER BY line"
        ).fetchall():
            if kind == "INVALID ENCODING":
                scan.encoding_errors = True
            if scan.structural and scan.structural[-1][0] == line:
                continue  # DuckDB reports some broken records once per column
            scan.structural.append((int(line), _structural_reason(kind, message), raw_line))
    except duckdb.IOException as exc:
        raise LandingError(f"cannot read {display_name}: {_first_line(exc)}") from None
    except duckdb.Error as exc:
        raise LandingError(f"{display_name} is not a readable CSV: {_first_line(exc)}") from None
    finally:
        con.close()
    if keys:
        all_keys = pl.concat(keys)
        scan.duplicates = all_keys.height - all_keys.n_unique()
        scan.media_types = set(all_keys["media_type"].unique().to_list())
    if progress:
        progress(display_name, scan.parsed_rows, 1.0)
    return scan


def _frames(reader: pa.RecordBatchReader, rows: int) -> Iterator[pl.DataFrame]:
    """Regroup DuckDB's small record batches (~2K-20K rows) into frames of about `rows`:
    validation has a fixed cost per call that dominates on small frames."""
    buffered: list[pa.RecordBatch] = []
    count = 0
    for record_batch in reader:
        buffered.append(record_batch)
        count += record_batch.num_rows
        if count >= rows:
            yield _to_frame(buffered)
            buffered, count = [], 0
    if buffered:
        yield _to_frame(buffered)


def _to_frame(batches: list[pa.RecordBatch]) -> pl.DataFrame:
    frame = pl.from_arrow(pa.Table.from_batches(batches))
    assert isinstance(frame, pl.DataFrame)
    return frame.rechunk()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def _structural_reason(kind: str, message: str) -> str:
    reasons = {
        "TOO MANY COLUMNS": "broken record: more fields than the header",
        "MISSING COLUMNS": "broken record: fewer fields than the header",
        "UNQUOTED VALUE": "broken record: unterminated quote (file cut off?)",
        "INVALID ENCODING": "broken record: bytes that are not UTF-8",
        "LINE SIZE OVER MAXIMUM": "broken record: line longer than 16 MB",
    }
    return reasons.get(kind, f"broken record: {message.strip().splitlines()[0]}")


def _short(expr: pl.Expr) -> pl.Expr:
    return expr.str.slice(0, MAX_REASON_VALUE)


def _parse_with_fallback(
    frame: pl.DataFrame,
    source: pl.Expr,
    fast: Callable[[pl.Expr], pl.Expr],
    general: Callable[[pl.Expr], pl.Expr],
) -> pl.Series:
    """The fast parse of `source`, or the general one when the fast one missed a value."""
    result = frame.select(fast(source).alias("v"), source.is_not_null().alias("given"))
    missed = result.select((pl.col("given") & pl.col("v").is_null()).any()).item()
    if not missed:
        return result["v"]
    return frame.select(general(source)).to_series()


def validate(
    raw: pl.DataFrame, plan: ColumnPlan, row_offset: int, decimal_comma: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a batch of raw string columns into canonical typed rows and rejects.

    Returns (accepted, rejects); accepted has every canonical field plus `source_row`,
    rejects has `source_row`, `reason` and `raw` (the row's fields as read, as JSON).
    """
    # Fields the file lacks become null columns, so every parser sees a full-length column.
    absent = [f for f in ALIASES if f not in raw.columns]
    clean = raw.select(
        *[cells.clean_text(c).alias(c) for c in raw.columns],
        *[pl.lit(None, dtype=pl.String).alias(f) for f in absent],
        (pl.int_range(pl.len(), dtype=pl.Int64) + row_offset).alias("source_row"),
    )
    c = pl.col
    text = pl.col

    if plan.media_type is not None:
        media_type = pl.lit(plan.media_type)
    else:
        media_type = cells.parse_media_type(text("media_type"))
    parsed = clean.with_columns(
        _media_type=media_type,
        _title=pl.coalesce(text("title"), text("original_title")),
        _adult=cells.parse_bool(text("adult")),
        _language=cells.parse_language(text("original_language")),
    )
    # name -> (source column, fast parser, general parser); see `cells` on fast paths.
    typed = {
        "_id": ("tmdb_id", cells.fast_int, cells.parse_int),
        "_date": ("release_date", cells.fast_date, cells.parse_date),
        "_votes": ("vote_count", cells.fast_int, lambda e: cells.parse_int(e, decimal_comma)),
        "_rating": (
            "vote_average",
            cells.fast_float,
            lambda e: cells.parse_float(e, decimal_comma),
        ),
        "_popularity": (
            "popularity",
            cells.fast_float,
            lambda e: cells.parse_float(e, decimal_comma),
        ),
        "_runtime": (
            "runtime",
            cells.fast_float,
            lambda e: cells.parse_float(cells.first_number(e), decimal_comma),
        ),
        "_keywords": ("keywords", cells.fast_list, cells.parse_list),
    }
    if not plan.genre_ids:
        typed["_genres"] = ("genres", cells.fast_list, cells.parse_list)
    parsed = parsed.with_columns(
        _parse_with_fallback(parsed, text(source), fast, general).alias(name)
        for name, (source, fast, general) in typed.items()
    )
    if plan.genre_ids:
        parsed = parsed.with_columns(
            _genres=cells.parse_genre_ids(text("genres"), c("_media_type"))
        )
    checks: list[tuple[pl.Expr, pl.Expr]] = [
        (text("tmdb_id").is_null(), pl.lit("missing id")),
        (
            c("_id").is_null() | (c("_id") <= 0),
            pl.format("id '{}' is not a positive integer", _short(text("tmdb_id"))),
        ),
        (
            text("media_type").is_null() & pl.lit(plan.media_type is None),
            pl.lit("missing media type"),
        ),
        (
            c("_media_type").is_null(),
            pl.format("media type '{}' is not movie or tv", _short(text("media_type"))),
        ),
        (c("_title").is_null(), pl.lit("missing title")),
        (
            text("release_date").is_not_null() & c("_date").is_null(),
            pl.format("release date '{}' is not a date", _short(text("release_date"))),
        ),
        (
            text("vote_count").is_not_null() & (c("_votes").is_null() | (c("_votes") < 0)),
            pl.format("vote count '{}' is not a whole number >= 0", _short(text("vote_count"))),
        ),
        (
            text("vote_average").is_not_null()
            & (c("_rating").is_null() | (c("_rating") < 0) | (c("_rating") > 10)),
            pl.format(
                "vote average '{}' is not a number from 0 to 10", _short(text("vote_average"))
            ),
        ),
        (
            text("popularity").is_not_null()
            & (c("_popularity").is_null() | (c("_popularity") < 0)),
            pl.format("popularity '{}' is not a number >= 0", _short(text("popularity"))),
        ),
        (
            text("runtime").is_not_null() & c("_runtime").is_null(),
            pl.format("runtime '{}' is not a number of minutes", _short(text("runtime"))),
        ),
        (
            text("adult").is_not_null() & c("_adult").is_null(),
            pl.format("adult '{}' is not true or false", _short(text("adult"))),
        ),
        (
            text("original_language").is_not_null() & c("_language").is_null(),
            pl.format(
                "original language '{}' is not a language code", _short(text("original_language"))
            ),
        ),
    ]
    reason = pl.when(checks[0][0]).then(checks[0][1])
    for condition, message in checks[1:]:
        reason = reason.when(condition).then(message)
    parsed = parsed.with_columns(_reason=reason.otherwise(None))

    bad = parsed.filter(c("_reason").is_not_null())
    raw_json = pl.Series("raw", [], dtype=pl.String)
    if bad.height:
        # Only rejected rows pay for the JSON rendering of their fields, under the file's names.
        raw_json = raw.select(
            pl.struct(
                [
                    pl.col(k).gather(bad["source_row"] - row_offset).alias(v)
                    for k, v in plan.columns.items()
                ]
            )
            .struct.json_encode()
            .alias("raw")
        ).to_series()
    rejects = bad.select("source_row", c("_reason").alias("reason")).with_columns(raw_json)

    good = parsed.filter(c("_reason").is_null())
    runtime = c("_runtime").round(0).cast(pl.Int32)
    accepted = good.select(
        c("_media_type").alias("media_type"),
        c("_id").alias("tmdb_id"),
        cells.parse_imdb_id(text("imdb_id")).alias("imdb_id"),
        c("_title").alias("title"),
        text("original_title").alias("original_title"),
        c("_language").alias("original_language"),
        text("overview").alias("overview"),
        text("status").alias("status"),
        c("_date").alias("release_date"),
        c("_genres").alias("genres"),
        c("_keywords").alias("keywords"),
        pl.when(runtime > 0).then(runtime).alias("runtime"),
        c("_popularity").alias("popularity"),
        c("_rating").alias("vote_average"),
        c("_votes").alias("vote_count"),
        c("_adult").alias("adult"),
        text("poster_path").alias("poster_path"),
        "source_row",
    )
    return accepted, rejects


def summary_json(reports: list[ImportReport]) -> str:
    return json.dumps([r.to_dict() for r in reports], indent=2, default=str)


def pool_is_empty(warehouse: Warehouse) -> bool:
    return warehouse.read_manifest().is_empty
