"""The Parquet warehouse: a manifest of published files, one writer at a time, readers unblocked.

Layout under the warehouse folder:

    manifest.json          the commit point: which files make up each table, plus state
    titles/ rejects/ imports/ runs/ checkpoints/ votes/   Parquet files, never modified
    tmp/                   files being written; anything here is unpublished
    .write.lock            OS lock held by the single writer (holder details inside)

A writer writes each file under `tmp/`, renames it into its table folder (still invisible:
no manifest lists it) and then replaces `manifest.json` by an atomic rename. Readers take
the file lists from the manifest they read, so they see either the old or the new set of
files, never a half-written file or half a batch. Files that a compaction replaces stay on
disk for `RETIRED_GRACE` so readers holding the previous manifest keep working; files no
manifest lists (left by a crash between writing and publishing) are removed by the next
writer. This is the same idea as Delta Lake or Iceberg snapshots, small enough to read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from watchbuddy.errors import DiskFull, WarehouseDamaged, WarehouseError, WarehouseLocked
from watchbuddy.store.schema import TABLE_SCHEMAS

MANIFEST = "manifest.json"
LOCK_FILE = ".write.lock"
TABLES = tuple(TABLE_SCHEMAS)
RETIRED_GRACE = dt.timedelta(hours=6)
# How long a writer started by hand (bootstrap, compact, repair) waits for the write lock
# before it names the holder and stops; TMDB jobs wait longer (ingest.py).
WRITER_WAIT_SECONDS = 30.0
FORMAT_VERSION = 1
# How every Parquet file is written: zstd level 1 is within 20% of the default level's size
# at 20% less CPU (benchmarks/RESULTS.md).
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 1}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def is_disk_full(exc: BaseException) -> bool:
    """Whether a write failed for lack of space. Python's OSError carries the errno; Polars
    and DuckDB only say it in their messages ("... No space left on device (os error 28)"),
    in the words of this system's strerror, which is what is looked for."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return any(os.strerror(code) in text for code in (errno.ENOSPC, errno.EDQUOT))


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Around a write into the warehouse: running out of space there is `DiskFull`, one line
    naming the file, not a library's traceback (the writer removes what was half-written)."""
    try:
        yield
    except DiskFull:
        raise
    except Exception as exc:
        if is_disk_full(exc):
            raise DiskFull(path) from None
        raise


@dataclass
class Manifest:
    """What is published. `version` grows by one with every commit."""

    version: int = 0
    next_batch: int = 1
    tables: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in TABLES})
    retired: list[dict[str, str]] = field(default_factory=list)  # {"path", "retired_at"}
    committed_at: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != FORMAT_VERSION:
            raise WarehouseError(
                f"The warehouse manifest has format {data.get('format')!r}, this version "
                f"reads {FORMAT_VERSION}; upgrade watchbuddy or point to another warehouse."
            )
        listed = data.get("tables", {})
        if not isinstance(listed, dict):
            raise ValueError("`tables` is not an object")
        tables = {t: [_own_file(t, f) for f in _list(listed.get(t, []))] for t in TABLES}
        retired = [_retired_entry(entry) for entry in _list(data.get("retired", []))]
        return cls(
            version=int(data["version"]),
            next_batch=int(data["next_batch"]),
            tables=tables,
            retired=retired,
            committed_at=data.get("committed_at"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "version": self.version,
            "next_batch": self.next_batch,
            "committed_at": self.committed_at,
            "tables": self.tables,
            "retired": self.retired,
        }

    def files(self, table: str) -> list[str]:
        return self.tables.get(table, [])

    @property
    def is_empty(self) -> bool:
        return not self.tables["titles"]


# A published file as writers name it: `<table>/<generated name>.parquet`, nothing else.
# The manifest is a file anyone can edit (or a warehouse copied from someone else), and the
# next writer deletes what it retires: an absolute path or `..` there would read, and then
# delete, any file on the machine.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.parquet")


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{value!r:.60} is not a list")
    return value


def _own_file(table: str, path: Any) -> str:
    folder, _, name = path.partition("/") if isinstance(path, str) else ("", "", "")
    if folder != table or not _FILE_NAME.fullmatch(name):
        raise ValueError(f"{path!r:.80} is not a file of the warehouse's {table} folder")
    return path


def _retired_entry(entry: Any) -> dict[str, str]:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        raise ValueError(f"retired entry {entry!r:.80} has no path")
    table = entry["path"].partition("/")[0]
    if table not in TABLES:
        raise ValueError(f"retired file {entry['path']!r:.80} is not in a table folder")
    _own_file(table, entry["path"])
    dt.datetime.fromisoformat(str(entry.get("retired_at")))  # ValueError when it is not a time
    return {"path": entry["path"], "retired_at": str(entry["retired_at"])}


class Warehouse:
    """A warehouse folder. Reading needs no lock; writing goes through `writer()`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def read_manifest(self) -> Manifest:
        """The published state; an absent manifest is an empty warehouse."""
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Manifest()
        except OSError as exc:
            self._refuse_a_file()
            raise WarehouseError(f"Cannot read {self.manifest_path}: {exc.strerror}.") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return Manifest.from_json(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise WarehouseError(
                f"{self.manifest_path} is damaged ({exc}); restore it from a backup, or delete "
                "the contents of the warehouse folder and run `watchbuddy bootstrap` again."
            ) from None

    def _refuse_a_file(self) -> None:
        """Name a warehouse that is a file (`/dev/null`, a CSV) for what it is, rather than
        by the error its first write or read gets."""
        if self.root.exists() and not self.root.is_dir():
            raise WarehouseError(
                f"The warehouse {self.root} is not a folder; point WATCHBUDDY_WAREHOUSE (or "
                "--warehouse) at a folder (it is created if missing)."
            )

    def path(self, relative: str) -> Path:
        return self.root / relative

    def missing_files(self, manifest: Manifest) -> list[str]:
        """Published files that are not on disk: a manifest never lists a file before it is
        in place, so these were deleted behind the warehouse's back."""
        return [f for t in TABLES for f in manifest.files(t) if not self.path(f).exists()]

    def check_files(self, manifest: Manifest) -> None:
        """Raise `WarehouseDamaged` naming the missing file(s) and the way back, rather
        than let a reader fail inside DuckDB with a bare IO error."""
        missing = self.missing_files(manifest)
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise WarehouseDamaged(
                f"The warehouse file {self.path(missing[0])}{more} is missing (deleted by "
                "hand?): run `watchbuddy repair` to drop it from the warehouse, then "
                "`watchbuddy bootstrap --force` to land the CSVs again."
            )

    def lock_holder(self) -> dict[str, Any] | None:
        """Who holds the write lock right now (None when nobody does)."""
        return lock_file_holder(self.root / LOCK_FILE)

    @contextlib.contextmanager
    def writer(self, purpose: str, wait_seconds: float = 0.0) -> Iterator[WarehouseWriter]:
        """Hold the single-writer lock for the duration of the block.

        Waits up to `wait_seconds` for another writer to finish, then raises
        `WarehouseLocked` naming the holder.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = open(self.root / LOCK_FILE, "a+")  # noqa: SIM115 - held for the block
        except OSError as exc:
            self._refuse_a_file()
            raise WarehouseError(
                f"Cannot write to the warehouse {self.root} ({exc.strerror}); point "
                "WATCHBUDDY_WAREHOUSE (or --warehouse) at a folder you can write."
            ) from None
        try:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = self.lock_holder() or {}
                        raise WarehouseLocked(
                            f"Another process (pid {holder.get('pid', '?')}, "
                            f"{holder.get('purpose', 'unknown task')}) is writing to "
                            f"{self.root}; try again when it has finished."
                        ) from None
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(
                json.dumps({"pid": os.getpid(), "purpose": purpose, "since": utcnow().isoformat()})
            )
            handle.flush()
            writer = WarehouseWriter(self)
            writer.remove_unpublished()
            try:
                yield writer
            except BaseException:
                # Free what was half-written now (a full disk wants it back), not at the
                # next writer's start.
                with contextlib.suppress(OSError, WarehouseError):
                    writer.remove_unpublished()
                raise
        finally:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


class WarehouseWriter:
    """Stages files and commits them; only exists while the write lock is held."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.root = warehouse.root
        self.tmp_dir = self.root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            (self.root / table).mkdir(exist_ok=True)

    def tmp_file(self, suffix: str = ".parquet") -> Path:
        return self.tmp_dir / f"{uuid.uuid4().hex}{suffix}"

    def allocate_batch(self) -> int:
        """Reserve the next batch number (a crash leaves a harmless gap)."""
        manifest = self.warehouse.read_manifest()
        batch = manifest.next_batch
        manifest.next_batch = batch + 1
        self._write_manifest(manifest, bump=False)
        return batch

    def stage(self, table: str, tmp: Path, name: str) -> str:
        """Move a finished temporary file into its table folder, still unpublished."""
        _fsync_file(tmp)
        relative = f"{table}/{name}"
        os.replace(tmp, self.root / relative)
        return relative

    def stage_table(self, table: str, rows: pa.Table, name: str) -> str:
        """Write an Arrow table as a Parquet file and stage it (still unpublished)."""
        tmp = self.tmp_file()
        with writing(self.root / table / name):
            pq.write_table(rows, tmp, **PARQUET_OPTIONS)
        return self.stage(table, tmp, name)

    def commit(
        self, add: dict[str, list[str]] | None = None, replace: dict[str, list[str]] | None = None
    ) -> Manifest:
        """Publish: append files to tables (`add`) or swap a table's whole list (`replace`)."""
        manifest = self.warehouse.read_manifest()
        now = utcnow().isoformat()
        for table, paths in (replace or {}).items():
            for old in manifest.tables[table]:
                if old not in paths:
                    manifest.retired.append({"path": old, "retired_at": now})
            manifest.tables[table] = list(paths)
        for table, paths in (add or {}).items():
            manifest.tables[table].extend(paths)
        self._write_manifest(manifest, bump=True)
        self.remove_expired()
        return manifest

    def _write_manifest(self, manifest: Manifest, bump: bool) -> None:
        if bump:
            manifest.version += 1
            manifest.committed_at = utcnow().isoformat()
        tmp = self.tmp_file(".json")
        with writing(self.warehouse.manifest_path):
            tmp.write_text(json.dumps(manifest.to_json(), indent=1), encoding="utf-8")
            _fsync_file(tmp)
        os.replace(tmp, self.warehouse.manifest_path)
        _fsync_dir(self.root)

    def drop_missing(self) -> list[str]:
        """Publish a manifest without the files that are missing from disk; returns them.
        Their records are lost already: this makes the rest of the warehouse readable."""
        manifest = self.warehouse.read_manifest()
        missing = set(self.warehouse.missing_files(manifest))
        if missing:
            for table in TABLES:
                manifest.tables[table] = [f for f in manifest.tables[table] if f not in missing]
            self._write_manifest(manifest, bump=True)
        return sorted(missing)

    def remove_unpublished(self) -> list[Path]:
        """Delete what a crashed writer left: temporary files and files no manifest lists."""
        manifest = self.warehouse.read_manifest()
        known = {p for paths in manifest.tables.values() for p in paths}
        known |= {r["path"] for r in manifest.retired}
        removed = []
        for tmp in self.tmp_dir.iterdir():
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)  # a DuckDB spill folder
            else:
                tmp.unlink(missing_ok=True)
            removed.append(tmp)
        for table in TABLES:
            for file in (self.root / table).glob("*.parquet"):
                if f"{table}/{file.name}" not in known:
                    file.unlink(missing_ok=True)
                    removed.append(file)
        return removed

    def remove_expired(self) -> None:
        """Delete retired files once no reader can still be using them."""
        manifest = self.warehouse.read_manifest()
        cutoff = utcnow() - RETIRED_GRACE
        keep = []
        for entry in manifest.retired:
            if dt.datetime.fromisoformat(entry["retired_at"]) < cutoff:
                (self.root / entry["path"]).unlink(missing_ok=True)
            else:
                keep.append(entry)
        if len(keep) != len(manifest.retired):
            manifest.retired = keep
            self._write_manifest(manifest, bump=False)


def lock_file_holder(path: Path) -> dict[str, Any] | None:
    """What the holder of an OS lock file wrote into it, or None when nobody holds it."""
    if not path.exists():
        return None
    with open(path, "a+") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            probe.seek(0)
            try:
                return json.loads(probe.read() or "{}")
            except ValueError:
                return {}
        fcntl.flock(probe, fcntl.LOCK_UN)
    return None


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
