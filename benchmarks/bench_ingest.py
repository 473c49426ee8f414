"""Ingestion benchmark (`make bench`): rate use against a rate-limited fake TMDB, a 429 storm,
and how soon a published delta is visible to a new query.

The fake server runs in its own process, enforcing 40 requests/s (429 beyond) with 30 ms
of latency per request, and lists 20,000 movies released in the last year. We ingest them
with the default client settings (35 requests/s) and compare the run's duration with the
minimum possible at 40 requests/s for the requests it made. A second run injects a storm
of 429s mid-run and checks nothing is lost. A third publishes a 1,000-title delta while a
reader in another process polls with fresh connections.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

from bench_landing import WORK, machine, write_section_named

SECTION = "## Ingestion (issue: TMDB ingestion)"
TITLES = 20_000
RATE = 40.0
LATENCY = 0.03
KEY = "bench-key"

POLLER = textwrap.dedent("""
    import json, sys, time
    import watchbuddy
    root, target, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    # Polls until the pool holds a batch newer than the newest before the delta.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        con = watchbuddy.connect(root)
        n = con.sql("SELECT max(batch) FROM pool").fetchall()[0][0]
        con.close()
        if n >= target:
            print(json.dumps({"seen_at": time.time()}))
            break
        time.sleep(0.02)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(movies: int, start: dt.date, seed: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "watchbuddy.devtools.fake_tmdb",
            "--port",
            str(port),
            "--movies",
            str(movies),
            "--shows",
            "0",
            "--start",
            start.isoformat(),
            "--days-ahead",
            "0",
            "--api-key",
            KEY,
            "--rate-limit",
            str(RATE),
            "--latency",
            str(LATENCY),
            "--seed",
            str(seed),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    server.stdout.readline()  # "Fake TMDB serving ..."
    return server, f"http://127.0.0.1:{port}/3"


def ingest(base_url: str, warehouse: Path, start: dt.date) -> tuple[dict, float]:
    env = {
        **os.environ,
        "TMDB_API_KEY": KEY,
        "WATCHBUDDY_TMDB_BASE_URL": base_url,
        "WATCHBUDDY_WAREHOUSE": str(warehouse),
        "WATCHBUDDY_INGEST_START": start.isoformat(),
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "watchbuddy", "ingest", "movie", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"ingest failed: {done.stderr}")
    return json.loads(done.stdout)[0], wall


def pool_count(warehouse: Path) -> int:
    import watchbuddy

    return watchbuddy.connect(warehouse).sql("SELECT count(*) FROM pool").fetchall()[0][0]


def main() -> None:
    start = dt.date.today() - dt.timedelta(days=365)
    lines = [
        SECTION,
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        f"Fake TMDB in its own process: {TITLES:,} movies, {RATE:.0f} requests/s enforced "
        f"(429 beyond), {LATENCY * 1000:.0f} ms latency per request; client at its default "
        "35 requests/s, 8 in flight, details for 200 new titles.",
        "",
    ]

    # 1. Rate use.
    server, base_url = start_server(TITLES, start, seed=1)
    warehouse = WORK / "ingest-warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)
    try:
        run, wall = ingest(base_url, warehouse, start)
    finally:
        server.terminate()
    minimum = run["requests"] / RATE
    landed = pool_count(warehouse)
    print(f"clean run: {run['seconds']:.1f}s for {run['requests']} requests", flush=True)

    # 2. A 429 storm mid-run.
    server, base_url = start_server(TITLES, start, seed=1)
    storm_wh = WORK / "ingest-storm"
    shutil.rmtree(storm_wh, ignore_errors=True)
    try:
        env = {
            **os.environ,
            "TMDB_API_KEY": KEY,
            "WATCHBUDDY_TMDB_BASE_URL": base_url,
            "WATCHBUDDY_WAREHOUSE": str(storm_wh),
            "WATCHBUDDY_INGEST_START": start.isoformat(),
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "watchbuddy", "ingest", "movie", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(8)
        request = urllib.request.Request(
            base_url.removesuffix("/3") + "/__faults",
            method="POST",
            data=json.dumps({"status_burst": 300, "burst_status": 429}).encode(),
        )
        urllib.request.urlopen(request).read()
        out, _ = child.communicate(timeout=600)
        storm_run = json.loads(out)[0]
    finally:
        server.terminate()
    storm_landed = pool_count(storm_wh)
    print(f"storm run: {storm_run['seconds']:.1f}s, {storm_run['retries']} retries", flush=True)

    # 3. A 1,000-title delta, visible to a new query in another process.
    server, base_url = start_server(1_000, dt.date.today() - dt.timedelta(days=5), seed=2)
    try:
        import watchbuddy

        newest = watchbuddy.connect(warehouse).sql("SELECT max(batch) FROM pool").fetchall()[0][0]
        poller = subprocess.Popen(
            [sys.executable, "-c", POLLER, str(warehouse), str(newest + 1), "120"],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        ingest(base_url, warehouse, dt.date.today() - dt.timedelta(days=5))
        out, _ = poller.communicate(timeout=180)
    finally:
        server.terminate()
    committed = (warehouse / "manifest.json").stat().st_mtime
    visible_after = json.loads(out)["seen_at"] - committed

    lines += [
        "| measurement | value |",
        "|---|---|",
        f"| titles listed / landed (clean run) | {TITLES:,} / {landed:,} |",
        f"| requests (pages + details) | {run['requests']:,} ({run['pages']:,} pages) |",
        f"| run duration | {run['seconds']:.1f} s (wall incl. process start {wall:.1f} s) |",
        f"| minimum possible at {RATE:.0f}/s | {minimum:.1f} s |",
        f"| 429 storm (300 responses injected mid-run): duration, retries, titles landed | "
        f"{storm_run['seconds']:.1f} s, {storm_run['retries']:,}, {storm_landed:,} |",
        f"| 1,000-title delta: publish → seen by a polling reader (fresh connections) | "
        f"{visible_after * 1000:.0f} ms |",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| uses ≥ 85% of the allowed rate (≤ 1.18 × minimum time) | "
        f"{minimum / run['seconds']:.0%} of the rate, {run['seconds'] / minimum:.2f} × | "
        f"{'yes' if run['seconds'] <= 1.18 * minimum else '**no**'} |",
        f"| zero titles lost under a 429 storm | {TITLES - storm_landed} lost | "
        f"{'yes' if storm_landed == TITLES else '**no**'} |",
        f"| delta visible to a new query ≤ 1 s | {visible_after * 1000:.0f} ms | "
        f"{'yes' if visible_after <= 1.0 else '**no**'} |",
        "",
    ]
    write_section_named(SECTION, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
