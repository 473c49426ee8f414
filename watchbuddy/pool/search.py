"""Title search: find a title by what someone types, whatever its case, accents, punctuation
or a typo, over the title and the original title.

Titles and queries are compared as `watchbuddy.titles` normalizes them (the one title
normalizer: case, accents and punctuation ignored, "&" as "and"). Two titles are the *same*
when their normalized forms agree with the spaces removed too (`compact_title`), so
"Spider-Man" is "spiderman" and "Schindler's List" is "schindlers list".

Scoring every one of 1.5M titles with a fuzzy measure takes seconds, so a query
first narrows the titles cheaply (`SearchIndex`): each distinct normalized title is cut into
trigrams of its compact form, held as an inverted index in numpy arrays beside the
candidate table, and a query counts the trigrams each title shares with it (one `bincount`).
The titles most alike by those counts (overlap relative to both lengths, and the share of
the query's trigrams a title contains, for a query that is part of a longer title; ties to
the titles with more votes) are scored with rapidfuzz's WRatio, 0-100, which weighs a whole
match, a partial match and the same words in another order. A typo changes at most three
trigrams of a title, so the title still shares most of its trigrams with the query.

Rows are ranked by the match score in whole points (100: the same title), then by vote
count, then media type and id.
"""

from __future__ import annotations

import contextlib
import os
import threading
import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from watchbuddy.errors import ConfigError
from watchbuddy.pool.filters import YEAR_RANGE, MediaChoice
from watchbuddy.store.views import materialized_pool
from watchbuddy.store.warehouse import Warehouse
from watchbuddy.titles import normalize_title, normalize_titles

# The index's arrays saved beside the pool's file (`SearchIndex.save`); bump the format
# when what they hold changes.
SAVED_ARRAYS = ("pair_sid", "row_of", "row_start", "posting", "posting_start", "trigram_count")
INDEX_FORMAT = "search-2"
# The frame every search returns (one row per title).
COLUMNS = [
    "media_type",
    "tmdb_id",
    "title",
    "original_title",
    "year",
    "vote_count",
    "vote_average",
    "match_score",
]
# What the index reads of the pool (the candidate table's rows, in its order).
SOURCE_COLUMNS = [*COLUMNS[:-1], "adult"]
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
# Below this score a title is not a match: unrelated titles that share a few letters score
# 50-65 (a partial match of one short word); a typo in a word of six letters scores 90.
MIN_SCORE = 72.0
# Titles scored with rapidfuzz per query, by each narrowing measure: a few hundred
# microseconds of scoring, and far more than a page of results.
SHORTLIST = 1500
# The score of a title that holds every word of the query (and more).
WHOLE_WORDS = 95.0
_PADDING = " "
MEDIA_CHOICES: tuple[str, ...] = typing.get_args(MediaChoice)


# --------------------------------------------------------------------------- normalization


def compact_title(normalized: str) -> str:
    """A normalized title without its spaces: two titles are the same title when these agree
    ("spider man" and "spiderman")."""
    return normalized.replace(" ", "")


# --------------------------------------------------------------------------- scoring


def score_titles(query: str, titles: list[str]) -> np.ndarray:
    """Each normalized title's match with the normalized query, 0-99 (100, the same title,
    is decided by `compact_title`).

    rapidfuzz's WRatio, but a title shorter than the query is not matched as a part of it
    (nor by its words being among the query's): "Up" is not a good match for "up in the
    air", and "Ba" none for "bakap bay". Such a title scores its plain similarity, or the
    same words in another order."""
    scores = process.cdist([query], titles, scorer=fuzz.WRatio, dtype=np.float32)[0]
    scores = scores.astype(np.float64)
    lengths = np.fromiter((len(t) for t in titles), dtype=np.int64, count=len(titles))
    shorter = np.flatnonzero(lengths < len(query))
    if shorter.size:
        subset = [titles[i] for i in shorter]
        plain = process.cdist([query], subset, scorer=fuzz.ratio, dtype=np.float32)[0]
        reordered = process.cdist([query], subset, scorer=fuzz.token_sort_ratio, dtype=np.float32)
        scores[shorter] = np.maximum(plain, reordered[0] * 0.95)
    return np.minimum(scores, 99.0)


# --------------------------------------------------------------------------- the index


@dataclass(frozen=True)
class Match:
    """A search's answer: the rows (row positions in the index's frame) and their scores,
    best first."""

    rows: np.ndarray
    scores: np.ndarray


# Trigrams are counted in 2**22 buckets: one per trigram of ASCII characters (7 bits each,
# so they never share one), and 2**21 shared by hashing for the others (rare after
# normalization: a shared bucket only adds candidates, which the scoring then judges).
BUCKETS = 1 << 22
_ASCII_TRIGRAMS = 1 << 21


def trigram_buckets(codes: np.ndarray) -> np.ndarray:
    """The bucket of each run of three code points in `codes`."""
    first, second, third = codes[:-2], codes[1:-1], codes[2:]
    buckets = (first << np.uint32(14)) | (second << np.uint32(7)) | third
    other = np.flatnonzero((first >= 128) | (second >= 128) | (third >= 128))
    if other.size:
        a, b, c = (part[other].astype(np.uint64) for part in (first, second, third))
        mixed = (a * np.uint64(0x9E3779B1) + b) * np.uint64(0x85EBCA77) + c
        mixed ^= mixed >> np.uint64(29)
        buckets[other] = (np.uint64(_ASCII_TRIGRAMS) + mixed % np.uint64(_ASCII_TRIGRAMS)).astype(
            np.uint32
        )
    return buckets


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _query_buckets(compact: str) -> np.ndarray:
    return np.unique(trigram_buckets(_codes(f"{_PADDING}{compact}{_PADDING}")))


class SearchIndex:
    """The titles of one pool, normalized once, with a trigram index over their distinct
    normalized forms ("strings"; a title and an original title that normalize alike are one
    string). Built from a frame with `SOURCE_COLUMNS`; row i of the answers is row i of it.

    Strings are numbered by the most votes any of their titles has, most first, so when the
    narrowing measures tie, the better-known titles are the ones kept."""

    def __init__(self, frame: pl.DataFrame, saved: dict[str, np.ndarray] | None = None) -> None:
        frame = frame.select(SOURCE_COLUMNS).with_columns(
            pl.col("vote_count").fill_null(0), pl.col("adult").fill_null(False)
        )
        self.frame = frame
        if saved is None:
            self._build(frame)
        else:
            self._restore(saved)
        self._rows(frame)

    def _build(self, frame: pl.DataFrame) -> None:
        rows = frame.height
        # Every (title or original title, row) pair, with the row's votes.
        pairs = pl.DataFrame(
            {
                "raw": pl.concat([frame["title"], frame["original_title"]]).fill_null(""),
                "rid": np.concatenate([np.arange(rows), np.arange(rows)]),
                "votes": pl.concat([frame["vote_count"], frame["vote_count"]]),
            }
        )
        raw = pairs["raw"].unique()
        normalized = normalize_titles(raw).fill_null("")
        pairs = pairs.join(
            pl.DataFrame({"raw": raw, "norm": normalized}), on="raw", maintain_order="left"
        ).filter(pl.col("norm") != "")
        strings = (
            pairs.group_by("norm", maintain_order=True)  # the same numbering every time
            .agg(pl.col("votes").max())
            .sort("votes", descending=True, maintain_order=True)
            .with_row_index("sid")
        )
        self.strings: list[str] = strings["norm"].to_list()
        # string -> its rows, sorted by string (a row once per string: a title and an
        # original title that normalize alike are one string)
        linked = (
            pairs.join(strings.select("norm", "sid"), on="norm")
            .select(pl.col("sid").cast(pl.Int64), pl.col("rid").cast(pl.Int64))
            .unique()
            .sort("sid")
        )
        self.pair_sid = linked["sid"].to_numpy()
        self.row_of = linked["rid"].to_numpy()
        self.row_start = np.searchsorted(self.pair_sid, np.arange(len(self.strings) + 1))
        self._build_trigrams()

    def _rows(self, frame: pl.DataFrame) -> None:
        """What the answers need of each row, as numpy arrays."""
        self.vote_count = frame["vote_count"].to_numpy()
        self.year = frame["year"].fill_null(0).to_numpy()
        self.is_movie = (frame["media_type"] == "movie").to_numpy()
        self.adult = frame["adult"].to_numpy()
        # Each row's place among rows of equal score: most votes first, then movie before
        # tv, then id (votes and ids are below 2**31: one integer holds all three).
        votes = np.clip(self.vote_count, 0, 2**31 - 1).astype(np.uint64)
        self.order_key = (
            ((np.uint64(2**31 - 1) - votes) << np.uint64(32))
            | ((~self.is_movie).astype(np.uint64) << np.uint64(31))
            | frame["tmdb_id"].to_numpy().astype(np.uint64)
        )
        self._masks: dict[tuple[str, int | None, bool], np.ndarray] = {}
        self._lock = threading.Lock()

    def _build_trigrams(self) -> None:
        """The inverted index: for each trigram bucket (`trigram_buckets`) the strings that
        hold such a trigram (`posting`, sliced by `posting_start`), and each string's number
        of distinct buckets (`trigram_count`). Sorted by two stable 16- and 8-bit passes
        (numpy's radix sort): a 64-bit sort of the 25M trigrams of 1.5M titles took ten
        times as long."""
        count = len(self.strings)
        padded = [f"{_PADDING}{compact_title(s)}{_PADDING}" for s in self.strings]
        lengths = np.fromiter((len(p) for p in padded), dtype=np.int64, count=count)
        codes = _codes("".join(padded))
        owner = np.repeat(np.arange(count, dtype=np.uint32), lengths)
        if codes.size >= 3:
            buckets = trigram_buckets(codes)
            inside = owner[:-2] == owner[2:]  # the three characters are one string's
            buckets, owner = buckets[inside], owner[:-2][inside]
        else:
            buckets, owner = np.zeros(0, np.uint32), np.zeros(0, np.uint32)
        # Stable by bucket: the owners were in order, so each bucket's strings stay sorted.
        order = np.argsort((buckets & 0xFFFF).astype(np.uint16), kind="stable")
        order = order[np.argsort((buckets[order] >> 16).astype(np.uint8), kind="stable")]
        buckets, owner = buckets[order], owner[order]
        # A trigram twice in a string counts once.
        repeated = np.zeros(buckets.size, dtype=bool)
        repeated[1:] = (buckets[1:] == buckets[:-1]) & (owner[1:] == owner[:-1])
        buckets, self.posting = buckets[~repeated], owner[~repeated]
        sizes = np.bincount(buckets, minlength=BUCKETS)
        self.posting_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.trigram_count = np.bincount(self.posting, minlength=count).astype(np.int32)

    def save(self, path: Path) -> None:
        """Write the index (not the rows: they are the pool file's) to `path` atomically,
        so another process on the same pool version loads it instead of building it."""
        text = "\n".join(self.strings).encode("utf-8")
        building = path.with_name(f".building-{os.getpid()}-{threading.get_ident()}-{path.name}")
        with open(building, "wb") as out:
            np.savez(
                out,
                count=np.array([len(self.strings)]),
                strings=np.frombuffer(text, dtype=np.uint8),
                **{name: getattr(self, name) for name in SAVED_ARRAYS},
            )
        os.replace(building, path)

    def _restore(self, saved: dict[str, np.ndarray]) -> None:
        count = int(saved["count"][0])
        text = saved["strings"].tobytes().decode("utf-8")
        self.strings = text.split("\n") if count else []
        for name in SAVED_ARRAYS:
            setattr(self, name, saved[name])
        if len(self.strings) != count:
            raise ValueError("the saved index's strings do not add up")

    @classmethod
    def load(cls, path: Path, frame: pl.DataFrame) -> SearchIndex:
        """The index saved at `path` for the pool `frame` (ValueError or OSError when the
        file is unreadable or not one of these)."""
        with np.load(path, allow_pickle=False) as saved:
            arrays = {name: saved[name] for name in ("count", "strings", *SAVED_ARRAYS)}
        index = cls(frame, arrays)
        if index.row_of.size and int(index.row_of.max()) >= frame.height:
            raise ValueError("the saved index is for another pool")
        return index

    def _allowed(self, media_type: str, year: int | None, include_adult: bool) -> np.ndarray:
        """Which strings have a row the filters let through (cached per filter set): a mask,
        or, when the filters leave out few strings (the default leaves out adult titles'),
        the positions of those, which are cheaper to clear than a mask to apply."""
        key = (media_type, year, include_adult)
        with self._lock:
            mask = self._masks.get(key)
        if mask is not None:
            return mask
        ok = np.ones(self.frame.height, dtype=bool)
        if media_type != "both":
            ok &= self.is_movie == (media_type == "movie")
        if year is not None:
            ok &= self.year == year
        if not include_adult:
            ok &= ~self.adult
        mask = np.bincount(self.pair_sid[ok[self.row_of]], minlength=len(self.strings)) > 0
        blocked = np.flatnonzero(~mask)
        if blocked.size < mask.size // 8:
            mask = blocked
        with self._lock:
            if len(self._masks) > 16:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def _row_ok(
        self, rows: np.ndarray, media_type: str, year: int | None, include_adult: bool
    ) -> np.ndarray:
        ok = np.ones(rows.size, dtype=bool)
        if media_type != "both":
            ok &= self.is_movie[rows] == (media_type == "movie")
        if year is not None:
            ok &= self.year[rows] == year
        if not include_adult:
            ok &= ~self.adult[rows]
        return ok

    def shortlist(self, compact: str, allowed: np.ndarray, size: int = SHORTLIST) -> np.ndarray:
        """The strings worth scoring for a query: those sharing the most trigrams with it,
        relative to both lengths (Jaccard: the whole title is like the query) and to the
        query's alone (the query is part of the title); ties to the better-known titles.
        `allowed` is `_allowed`'s answer: a mask, or the strings the filters leave out."""
        wanted = _query_buckets(compact)
        postings = [self.posting[self.posting_start[b] : self.posting_start[b + 1]] for b in wanted]
        if not any(p.size for p in postings):
            return np.zeros(0, dtype=np.int64)
        shared = np.bincount(np.concatenate(postings), minlength=len(self.strings))
        if allowed.dtype == bool:
            shared *= allowed
        else:
            shared[allowed] = 0
        # Only strings sharing enough trigrams are weighed: the most shared first, down to
        # the level that still leaves twice the shortlist (a common trigram is in a third
        # of all titles; weighing them all cost more than the rest of the query).
        at_least = np.cumsum(np.bincount(shared)[::-1])[::-1]
        level = max(int(np.flatnonzero(at_least[1:] >= 2 * size).max(initial=-1)) + 1, 1)
        found = np.flatnonzero(shared >= level)
        if found.size <= size:
            return found
        hits = shared[found].astype(np.float64)
        jaccard = hits / (wanted.size + self.trigram_count[found] - hits)
        contained = hits / wanted.size
        # Quantized so that near-equal measures tie and the better-known string wins.
        rank = 1.0 - found / (len(self.strings) + 1.0)
        chosen = [
            found[np.argpartition(-(np.round(measure, 3) * 2.0 + rank), size)[:size]]
            for measure in (jaccard, contained)
        ]
        return np.unique(np.concatenate(chosen))

    def search(
        self,
        text: str,
        media_type: str = "both",
        year: int | None = None,
        limit: int = DEFAULT_LIMIT,
        include_adult: bool = False,
        shortlist: int = SHORTLIST,
    ) -> Match:
        """The rows whose title or original title matches `text`, best first (at most
        `limit`): exact matches (score 100) first, then by score in whole points, vote
        count, media type and id."""
        query = normalize_title(text)
        compact = compact_title(query)
        empty = Match(np.zeros(0, dtype=np.int64), np.zeros(0))
        if not compact or not self.strings:
            return empty
        allowed = self._allowed(media_type, year, include_adult)
        candidates = self.shortlist(compact, allowed, shortlist)
        if not candidates.size:
            return empty
        choices = [self.strings[i] for i in candidates]
        scores = score_titles(query, choices)
        # Every word of the query a word of the title ("no way home"): 95, as WRatio gives
        # the same words in another order, above a match inside a word ("the" in "mother").
        words = set(query.split())
        whole_words = np.fromiter(
            (words <= set(choice.split()) for choice in choices), dtype=bool, count=len(choices)
        )
        scores[whole_words] = np.maximum(scores[whole_words], WHOLE_WORDS)
        same = np.fromiter(
            (compact_title(self.strings[i]) == compact for i in candidates),
            dtype=bool,
            count=candidates.size,
        )
        scores[same] = 100.0
        good = scores >= MIN_SCORE
        candidates, scores = candidates[good], scores[good]
        if not candidates.size:
            return empty
        return self._ranked_rows(candidates, scores, media_type, year, include_adult, limit)

    def _ranked_rows(
        self,
        strings: np.ndarray,
        scores: np.ndarray,
        media_type: str,
        year: int | None,
        include_adult: bool,
        limit: int,
    ) -> Match:
        """The best `limit` rows of the matched strings: by whole points, then the rows'
        order key (votes, media type, id). A row found by its title and its original title
        counts once, by the better score. Taken score by score, best first, so only the
        rows that can make the page are sorted (a common word matches 100K rows)."""
        order = np.argsort(-scores, kind="stable")
        strings, scores = strings[order], scores[order]
        whole = np.floor(scores + 0.5)
        chosen_rows: list[np.ndarray] = []
        chosen_scores: list[np.ndarray] = []
        seen = np.zeros(0, dtype=np.int64)
        wanted = limit
        for tier in np.unique(whole)[::-1]:
            in_tier = whole == tier
            rows, row_scores = self._rows_of(strings[in_tier], scores[in_tier])
            ok = self._row_ok(rows, media_type, year, include_adult) & ~np.isin(rows, seen)
            rows, row_scores = rows[ok], row_scores[ok]
            if not rows.size:
                continue
            # Best score per row first, then one entry per row.
            by_row = np.lexsort((-row_scores, rows))
            rows, row_scores = rows[by_row], row_scores[by_row]
            first = np.ones(rows.size, dtype=bool)
            first[1:] = rows[1:] != rows[:-1]
            rows, row_scores = rows[first], row_scores[first]
            keys = self.order_key[rows]
            if rows.size > wanted:
                top = np.argpartition(keys, wanted - 1)[:wanted]
                rows, row_scores, keys = rows[top], row_scores[top], keys[top]
            by_key = np.argsort(keys, kind="stable")
            chosen_rows.append(rows[by_key])
            chosen_scores.append(row_scores[by_key])
            seen = np.concatenate([seen, rows])
            wanted -= rows.size
            if wanted <= 0:
                break
        if not chosen_rows:
            return Match(np.zeros(0, dtype=np.int64), np.zeros(0))
        return Match(np.concatenate(chosen_rows), np.round(np.concatenate(chosen_scores), 1))

    def _rows_of(self, strings: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every row of the strings, each with its string's score."""
        starts, ends = self.row_start[strings], self.row_start[strings + 1]
        sizes = ends - starts
        offsets = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
        return self.row_of[offsets + np.arange(sizes.sum())], np.repeat(scores, sizes)

    def frame_of(self, match: Match) -> pl.DataFrame:
        """The answer's rows with `COLUMNS` (the match score 0-100)."""
        return (
            self.frame[match.rows]
            .with_columns(match_score=pl.Series(match.scores, dtype=pl.Float64))
            .select(COLUMNS)
        )


# --------------------------------------------------------------------------- per warehouse


def check_query(
    text: str, media_type: str = "both", year: int | None = None, limit: int = DEFAULT_LIMIT
) -> str:
    """The query normalized; ConfigError for one with nothing to search for or an option
    out of range (the same checks for the CLI, the API and the explorer)."""
    if media_type not in MEDIA_CHOICES:
        raise ConfigError(
            f"Unknown media type {media_type!r}; use one of {', '.join(MEDIA_CHOICES)}."
        )
    if year is not None and not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise ConfigError(
            f"The year {year} is outside {YEAR_RANGE[0]}-{YEAR_RANGE[1]}; give a release year "
            "in that range."
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise ConfigError(f"The limit {limit} is outside 1-{MAX_LIMIT}; give one in that range.")
    query = normalize_title(text)
    if not query:
        raise ConfigError(
            "Nothing to search for: give some letters or digits of a title (e.g. amelie)."
        )
    return query


class TitleSearch:
    """The search index of one warehouse's current pool, rebuilt when a new version changes
    the pool's file; safe to share across threads."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._version: int | None = None
        self._path: Path | None = None
        self._index: SearchIndex | None = None
        self._lock = threading.Lock()

    def index(self) -> SearchIndex:
        manifest = self.warehouse.read_manifest()
        with self._lock:
            if self._index is None or self._version != manifest.version:
                path = materialized_pool(self.warehouse, manifest)
                if self._index is None or path != self._path:
                    self._index, self._path = self._open(path), path
                self._version = manifest.version
            return self._index

    def _open(self, pool_file: Path) -> SearchIndex:
        """The index of a pool file: loaded from beside it when a process built it before
        (a second), else built (seconds at 1.5M titles) and saved there for the next one.
        A file that cannot be read is built again; one that cannot be written is skipped."""
        frame = pl.read_parquet(pool_file, columns=SOURCE_COLUMNS)
        saved = saved_index(pool_file)
        if saved.exists():
            try:
                return SearchIndex.load(saved, frame)
            except (OSError, ValueError, KeyError):
                pass
        index = SearchIndex(frame)
        with contextlib.suppress(OSError):
            index.save(saved)
            remove_orphans(pool_file.parent)
        return index

    def search(
        self,
        text: str,
        media_type: str = "both",
        year: int | None = None,
        limit: int = DEFAULT_LIMIT,
        include_adult: bool = False,
    ) -> pl.DataFrame:
        check_query(text, media_type, year, limit)
        index = self.index()
        match = index.search(text, media_type, year, limit, include_adult)
        return index.frame_of(match)


def remove_orphans(folder: Path) -> None:
    """Delete saved indexes whose pool file is gone (`pool_cache` retires those) and ones
    of an older format."""
    for path in folder.glob("search-*.npz"):
        pool = folder / f"{path.stem.split('-', 2)[-1]}.parquet"
        if not path.name.startswith(f"{INDEX_FORMAT}-") or not pool.exists():
            path.unlink(missing_ok=True)


_searches: dict[Path, TitleSearch] = {}
_searches_lock = threading.Lock()


def search_at(warehouse_root: Path) -> TitleSearch:
    """One search index per warehouse per process (the app and the CLI share this)."""
    root = Path(warehouse_root).resolve()
    with _searches_lock:
        if root not in _searches:
            _searches[root] = TitleSearch(Warehouse(root))
        return _searches[root]


def saved_index(pool_file: Path) -> Path:
    """Where a pool file's search index is saved: beside it, named for it and the format."""
    return pool_file.with_name(f"{INDEX_FORMAT}-{pool_file.stem}.npz")


def prepare_search_for_new_version(warehouse: Warehouse) -> None:
    """After a commit (the scheduler, after each job): the new pool file's search index,
    built and saved now (seconds at 1.5M titles) so the version's first search only loads
    it. A process that already searches this warehouse (the app) keeps the index in
    memory; one that never did (`watchbuddy schedule`) does not hold it."""
    root = warehouse.root.resolve()
    with _searches_lock:
        search = _searches.get(root)
    if search is not None:
        search.index()
        return
    pool_file = materialized_pool(warehouse)
    if not saved_index(pool_file).exists():
        TitleSearch(warehouse).index()


def search_titles(
    text: str,
    media_type: str = "both",
    year: int | None = None,
    limit: int = DEFAULT_LIMIT,
    include_adult: bool = False,
    warehouse: str | Path | None = None,
) -> pl.DataFrame:
    """Titles of the pool whose title or original title matches `text`, best first, as a
    Polars frame (`COLUMNS`; `match_score` 0-100, 100 for the same title).

    Case, accents and punctuation do not count, and a typo or two still finds the title
    ("interstelar" finds Interstellar, "amelie" Amélie). `media_type` is movie, tv or both;
    `year` keeps titles released that year; adult titles only with `include_adult`. An
    empty frame when nothing matches; ConfigError for an empty query or a value out of range.
    The warehouse defaults to the `WATCHBUDDY_WAREHOUSE` setting."""
    from watchbuddy.settings import load_settings

    root = Path(warehouse) if warehouse is not None else load_settings().warehouse
    return search_at(root).search(text, media_type, year, limit, include_adult)
