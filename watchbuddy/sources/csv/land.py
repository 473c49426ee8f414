"""Landing: every CSV in the data dir becomes canonical Parquet in the warehouse, nothing lost.

Per file: hash the bytes on a thread while the file is read (a file already landed with
the same hash is not landed again: `identity`), find the dialect and header (`sniff`), map
columns to the canonical schema (`schema`), read and validate the rows with the landing
query (`validate`), and write Parquet files of titles plus its rejects and a one-row import
report, all published in one manifest commit. The rows are read by Polars where the file
parses cleanly (`fast`), else by DuckDB's CSV reader, which records structurally broken rows
instead of stopping; both give the same rows, rejects and report. Where Polars stops at a
broken record midway, DuckDB's reader lands the records after the frames already landed
(`resume`), when it reads those alike. Every record read ends
up accepted, counted as a duplicate, or in the rejects with its reason, so
`rows_read = accepted + duplicates + rejected` for every file.

Duplicates: `titles` keeps every landed record; the `pool` view merges the records of each
`(media_type, tmdb_id)` field by field (a later row of the file, or a newer file, wins each
field it knows), so the report counts a superseded row as a duplicate, not a loss.
"""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import logging
import os
import stat
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from watchbuddy.errors import DiskFull, LandingError, UnreadableCsv, WarehouseError
from watchbuddy.redact import redact
from watchbuddy.safe_text import printable
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.fast import NeedsCarefulReader, landing_frames, refusal
from watchbuddy.sources.csv.identity import IdentityPass
from watchbuddy.sources.csv.resume import keepable, resumable
from watchbuddy.sources.csv.sniff import (
    Dialect,
    Repair,
    encoding_label,
    has_mixed_line_ends,
    sniff,
    transcode_to_utf8,
)
from watchbuddy.sources.csv.validate import landing_query, load_cell_macros, raw_with_file_names
from watchbuddy.sql import statement
from watchbuddy.store.schema import (
    IMPORT_SCHEMA,
    REJECT_SCHEMA,
    TITLE_POLARS_SCHEMA,
    ColumnPlan,
    NotATitleTable,
    is_synthetic_file_name,
    plan_columns,
)
from watchbuddy.store.views import new_connection, open_views
from watchbuddy.store.warehouse import (
    PARQUET_OPTIONS,
    WRITER_WAIT_SECONDS,
    Warehouse,
    WarehouseWriter,
    is_disk_full,
    utcnow,
    writing,
)

BATCH_ROWS = 131_072
PART_ROWS = 350_000
INPUT_SUFFIXES = (".csv", ".csv.gz")  # in any case
MAX_REASON_VALUE = 60
MAX_ERROR_TEXT = 300
# Where an open descriptor can be opened again by path (Linux): DuckDB and the sniffer then
# read the very file that was checked, even if its name is swapped for a link meanwhile.
_FD_DIR = Path("/proc/self/fd")

# Which reader landed each file, and why not the fast one (tests and benchmarks read it).
log = logging.getLogger("watchbuddy.sources.csv.land")

# (file name, rows done, fraction done or None) -> None
Progress = Callable[[str, int, float | None], None]


@dataclass
class ImportReport:
    """One file's outcome; the `imports` view has one row of these per landed version."""

    file: str
    content_hash: str
    bytes: int
    # 'landed', 'skipped' (not a title table, or not a file we read), 'unchanged', 'failed'
    status: str
    message: str = ""
    media_types: str = ""
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0
    batch: int | None = None
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    # What the user should know about a landed file (duplicate columns); also in `message`.
    warnings: list[str] = field(default_factory=list)

    @property
    def adds_up(self) -> bool:
        return self.rows_read == self.accepted + self.duplicates + self.rejected

    def to_dict(self) -> dict:
        return asdict(self)


def find_inputs(data_dir: Path) -> list[Path]:
    """Every entry of the data dir named like a CSV, in name order, as it is named there
    (links unresolved): whether one may be read is `open_input`'s call, and each one that
    may not is reported by its name."""
    if not data_dir.is_dir():
        return []
    found = [
        data_dir / entry.name
        for entry in os.scandir(data_dir)
        if entry.name.lower().endswith(INPUT_SUFFIXES)
    ]
    return sorted(found, key=lambda p: p.name)


@dataclass(frozen=True)
class InputFile:
    """A data-dir entry checked to be a regular file inside the data dir, held open."""

    name: str  # as named in the data dir: reports, rejects and `source_name` use it
    source: Path  # what to read: the open descriptor (/proc/self/fd/N) where there is one
    compressed: bool
    size: int
    mtime: float  # the `updated_at` of the file's records


class NotRead(Exception):
    """A data-dir entry that is not read; `status` is 'skipped' or 'failed'."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@contextmanager
def open_input(path: Path, data_dir: Path) -> Iterator[InputFile]:
    """Open `path` for landing, or raise NotRead saying why it is not read.

    Only regular files inside the data dir are read: a symbolic link is followed only when
    it resolves to a regular file inside the data dir (a link to `../watchbuddy.toml` or
    `/etc/shadow` would otherwise be read and its lines shown), and FIFOs, sockets, devices
    and directories are never opened for reading (a FIFO would block bootstrap forever).
    The file is opened without following links and compared with what was checked, and
    every later read goes through that descriptor, so a name swapped meanwhile is not read.
    """
    try:
        info = os.lstat(path)
        target = path
        if stat.S_ISLNK(info.st_mode):
            resolved = Path(os.path.realpath(path))
            if not resolved.is_relative_to(Path(os.path.realpath(data_dir))):
                raise NotRead("skipped", "a symbolic link to outside the data dir: not followed")
            try:
                info = os.stat(resolved)
            except OSError:
                raise NotRead("skipped", "a symbolic link that leads nowhere") from None
            target = resolved
    except FileNotFoundError:
        raise NotRead("skipped", "gone before it could be read") from None
    except OSError as exc:
        raise NotRead("failed", f"cannot read the file: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise NotRead("skipped", "a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise NotRead("skipped", "not a regular file (a FIFO, socket or device): not read")
    flags = os.O_RDONLY
    for extra in ("O_NONBLOCK", "O_CLOEXEC", "O_NOFOLLOW"):  # POSIX only
        flags |= getattr(os, extra, 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOENT):
            raise NotRead("skipped", "replaced while it was being checked: not read") from None
        raise NotRead("failed", f"cannot read the file: {exc.strerror}") from None
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise NotRead("skipped", "replaced while it was being checked: not read")
        yield InputFile(
            name=path.name,
            source=_FD_DIR / str(fd) if _FD_DIR.is_dir() else target,
            compressed=path.name.lower().endswith(".gz"),
            size=opened.st_size,
            mtime=opened.st_mtime,
        )
    finally:
        os.close(fd)


def known_hashes(warehouse: Warehouse) -> set[str]:
    """Hashes of files already landed or already found not to be title tables."""
    con = open_views(warehouse, materialize=False)
    try:
        rows = con.sql(statement("landing.sql", "known_hashes")).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}


def bootstrap(
    settings: Settings,
    force: bool = False,
    progress: Progress | None = None,
    on_report: Callable[[ImportReport], None] | None = None,
    *,
    fast_path: bool = True,
) -> list[ImportReport]:
    """Land every CSV in the data dir that is not landed yet (all of them with `force`).
    `fast_path=False` reads every file with DuckDB's reader (tests compare the two paths)."""
    files = find_inputs(settings.data_dir)
    warehouse = Warehouse(settings.warehouse)
    reports: list[ImportReport] = []
    if not files:
        return reports
    with warehouse.writer("bootstrap", wait_seconds=WRITER_WAIT_SECONDS) as writer:
        known = set() if force else known_hashes(warehouse)
        for path in files:
            report = _land_one(path, known, writer, settings, progress, fast_path)
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
    fast_path: bool,
) -> ImportReport:
    started = time.perf_counter()
    try:
        with open_input(path, settings.data_dir) as source:
            report = _land_checked(source, known, writer, settings, progress, fast_path)
    except NotRead as exc:
        # Not published: nothing was read, so no content hash knows it next time.
        report = ImportReport(path.name, "", 0, exc.status, exc.reason)
    report.message = redact(report.message, settings)
    report.warnings = [redact(w, settings) for w in report.warnings]
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _land_checked(
    source: InputFile,
    known: set[str],
    writer: WarehouseWriter,
    settings: Settings,
    progress: Progress | None,
    fast_path: bool,
) -> ImportReport:
    name, size = source.name, source.size
    identity = IdentityPass(source.source)
    try:
        try:
            return land_file(source, identity, known, writer, settings, progress, fast_path)
        except _AlreadyLanded:
            same = "already landed with the same content"
            return ImportReport(name, identity.result().digest, size, "unchanged", same)
        except LandingError as exc:
            message = str(exc)
        except WarehouseError:
            raise  # a full disk or a damaged warehouse stops every file, not just this one
        except OSError as exc:  # the identity pass could not read the file
            return ImportReport(name, "", 0, "failed", f"cannot read the file: {exc.strerror}")
        except Exception as exc:  # a bug must not stop the other files; keep the evidence
            detail = _error_text(traceback.format_exception_only(type(exc), exc)[-1], source)
            message = f"internal error: {detail}"
        try:
            digest = identity.result().digest
        except OSError as exc:
            return ImportReport(name, "", 0, "failed", f"cannot read the file: {exc.strerror}")
        return ImportReport(name, digest, size, "failed", message)
    finally:
        identity.close()


class _AlreadyLanded(Exception):
    """The identity pass found the file among those landed already."""


def land_file(
    source: InputFile,
    identity: IdentityPass,
    known: set[str],
    writer: WarehouseWriter,
    settings: Settings,
    progress: Progress | None = None,
    fast_path: bool = True,
) -> ImportReport:
    """Land one checked file as a new batch and publish it; returns its import report, or
    raises _AlreadyLanded when its identity is in `known` (found while it is being read).

    Until its header is recognised as a title table's, no message quotes anything of the
    file: it may be any file at all, and messages are printed and published.
    """
    started = time.perf_counter()
    name, size = source.name, source.size

    def digest() -> str:
        found = identity.result().digest
        if found in known:
            raise _AlreadyLanded
        return found

    batches: list[int] = []

    def batch_number() -> int:
        """Allocated once the file is known to be new (an unchanged file takes none)."""
        if not batches:
            digest()
            batches.append(writer.allocate_batch())
        return batches[0]

    def stop_if_known() -> None:
        if identity.done():
            digest()

    try:
        dialect = sniff(source.source, source.compressed)
        if dialect is None:
            reason = "not a title table: no line among the first ten names a TMDB id column"
            return _publish_skip(name, digest(), size, reason, writer, started)
        plan = plan_columns(dialect.header, name)
    except NotATitleTable as exc:
        return _publish_skip(name, digest(), size, f"not a title table: {exc}", writer, started)
    except (OSError, EOFError, zlib.error) as exc:
        # Named, not quoted: gzip's message quotes the file's first bytes.
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        what = "gzip file" if source.compressed else "file"
        raise LandingError(f"{name} is not a readable {what} ({why})") from None
    except Exception as exc:  # a bug; its message might quote a file not yet recognised
        raise LandingError(
            f"internal error while looking for the header of {name} ({type(exc).__name__})"
        ) from None

    why_slow = refusal(dialect, plan, source.compressed) if fast_path else "not asked for"
    identity.start(dialect.delimiter if why_slow is None else None)

    def scan_with(copy: InputFile, fast: IdentityPass | None = None) -> _Scan:
        return _scan(
            copy, dialect, plan, batch_number, writer, settings, progress, fast, stop_if_known
        )

    def land_copy() -> tuple[_Scan, Repair]:
        """Land a repaired UTF-8 copy of the file (see `sniff`) instead of the file."""
        repaired = writer.tmp_file(".csv")
        try:
            with writing(repaired):
                repair = transcode_to_utf8(
                    source.source,
                    repaired,
                    source.compressed,
                    encoding=dialect.encoding,
                    delimiter=dialect.delimiter,
                )
            copy = InputFile(name, repaired, False, repaired.stat().st_size, source.mtime)
            return scan_with(copy), repair
        finally:
            repaired.unlink(missing_ok=True)

    first: _Scan | UnreadableCsv | None = None
    repair: Repair | None = None
    if why_slow is None:
        try:
            first = scan_with(source, fast=identity)
            if first.resumed is None:
                log.debug("%s: read by Polars", name)
            else:
                records, why = first.resumed
                log.debug(
                    "%s: read by Polars up to record %d, the rest read by DuckDB (%s)",
                    name,
                    records,
                    why,
                )
        except (NeedsCarefulReader, UnreadableCsv) as exc:
            first = None  # its parts are gone; DuckDB reads the file as if this had not run
            why_slow = str(exc)
    if first is None:
        log.debug("%s: read by DuckDB (%s)", name, why_slow)
    try:
        if first is None and dialect.encoding == "utf-8":  # DuckDB reads UTF-8 only
            try:
                first = scan_with(source)
            except UnreadableCsv as refused:
                first = refused
        if isinstance(first, _Scan) and not (first.encoding_errors or first.structural):
            scan = first
        elif (
            first is None
            or (isinstance(first, _Scan) and first.encoding_errors)
            # Refused, or broken in places, as mixed line ends leave a file: DuckDB's strict
            # reader refuses a line end of another kind, or takes a quoted last cell before
            # one for an unterminated quote. Only such files pay for this check.
            or has_mixed_line_ends(source.source, source.compressed, delimiter=dialect.delimiter)
        ):
            if isinstance(first, _Scan):
                for part in first.parts:
                    part.unlink(missing_ok=True)
            scan, repair = land_copy()
        elif isinstance(first, UnreadableCsv):
            raise first
        else:
            scan = first
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # read by Python only for a repair
        if isinstance(first, _Scan):
            for part in first.parts:
                part.unlink(missing_ok=True)
        raise LandingError(f"{name} is not a readable gzip file ({type(exc).__name__})") from None

    landed_at = utcnow()
    batch = batch_number()
    rejects = scan.rejects(name, batch, landed_at)
    report = ImportReport(
        file=name,
        content_hash=digest(),
        bytes=size,
        status="landed",
        media_types=",".join(sorted(scan.media_types)),
        rows_read=scan.rows_read,
        accepted=scan.valid - scan.duplicates,
        duplicates=scan.duplicates,
        rejected=rejects.num_rows,
        batch=batch,
        rejects_by_reason=_reasons(rejects),
        warnings=list(plan.notes),
    )
    notes = [f"media type from {plan.media_type_origin}", *plan.notes]
    if repair and repair.encoding != "utf-8":
        notes.append(f"transcoded from {encoding_label(repair.encoding)} to UTF-8")
    if repair and repair.cp1252_lines:
        notes.append(f"{repair.cp1252_lines} lines were not UTF-8 and were read as Windows-1252")
    if repair and repair.mixed_line_ends:
        kinds = ", ".join(sorted(repair.line_ends))
        notes.append(f"line ends were mixed ({kinds}): each one ended a record")
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
        add["rejects"] = [writer.stage_table("rejects", rejects, f"{stem}.parquet")]
    add["imports"] = [
        writer.stage_table("imports", _import_row(report, landed_at), f"{stem}.parquet")
    ]
    writer.commit(add=add)
    return report


def _publish_skip(
    name: str, digest: str, size: int, reason: str, writer: WarehouseWriter, started: float
) -> ImportReport:
    report = ImportReport(name, digest, size, "skipped", reason)
    report.batch = writer.allocate_batch()
    report.seconds = round(time.perf_counter() - started, 3)
    table = _import_row(report, utcnow())
    name = f"batch-{report.batch:06d}.parquet"
    writer.commit(add={"imports": [writer.stage_table("imports", table, name)]})
    return report


def _import_row(report: ImportReport, landed_at: dt.datetime) -> pa.Table:
    row = {name: [getattr(report, name, None)] for name in IMPORT_SCHEMA.names}
    row["landed_at"] = [landed_at]
    return pa.table(row, schema=IMPORT_SCHEMA)


def _reasons(rejects: pa.Table) -> dict[str, int]:
    if not rejects.num_rows:
        return {}
    kinds = (
        pl.DataFrame(rejects)
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
    # (records read by Polars, why it stopped) when DuckDB's reader read the rest (resume.py)
    resumed: tuple[int, str] | None = None

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
    source: InputFile,
    dialect: Dialect,
    plan: ColumnPlan,
    batch: Callable[[], int],
    writer: WarehouseWriter,
    settings: Settings,
    progress: Progress | None,
    fast: IdentityPass | None,
    check: Callable[[], None],
) -> _Scan:
    """Stream `source` through the landing query into Parquet parts of accepted titles:
    read by Polars with `fast` (the file's identity pass, started with its delimiter; raises
    NeedsCarefulReader when the file must be read by DuckDB; where Polars stops at a broken
    record, DuckDB may read the rest: see `resume`), else by DuckDB's CSV reader.
    `batch` gives the batch number when the first part is written; `check` is called for
    each frame (it raises to stop)."""
    skip = dialect.skip_lines + 1
    scan = _Scan(skip=skip)
    # Header names never reach SQL text: columns are named c0..cN (see `validate`).
    columns = {f"c{i}": "VARCHAR" for i in range(len(dialect.header))}
    con = new_connection(memory_limit=settings.duckdb_memory_limit)
    load_cell_macros(con)
    query = landing_query(plan, decimal_comma=dialect.delimiter == ";")
    display_name = source.name
    landed_at = utcnow()
    # A record's age is its file's modification time, but never later than its landing:
    # a clock set wrong (or a file touched to the year 2400) would make its records win
    # every merge for good. A time before 1970 is taken as 1970.
    modified = min(max(source.mtime, 0.0), landed_at.timestamp())
    updated_at = dt.datetime.fromtimestamp(modified, dt.UTC)
    bytes_per_row = dialect.sample_bytes / max(dialect.sample_rows, 1)
    expected_rows: float | None = max(source.size / bytes_per_row, 1.0)
    if source.compressed:
        expected_rows = None
    keys: list[pl.DataFrame] = []
    pending: list[pl.DataFrame] = []
    provenance = {
        "source": pl.lit("csv"),
        "source_name": pl.lit(display_name),
        "batch": pl.lit(None, dtype=pl.Int64),  # set when written: see `batch`
        "updated_at": pl.lit(updated_at, dtype=TITLE_POLARS_SCHEMA["updated_at"]),
        "landed_at": pl.lit(landed_at, dtype=TITLE_POLARS_SCHEMA["landed_at"]),
        # The file's own `synthetic` column decides; else its name (demo data says both).
        "synthetic": pl.col("synthetic").fill_null(is_synthetic_file_name(display_name)),
    }

    # Parts are written on a background thread while DuckDB keeps scanning (Polars and
    # DuckDB both release the GIL); at most one part waits, which bounds memory.
    write_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet")
    writing: list[Future[None]] = []

    def flush() -> None:
        if not pending:
            return
        for done in writing:
            done.result()
        writing.clear()
        number = batch()
        part = writer.tmp_file()
        frames = list(pending)
        pending.clear()
        writing.append(write_pool.submit(_write_part, frames, part, number))
        scan.parts.append(part)

    params: dict[str, object] = {
        "path": str(source.source),
        "columns": columns,
        "skip": skip,
        "delim": dialect.delimiter,
        "compression": "gzip" if source.compressed else "none",
    }

    def careful(records: int) -> Iterator[pl.DataFrame]:
        """The DuckDB path's landing output from the record after the first `records`."""
        reader = con.sql(query, params={**params, "skip": skip + records})
        return _frames(reader.to_arrow_reader(BATCH_ROWS), BATCH_ROWS)

    def resumed(records: int, why: str) -> None:
        scan.resumed = (records, why)

    finished = False
    try:
        if fast is not None:
            frames = resumable(
                landing_frames(source.source, dialect, plan, con, fast, BATCH_ROWS),
                lambda read: keepable(
                    source.source, read, fast, plan, params, settings.duckdb_memory_limit
                ),
                careful,
                resumed,
            )
        else:
            frames = careful(0)
        for frame in frames:
            check()
            frame = frame.with_columns(
                (pl.int_range(pl.len(), dtype=pl.Int64) + scan.parsed_rows).alias("source_row")
            )
            scan.parsed_rows += frame.height
            if frame["_reason"].null_count() < frame.height:
                bad = frame.filter(pl.col("_reason").is_not_null())
                scan.value_rejects.append(
                    bad.select(
                        "source_row",
                        pl.col("_reason").alias("reason"),
                        pl.col("_raw")
                        .map_elements(
                            lambda text: raw_with_file_names(text, plan), return_dtype=pl.String
                        )
                        .alias("raw"),
                    )
                )
                frame = frame.filter(pl.col("_reason").is_null())
            if frame.height:
                accepted = frame.with_columns(**provenance).select(
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
        for done in writing:
            done.result()
        structural = (
            con.sql(statement("landing.sql", "structural_rejects")).fetchall()
            if fast is None or scan.resumed
            else []
        )
        for line, kind, raw_line, message in structural:
            if kind == "INVALID ENCODING":
                scan.encoding_errors = True
            if scan.structural and scan.structural[-1][0] == line:
                continue  # DuckDB reports some broken records once per column
            scan.structural.append((int(line), _structural_reason(kind, message), raw_line))
        finished = True
    except duckdb.OutOfMemoryException as exc:
        _raise_if_disk_full(exc, writer)
        raise LandingError(
            f"landing {display_name} needed more than the DuckDB memory limit "
            f"({settings.duckdb_memory_limit}); raise WATCHBUDDY_DUCKDB_MEMORY_LIMIT"
        ) from None
    except duckdb.IOException as exc:
        _raise_if_disk_full(exc, writer)
        raise LandingError(f"cannot read {display_name}: {_error_text(exc, source)}") from None
    except (duckdb.Error, OSError) as exc:
        _raise_if_disk_full(exc, writer)
        # Errors raised while streaming surface through Arrow as OSError.
        if "Out of Memory" in str(exc):
            raise LandingError(
                f"landing {display_name} needed more than the DuckDB memory limit "
                f"({settings.duckdb_memory_limit}); raise WATCHBUDDY_DUCKDB_MEMORY_LIMIT"
            ) from None
        raise UnreadableCsv(
            f"{display_name} is not a readable CSV: {_error_text(exc, source)}"
        ) from None
    finally:
        write_pool.shutdown(wait=True)
        con.close()
        if not finished:  # its parts will never be published
            for part in scan.parts:
                part.unlink(missing_ok=True)
    if keys:
        all_keys = pl.concat(keys)
        scan.duplicates = all_keys.height - all_keys.n_unique()
        scan.media_types = set(all_keys["media_type"].unique().to_list())
    if progress:
        progress(display_name, scan.parsed_rows, 1.0)
    return scan


def _raise_if_disk_full(exc: Exception, writer: WarehouseWriter) -> None:
    """DuckDB spilling to disk can run out of space too: that is not a bad CSV."""
    if is_disk_full(exc):
        raise DiskFull(writer.tmp_dir) from None


def _write_part(frames: list[pl.DataFrame], path: Path, batch: int) -> None:
    with writing(path):
        titles = pl.concat(frames).with_columns(pl.lit(batch, dtype=pl.Int64).alias("batch"))
        titles.write_parquet(path, **PARQUET_OPTIONS)


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
    return frame


def _error_text(error: object, source: InputFile) -> str:
    """The first line of an error, fit for a report: the file's name for the path it was
    read by, bounded, and control characters escaped (DuckDB may quote the offending line,
    but only of a file already recognised as a title table)."""
    lines = str(error).strip().splitlines() or [""]
    text = lines[0].replace(str(source.source), source.name)
    return printable(text[:MAX_ERROR_TEXT], one_line=True)


def _structural_reason(kind: str, message: str) -> str:
    reasons = {
        "TOO MANY COLUMNS": "broken record: more fields than the header",
        "MISSING COLUMNS": "broken record: fewer fields than the header",
        "UNQUOTED VALUE": "broken record: unterminated quote (file cut off?)",
        "INVALID ENCODING": "broken record: bytes that are not UTF-8",
        "LINE SIZE OVER MAXIMUM": "broken record: line longer than 4 MB",
    }
    first = (message.strip().splitlines() or [""])[0]
    return reasons.get(kind, f"broken record: {printable(first[:MAX_ERROR_TEXT], one_line=True)}")
