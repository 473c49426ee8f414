"""Daily ID exports benchmark (`make bench`): `watchbuddy exports` against DuckDB's own copy.

On full-size synthetic exports (1.24M movie + 200K show lines a day, plus small adult
files), written as TMDB writes them (gzip NDJSON, TMDB's line shapes, unsorted ids) and
served over loopback HTTP, in one run:
  (a) `watchbuddy exports all` landing `--days` days: wall time per day and peak RSS, in a
      fresh process (download, parse, validate, sort, write, publish);
  (b) DuckDB's `COPY (SELECT id, popularity FROM read_ndjson(file)) TO 'x.parquet'` of the
      same files from disk, per day, in a fresh process;
  (c) bytes per title-day of `popularity_history` as landed, and of other Parquet layouts of
      the same rows (what the encoding choice in sources/exports/land.py rests on).
History is one file per (media type, day, kind), so its bytes per title-day do not depend
on how many days are kept: 30 and 90 days are the measured days' cost times the days
(extrapolated, not landed). Results go to benchmarks/RESULTS.md (this section is rewritten).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from bench_landing import WORK, machine, measure, write_section_named

SECTION = "## Daily ID exports (issue 13)"
MOVIES = 1_240_000
SHOWS = 200_000
ADULT = {"movie": 20_000, "tv": 2_000}
LAST_DAY = dt.date(2026, 8, 31)
WORDS = (
    "night river glass winter signal harbor letter orchard machine garden echo summer "
    "mirror island stranger promise shadow engine lantern border blondie"
).split()

SERVER = textwrap.dedent("""
    import functools, sys
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
    print(server.server_address[1], flush=True)
    server.serve_forever()
""")

# Both (a) and (b) also report their own time after the imports, so the comparison of the
# landing itself is not the comparison of `watchbuddy`'s imports (about a second) with
# DuckDB's (a tenth of one).
LAND_TIMED = textwrap.dedent("""
    import datetime as dt, json, sys, time
    from watchbuddy.settings import load_settings
    from watchbuddy.sources.exports.land import land_exports
    started = time.perf_counter()
    land_exports(load_settings(), "all", since=dt.date.fromisoformat(sys.argv[1]),
                 until=dt.date.fromisoformat(sys.argv[2]))
    print(json.dumps({"seconds": time.perf_counter() - started}))
""")

DUCKDB_COPY = textwrap.dedent("""
    import json, sys, time, duckdb
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    out = sys.argv[1]
    for i, path in enumerate(sys.argv[2:]):
        con.execute(
            f"COPY (SELECT id, popularity FROM read_ndjson('{path}')) "
            f"TO '{out}/copy-{i}.parquet' (FORMAT parquet, COMPRESSION zstd)"
        )
    print(json.dumps({"seconds": time.perf_counter() - started}))
""")


def file_name(media_type: str, day: dt.date, adult: bool) -> str:
    prefix = {"movie": "movie_ids", "tv": "tv_series_ids"}[media_type]
    return f"{'adult_' if adult else ''}{prefix}_{day:%m_%d_%Y}.json.gz"


def generate(folder: Path, days: list[dt.date]) -> None:
    """TMDB-shaped files: the same ids every day (a few new ones), popularity drifting."""
    rng = np.random.default_rng(13)
    names = np.array([" ".join(p) for p in zip(WORDS, WORDS[3:] + WORDS[:3], strict=True)])
    for media_type, count, adult in (
        ("movie", MOVIES, False),
        ("tv", SHOWS, False),
        ("movie", ADULT["movie"], True),
        ("tv", ADULT["tv"], True),
    ):
        base = 9_000_000 if adult else 0
        ids = base + np.sort(rng.choice(int(count * 1.25), count, replace=False)) + 1
        level = rng.lognormal(-0.5, 1.3, count)
        for day in days:
            path = folder / file_name(media_type, day, adult)
            if path.exists():
                continue
            level = level * rng.lognormal(0, 0.08, count)
            popularity = np.round(level, 4)
            order = rng.permutation(count)  # TMDB's files are not sorted by id
            title = names[rng.integers(0, len(names), count)]
            frame = pl.DataFrame({"id": ids[order], "name": title, "popularity": popularity[order]})
            if media_type == "movie":
                frame = frame.select(
                    pl.lit(adult).alias("adult"),
                    "id",
                    pl.col("name").alias("original_title"),
                    "popularity",
                    pl.lit(False).alias("video"),
                )
            else:
                frame = frame.select("id", pl.col("name").alias("original_name"), "popularity")
            text = frame.write_ndjson()
            tmp = path.with_suffix(".tmp")
            with gzip.open(tmp, "wb", compresslevel=6) as out:
                out.write(text.encode() if isinstance(text, str) else text)
            tmp.rename(path)
            print(f"  wrote {path.name} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)


def timed_inside(*command: str, env: dict[str, str]) -> float:
    """A child's own report of its time after imports."""
    done = subprocess.run(
        [sys.executable, "-c", *command],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def layouts(files: list[Path]) -> dict[str, float]:
    """Bytes per row of the same rows written other ways."""
    table = pq.read_table(files)
    rows = table.num_rows
    out = {}
    options = {
        "pyarrow defaults (snappy, dictionary)": {},
        "zstd, dictionary": {"compression": "zstd"},
        "zstd, plain": {"compression": "zstd", "use_dictionary": False},
        "zstd-3, delta ids, BYTE_STREAM_SPLIT popularity (landed)": {
            "compression": "zstd",
            "compression_level": 3,
            "use_dictionary": ["media_type", "date", "adult"],
            "column_encoding": {
                "tmdb_id": "DELTA_BINARY_PACKED",
                "popularity": "BYTE_STREAM_SPLIT",
            },
        },
    }
    scratch = WORK / "layout.parquet"
    for label, kwargs in options.items():
        pq.write_table(table, scratch, **kwargs)
        out[label] = scratch.stat().st_size / rows
    scratch.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args()
    days = [LAST_DAY - dt.timedelta(days=n) for n in range(args.days - 1, -1, -1)]
    files_dir = WORK / "exports-files"
    files_dir.mkdir(parents=True, exist_ok=True)
    print(f"Generating {args.days} days of full-size exports in {files_dir} ...", flush=True)
    generate(files_dir, days)

    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(files_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        warehouse = WORK / "exports-warehouse"
        shutil.rmtree(warehouse, ignore_errors=True)
        env = {
            "WATCHBUDDY_WAREHOUSE": str(warehouse),
            "WATCHBUDDY_TMDB_EXPORTS_URL": f"http://127.0.0.1:{port}",
        }
        print("Landing with `watchbuddy exports all` ...", flush=True)
        ours = measure(
            sys.executable,
            "-m",
            "watchbuddy",
            "exports",
            "all",
            "--since",
            str(days[0]),
            "--until",
            str(days[-1]),
            env=env,
        )
        shutil.rmtree(warehouse, ignore_errors=True)
        ours_inside = timed_inside(LAND_TIMED, str(days[0]), str(days[-1]), env=env)
    finally:
        server.terminate()
        server.wait()
    copy_dir = WORK / "exports-copy"
    shutil.rmtree(copy_dir, ignore_errors=True)
    copy_dir.mkdir()
    inputs = [
        str(p)
        for p in sorted(files_dir.glob("*.json.gz"))
        if any(f"{d:%m_%d_%Y}" in p.name for d in days)
    ]
    print("DuckDB COPY of the same files ...", flush=True)
    duck = measure(sys.executable, "-c", DUCKDB_COPY, str(copy_dir), *inputs)
    duck_inside = timed_inside(DUCKDB_COPY, str(copy_dir), *inputs, env={})

    history = sorted((warehouse / "popularity_history").glob("*.parquet"))
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in history)
    size = sum(p.stat().st_size for p in history)
    per_title_day = size / rows
    titles_a_day = rows / args.days
    copy_size = sum(p.stat().st_size for p in copy_dir.glob("*.parquet"))
    gz_bytes = sum(Path(p).stat().st_size for p in inputs)
    encodings = layouts(history[:4])

    ratio = ours["seconds"] / duck["seconds"]
    ratio_inside = ours_inside / duck_inside
    lines = [
        SECTION,
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        f"Data: synthetic TMDB-shaped exports, {args.days} days of {MOVIES:,} movie + "
        f"{SHOWS:,} show lines (plus {ADULT['movie']:,} + {ADULT['tv']:,} adult lines) a "
        f"day, {gz_bytes / 1e6 / args.days:.1f} MB of gzip a day; popularity lognormal with "
        "daily drift, 4 decimals. Ours downloads over loopback HTTP; DuckDB reads the files "
        "from disk.",
        "",
        "| measurement | wall time | per day | peak RSS |",
        "|---|---|---|---|",
        f"| (a) `watchbuddy exports all`, {args.days} days | {ours['seconds']:.2f} s | "
        f"{ours['seconds'] / args.days:.2f} s | {ours['rss_mb']:.0f} MB |",
        f"| (b) DuckDB `COPY (SELECT id, popularity FROM read_ndjson(…)) TO parquet` | "
        f"{duck['seconds']:.2f} s | {duck['seconds'] / args.days:.2f} s | "
        f"{duck['rss_mb']:.0f} MB |",
        f"| (a) after its imports (`land_exports` in-process) | {ours_inside:.2f} s | "
        f"{ours_inside / args.days:.2f} s | |",
        f"| (b) after its imports | {duck_inside:.2f} s | {duck_inside / args.days:.2f} s | |",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| (a) ≤ 1.5 × (b), whole processes | {ratio:.2f} × | "
        f"{'yes' if ratio <= 1.5 else '**no**'} |",
        f"| (a) ≤ 1.5 × (b), after imports | {ratio_inside:.2f} × | "
        f"{'yes' if ratio_inside <= 1.5 else '**no**'} |",
        f"| peak RSS of (a) ≤ 1 GB | {ours['rss_mb']:.0f} MB | "
        f"{'yes' if ours['rss_mb'] <= 1000 else '**no**'} |",
        f"| history ≤ 4 bytes per title-day | {per_title_day:.2f} B | "
        f"{'yes' if per_title_day <= 4 else '**no**'} |",
        "",
        f"History on disk ({titles_a_day:,.0f} title-days a day; one file per media type, "
        "day and kind, so the cost per title-day is the same for any number of days; 30 and "
        f"90 days extrapolated from the {args.days} landed):",
        "",
        "| days kept | bytes per title-day | on disk |",
        "|---|---|---|",
    ]
    for kept in (args.days, 30, 90):
        on_disk = per_title_day * titles_a_day * kept / 1e6
        lines.append(f"| {kept} | {per_title_day:.2f} | {on_disk:,.0f} MB |")
    lines += [
        "",
        f"DuckDB's copy (ids and popularity only, its defaults, zstd): "
        f"{copy_size / rows:.2f} bytes per row.",
        "",
        "Layouts of the same rows (the first day's four files):",
        "",
        "| layout | bytes per title-day |",
        "|---|---|",
        *[f"| {label} | {value:.2f} |" for label, value in encodings.items()],
        "",
    ]
    write_section_named(SECTION, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
