"""Providers benchmark (`make bench`): requests and wall time to fetch one region's streaming
availability, 10 providers with catalogues as large as TMDB's, at the client's 35 requests/s.

The fake server runs in its own process with 75,000 titles and TMDB-sized provider
catalogues (`--tmdb-sized-providers`: Netflix about 7,000 titles flatrate, each rent/buy
store 18,000-25,000 per type), enforcing 40 requests/s (429 beyond) with 30 ms of latency
per request, like the ingestion benchmark. `watchbuddy providers --region US` fetches every
catalogue per monetization type and media type through discover (splitting the ones over
TMDB's 10,000-result cap) and publishes the region; a second run replaces it. The request
count is compared with the README's budget formula.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_ingest import free_port
from bench_landing import WORK, machine, write_section_named

SECTION = "## Streaming availability (issue 14)"
MOVIES, SHOWS = 60_000, 15_000
RATE = 40.0
LATENCY = 0.03
KEY = "bench-key"
REGION = "US"
PROVIDERS = 10
KINDS, MEDIA = 5, 2  # monetization types, media types: one discover query each per provider


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "watchbuddy.devtools.fake_tmdb",
            "--port",
            str(port),
            "--movies",
            str(MOVIES),
            "--shows",
            str(SHOWS),
            "--api-key",
            KEY,
            "--rate-limit",
            str(RATE),
            "--latency",
            str(LATENCY),
            "--tmdb-sized-providers",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    server.stdout.readline()  # "Fake TMDB serving ..."
    return server, f"http://127.0.0.1:{port}/3"


def fetch(base_url: str, warehouse: Path) -> tuple[dict, float]:
    env = {
        **os.environ,
        "TMDB_API_KEY": KEY,
        "WATCHBUDDY_TMDB_BASE_URL": base_url,
        "WATCHBUDDY_WAREHOUSE": str(warehouse),
        "WATCHBUDDY_WATCH_PROVIDERS": "",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "watchbuddy", "providers", "--region", REGION, "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"providers failed: {done.stderr}")
    return json.loads(done.stdout), wall


def main() -> None:
    warehouse = WORK / "providers-warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)
    server, base_url = start_server()
    try:
        first, first_wall = fetch(base_url, warehouse)
        print(f"first fetch: {first_wall:.1f}s, {first['requests']} requests", flush=True)
        second, second_wall = fetch(base_url, warehouse)
        print(f"rerun: {second_wall:.1f}s, {second['requests']} requests", flush=True)
    finally:
        server.terminate()
    region = first["regions"][0]
    if region["status"] != "ok" or len(region["providers"]) != PROVIDERS:
        raise SystemExit(f"unexpected region result: {region}")
    floor = KINDS * MEDIA * PROVIDERS + 3  # empty queries + regions list + 2 provider lists
    pages = first["pages"]
    lines = [
        SECTION,
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        f"Fake TMDB in its own process: {MOVIES:,} movies and {SHOWS:,} shows, 10 providers in "
        f"{REGION} with TMDB-sized catalogues (`--tmdb-sized-providers`), {RATE:.0f} "
        f"requests/s enforced (429 beyond), {LATENCY * 1000:.0f} ms latency per request; "
        "client at its default 35 requests/s, 8 in flight. `watchbuddy providers --region "
        f"{REGION}` with every provider the region lists.",
        "",
        "| run | wall | requests | discover pages | retries | titles available | offers "
        "(provider, type, title) | new to the pool | requests/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run, wall in (("first fetch", first, first_wall), ("rerun", second, second_wall)):
        r = run["regions"][0]
        lines.append(
            f"| {name} | {wall:.1f} s | {run['requests']:,} | {run['pages']:,} | "
            f"{run['retries']:,} | {r['titles']:,} | {r['offers']:,} | {r['new_titles']:,} | "
            f"{run['requests'] / wall:.1f} |"
        )
    lines += [
        "",
        f"Budget check: 3 list requests + {KINDS} monetization types x {MEDIA} media types x "
        f"{PROVIDERS} providers = {floor} first pages, plus one request per further page "
        f"(about offers / 20 = {math.ceil(region['offers'] / 20):,}) and the first pages of "
        "the date windows a catalogue over the cap is split into; measured "
        f"{first['requests']:,} requests for {pages:,} pages read. At 35 requests/s that is "
        f"{first['requests'] / 35 / 60:.1f} minutes of requests per region per day.",
        "",
    ]
    write_section_named(SECTION, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
