"""Run records: every ingestion or refresh run is visible, including the ones that died.

A run commits a 'running' record before it asks TMDB for anything and a final record
('ok', 'partial', 'failed' or 'skipped') when it ends, in the same manifest commit as its
data. A run that stops early for any reason its process lives through (TMDB failing,
Ctrl-C, SIGTERM, a full disk) publishes a 'failed' record saying why. Only a process killed
outright leaves the 'running' record behind; since runs write only while holding the
warehouse write lock, any 'running' run found by the next lock holder is dead, and
`abandon_dead_runs` marks it 'incomplete'.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass, field

import pyarrow as pa

from watchbuddy.sql import statement
from watchbuddy.store.schema import RUN_SCHEMA
from watchbuddy.store.views import open_views
from watchbuddy.store.warehouse import WarehouseWriter, utcnow

MAX_MESSAGES = 20


@dataclass
class Run:
    job: str
    media_type: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: dt.datetime = field(default_factory=utcnow)
    finished_at: dt.datetime | None = None
    status: str = "running"
    pages: int = 0
    requests: int = 0
    titles_new: int = 0
    titles_updated: int = 0
    retries: int = 0
    errors: int = 0
    messages: list[str] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)

    def finish(self, status: str, message: str | None = None) -> None:
        self.status = status
        self.finished_at = utcnow()
        if message:
            self.messages.append(message)
        self.messages = self.messages[-MAX_MESSAGES:]

    @property
    def seconds(self) -> float:
        end = self.finished_at or utcnow()
        return round((end - self.started_at).total_seconds(), 3)

    def to_dict(self) -> dict:
        out = {name: getattr(self, name) for name in RUN_SCHEMA.names}
        out["seconds"] = self.seconds
        return out


def run_table(runs: list[Run]) -> pa.Table:
    return pa.table(
        {name: [getattr(r, name) for r in runs] for name in RUN_SCHEMA.names}, schema=RUN_SCHEMA
    )


def stage_run(writer: WarehouseWriter, runs: list[Run]) -> str:
    name = f"run-{runs[0].run_id}-{runs[0].status}-{uuid.uuid4().hex[:6]}.parquet"
    return writer.stage_table("runs", run_table(runs), name)


def is_published(writer: WarehouseWriter, run: Run) -> bool:
    """Whether the manifest holds `run`'s record with its current status (its file is
    named by run and status), so a run stopped just after its final commit is not also
    recorded as failed."""
    prefix = f"runs/run-{run.run_id}-{run.status}-"
    return run.status != "running" and any(
        name.startswith(prefix) for name in writer.warehouse.read_manifest().files("runs")
    )


def start_run(writer: WarehouseWriter, run: Run) -> None:
    """Publish the 'running' record so that a run that dies is still visible."""
    writer.commit(add={"runs": [stage_run(writer, [run])]})


def abandon_dead_runs(writer: WarehouseWriter) -> int:
    """Mark runs still 'running' as 'incomplete' (call while holding the write lock)."""
    if not writer.warehouse.read_manifest().files("runs"):
        return 0
    con = open_views(writer.warehouse, materialize=False)
    try:
        rows = con.sql(statement("run_records.sql", "still_running")).fetchall()
    finally:
        con.close()
    if not rows:
        return 0
    dead = []
    for run_id, job, media_type, started_at, pid in rows:
        run = Run(job=job, media_type=media_type, run_id=run_id, started_at=started_at, pid=pid)
        run.finish(
            "incomplete",
            "the process ended before the run finished; nothing it "
            "fetched was published and its checkpoint was not moved",
        )
        dead.append(run)
    writer.commit(add={"runs": [stage_run(writer, dead)]})
    return len(dead)
