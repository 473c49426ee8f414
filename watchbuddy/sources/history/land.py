"""`watchbuddy history import`: exports read (`detect`), matched to TMDB ids against the
pool (`match`) and published per file (`publish`), with a report that adds up:
rows read = matched + ambiguous + unmatched, and every row not matched kept in `rejects`
with its file, line, reason and raw text."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from watchbuddy.sources.history.detect import read_export
from watchbuddy.sources.history.entries import ParsedFile
from watchbuddy.sources.history.match import (
    KEY_COLUMNS,
    POOL_COLUMNS,
    Outcome,
    match,
    needs_pool,
)
from watchbuddy.sources.history.publish import publish
from watchbuddy.sql import fill, statement
from watchbuddy.store.schema import HISTORY_SCHEMA
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import WRITER_WAIT_SECONDS, Warehouse, utcnow

SQL = "history.sql"
EXAMPLES = 5  # rows not matched that the report shows (all are in `rejects`)


@dataclass
class HistoryReport:
    """One imported file: its rows read = matched + ambiguous + unmatched."""

    file: str
    source: str
    kind: str
    rows_read: int = 0
    matched: int = 0
    ambiguous: int = 0
    unmatched: int = 0
    stored: int = 0  # history rows published (matched rows, exact repeats once)
    titles: int = 0  # distinct titles among them
    # Titles among them the pool does not hold yet (an export's own TMDB id: kept, so the
    # title is left out of lists once it lands).
    not_in_pool: int = 0
    replaced: int = 0  # rows an earlier import of this file held, now replaced
    lists: dict[str, int] = field(default_factory=dict)  # stored rows per list
    reasons: dict[str, int] = field(default_factory=dict)  # not-matched rows per reason kind
    # The first rows not matched: (line, reason); all of them are in `rejects`.
    examples: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def history_frame_schema() -> pl.Schema:
    """HISTORY_SCHEMA as Polars types (derived, so the two cannot disagree)."""
    frame = pl.from_arrow(HISTORY_SCHEMA.empty_table())
    assert isinstance(frame, pl.DataFrame)
    return frame.schema


def _reason_kind(reason: str) -> str:
    """A reason without its specifics, for counting ('no title in the pool has IMDb id')."""
    for marker in (" tt", " '", ' "', ":", " ("):
        if marker in reason:
            reason = reason.split(marker, 1)[0]
    return re.sub(r"^\d+ ", "several ", reason.rstrip())


def pool_frame(warehouse: Warehouse, columns: tuple[str, ...] = POOL_COLUMNS) -> pl.DataFrame:
    """The pool's `columns` (its ids, titles and years): what export rows are matched against.
    The ids alone are a fifth of the read at 1.5M titles (0.2 against 1 s)."""
    con = open_views(warehouse)
    try:
        return con.sql(fill(statement(SQL, "pool_for_matching"), columns=", ".join(columns))).pl()
    finally:
        con.close()


def import_files(
    warehouse: Warehouse, paths: list[Path], source: str = "auto"
) -> list[HistoryReport]:
    """Import every file (all are read and checked before anything is written), one commit
    per file; re-importing a file replaces its earlier rows."""
    parsed = [(path, read_export(path, source)) for path in paths]
    # Rows that bring their TMDB id (Trakt's) need the pool only to count those it lacks.
    matching = any(needs_pool(file.entries) for _, file in parsed)
    pool = pool_frame(warehouse, POOL_COLUMNS if matching else KEY_COLUMNS)
    reports = []
    with warehouse.writer("history import", wait_seconds=WRITER_WAIT_SECONDS) as writer:
        for path, file in parsed:
            outcomes = match(file.entries, pool if needs_pool(file.entries) else None)
            report, rows, rejects = _rows(path.name, file, outcomes)
            report.not_in_pool = (
                rows.select(KEY_COLUMNS)
                .unique()
                .join(pool, on=list(KEY_COLUMNS), how="anti")
                .height
            )
            report.replaced = publish(writer, file.source, path.name, rows, rejects)
            reports.append(report)
    return reports


def _rows(
    name: str, file: ParsedFile, outcomes: list[Outcome]
) -> tuple[HistoryReport, pl.DataFrame, pl.DataFrame]:
    now = utcnow()
    report = HistoryReport(name, file.source, file.kind, rows_read=len(outcomes))
    counts = Counter(o.status for o in outcomes)
    report.matched, report.ambiguous, report.unmatched = (
        counts["matched"],
        counts["ambiguous"],
        counts["unmatched"],
    )
    stored = [
        {
            "source": file.source,
            "list": o.entry.list,
            "media_type": o.key[0],
            "tmdb_id": o.key[1],
            "rating": o.entry.rating,
            "watched_at": o.entry.watched_at,
            "file": name,
            "imported_at": now,
        }
        for o in outcomes
        if o.key is not None
    ]
    rows = pl.DataFrame(stored, schema=history_frame_schema()).unique(
        ["list", "media_type", "tmdb_id", "rating", "watched_at"], maintain_order=True
    )
    report.stored = rows.height
    report.titles = rows.select("media_type", "tmdb_id").unique().height
    report.lists = dict(Counter(rows.get_column("list").to_list()))
    failed = [o for o in outcomes if o.key is None]
    report.reasons = dict(Counter(_reason_kind(o.reason) for o in failed).most_common())
    report.examples = [(o.entry.line, f"{o.status}: {o.reason}") for o in failed[:EXAMPLES]]
    rejects = pl.DataFrame(
        {
            "file": [name] * len(failed),
            "line": [o.entry.line for o in failed],
            "reason": [f"{o.status}: {o.reason}" for o in failed],
            "raw": [o.entry.raw for o in failed],
            "landed_at": [now] * len(failed),
        },
        schema={
            "file": pl.String,
            "line": pl.Int64,
            "reason": pl.String,
            "raw": pl.String,
            "landed_at": pl.Datetime("us", "UTC"),
        },
    )
    return report, rows, rejects
