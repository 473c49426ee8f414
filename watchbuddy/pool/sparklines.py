"""Sparklines of candidate rows, unpacked from the words the pool file carries.

pool.sql packs each title's popularity on each of the last `SPARKLINE_DAYS` export days into
`SPARK_WORDS` (a byte a day, day k before the newest day at byte k % 8 of word k // 8; a
byte is 1 + 16 x log2(1 + popularity), 0 when no export listed the title that day). Packing
costs the pool build a few seconds once per version; reading the history for a page of
results cost about a second on every page. Unpacking is left to whoever draws them (the
explorer), so a candidate query that does not draw them does not pay for it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from watchbuddy.store.pool_cache import SPARK_WORDS, SPARKLINE_DAYS

STEPS_PER_DOUBLING = 16  # wb_spark_byte's 16 x log2(1 + popularity)
# Each byte's popularity (byte 0: not listed that day).
_POPULARITY = np.round(2.0 ** ((np.arange(256) - 1) / STEPS_PER_DOUBLING) - 1, 2)


def recent_popularity(words: pl.DataFrame) -> pl.Series:
    """`recent`: per row of `words` (the spark words), its popularity on each listed day
    of the last `SPARKLINE_DAYS`, oldest first (within about 2 % of 1 + popularity: a byte
    a day); null when no export in that time listed it."""
    packed = (
        words.select(pl.col(*SPARK_WORDS).cast(pl.UInt64).fill_null(0))
        .to_numpy()
        .astype("<u8", copy=False)
    )
    # Little-endian words: byte k of the row is day k before the newest; oldest first.
    days = np.ascontiguousarray(packed).view(np.uint8)[:, SPARKLINE_DAYS - 1 :: -1]
    values = _POPULARITY[days]
    listed = days > 0
    return pl.Series(
        "recent",
        [row[keep].tolist() or None for row, keep in zip(values, listed, strict=True)],
        dtype=pl.List(pl.Float64),
    )
