"""Each SQL rule has one home: the stale rule, the dedup rule, the quoting helper, the table
list, and the statistics that `watchbuddy stats` and the Pool page both show."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from watchbuddy.pool.stats import STALE_AFTER_DAYS, pool_overview, pool_stats
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.sql import fill, literal, sql_file, statement
from watchbuddy.store import compact, views
from watchbuddy.store.schema import MERGED_FIELDS, TABLE_SCHEMAS
from watchbuddy.store.warehouse import TABLES, Warehouse

PACKAGE = Path(__file__).resolve().parent.parent / "watchbuddy"


def _land(settings: Settings, name: str, ids: range, age_days: float) -> None:
    """A CSV whose records were fetched `age_days` ago (a CSV's fetch time is its mtime)."""
    path = settings.data_dir / name
    rows = "".join(f"{i},Title {i},en,2001-01-01,10\n" for i in ids)
    path.write_text("id,title,original_language,release_date,vote_count\n" + rows)
    when = time.time() - age_days * 86400
    os.utime(path, (when, when))
    bootstrap(settings)


def test_stats_and_the_pool_page_count_stale_titles_by_the_same_rule(settings: Settings) -> None:
    _land(settings, "old_movies.csv", range(1, 4), STALE_AFTER_DAYS + 10)
    _land(settings, "recent_movies.csv", range(10, 12), STALE_AFTER_DAYS - 10)
    warehouse = Warehouse(settings.warehouse)
    con = views.open_views(warehouse)
    try:
        stats = pool_stats(con, warehouse)
        overview = pool_overview(con.cursor())
    finally:
        con.close()
    age = overview["age"].row(0, named=True)
    assert stats["titles"] == age["titles"] == 5
    assert stats["stale_titles"] == age["stale"] == 3
    assert stats["stale_share"] == 0.6
    assert stats["by_media_type"] == dict(overview["by_media_type"].iter_rows()) == {"movie": 5}


def test_the_stale_rule_and_the_dedup_rule_are_written_once() -> None:
    package_sql = "".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    every_sql = "".join(p.read_text() for p in (PACKAGE / "sql").glob("*.sql"))
    assert every_sql.count("to_days($stale_days)") == 1
    assert package_sql.count("STALE_AFTER_DAYS =") == 1
    assert sql_file("pool.sql").count("MACRO wb_newest") == 1
    assert "arg_max(" not in package_sql
    assert "max(record_order)" not in package_sql
    # The pool merges each field with the macro, and compaction keeps the records it picks.
    pool, snapshot = views.pool_sql(), compact.snapshot_sql()
    for field in MERGED_FIELDS:
        assert f"wb_newest({field}, record_order, {views.known_condition(field)})" in pool
        assert f"wb_newest(record_order, record_order, {views.known_condition(field)})" in (
            snapshot
        )


def test_sql_text_is_quoted_by_literal_only() -> None:
    hand_quoting = re.compile(r"""replace\(\s*("'"|chr\(39\))""")
    quoting = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if hand_quoting.search(p.read_text())
    ]
    assert quoting == ["sql/__init__.py"]
    assert literal("Ocean's 11") == "'Ocean''s 11'"


def test_the_table_list_is_the_schema_list() -> None:
    assert tuple(TABLE_SCHEMAS) == TABLES


def test_fill_replaces_placeholders_once_and_names_a_missing_one() -> None:
    assert fill("SELECT {a}, {b}", a="{b}", b="x") == "SELECT {b}, x"
    assert fill(r"regexp '\d{4}' {a}", a="1") == r"regexp '\d{4}' 1"
    with pytest.raises(KeyError, match="columns"):
        fill("SELECT {cols}", columns="x")


def test_every_statement_the_package_names_exists() -> None:
    named = re.compile(r"""statement\(\s*"(\w+\.sql)",\s*"(\w+)"\)""")
    aliased = re.compile(r'^(\w+) = "(\w+\.sql)"', re.MULTILINE)
    uses = re.compile(r"""statement\(\s*(\w+),\s*"(\w+)"\)""")
    seen = 0
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "sql":
            continue  # the loader's docstring names an example
        text = path.read_text()
        files = dict(aliased.findall(text))
        found = named.findall(text) + [(files[a], n) for a, n in uses.findall(text) if a in files]
        for file, name in found:
            assert statement(file, name), (path, file, name)
            seen += 1
    assert seen >= 30  # the scan found the package's statements
