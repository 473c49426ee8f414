"""The job specs are the one list of jobs: the README's table, the schedule settings and the
run records agree with them, and every setting's default is declared once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from watchbuddy.jobs.scheduler import parse_schedule
from watchbuddy.jobs.specs import BY_RECORD, JOB_NAMES, JOBS, JobSpec, job_spec
from watchbuddy.settings import DEFAULT_SETTINGS, SETTINGS, Settings
from watchbuddy.store.warehouse import TABLES

README = Path(__file__).resolve().parent.parent / "README.md"


def grace(seconds: int) -> str:
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"


def readme_row(job: JobSpec) -> str:
    writes = ", ".join(f"`{table}`" for table in job.writes)
    cells = [f"`{job.name}`", f"`{job.default_schedule}`", grace(job.misfire_grace), writes]
    return f"| {' | '.join([*cells, job.doc])} |"


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.name)
def test_every_job_is_in_the_readme_table_as_declared(job: JobSpec) -> None:
    text = README.read_text(encoding="utf-8")
    assert readme_row(job) in text, f"README's row for job {job.name} is stale"


def test_the_readme_table_lists_no_job_that_is_not_declared() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| job | default schedule |") :].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("| `")]
    assert rows == [readme_row(job) for job in JOBS]


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.name)
def test_a_job_spec_names_a_schedule_setting_tables_and_a_run_record_that_exist(
    job: JobSpec,
) -> None:
    setting = job.schedule_setting
    assert setting.kind is str and setting.env.startswith("WATCHBUDDY_SCHEDULE_")
    assert f"`{job.name}`" in setting.doc  # the setting's doc says which job it schedules
    parse_schedule(job.default_schedule)  # the default works
    assert job.schedule(Settings()) == job.default_schedule
    assert set(job.writes) <= set(TABLES) and "runs" in job.writes
    assert BY_RECORD[job.record] is job
    assert job_spec(job.name) is job


def test_every_schedule_setting_belongs_to_exactly_one_job() -> None:
    schedules = [s.name for s in SETTINGS if s.env.startswith("WATCHBUDDY_SCHEDULE_")]
    assert sorted(schedules) == sorted(job.setting for job in JOBS)
    assert len(set(JOB_NAMES)) == len(JOBS) == len(BY_RECORD)


def test_settings_defaults_are_the_declared_ones() -> None:
    """`SETTINGS` is derived from the `Settings` fields, so the two cannot disagree."""
    defaults = Settings()
    assert {s.name: getattr(defaults, s.name) for s in SETTINGS} == DEFAULT_SETTINGS
    settings_fields = [f.name for f in dataclasses.fields(Settings)]
    assert [s.name for s in SETTINGS] == [n for n in settings_fields if n != "config_file"]
