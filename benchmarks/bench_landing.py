"""Landing benchmark (`make bench`): our bootstrap against a raw floor and a naive baseline.

On the synthetic demo dataset at full size (1.3M movies + 165K shows), in one run:
  (a) `watchbuddy bootstrap` of a clean copy of the demo (its one structurally broken record
      removed), which landing reads with its fast path (Polars), and
  (a') of the demo as it is, whose movie file the fast path reads up to the broken record
      and DuckDB's careful reader from there (or from the start, when the fast path's part
      cannot be kept: see sources/csv/resume.py): wall time, CPU time and peak RSS in a
      fresh process, and the landing's own time after its imports;
  (a'') of the clean copy with the fast path turned off (the DuckDB path alone, as before);
  (b) the raw floor: Polars `scan_csv(...).sink_parquet(...)` of the clean copy, no validation;
  (c) the naive alternative: pandas `read_csv` + `to_sql` into SQLite;
  (d) `SELECT count(*) FROM pool` on a fresh connection, before and after `compact`.
(a), (a') and (b) alternate for several rounds so machine noise hits them alike; medians are
reported. Results go to benchmarks/RESULTS.md (this section is rewritten each run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RESULTS = HERE / "RESULTS.md"
SECTION = "## Landing (issue: foundation)"

# Runs a command and prints its wall time, CPU time (user + system, all threads) and the
# peak RSS of that one child, as JSON. On a shared machine the wall time depends on what
# else runs; CPU time much less, so the benchmark reports both.
MEASURE = textwrap.dedent("""
    import json, resource, subprocess, sys, time
    started = time.perf_counter()
    done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                      "rss_mb": usage.ru_maxrss / 1024, "rc": done.returncode,
                      "stderr": done.stderr.decode()[-2000:]}))
""")

# The landing's own time after `watchbuddy`'s imports (about a second, measured elsewhere).
LAND_TIMED = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from watchbuddy.settings import Settings
    from watchbuddy.sources.csv.land import bootstrap
    started = time.perf_counter()
    bootstrap(Settings(data_dir=Path(sys.argv[1]), warehouse=Path(sys.argv[2])))
    print(json.dumps({"seconds": time.perf_counter() - started}))
""")

# The clean copy landed by the DuckDB path alone (`fast_path=False`), as before the fast path:
# the same files both ways in the same run.
LAND_CAREFUL = textwrap.dedent("""
    import sys
    from pathlib import Path
    from watchbuddy.settings import Settings
    from watchbuddy.sources.csv.land import bootstrap
    bootstrap(Settings(data_dir=Path(sys.argv[1]), warehouse=Path(sys.argv[2])), fast_path=False)
""")

FLOOR = textwrap.dedent("""
    import sys, polars as pl
    out = sys.argv[1]
    for i, path in enumerate(sys.argv[2:]):
        pl.scan_csv(path, infer_schema=False, truncate_ragged_lines=True).sink_parquet(
            f"{out}/floor-{i}.parquet")
""")

NAIVE = textwrap.dedent("""
    import sqlite3, sys, pandas as pd
    db = sqlite3.connect(sys.argv[1])
    for i, path in enumerate(sys.argv[2:]):
        frame = pd.read_csv(path, on_bad_lines="skip", low_memory=False)
        frame.to_sql(f"titles_{i}", db, if_exists="replace", index=False, chunksize=50_000)
    db.commit()
""")

COUNT = textwrap.dedent("""
    import json, sys, time
    import watchbuddy
    times = []
    for _ in range(5):
        started = time.perf_counter()
        con = watchbuddy.connect(sys.argv[1])
        n = con.sql("SELECT count(*) FROM pool").fetchall()[0][0]
        times.append(time.perf_counter() - started)
        con.close()
    print(json.dumps({"count": n, "seconds": sorted(times)[2]}))
""")


def bootstrap_command(data: Path, warehouse: Path, *extra: str) -> list[str]:
    """`watchbuddy bootstrap` of `data` into `warehouse`, as a child process's argv."""
    return [
        sys.executable,
        "-m",
        "watchbuddy",
        "--data-dir",
        str(data),
        "--warehouse",
        str(warehouse),
        "bootstrap",
        *extra,
    ]


def measure(*command: str, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    )
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{command} failed: {result['stderr']}")
    return result


def pool_count_timing(warehouse: Path) -> dict:
    """Median time of `SELECT count(*) FROM pool` on a fresh connection, in a new process."""
    done = subprocess.run(
        [sys.executable, "-c", COUNT, str(warehouse)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb
    import polars

    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM; {platform.platform()}; "
        f"Python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"polars {polars.__version__}"
    )


def timed_inside(data: Path, warehouse: Path) -> float:
    """The landing's own time in a child process, after its imports."""
    shutil.rmtree(warehouse, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", LAND_TIMED, str(data), str(warehouse)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (1 min), {five:.1f} (5 min)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_465_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()

    data = WORK / f"data-{args.rows}"
    if not (data / ".complete").exists():
        shutil.rmtree(data, ignore_errors=True)
        print(f"Generating {args.rows:,} demo rows in {data} ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "watchbuddy",
                "demo-data",
                "--rows",
                str(args.rows),
                "--out",
                str(data),
            ],
            check=True,
        )
        (data / ".complete").touch()
    clean = WORK / f"data-{args.rows}-clean"
    if not (clean / ".complete").exists():
        from watchbuddy.devtools.demo import without_broken_records

        print(f"Copying the demo without its broken record to {clean} ...", flush=True)
        without_broken_records(data, clean)
        (clean / ".complete").touch()
    csvs = sorted(str(p) for p in clean.glob("*.csv"))
    csv_mb = sum(Path(p).stat().st_size for p in csvs) / 2**20
    load_before = load()

    fast, careful, floor, duckdb_only = [], [], [], []
    fast_inside, careful_inside = [], []
    warehouse = WORK / "warehouse"
    for round_no in range(args.rounds):
        shutil.rmtree(warehouse, ignore_errors=True)
        fast.append(measure(*bootstrap_command(clean, warehouse)))
        shutil.rmtree(warehouse, ignore_errors=True)
        careful.append(measure(*bootstrap_command(data, warehouse)))
        floor_dir = WORK / "floor"
        shutil.rmtree(floor_dir, ignore_errors=True)
        floor_dir.mkdir(parents=True)
        floor.append(measure(sys.executable, "-c", FLOOR, str(floor_dir), *csvs))
        shutil.rmtree(warehouse, ignore_errors=True)
        duckdb_only.append(measure(sys.executable, "-c", LAND_CAREFUL, str(clean), str(warehouse)))
        fast_inside.append(timed_inside(clean, WORK / "warehouse-inside"))
        careful_inside.append(timed_inside(data, WORK / "warehouse-inside"))
        print(
            f"round {round_no + 1} ({load()}): bootstrap clean {fast[-1]['seconds']:.2f}s "
            f"({fast[-1]['rss_mb']:.0f} MB; {fast_inside[-1]:.2f}s after imports), "
            f"as is {careful[-1]['seconds']:.2f}s ({careful[-1]['rss_mb']:.0f} MB; "
            f"{careful_inside[-1]:.2f}s after imports), floor {floor[-1]['seconds']:.2f}s, "
            f"clean copy by DuckDB alone {duckdb_only[-1]['seconds']:.2f}s",
            flush=True,
        )
    shutil.rmtree(WORK / "warehouse-inside", ignore_errors=True)

    counts = pool_count_timing(warehouse)
    compact_run = measure(
        sys.executable, "-m", "watchbuddy", "--warehouse", str(warehouse), "compact"
    )
    counts_after = pool_count_timing(warehouse)
    naive = None
    if not args.skip_naive:
        db = WORK / "naive.sqlite"
        db.unlink(missing_ok=True)
        print("Running the pandas + SQLite baseline ...", flush=True)
        naive = measure(sys.executable, "-c", NAIVE, str(db), *csvs)
        db.unlink(missing_ok=True)

    def median(runs: list[dict], key: str = "seconds") -> float:
        return statistics.median(r[key] for r in runs)

    a, a2, b = median(fast), median(careful), median(floor)
    cpu_a, cpu_a2, cpu_b = median(fast, "cpu"), median(careful, "cpu"), median(floor, "cpu")
    a3, cpu_a3 = median(duckdb_only), median(duckdb_only, "cpu")
    a_in, a2_in = statistics.median(fast_inside), statistics.median(careful_inside)
    rss = max(r["rss_mb"] for r in fast)
    rss2 = max(r["rss_mb"] for r in careful)
    rows = [
        (
            "(a) `watchbuddy bootstrap`, clean copy (fast path)",
            f"{a:.2f} s",
            f"{cpu_a:.2f} s",
            f"{rss:.0f} MB",
        ),
        ("… its landing after imports", f"{a_in:.2f} s", "", ""),
        (
            "(a') `watchbuddy bootstrap`, demo as is (DuckDB from the broken record)",
            f"{a2:.2f} s",
            f"{cpu_a2:.2f} s",
            f"{rss2:.0f} MB",
        ),
        ("… its landing after imports", f"{a2_in:.2f} s", "", ""),
        (
            "(a'') clean copy, DuckDB path alone (`fast_path=False`)",
            f"{a3:.2f} s",
            f"{cpu_a3:.2f} s",
            f"{max(r['rss_mb'] for r in duckdb_only):.0f} MB",
        ),
        (
            "(b) raw floor: Polars scan_csv → sink_parquet",
            f"{b:.2f} s",
            f"{cpu_b:.2f} s",
            f"{max(r['rss_mb'] for r in floor):.0f} MB",
        ),
    ]
    verdicts = [
        ("(a) ≤ 1.3 × (b)", f"{a / b:.2f} × (CPU time {cpu_a / cpu_b:.2f} ×)", a <= 1.3 * b),
        ("(a') ≤ 1.3 × (b)", f"{a2 / b:.2f} × (CPU time {cpu_a2 / cpu_b:.2f} ×)", a2 <= 1.3 * b),
        (
            "(a) faster than (a''): the fast path's gain",
            f"{a3 / a:.2f} × (CPU time {cpu_a3 / cpu_a:.2f} ×)",
            a < a3,
        ),
        ("peak RSS of (a) ≤ 1.5 GB", f"{rss:.0f} MB", rss <= 1536),
        ("peak RSS of (a') ≤ 1.5 GB", f"{rss2:.0f} MB", rss2 <= 1536),
    ]
    if naive:
        rows.append(
            (
                "(c) naive: pandas read_csv + to_sql (SQLite)",
                f"{naive['seconds']:.2f} s",
                f"{naive['cpu']:.2f} s",
                f"{naive['rss_mb']:.0f} MB",
            )
        )
        for label, ours in (("(a)", a), ("(a')", a2)):
            cpu_ours = cpu_a if label == "(a)" else cpu_a2
            verdicts.append(
                (
                    f"{label} ≥ 8 × faster than (c)",
                    f"{naive['seconds'] / ours:.1f} × (CPU time {naive['cpu'] / cpu_ours:.1f} ×)",
                    naive["seconds"] / ours >= 8,
                )
            )
    verdicts.append(
        (
            "count(*) FROM pool, fresh connection ≤ 0.5 s",
            f"{counts['seconds'] * 1000:.0f} ms",
            counts["seconds"] <= 0.5,
        )
    )
    verdicts.append(
        (
            "… after `compact`",
            f"{counts_after['seconds'] * 1000:.0f} ms",
            counts_after["seconds"] <= 0.5,
        )
    )

    lines = [
        SECTION,
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}; "
        f"{load_before} before, {load()} after.",
        f"Data: synthetic demo, {args.rows:,} rows ({counts['count']:,} titles in the pool), "
        f"{csv_mb:.0f} MB of CSV; medians of {args.rounds} alternating rounds.",
        "",
        "| measurement | wall time | CPU time | peak RSS |",
        "|---|---|---|---|",
        *[f"| {n} | {t} | {c} | {m} |" for n, t, c, m in rows],
        f"| `watchbuddy compact` | {compact_run['seconds']:.2f} s | "
        f"{compact_run['cpu']:.2f} s | {compact_run['rss_mb']:.0f} MB |",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *[f"| {n} | {v} | {'yes' if ok else '**no**'} |" for n, v, ok in verdicts],
        "",
    ]
    write_section_named(SECTION, "\n".join(lines))
    print("\n".join(lines))


def write_section_named(title: str, section: str) -> None:
    """Replace one benchmark's section of RESULTS.md (from its `## ` title to the next),
    keeping the other sections and anything written by hand after a `### ` notes heading."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if title in text:
        head, rest = text.split(title, 1)
        body_and_tail = rest.split("\n## ", 1)
        notes = ""
        if "\n### " in body_and_tail[0]:
            notes = "\n### " + body_and_tail[0].split("\n### ", 1)[1].rstrip("\n") + "\n"
        tail = "\n## " + body_and_tail[1] if len(body_and_tail) > 1 else ""
        text = head + section + notes + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
