"""The pool applies a vote refresh newer than the title's record; scores follow by themselves."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq

import watchbuddy
from watchbuddy.settings import Settings
from watchbuddy.sources.csv.land import bootstrap
from watchbuddy.store.schema import VOTE_SCHEMA
from watchbuddy.store.warehouse import Warehouse


def test_newer_vote_refresh_patches_the_pool(settings: Settings) -> None:
    (settings.data_dir / "movies.csv").write_text(
        "id,title,vote_count,vote_average,popularity\n1,A,3,7.0,1.0\n2,B,5,6.0,1.0\n"
    )
    bootstrap(settings)
    con = watchbuddy.connect(settings.warehouse)
    before = dict(con.sql("SELECT tmdb_id, mainstream_score FROM pool").fetchall())

    warehouse = Warehouse(settings.warehouse)
    refreshed_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    stale = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    table = pa.table(
        {
            "media_type": ["movie", "movie", "tv"],
            "tmdb_id": [1, 2, 1],
            "vote_average": [8.0, 9.9, 9.9],
            "vote_count": [5000, 9999, 9999],
            "popularity": [50.0, 99.0, 99.0],
            "refreshed_at": [refreshed_at, stale, refreshed_at],
        },
        schema=VOTE_SCHEMA,
    )
    with warehouse.writer("test") as writer:
        tmp = writer.tmp_file()
        pq.write_table(table, tmp)
        writer.commit(add={"votes": [writer.stage("votes", tmp, "refresh-1.parquet")]})

    con = watchbuddy.connect(settings.warehouse)
    rows = {
        r[0]: r[1:]
        for r in con.sql(
            "SELECT tmdb_id, vote_count, vote_average, votes_refreshed_at IS NOT NULL, "
            "mainstream_score FROM pool ORDER BY tmdb_id"
        ).fetchall()
    }
    assert rows[1][:3] == (5000, 8.0, True)  # patched, and the score moved with it
    assert rows[1][3] > before[1]
    assert rows[2][:3] == (5, 6.0, False)  # an older refresh does not override
    assert con.sql("SELECT count(*) FROM pool").fetchall()[0][0] == 2  # no tv row invented
