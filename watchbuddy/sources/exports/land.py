"""Landing TMDB's daily ID exports: popularity over time and the ID universe.

TMDB publishes, every day, one gzip file of every movie id and one of every show id, with
each title's popularity that day (and, since July 2023, separate files of adult titles). It
deletes each file after about three months, so a popularity history exists only for whoever
archives them: this module lands each (media type, day, regular or adult) file as one
Parquet file of `popularity_history` (id, date, popularity), published together with its
`exports` record in one manifest commit. A file that is not there yet (or any more) is
recorded 'missing' and tried again by the next run while TMDB may still serve it.

The gzip is streamed and inflated in batches of lines (never the whole file in memory);
each batch is parsed by pyarrow's JSON reader, and only a batch it refuses, or lines whose
values break a rule, are read line by line in Python to name each bad line's reason (as
rejects, like CSV rows: lines = accepted + rejected). A parsed file is sorted, written
and published in a thread while the next one downloads and parses. Ids are sorted and
written with delta encoding, popularity as float32 with BYTE_STREAM_SPLIT, both
zstd-compressed: about two to three bytes per title-day (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from isal import isal_zlib

from watchbuddy.errors import ConfigError, ExportsUnavailable, WatchBuddyError
from watchbuddy.safe_text import clip
from watchbuddy.settings import Settings
from watchbuddy.sql import statement
from watchbuddy.store.runs import Run, abandon_dead_runs, is_published, stage_run, start_run
from watchbuddy.store.schema import (
    EXPORT_SCHEMA,
    HISTORY_PARQUET,
    MAX_WHOLE_NUMBER,
    MEDIA_TYPES,
    POPULARITY_HISTORY_SCHEMA,
    REJECT_SCHEMA,
)
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import Warehouse, WarehouseWriter, utcnow, writing

# TMDB's file name prefixes by (media type, adult).
PREFIXES = {
    ("movie", False): "movie_ids",
    ("tv", False): "tv_series_ids",
    ("movie", True): "adult_movie_ids",
    ("tv", True): "adult_tv_series_ids",
}
KEEP_DAYS = 90  # TMDB deletes a file after about three months: older missing days are given up
MISSING_STATUSES = (403, 404)  # S3 behind files.tmdb.org answers 403 AccessDenied, or 404
WRITE_LOCK_WAIT_SECONDS = 120.0
BATCH_BYTES = 8 << 20  # inflated bytes parsed at once
QUEUED = 2  # inflated blocks waiting to be parsed
PUBLISHING = 2  # parsed files waiting to be sorted, written and published
MAX_LINE_BYTES = 1 << 20  # a longer "line" means the file is not an export
MAX_RAW_CHARS = 500  # of a rejected line kept in `rejects`
FLOAT32_MAX = float(np.finfo(np.float32).max)
# isal's stub declares `error` an Exception instance; it is the class IsalError.
GZIP_ERROR = cast(type[Exception], isal_zlib.error)
_LINE_SCHEMA = pa.schema([("id", pa.int64()), ("popularity", pa.float64())])

Progress = Callable[[str, int, float | None], None]


def media_types(choice: str) -> tuple[str, ...]:
    if choice == "all":
        return MEDIA_TYPES
    if choice not in MEDIA_TYPES:
        raise ConfigError(f"Unknown media type {clip(choice)!r}; use movie, tv or all.")
    return (choice,)


def file_name(media_type: str, day: dt.date, adult: bool) -> str:
    """TMDB's name for an export file, e.g. `movie_ids_08_31_2026.json.gz`."""
    return f"{PREFIXES[(media_type, adult)]}_{day:%m_%d_%Y}.json.gz"


@dataclass
class FileReport:
    """What became of one export file in a run."""

    media_type: str
    day: dt.date
    adult: bool
    file: str
    status: str = "missing"  # 'landed' or 'missing'
    lines: int = 0
    accepted: int = 0
    rejected: int = 0
    bytes: int = 0
    seconds: float = 0.0
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class ExportsResult:
    run: Run
    window: tuple[str, str]
    files: list[FileReport] = field(default_factory=list)

    @property
    def landed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "landed"]

    @property
    def missing(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "missing"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "window": list(self.window),
            "landed": len(self.landed),
            "missing": len(self.missing),
            "title_days": sum(f.accepted for f in self.landed),
            "rejected": sum(f.rejected for f in self.landed),
            "files": [f.to_dict() for f in self.files],
        }


# ---------------------------------------------------------------- parsing


def line_value(raw: bytes) -> tuple[int, float] | str:
    """A line's (id, popularity), or why it is rejected. The one rule for a line: the
    batch parser only finds lines to bring here, so every reason is worded once."""
    if not raw.strip():
        return "empty line"
    try:
        record = json.loads(raw)
    except ValueError as exc:
        return f"not JSON ({clip(str(exc), 80)})"
    if not isinstance(record, dict):
        return "not a JSON object"
    tmdb_id = record.get("id")
    if tmdb_id is None:
        return "no id"
    if isinstance(tmdb_id, bool) or not isinstance(tmdb_id, int):
        return "id is not a whole number"
    if not 1 <= tmdb_id <= MAX_WHOLE_NUMBER:
        return f"id out of range (1 to {MAX_WHOLE_NUMBER:,})"
    popularity = record.get("popularity")
    if popularity is None:
        return "no popularity"
    if isinstance(popularity, bool) or not isinstance(popularity, int | float):
        return "popularity is not a number"
    if not (math.isfinite(popularity) and 0 <= popularity <= FLOAT32_MAX):
        return "popularity is negative, too large or not finite"
    return tmdb_id, float(popularity)


@dataclass
class _Parsed:
    """What a file's lines gave so far: accepted ids, popularity and line numbers, and the
    rejected lines with their reasons."""

    ids: list[np.ndarray] = field(default_factory=list)
    popularity: list[np.ndarray] = field(default_factory=list)
    line_numbers: list[np.ndarray] = field(default_factory=list)
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, raw)
    lines: int = 0

    @property
    def accepted(self) -> int:
        return sum(len(a) for a in self.ids)

    def add_block(self, block: bytes) -> None:
        """Parse complete lines (`block` ends with a newline, or is the file's last line)."""
        newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n"))
        count = len(newlines) + (0 if block.endswith(b"\n") else 1)
        first = self.lines + 1
        self.lines += count
        table = _fast_parse(block, count, newlines)
        if table is None:
            self._slow(block.split(b"\n")[:count], first)
            return
        ids = table.column("id")
        popularity = table.column("popularity")
        bad = pc.fill_null(
            pc.or_(
                pc.or_(pc.less(ids, 1), pc.greater(ids, MAX_WHOLE_NUMBER)),
                pc.invert(
                    pc.and_(
                        pc.is_finite(popularity),
                        pc.and_(
                            pc.greater_equal(popularity, 0),
                            pc.less_equal(popularity, FLOAT32_MAX),
                        ),
                    )
                ),
            ),
            True,
        )
        numbers = np.arange(first, first + count, dtype=np.int64)
        if not pc.any(bad).as_py():
            self.ids.append(ids.to_numpy().astype(np.int32))
            self.popularity.append(popularity.to_numpy().astype(np.float32))
            self.line_numbers.append(numbers)
            return
        good = pc.invert(bad)
        self.ids.append(pc.filter(ids, good).to_numpy().astype(np.int32))
        self.popularity.append(pc.filter(popularity, good).to_numpy().astype(np.float32))
        self.line_numbers.append(numbers[good.to_numpy(zero_copy_only=False)])
        lines = block.split(b"\n")
        for index in np.flatnonzero(bad.to_numpy(zero_copy_only=False)):
            self._slow([lines[index]], first + int(index))

    def _slow(self, lines: list[bytes], first: int) -> None:
        ids, popularity, numbers = [], [], []
        for offset, raw in enumerate(lines):
            value = line_value(raw)
            if isinstance(value, str):
                text = raw[: MAX_RAW_CHARS * 4].decode("utf-8", "replace")[:MAX_RAW_CHARS]
                self.rejects.append((first + offset, value, text))
            else:
                ids.append(value[0])
                popularity.append(value[1])
                numbers.append(first + offset)
        if ids:
            self.ids.append(np.array(ids, dtype=np.int32))
            self.popularity.append(np.array(popularity, dtype=np.float32))
            self.line_numbers.append(np.array(numbers, dtype=np.int64))

    def sorted_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Accepted ids in order with their popularity; an id listed again is rejected
        (the first line keeps it)."""
        ids = np.concatenate(self.ids) if self.ids else np.empty(0, np.int32)
        popularity = np.concatenate(self.popularity) if self.ids else np.empty(0, np.float32)
        numbers = np.concatenate(self.line_numbers) if self.ids else np.empty(0, np.int64)
        # A stable argsort by id (blocks come in line order: ties keep it), done as one sort
        # of (id, position) keys: numpy's SIMD sort takes less than half the time.
        keys = (ids.astype(np.int64) << 32) | np.arange(len(ids), dtype=np.int64)
        keys.sort()
        order = keys & 0xFFFFFFFF
        ids, popularity, numbers = (keys >> 32).astype(np.int32), popularity[order], numbers[order]
        repeated = np.flatnonzero(ids[1:] == ids[:-1]) + 1
        if len(repeated):
            keep = np.ones(len(ids), dtype=bool)
            keep[repeated] = False
            for index in repeated:
                first = index - 1
                while first > 0 and ids[first - 1] == ids[index]:
                    first -= 1
                raw = json.dumps({"id": int(ids[index]), "popularity": float(popularity[index])})
                self.rejects.append(
                    (
                        int(numbers[index]),
                        f"id listed again (first on line {int(numbers[first]):,})",
                        raw,
                    )
                )
            ids, popularity = ids[keep], popularity[keep]
        return ids, popularity


def _fast_parse(block: bytes, count: int, newlines: np.ndarray) -> pa.Table | None:
    """The block's lines as (id, popularity), or None when pyarrow refuses it or a line is
    blank (pyarrow skips those, and reads two objects on one line as two rows, so the row
    count alone cannot tell): then the block is read line by line. `newlines` holds the
    block's newline positions (found with numpy: a third of the time of `bytes.find`)."""
    if len(newlines) and (newlines[0] == 0 or bool((np.diff(newlines) == 1).any())):
        return None
    try:
        table = pa_json.read_json(
            io.BytesIO(block),
            read_options=pa_json.ReadOptions(block_size=1 << 20),
            parse_options=pa_json.ParseOptions(
                explicit_schema=_LINE_SCHEMA, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != count:
        return None
    return table.combine_chunks()


# ---------------------------------------------------------------- download


def _lines_of(chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    """Blocks of complete lines from a gzip byte stream, inflated a bounded piece at a time
    (a small file that inflates to gigabytes is read like any other)."""
    inflate = isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS)
    pending = b""

    def take(data: bytes) -> Iterator[bytes]:
        nonlocal pending
        cut = data.rfind(b"\n") + 1
        if not cut:
            pending += data
            if len(pending) > MAX_LINE_BYTES:
                raise ExportsUnavailable(
                    f"{name} has a line longer than {MAX_LINE_BYTES:,} bytes: it is not a "
                    "TMDB export"
                )
            return
        yield pending + data[:cut] if pending else data[:cut]
        pending = data[cut:]

    try:
        for chunk in chunks:
            data = chunk
            while data:
                yield from take(inflate.decompress(data, BATCH_BYTES))
                data = inflate.unconsumed_tail
                if inflate.eof and inflate.unused_data:  # another gzip member follows
                    data = inflate.unused_data
                    inflate = isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS)
        yield from take(inflate.flush())
    except GZIP_ERROR as exc:
        raise ExportsUnavailable(f"{name} is not a gzip file ({exc})") from None
    if not inflate.eof:
        raise ExportsUnavailable(f"{name} ended before its gzip stream did (cut off)")
    if pending:
        yield pending


_DONE = object()


def _parse_while_reading(blocks: Iterator[bytes], parsed: _Parsed) -> None:
    """Parse blocks here while a thread downloads and inflates the next ones (zlib and
    pyarrow both release the GIL, so on two cores the two overlap). At most `QUEUED`
    blocks wait, so memory stays bounded whatever the file's size."""
    queued: queue.Queue[Any] = queue.Queue(maxsize=QUEUED)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                queued.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for block in blocks:
                if not put(block):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the parsing thread, which raises it
            put(exc)

    reader = threading.Thread(target=produce, name="exports-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = queued.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            parsed.add_block(item)
    finally:
        stop.set()
        reader.join(timeout=5)


def _fetch(http: Any, url: str, report: FileReport, progress: Progress | None) -> _Parsed | None:
    """Stream one file into a `_Parsed`; None when TMDB does not have it (403/404)."""
    import httpx

    parsed = _Parsed()
    try:
        with http.stream("GET", url) as response:
            if response.status_code in MISSING_STATUSES:
                report.message = f"HTTP {response.status_code}: not published (yet or any more)"
                return None
            if response.status_code != 200:
                raise ExportsUnavailable(
                    f"TMDB's export files answered HTTP {response.status_code} for "
                    f"{report.file}; try again later, or check WATCHBUDDY_TMDB_EXPORTS_URL"
                )
            length = response.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() else None

            def chunks() -> Iterator[bytes]:
                for chunk in response.iter_raw(1 << 20):
                    report.bytes += len(chunk)
                    if progress is not None:
                        fraction = min(report.bytes / total, 0.99) if total else None
                        progress(report.file, parsed.lines, fraction)
                    yield chunk

            _parse_while_reading(_lines_of(chunks(), report.file), parsed)
    except httpx.HTTPError as exc:
        raise ExportsUnavailable(
            f"TMDB's export files cannot be read ({type(exc).__name__} for {url}); check "
            "your connection and WATCHBUDDY_TMDB_EXPORTS_URL, or try again later"
        ) from None
    return parsed


# ---------------------------------------------------------------- publishing


def history_table(
    media_type: str, day: dt.date, adult: bool, ids: Any, popularity: Any
) -> pa.Table:
    """Rows of `popularity_history` for one file, in the order given (sorted by id)."""
    rows = len(ids)
    same = np.zeros(rows, dtype=np.int8)  # constant columns: built in C, not from lists
    return pa.table(
        {
            "media_type": pa.DictionaryArray.from_arrays(same, pa.array([media_type])).cast(
                pa.string()
            ),
            "tmdb_id": pa.array(ids, pa.int32()),
            "date": pa.DictionaryArray.from_arrays(same, pa.array([day], pa.date32())).cast(
                pa.date32()
            ),
            "popularity": pa.array(popularity, pa.float32()),
            "adult": pa.array(np.full(rows, adult, dtype=bool)),
        },
        schema=POPULARITY_HISTORY_SCHEMA,
    )


def _export_row(report: FileReport, url: str, run: Run) -> dict[str, Any]:
    return {
        "media_type": report.media_type,
        "export_date": report.day,
        "adult": report.adult,
        "status": report.status,
        "url": url,
        "lines": report.lines,
        "accepted": report.accepted,
        "rejected": report.rejected,
        "bytes": report.bytes,
        "landed_at": utcnow(),
        "run_id": run.run_id,
        "message": report.message,
    }


def _export_records(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=EXPORT_SCHEMA)


def _publish(
    writer: WarehouseWriter, report: FileReport, url: str, parsed: _Parsed, run: Run
) -> None:
    """One file's history, rejects and `exports` record, in one commit."""
    ids, popularity = parsed.sorted_rows()
    report.status = "landed"
    report.lines = parsed.lines
    report.accepted = len(ids)
    report.rejected = len(parsed.rejects)
    stem = f"{report.media_type}-{report.day}-{'adult' if report.adult else 'regular'}"
    stem = f"{stem}-{run.run_id}"
    add: dict[str, list[str]] = {}
    if len(ids):
        tmp = writer.tmp_file()
        with writing(writer.root / "popularity_history"):
            pq.write_table(
                history_table(report.media_type, report.day, report.adult, ids, popularity),
                tmp,
                **HISTORY_PARQUET,
            )
        add["popularity_history"] = [writer.stage("popularity_history", tmp, f"{stem}.parquet")]
    if parsed.rejects:
        now = utcnow()
        batch = writer.allocate_batch()
        rejects = pa.table(
            {
                "batch": [batch] * len(parsed.rejects),
                "file": [report.file] * len(parsed.rejects),
                "line": [line for line, _, _ in parsed.rejects],
                "reason": [reason for _, reason, _ in parsed.rejects],
                "raw": [raw for _, _, raw in parsed.rejects],
                "landed_at": [now] * len(parsed.rejects),
            },
            schema=REJECT_SCHEMA,
        )
        add["rejects"] = [writer.stage_table("rejects", rejects, f"exports-{stem}.parquet")]
    record = _export_records([_export_row(report, url, run)])
    add["exports"] = [writer.stage_table("exports", record, f"{stem}.parquet")]
    writer.commit(add=add)


# ---------------------------------------------------------------- the run


@dataclass(frozen=True)
class _Wanted:
    media_type: str
    day: dt.date
    adult: bool


def _export_state(warehouse: Warehouse) -> dict[tuple[str, dt.date, bool], str]:
    if not warehouse.read_manifest().files("exports"):
        return {}
    con = open_views(warehouse, materialize=False)
    try:
        rows = con.sql(statement("exports.sql", "export_state")).fetchall()
    finally:
        con.close()
    return {(m, d, a): status for m, d, a, status in rows}


def plan(
    state: dict[tuple[str, dt.date, bool], str],
    kinds: tuple[str, ...],
    today: dt.date,
    backfill_days: int,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> tuple[tuple[dt.date, dt.date], list[_Wanted]]:
    """The window and the files to try, oldest first: every file of the window not landed
    yet (by default from the day after the newest landed one of its media type; on a first
    run the last `backfill_days` days), and, without `--since`, files recorded missing that
    TMDB may still serve."""
    end = until or today
    starts = {}
    for media_type in kinds:
        landed = [d for (m, d, _), s in state.items() if m == media_type and s == "landed"]
        default = (
            max(landed) + dt.timedelta(days=1)
            if landed
            else today - dt.timedelta(days=backfill_days - 1)
        )
        starts[media_type] = since or default
    start = min(starts.values())
    if end < start and (since is not None or until is not None):
        raise ConfigError(
            f"The window is empty: it starts at {start} but ends at {end}; give a --since on "
            "or before the --until (or today)."
        )
    wanted: set[_Wanted] = set()
    for media_type in kinds:
        day = starts[media_type]
        while day <= end:
            for adult in (False, True):
                if state.get((media_type, day, adult)) != "landed":
                    wanted.add(_Wanted(media_type, day, adult))
            day += dt.timedelta(days=1)
    if since is None:
        oldest = today - dt.timedelta(days=KEEP_DAYS - 1)
        for (media_type, day, adult), status in state.items():
            if status == "missing" and media_type in kinds and oldest <= day <= end:
                wanted.add(_Wanted(media_type, day, adult))
    ordered = sorted(wanted, key=lambda w: (w.day, w.media_type, w.adult))
    return (start, end), ordered


class _Publisher:
    """Sorts, writes and publishes parsed files in a thread, one at a time and in order,
    while the next file downloads and parses: the sort and the Parquet writer run on one
    core, so the other was idle for about a fifth of a landing (benchmarks/RESULTS.md). At
    most `PUBLISHING` files wait, so memory stays bounded; each is still its own commit."""

    def __init__(self, writer: WarehouseWriter, run: Run, progress: Progress | None) -> None:
        self.writer, self.run, self.progress = writer, run, progress
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="exports-publish")
        self.pending: deque[Future[None]] = deque()

    def submit(self, report: FileReport, url: str, parsed: _Parsed) -> None:
        while len(self.pending) >= PUBLISHING:
            self.pending.popleft().result()
        self.pending.append(self.pool.submit(self._publish, report, url, parsed))

    def _publish(self, report: FileReport, url: str, parsed: _Parsed) -> None:
        _publish(self.writer, report, url, parsed, self.run)
        self.run.pages += 1
        self.run.titles_updated += report.accepted
        if self.progress is not None:
            self.progress(report.file, report.accepted, 1.0)

    def drain(self) -> None:
        """Wait for every file submitted; the first error of one is raised."""
        try:
            while self.pending:
                self.pending.popleft().result()
        finally:
            for future in self.pending:  # after an error: let the rest finish, unraised
                with contextlib.suppress(BaseException):
                    future.result()
            self.pending.clear()

    def close(self) -> None:
        with contextlib.suppress(BaseException):
            self.drain()
        self.pool.shutdown(wait=True)


def _failed(writer: WarehouseWriter, run: Run, exc: BaseException) -> None:
    if isinstance(exc, KeyboardInterrupt):
        message = "interrupted (Ctrl-C or SIGTERM); the files landed before stay landed"
    elif isinstance(exc, WatchBuddyError):
        message = str(exc)
    else:
        message = f"stopped by an unexpected error ({type(exc).__name__})"
    run.errors += 1
    run.finish("failed", message)
    writer.commit(add={"runs": [stage_run(writer, [run])]})


def land_exports(
    settings: Settings,
    media: str = "all",
    since: dt.date | None = None,
    until: dt.date | None = None,
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> ExportsResult:
    """Land every export file of the window not landed yet; see the module docstring."""
    import httpx

    kinds = media_types(media)
    today = today or dt.datetime.now(dt.UTC).date()
    base = settings.tmdb_exports_url.rstrip("/")
    warehouse = Warehouse(settings.warehouse)
    with warehouse.writer(f"exports {media}", wait_seconds=WRITE_LOCK_WAIT_SECONDS) as writer:
        abandon_dead_runs(writer)
        window, wanted = plan(
            _export_state(warehouse), kinds, today, settings.exports_backfill_days, since, until
        )
        run = Run(job="exports", media_type=media)
        result = ExportsResult(run, (window[0].isoformat(), window[1].isoformat()))
        start_run(writer, run)
        publisher = _Publisher(writer, run, progress)
        try:
            timeout = httpx.Timeout(max(settings.tmdb_timeout, 30.0), connect=10.0)
            with httpx.Client(timeout=timeout, follow_redirects=False) as http:
                for want in wanted:
                    name = file_name(want.media_type, want.day, want.adult)
                    report = FileReport(want.media_type, want.day, want.adult, name)
                    result.files.append(report)
                    started = time.monotonic()
                    run.requests += 1
                    parsed = _fetch(http, f"{base}/{name}", report, progress)
                    report.seconds = round(time.monotonic() - started, 3)
                    if parsed is not None:
                        publisher.submit(report, f"{base}/{name}", parsed)
            publisher.drain()
            _finish(writer, result, base, today)
        except BaseException as exc:
            publisher.close()  # the files parsed before the error land; the writer is free
            if not is_published(writer, run):
                with contextlib.suppress(OSError, WatchBuddyError, KeyboardInterrupt):
                    _failed(writer, run, exc)
            raise
        finally:
            publisher.close()
        return result


def _finish(writer: WarehouseWriter, result: ExportsResult, base: str, today: dt.date) -> None:
    """Record the missing files and the run in one commit. A file missing before today is
    TMDB's gap (or older than it keeps): the run is 'partial' and says which; today's file
    is simply not published yet."""
    run = result.run
    missing = result.missing
    add: dict[str, list[str]] = {}
    if missing:
        rows = [_export_row(r, f"{base}/{r.file}", run) for r in missing]
        name = f"missing-{run.run_id}.parquet"
        add["exports"] = [writer.stage_table("exports", _export_records(rows), name)]
    rejected = sum(r.rejected for r in result.landed)
    if rejected:
        run.messages.append(f"{rejected:,} lines rejected (see the rejects view)")
    gaps = [r.file for r in missing if r.day < today]
    if gaps:
        shown = ", ".join(gaps[:5]) + (f" and {len(gaps) - 5} more" if len(gaps) > 5 else "")
        run.messages.append(f"not served by TMDB (tried again next run): {shown}")
    if len(missing) > len(gaps):
        run.messages.append(f"{len(missing) - len(gaps)} of today's files not published yet")
    run.finish("partial" if gaps else "ok")
    add["runs"] = [stage_run(writer, [run])]
    writer.commit(add=add)
