"""Sparklines of candidate rows, unpacked from the words the pool file carries.

pool.sql packs each title's popularity on each of the last `SPARKLINE_DAYS` export days into
`SPARK_WORDS` (a byte a day, day k before the newest day at byte k % 8 of word k // 8; a
byte is 1 + 16 x log2(1 + popularity), 0 when no export listed the title that day). Packing
costs the pool build a few seconds once per version; reading the history for a page of
results cost about a second on every page.
"""

from __future__ import annotations

import polars as pl

from watchbuddy.store.pool_cache import SPARK_WORDS, SPARKLINE_DAYS

STEPS_PER_DOUBLING = 16  # wb_spark_byte's 16 x log2(1 + popularity)


def _day_byte(days_before_newest: int) -> pl.Expr:
    word, byte = divmod(days_before_newest, 8)
    return (pl.col(SPARK_WORDS[word]).cast(pl.UInt64) // (256**byte)) % 256


def recent_popularity(frame: pl.DataFrame) -> pl.Series:
    """`recent`: per row of `frame` (which has the spark words), its popularity on each
    listed day of the last `SPARKLINE_DAYS`, oldest first (within about 2 % of 1 +
    popularity: a byte a day); null when no export in that time listed it."""
    oldest_first = [_day_byte(k) for k in range(SPARKLINE_DAYS - 1, -1, -1)]
    listed = pl.element().filter(pl.element() > 0)
    days = pl.concat_list(oldest_first).list.eval(
        (2.0 ** ((listed.cast(pl.Float64) - 1) / STEPS_PER_DOUBLING) - 1).round(2)
    )
    return frame.select(recent=pl.when(days.list.len() > 0).then(days)).to_series()
