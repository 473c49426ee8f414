"""Cold-start benchmark (`make bench`): `make run` from a fresh clone to rows on screen.

Clones this repository's committed HEAD into benchmarks/work/coldstart and runs, one at a
time, exactly what `make run` runs there, timing each stage:

1. the virtual environment and `pip install` of the package (`make install`: runtime
   dependencies only),
2. the synthetic demo data (`watchbuddy demo-data --if-no-data`, the Makefile's DEMO_ROWS),
3. `watchbuddy bootstrap`,
4. `watchbuddy app`, from starting the process to the results grid showing rows in Debian's
   chromium (the browser is launched first and not timed; without chromium, to the server's
   first healthy answer only, and the report says so).

Same-run baselines: the install `make run` did before it skipped the dev extras (`make
setup` into a second fresh venv of the same clone: `pip install -e '.[dev]'`), and for the
command line's start-up the interpreter alone and the interpreter importing DuckDB, Polars
and PyArrow (what a command that reads the pool cannot avoid).

pip installs from whatever this machine's pip configuration names (here a local wheel
folder and local package indexes), so the install stages measure unpacking and resolving,
not downloads: on a machine that downloads from PyPI both installs take longer, the dev one
more.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_landing import WORK, machine, write_section_named

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.browser_support import (  # noqa: E402 - needs the repository root on sys.path
    chromium_missing,
    free_port,
    launch,
    stop_app,
    wait_for_rows,
    wait_until_healthy,
)

SECTION = "## Cold start (issue 16)"
CLONE = WORK / "coldstart"
DEV_VENV = ".venv-dev"  # the baseline install's venv, inside the clone (gitignored there)
STARTUP_REPEATS = 7


def clean_env() -> dict[str, str]:
    """The environment of a newcomer's shell: no watchbuddy settings, no active venv."""
    venv = os.environ.get("VIRTUAL_ENV")
    path = [
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if not (venv and p.startswith(venv)) and not p.startswith(str(Path(sys.prefix)))
    ]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WATCHBUDDY_", "TMDB_")) and k != "VIRTUAL_ENV"
    }
    env["PATH"] = os.pathsep.join(path)
    return env


def timed(command: list[str], env: dict[str, str]) -> float:
    """Seconds `command` takes in the clone; its output is kept for the error message."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=CLONE, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def demo_rows() -> str:
    """The Makefile's DEMO_ROWS: what `make run` generates."""
    found = re.search(r"^DEMO_ROWS \?= (\d+)$", (REPO / "Makefile").read_text(), re.M)
    if found is None:
        raise SystemExit("The Makefile sets no DEMO_ROWS default.")
    return found.group(1)


def venv_size(venv: Path) -> tuple[int, float]:
    """Installed distributions and megabytes of a venv."""
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    size = sum(p.stat().st_size for p in venv.rglob("*") if p.is_file() and not p.is_symlink())
    return len(listed), size / 2**20


def app_to_rows(env: dict[str, str]) -> tuple[float, float | None, str]:
    """Seconds from starting `watchbuddy app` to its server answering, and to rows on
    screen (None without a browser), and what was measured."""
    missing = chromium_missing()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(CLONE / ".venv" / "bin" / "watchbuddy"), "app", "--port", str(port)]
    log = open(WORK / "coldstart-app.log", "w")  # noqa: SIM115 - closed below
    playwright = browser = None
    if missing is None:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        browser = launch(playwright)
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=CLONE, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        up = wait_until_healthy(url, process) - started
        if browser is None:
            return up, None, f"server up only: {missing}"
        page = browser.new_page()
        page.goto(url)
        wait_for_rows(page, lambda rows: True, timeout=180)
        return up, time.monotonic() - started, "rows in the results grid, in chromium"
    finally:
        stop_app(process)
        log.close()
        if browser is not None:
            browser.close()
        if playwright is not None:
            playwright.stop()


def startups(commands: dict[str, list[str]], env: dict[str, str]) -> dict[str, float]:
    """Median seconds of each command (each starts, does its job and exits), the commands
    taking turns so that the machine's load falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(STARTUP_REPEATS):
        for name, command in commands.items():
            times[name].append(timed(command, env))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    env = clean_env()
    shutil.rmtree(CLONE, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(CLONE)], check=True)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=CLONE, capture_output=True, text=True
    ).stdout.strip()
    stages = {"git clone": time.perf_counter() - started}
    make = ["make", "--no-print-directory"]
    stages["venv + pip install (`make install`)"] = timed([*make, "install"], env)
    watchbuddy = str(CLONE / ".venv" / "bin" / "watchbuddy")
    rows = demo_rows()
    stages[f"demo data, {int(rows):,} rows (`watchbuddy demo-data`)"] = timed(
        [watchbuddy, "demo-data", "--if-no-data", "--rows", rows], env
    )
    stages["`watchbuddy bootstrap`"] = timed([watchbuddy, "bootstrap"], env)
    up, shown, what = app_to_rows(env)
    stages["`watchbuddy app`: process start to server up"] = up
    if shown is not None:
        stages["`watchbuddy app`: server up to rows on screen"] = shown - up
    for name, seconds in stages.items():
        print(f"{name}: {seconds:.1f} s", flush=True)

    dev_install = timed([*make, "setup", f"VENV={DEV_VENV}"], env)
    runtime_size = venv_size(CLONE / ".venv")
    dev_size = venv_size(CLONE / DEV_VENV)

    python = str(CLONE / ".venv" / "bin" / "python")
    starts = startups(
        {
            "`watchbuddy --help`": [watchbuddy, "--help"],
            "`watchbuddy recommend --limit 10` (demo pool)": [
                watchbuddy,
                "recommend",
                "--limit",
                "10",
            ],
            "baseline: `python -c pass`": [python, "-c", "pass"],
            "baseline: `python -c 'import duckdb, polars, pyarrow'`": [
                python,
                "-c",
                "import duckdb, polars, pyarrow",
            ],
        },
        env,
    )
    for name, seconds in starts.items():
        print(f"{name}: {seconds:.2f} s", flush=True)

    total = sum(stages.values())
    install = stages["venv + pip install (`make install`)"]
    load = os.getloadavg()
    lines = [
        SECTION,
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {machine()}; "
        f"load average at the end {load[0]:.1f} (1 min) {load[1]:.1f} (5 min)",
        "",
        f"A fresh clone of HEAD ({head}) in benchmarks/work/coldstart, then what `make run` "
        f"runs there, one stage at a time ({what}). pip installs from this machine's local "
        "wheel folder and package indexes (its pip configuration), so no download time is "
        "in the install stages.",
        "",
        "| stage | seconds |",
        "|---|---|",
        *[f"| {name} | {seconds:.1f} |" for name, seconds in stages.items()],
        f"| **clone to rows on screen** | **{total:.1f}** |",
        "",
        f"Same-run baseline: the install `make run` did before, with the dev extras (`make "
        f"setup` into a second fresh venv): {dev_install:.1f} s, {dev_size[0]} distributions, "
        f"{dev_size[1]:.0f} MB; the runtime install: {install:.1f} s, {runtime_size[0]} "
        f"distributions, {runtime_size[1]:.0f} MB ({dev_install / install:.1f}× faster).",
        "",
        f"Command-line start-up in the clone's venv (median of {STARTUP_REPEATS}):",
        "",
        "| command | seconds |",
        "|---|---|",
        *[f"| {name} | {seconds:.2f} |" for name, seconds in starts.items()],
        "",
    ]
    write_section_named(SECTION, "\n".join(lines))
    shutil.rmtree(CLONE, ignore_errors=True)


if __name__ == "__main__":
    main()
