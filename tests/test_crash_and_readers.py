"""Crash safety and concurrent readers, with real processes: SIGKILL mid-landing, readers
querying from another process while `bootstrap` and `compact` publish."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import watchbuddy
from watchbuddy.devtools.demo import generate
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.compact import compact
from watchbuddy.store.warehouse import TABLES, Warehouse

pytestmark = pytest.mark.slow

READER = r"""
import json, os, sys
import watchbuddy
from watchbuddy.store.views import refresh
root, stop = sys.argv[1], sys.argv[2]
seen, errors = [], []
held = watchbuddy.connect(root)          # a long-lived reader that refreshes, like the app
started = False
while True:
    last = os.path.exists(stop)          # one more round after the writers are done
    try:
        fresh = watchbuddy.connect(root)  # a new reader each time, like the CLI
        seen.append(fresh.sql("SELECT count(*) FROM pool").fetchall()[0][0])
        fresh.close()
        refresh(held)
        seen.append(held.sql("SELECT count(*) FROM pool").fetchall()[0][0])
    except Exception as exc:
        errors.append(repr(exc))
    if not started:
        print("reading", flush=True)      # the test's writers start now
        started = True
    if last:
        break
print(json.dumps({"seen": seen, "errors": errors}))
"""


@pytest.fixture(scope="module")
def medium_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("medium")
    generate(250_000, out, seed=11)
    return out


def _settings(tmp_path: Path, demo: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    for csv in demo.glob("*.csv"):
        shutil.copy(csv, data / csv.name)
    return Settings(data_dir=data, warehouse=tmp_path / "warehouse")


def _pool_count(root: Path) -> int:
    return watchbuddy.connect(root).sql("SELECT count(*) FROM pool").fetchall()[0][0]


class Reader:
    """READER in another process, reading from `root` from the moment it is started (once
    it has read) until `results` asks it to stop: it reads for exactly as long as the
    writers take, however slow a loaded machine makes them."""

    def __init__(self, root: Path) -> None:
        self.stop = root.parent / f"stop-reading-{id(self)}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", READER, str(root), str(self.stop)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == "reading\n", "the reader did not start"

    def results(self) -> dict:
        """Stop the reader after one more round; what it saw and the errors it met."""
        self.stop.touch()
        out, _ = self.process.communicate(timeout=120)
        return json.loads(out)


def test_sigkill_while_landing_leaves_a_readable_warehouse_and_rerun_completes(
    tmp_path: Path, medium_demo: Path
) -> None:
    reference = _settings(tmp_path / "reference", medium_demo)
    expected = {r.file: (r.accepted, r.rejected) for r in bootstrap(reference)}
    expected_pool = _pool_count(reference.warehouse)

    settings = _settings(tmp_path / "killed", medium_demo)
    env = {
        **os.environ,
        "WATCHBUDDY_DATA_DIR": str(settings.data_dir),
        "WATCHBUDDY_WAREHOUSE": str(settings.warehouse),
    }
    tmp_dir = settings.warehouse / "tmp"

    def parts() -> list[str]:  # Parquet parts being written, nothing of them published yet
        return sorted(p.name for p in tmp_dir.glob("*.parquet")) if tmp_dir.is_dir() else []

    def between_files() -> bool:  # the first file is published, the second is being landed
        return len(Warehouse(settings.warehouse).read_manifest().files("imports")) >= 1

    states = []
    # The first kill is meant to catch a part being written; a part can be published
    # between the look and the kill, so it tries again (a few times at most).
    for trigger in [lambda: bool(parts())] * 5 + [between_files]:
        if trigger is not between_files and states and states[-1]:
            continue
        child = subprocess.Popen(
            [sys.executable, "-m", "watchbuddy", "bootstrap", "--force"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not trigger() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
        child.wait()
        states.append(parts())
        # Readable at every instant, and only whole files are ever published.
        con = watchbuddy.connect(settings.warehouse)
        assert con.sql("SELECT count(*) FROM pool").fetchall()[0][0] in (
            0,
            expected["synthetic_TMDB_movie_dataset_v11.csv"][0],
            expected_pool,
        )
        assert con.sql(
            "SELECT bool_and(rows_read = accepted + duplicates + rejected) IS NOT false "
            "FROM imports"
        ).fetchall() == [(True,)]
    assert any(states[:-1]), "no kill caught a part being written"

    reports = bootstrap(settings)
    assert all(r.status in ("landed", "unchanged") for r in reports)
    assert any(r.status == "landed" for r in reports)  # the killed landing is redone
    assert _pool_count(settings.warehouse) == expected_pool
    con = watchbuddy.connect(settings.warehouse)
    per_file = dict(
        con.sql(
            "SELECT file, count(*) FROM imports WHERE status = 'landed' GROUP BY file"
        ).fetchall()
    )
    assert set(per_file.values()) == {1}  # each file landed exactly once
    # Nothing half-written is left behind once a writer has run.
    manifest = Warehouse(settings.warehouse).read_manifest()
    listed = {p for t in TABLES for p in manifest.files(t)}
    on_disk = {f"{t}/{f.name}" for t in TABLES for f in (settings.warehouse / t).glob("*")}
    assert on_disk == listed
    assert list((settings.warehouse / "tmp").iterdir()) == []


def test_readers_in_another_process_never_fail_during_compact(
    tmp_path: Path, medium_demo: Path
) -> None:
    settings = _settings(tmp_path, medium_demo)
    bootstrap(settings)
    total = _pool_count(settings.warehouse)
    reader = Reader(settings.warehouse)
    assert compact(Warehouse(settings.warehouse)).changed
    assert _pool_count(settings.warehouse) == total  # same pool after compaction
    (settings.data_dir / "extra_movies.csv").write_text("id,title\n999999991,Extra\n")
    bootstrap(settings)
    assert compact(Warehouse(settings.warehouse)).changed
    result = reader.results()
    assert result["errors"] == []
    assert result["seen"] and set(result["seen"]) <= {total, total + 1}


def test_reader_during_initial_bootstrap_sees_only_whole_files(
    tmp_path: Path, medium_demo: Path
) -> None:
    settings = _settings(tmp_path, medium_demo)
    settings.warehouse.mkdir(parents=True)
    reader = Reader(settings.warehouse)
    reports = bootstrap(settings)
    compact(Warehouse(settings.warehouse))
    result = reader.results()
    assert result["errors"] == []
    movies = next(r.accepted for r in reports if "movie" in r.file)
    total = _pool_count(settings.warehouse)
    assert set(result["seen"]) <= {0, movies, total}
    assert result["seen"]
