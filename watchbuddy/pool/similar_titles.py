"""What a query is to be like: the liked titles (`--like`) and, in `for_you`, your history.

The candidate provider asks `SimilarTitles.likeness(filters, ...)` before each query: which
titles are liked (resolved against the pool: `similar.find_title`), how alike every other
title is to them (`similar.SimilarityIndex.profile`), which titles leave the list (the liked
ones, and in `for_you` the rated and watched ones the profile is built from) and the notes
the user should see. The index is built on the first such query of a pool version and kept;
the history profile is read once per published version of the `history` table; the last
few similarity vectors are kept, so paging through a list computes nothing again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from watchbuddy.pool import similar
from watchbuddy.pool.filters import CandidateFilters
from watchbuddy.sql import statement
from watchbuddy.store.views import new_connection, raw_view_sql
from watchbuddy.store.warehouse import Warehouse

SQL = "similar.sql"
FOR_YOU = "for_you"
# A for_you profile reads at most this many liked and disliked titles (the best rated, then
# the most recently watched; the worst rated), so its cost stays bounded on a long history.
PROFILE_LIKED = 30
PROFILE_DISLIKED = 10
VECTORS_KEPT = 8  # similarity vectors kept per provider (a list and its pages)
NO_HISTORY = (
    "for_you has no history to go by, so it ranks like balanced: import your ratings or "
    "watched list with `watchbuddy history import FILE` (Trakt, Letterboxd or IMDb exports)."
)


@dataclass
class Likeness:
    """One query's similarity: titles alike to the liked ones (row position, value), the
    liked rows (for the shared keywords), the titles to leave out and notes."""

    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    values: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float64))
    liked: tuple[int, ...] = ()
    excluded: frozenset[tuple[str, int]] = frozenset()
    notes: list[str] = field(default_factory=list)
    index: similar.SimilarityIndex | None = None

    @property
    def active(self) -> bool:
        return bool(self.liked)

    def table(self, kept: np.ndarray | None = None) -> pa.Table:
        """`similar_titles` for the query (rid, similarity): every alike title, or those at
        the positions `kept`."""
        if kept is None:
            return pa.table({"rid": self.rows, "similarity": self.values})
        return pa.table({"rid": self.rows[kept], "similarity": self.values[kept]})

    def shares(self, rids: list[int]) -> pl.Series:
        """Per chosen row, "; shares: dream, heist" (its keywords in common with the liked
        titles, rarest first), or "" when nothing is liked."""
        if not self.active or self.index is None:
            return pl.Series("shares", [""] * len(rids), dtype=pl.String)
        found = self.index.shared(rids, self.liked)
        return pl.Series(
            "shares", [f"; shares: {', '.join(words)}" if words else "" for words in found]
        )


@dataclass(frozen=True)
class Profile:
    """A history's liked rows (row, weight), disliked rows and every title it names."""

    liked: tuple[tuple[int, float], ...]
    disliked: tuple[int, ...]
    seen: frozenset[tuple[str, int]]


class SimilarTitles:
    """The similarity index and history profile of one warehouse's loaded pool version."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._lock = threading.Lock()
        self._index: tuple[Path, similar.SimilarityIndex, similar.TitleLookup] | None = None
        self._profile: tuple[tuple[Path, tuple[str, ...]], Profile] | None = None
        self._vectors: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def index(self, path: Path) -> tuple[similar.SimilarityIndex, similar.TitleLookup]:
        """The index and title keys of the pool file at `path` (built on first use)."""
        with self._lock:
            if self._index is None or self._index[0] != path:
                frame = pl.read_parquet(
                    path,
                    columns=[
                        *similar.INDEX_COLUMNS,
                        "title",
                        "original_title",
                        "media_type",
                        "tmdb_id",
                    ],
                )
                built = similar.SimilarityIndex.build(frame)
                self._index = (path, built, similar.TitleLookup.build(frame))
                self._vectors.clear()
            return self._index[1], self._index[2]

    def likeness(
        self, filters: CandidateFilters, display: pl.DataFrame, path: Path | None
    ) -> Likeness:
        """What `filters` is to be like (nothing without --like and outside `for_you`)."""
        if path is None or not (filters.like or filters.mode == FOR_YOU):
            return Likeness()
        index, keys = self.index(path)
        liked_rows = [similar.find_title(display, keys, asked) for asked in filters.like]
        liked = [(row, 1.0) for row in liked_rows]
        disliked: list[int] = []
        seen: set[tuple[str, int]] = set()
        notes: list[str] = []
        if filters.mode == FOR_YOU:
            profile = self.profile(display, path)
            liked += [p for p in profile.liked if p[0] not in liked_rows]
            disliked = list(profile.disliked)
            seen = set(profile.seen)
            if not profile.liked:
                notes.append(NO_HISTORY)
        keys_of = display.select("media_type", "tmdb_id")
        seen.update((keys_of["media_type"][r], int(keys_of["tmdb_id"][r])) for r in liked_rows)
        if not liked:
            return Likeness(excluded=frozenset(seen), notes=notes)
        # The candidate table is sorted by vote count (pool_cache.sql), so the titles that
        # meet the query's vote floor are its first rows: only those are computed.
        votes = display["vote_count"].to_numpy()
        below = int(np.searchsorted(-votes, -filters.vote_floor, side="right"))
        rows, values = self._vector(path, tuple(liked), tuple(disliked), below, index)
        return Likeness(
            rows,
            values,
            tuple(row for row, _ in liked),
            frozenset(seen),
            notes,
            index,
        )

    def _vector(
        self,
        path: Path,
        liked: tuple[tuple[int, float], ...],
        disliked: tuple[int, ...],
        below: int,
        index: similar.SimilarityIndex,
    ) -> tuple[np.ndarray, np.ndarray]:
        key = (path, liked, disliked, below)
        with self._lock:
            if key in self._vectors:
                self._vectors.move_to_end(key)
                return self._vectors[key]
        vector = index.profile(liked, disliked, below)
        with self._lock:
            self._vectors[key] = vector
            while len(self._vectors) > VECTORS_KEPT:
                self._vectors.popitem(last=False)
        return vector

    def profile(self, display: pl.DataFrame, path: Path) -> Profile:
        """The `history` table's profile: rated >= similar.LIKED (weight 1), watched without
        a rating (similar.WATCHED_WEIGHT), rated <= similar.DISLIKED; read once per version."""
        manifest = self.warehouse.read_manifest()
        key = (path, tuple(manifest.files("history")))
        with self._lock:
            if self._profile is not None and self._profile[0] == key:
                return self._profile[1]
        con = new_connection()
        try:
            con.execute(raw_view_sql(self.warehouse, manifest, "history"))
            rows = con.sql(
                statement(SQL, "history_profile"),
                params={
                    "liked": similar.LIKED,
                    "disliked": similar.DISLIKED,
                    "watched_weight": similar.WATCHED_WEIGHT,
                    "liked_limit": PROFILE_LIKED,
                    "disliked_limit": PROFILE_DISLIKED,
                },
            ).pl()
            seen = con.sql(statement(SQL, "history_seen")).pl()
        finally:
            con.close()
        positions = display.select(
            "media_type", "tmdb_id", rid=pl.int_range(pl.len(), dtype=pl.Int64)
        )
        found = rows.join(positions, on=["media_type", "tmdb_id"], how="inner").sort(
            "weight", "rid", descending=[True, False]
        )
        liked = found.filter(pl.col("weight") > 0)
        profile = Profile(
            tuple(zip(liked["rid"].to_list(), liked["weight"].to_list(), strict=True)),
            tuple(found.filter(pl.col("weight") < 0)["rid"].to_list()),
            frozenset(zip(seen["media_type"], seen["tmdb_id"].cast(pl.Int64), strict=True)),
        )
        with self._lock:
            self._profile = (key, profile)
        return profile
