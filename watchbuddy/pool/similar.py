"""More like this: how alike two titles are, from what the pool knows about them.

A title is described by its keywords and genres, each weighted by how rare it is in the
pool (inverse document frequency: "dream", on a few hundred titles, says far more than
"based on novel" or the genre Drama, on tens of thousands), compared by cosine; the original
language and the release years are weaker signals that only scale that content match, so
two titles that share nothing are never alike because they are both French or both from
1999. The formula is written once, in `Similarity` below and in the README ("Scores").

The arrays are built once per loaded pool version (`SimilarityIndex.build`, next to the
candidate table, about a second at 1.5M titles) and kept in memory: a title's keyword and
genre ids (a sparse row per title, by the candidate table's row position), the inverted
lists (the titles of each keyword), the per-title norms, languages and years. A query walks
only the inverted lists of the liked titles' keywords and genres (numpy, no per-title
Python), so it costs milliseconds at 1.5M titles.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from watchbuddy.errors import UnknownTitle
from watchbuddy.safe_text import clip
from watchbuddy.titles import normalize_title, normalize_titles

# similarity(A, B) = content(A, B) x (CONTENT + LANGUAGE x same language + ERA x era(A, B))
CONTENT = 0.70
LANGUAGE = 0.15
ERA = 0.15
ERA_HALF_LIFE_YEARS = 10.0  # era = 0.5 ^ (|year A - year B| / 10): 0.5 ten years apart
# A history profile: ratings at or above LIKED pull towards a title, at or below DISLIKED
# push away; watched without a rating is a weak positive.
LIKED = 7.0
DISLIKED = 4.0
WATCHED_WEIGHT = 0.5
DISLIKE_WEIGHT = 0.5
SHARED_SHOWN = 5  # the explanation names this many shared keywords at most
GENRE_PREFIX = "\x00genre:"  # a genre's token, kept apart from a keyword of the same name

Floats = npt.NDArray[np.float64]
# era by whole years apart (a gather is cheaper than a power per title); release years lie
# within 1870-2199, so no gap reaches the end of the table.
_ERA = 0.5 ** (np.arange(400) / ERA_HALF_LIFE_YEARS)
Ints = npt.NDArray[np.int64]

# The pool columns the index is built from (in candidate-table row order).
INDEX_COLUMNS = ("keywords", "genres", "original_language", "year")


@dataclass(frozen=True)
class SimilarityIndex:
    """The precomputed arrays of one pool version (row i = the candidate table's row i)."""

    names: list[str]  # token id -> keyword or genre name (as shown)
    genre: npt.NDArray[np.bool_]  # token id -> whether it is a genre
    idf: Floats  # token id -> inverse document frequency
    indptr: Ints  # title i's tokens are indices[indptr[i]:indptr[i + 1]]
    indices: npt.NDArray[np.int32]
    post_ptr: Ints  # token t's titles are post_rids[post_ptr[t]:post_ptr[t + 1]]
    post_rids: npt.NDArray[np.int32]
    norm: Floats  # title -> sqrt(sum of its tokens' idf^2); 0 for a title with none
    language: npt.NDArray[np.int32]  # title -> language id, -1 unknown
    year: npt.NDArray[np.int32]  # title -> release year, -1 unknown

    @property
    def size(self) -> int:
        return len(self.norm)

    @classmethod
    def build(cls, frame: pl.DataFrame) -> SimilarityIndex:
        """The index of `frame` (`INDEX_COLUMNS`, one row per candidate-table row).

        idf(t) = ln((1 + N) / (1 + df(t))) + 1, N titles, df(t) the titles with token t
        (smoothed, so a token every title has still counts 1 and none divides by zero)."""
        n = frame.height
        rid = pl.int_range(pl.len(), dtype=pl.Int32).alias("rid")
        keywords = frame.select(rid, token=pl.col("keywords")).explode("token")
        keywords = keywords.with_columns(pl.col("token").str.strip_chars().str.to_lowercase())
        genres = frame.select(rid, token=pl.col("genres")).explode("token")
        genres = genres.with_columns((GENRE_PREFIX + pl.col("token")).alias("token"))
        pairs = pl.concat([keywords, genres]).filter(
            pl.col("token").is_not_null() & (pl.col("token") != "")
        )
        # Token ids through a categorical (no string sort or join over millions of pairs),
        # then numpy: one sort of (title, token) keys dedupes and orders the rows, a stable
        # sort by token orders the inverted lists.
        codes = pairs["token"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
        by_code = np.argsort(codes, kind="stable")
        sorted_codes = codes[by_code]
        starts = np.flatnonzero(np.diff(sorted_codes, prepend=-1)) if len(codes) else codes
        ids = sorted_codes[starts]  # the codes in use, ascending
        token_of_pair = np.searchsorted(ids, codes)
        tokens = pairs["token"].gather(by_code[starts]).to_list()
        names = [t.removeprefix(GENRE_PREFIX) for t in tokens]
        genre = np.array([t.startswith(GENRE_PREFIX) for t in tokens], dtype=np.bool_)
        keys = np.sort(pairs["rid"].to_numpy().astype(np.int64) * len(ids) + token_of_pair)
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys
        rids = (keys // len(ids)).astype(np.int32)
        indices = (keys % len(ids)).astype(np.int32)
        df = np.bincount(indices, minlength=len(ids)).astype(np.float64)
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rids, minlength=n), out=indptr[1:])
        norm = np.sqrt(np.bincount(rids, weights=idf[indices] ** 2, minlength=n))
        order = np.argsort(indices, kind="stable")  # rows stay ascending within a token
        post_ptr = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=post_ptr[1:])
        language = (
            frame.select(pl.col("original_language").cast(pl.Categorical).to_physical())
            .to_series()
            .fill_null(-1)
            .to_numpy()
            .astype(np.int32)
        )
        year = frame["year"].fill_null(-1).to_numpy().astype(np.int32)
        return cls(
            names,
            genre,
            idf,
            indptr,
            indices,
            post_ptr,
            rids[order],
            norm,
            language,
            year,
        )

    def tokens(self, rid: int) -> npt.NDArray[np.int32]:
        return self.indices[self.indptr[rid] : self.indptr[rid + 1]]

    def to(self, rid: int, below: int | None = None) -> tuple[Ints, Floats]:
        """Every title alike to the title at row `rid` at all (sharing a keyword or genre),
        as (rows, similarity in (0, 1]), rows ascending; the title itself included. Only
        rows before `below`: the candidate table is sorted by vote count, so a query's vote
        floor is a row bound, and titles under it are never computed (at 1.5M titles a
        floor of 50 votes leaves about 3% of the rows)."""
        tokens = self.tokens(rid)
        if not len(tokens) or not self.norm[rid]:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        below = self.size if below is None else min(below, self.size)
        # Each token's titles get its idf^2 (a token lists a title once, so a plain fancy
        # add is exact); cheaper than gathering every posting into one array first. A
        # token's titles are sorted, so those before `below` are a prefix.
        dot = np.zeros(below, dtype=np.float64)
        for token, weight in zip(tokens.tolist(), (self.idf[tokens] ** 2).tolist(), strict=True):
            titles = self.post_rids[self.post_ptr[token] : self.post_ptr[token + 1]]
            dot[titles[: np.searchsorted(titles, below)]] += weight
        rows = np.flatnonzero(dot)
        content = np.minimum(dot[rows] / (self.norm[rid] * self.norm[rows]), 1.0)
        factor = np.full(len(rows), CONTENT)
        if self.language[rid] >= 0:  # same language: both known and equal
            factor += LANGUAGE * (self.language[rows] == self.language[rid])
        if self.year[rid] >= 0:  # era: both years known
            years = self.year[rows]
            gap = np.minimum(np.abs(years - self.year[rid]), len(_ERA) - 1)
            factor += np.where(years >= 0, ERA * _ERA[gap], 0.0)
        return rows, content * factor

    def profile(
        self,
        liked: Sequence[tuple[int, float]],
        disliked: Sequence[int] = (),
        below: int | None = None,
    ) -> tuple[Ints, Floats]:
        """Similarity to a set of titles, as (rows, value in (0, 1]): the weighted mean of the
        similarities to the liked rows (row, weight), minus DISLIKE_WEIGHT x the mean
        similarity to the disliked rows, floored at 0 (rows at 0 are left out); only rows
        before `below` (see `to`)."""
        if len(liked) == 1 and not disliked:
            return self.to(liked[0][0], below)
        total = np.zeros(self.size if below is None else min(below, self.size))
        weights = sum(weight for _, weight in liked)
        for rid, weight in liked:
            rows, values = self.to(rid, below)
            total[rows] += weight / weights * values
        for rid in disliked:
            rows, values = self.to(rid, below)
            total[rows] -= DISLIKE_WEIGHT / len(disliked) * values
        rows = np.flatnonzero(total > 0)
        return rows, np.minimum(total[rows], 1.0)

    def shared(self, rows: Sequence[int], liked: Sequence[int]) -> list[list[str]]:
        """For each of `rows`, the keywords it shares with any liked title, rarest first,
        then the genres it shares, rarest first (at most SHARED_SHOWN in all)."""
        wanted = np.unique(
            np.concatenate([self.tokens(r) for r in liked] or [np.empty(0, dtype=np.int32)])
        )
        found = []
        for row in rows:
            common = np.intersect1d(self.tokens(row), wanted, assume_unique=True)
            common = common[np.lexsort((-self.idf[common], self.genre[common]))][:SHARED_SHOWN]
            found.append([self.names[t] for t in common])
        return found


# ---------------------------------------------------------------- which title a --like means

_KEY = re.compile(r"(movie|tv):([0-9]{1,10})", re.IGNORECASE)
_YEAR = re.compile(r"(.*?)[\s,]*\(?([12][0-9]{3})\)?")
SUGGESTIONS = 5  # titles an unknown or ambiguous --like lists


@dataclass(frozen=True)
class TitleLookup:
    """What `find_title` reads, built once per version: each row's normalized title and
    original title, and the rows sorted by (id, media type) for a binary search."""

    keys: pl.DataFrame  # key, original_key (candidate-table row order)
    sorted_ids: Ints  # tmdb_id * 2 + (1 for tv), ascending
    order: Ints  # the rows in that order

    @classmethod
    def build(cls, frame: pl.DataFrame) -> TitleLookup:
        ids = _numeric_key(frame["media_type"], frame["tmdb_id"])
        order = np.argsort(ids, kind="stable")
        return cls(
            pl.DataFrame(
                {
                    "key": normalize_titles(frame["title"]),
                    "original_key": normalize_titles(frame["original_title"]),
                }
            ),
            ids[order],
            order.astype(np.int64),
        )

    def row_of(self, media_type: str, tmdb_id: int) -> int | None:
        wanted = int(_numeric_key(pl.Series([media_type]), pl.Series([tmdb_id]))[0])
        at = int(np.searchsorted(self.sorted_ids, wanted))
        found = at < len(self.sorted_ids) and self.sorted_ids[at] == wanted
        return int(self.order[at]) if found else None


def _numeric_key(media_types: pl.Series, ids: pl.Series) -> Ints:
    tv = (media_types == "tv").cast(pl.Int64).to_numpy()
    return ids.cast(pl.Int64).to_numpy() * 2 + tv


def _label(row: dict) -> str:
    return f"{row['title']} ({row['year'] or '?'}, {row['media_type']}:{row['tmdb_id']})"


def find_title(display: pl.DataFrame, lookup: TitleLookup, asked: str) -> int:
    """The candidate-table row `asked` means: `movie:27205`/`tv:1399`, or a title (or original
    title) with an optional release year, compared without accents, case or punctuation.
    UnknownTitle, listing what it could mean, when no title or several match."""
    rows = pl.int_range(pl.len(), dtype=pl.Int64).alias("rid")
    found = _KEY.fullmatch(asked.strip())
    if found:
        media_type, tmdb_id = found.group(1).lower(), int(found.group(2))
        row = lookup.row_of(media_type, tmdb_id)
        if row is None:
            raise UnknownTitle(
                f"{media_type}:{tmdb_id} is not in the pool; like a title the pool has "
                "(give its title and year, or its id from `watchbuddy sql`)."
            )
        return row
    text = normalize_title(asked)
    with_year = _YEAR.fullmatch(asked.strip())
    tries: list[tuple[str, int | None]] = []
    if with_year and with_year.group(1).strip():
        title = normalize_title(with_year.group(1))
        tries.append((title, int(with_year.group(2))))
    tries.append((text, None))  # '2012' or 'Blade Runner 2049' is a title, too
    table = pl.concat(
        [display.select(rows, "title", "year", "media_type", "tmdb_id", "vote_count"), lookup.keys],
        how="horizontal",
    )
    for title, year in tries:
        match = table.filter((pl.col("key") == title) | (pl.col("original_key") == title))
        if year is not None:
            match = match.filter(pl.col("year") == year)
        match = match.sort("vote_count", descending=True)
        if match.height == 1:
            return int(match["rid"][0])
        if match.height > 1:
            listed = "; ".join(_label(r) for r in match.head(SUGGESTIONS).to_dicts())
            more = f" and {match.height - SUGGESTIONS} more" if match.height > SUGGESTIONS else ""
            raise UnknownTitle(
                f"{clip(asked)!r} matches {match.height} titles: {listed}{more}; give one as "
                "movie:ID or tv:ID, or add the year."
            )
    near = (
        (
            table.filter(pl.col("key").str.contains(text, literal=True))
            .sort("vote_count", descending=True)
            .head(SUGGESTIONS)
        )
        if text
        else table.clear()
    )
    hint = (
        f"; did you mean: {'; '.join(_label(r) for r in near.to_dicts())}"
        if near.height
        else "; check the spelling, or give it as movie:ID or tv:ID"
    )
    raise UnknownTitle(f"No title in the pool is called {clip(asked)!r}{hint}.")
