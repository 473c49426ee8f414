"""A synthetic dataset in the Kaggle TMDB v11 (movies) and v3 (TV) layouts.

`make run` needs a pool when the user has not downloaded the real dumps, and the benchmarks
need 1.5M rows of the same shape as the real ones: long-tailed votes and popularity, English
dominant among ~100 languages, multi-genre rows, messy overviews, TV ids that collide with
movie ids, and a few malformed rows the importer must reject. Every value is drawn from a
seeded generator, so the same `--rows` and `--seed` give the same files. The file names say
"synthetic" and every row carries `synthetic=true`, so neither a person nor the importer
mistakes them for TMDB data: their ids are real TMDB ids (the synthetic id range overlaps
the real one), and a synthetic row never replaces a real record of the same title.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from watchbuddy.store.schema import SYNTHETIC_COLUMN, SYNTHETIC_FILE_PREFIX, genre_table

MOVIE_FILE = f"{SYNTHETIC_FILE_PREFIX}TMDB_movie_dataset_v11.csv"
TV_FILE = f"{SYNTHETIC_FILE_PREFIX}TMDB_tv_dataset_v3.csv"
TV_SHARE = 165_000 / 1_465_000  # the real dumps' movie : show ratio
SHARED_ID_SHARE = 0.07  # share of TV ids that are also movie ids

MOVIE_COLUMNS = [
    "id",
    "title",
    "vote_average",
    "vote_count",
    "status",
    "release_date",
    "revenue",
    "runtime",
    "adult",
    "backdrop_path",
    "budget",
    "homepage",
    "imdb_id",
    "original_language",
    "original_title",
    "overview",
    "popularity",
    "poster_path",
    "tagline",
    "genres",
    "production_companies",
    "production_countries",
    "spoken_languages",
    "keywords",
    # Not in the Kaggle layout: marks every row as synthetic, whatever the file is renamed
    # to, so that landing never lets it replace a real title.
    SYNTHETIC_COLUMN,
]
TV_COLUMNS = [
    "id",
    "name",
    "number_of_seasons",
    "number_of_episodes",
    "original_language",
    "vote_count",
    "vote_average",
    "overview",
    "adult",
    "backdrop_path",
    "first_air_date",
    "last_air_date",
    "homepage",
    "in_production",
    "original_name",
    "popularity",
    "poster_path",
    "type",
    "status",
    "tagline",
    "genres",
    "created_by",
    "languages",
    "networks",
    "origin_country",
    "spoken_languages",
    "production_companies",
    "production_countries",
    "episode_run_time",
    SYNTHETIC_COLUMN,
]

# TMDB's genre names, from the table shipped with the package.
MOVIE_GENRES = list(genre_table()["movie"].values())
TV_GENRES = list(genre_table()["tv"].values())
# Roughly the real dump's mix: English first, then a long tail (~100 codes in all).
LANGUAGES = [
    "en",
    "fr",
    "es",
    "de",
    "ja",
    "it",
    "pt",
    "ru",
    "zh",
    "ko",
    "sv",
    "hi",
    "nl",
    "da",
    "pl",
    "fi",
    "cs",
    "tr",
    "no",
    "ar",
    "el",
    "hu",
    "th",
    "tl",
    "ta",
    "id",
    "he",
    "fa",
    "ml",
    "te",
    "ro",
    "uk",
    "bn",
    "cn",
    "sr",
    "hr",
    "bg",
    "sk",
    "lt",
    "et",
    "lv",
    "sl",
    "is",
    "ca",
    "eu",
    "gl",
    "ga",
    "cy",
    "mk",
    "sq",
    "bs",
    "ka",
    "hy",
    "az",
    "kk",
    "uz",
    "ky",
    "tg",
    "mn",
    "ne",
    "si",
    "my",
    "km",
    "lo",
    "vi",
    "ms",
    "ur",
    "pa",
    "gu",
    "mr",
    "kn",
    "or",
    "as",
    "sw",
    "zu",
    "xh",
    "af",
    "yo",
    "ig",
    "ha",
    "am",
    "so",
    "rw",
    "mg",
    "eo",
    "la",
    "xx",
    "qu",
    "ay",
    "gn",
    "ht",
    "mi",
    "sm",
    "to",
    "fj",
    "bo",
    "dz",
    "ps",
    "ku",
    "yi",
    "lb",
    "fo",
]

_WORDS = [
    "love",
    "war",
    "city",
    "night",
    "secret",
    "family",
    "young",
    "old",
    "house",
    "dark",
    "story",
    "life",
    "world",
    "man",
    "woman",
    "girl",
    "boy",
    "last",
    "first",
    "time",
    "lost",
    "home",
    "road",
    "river",
    "summer",
    "winter",
    "dream",
    "death",
    "blood",
    "gold",
    "fire",
    "water",
    "heart",
    "shadow",
    "king",
    "queen",
    "island",
    "journey",
    "stranger",
    "friend",
    "enemy",
    "mother",
    "father",
    "daughter",
    "son",
    "town",
    "country",
    "star",
    "moon",
    "sun",
    "garden",
    "machine",
    "ghost",
    "hunter",
    "killer",
    "doctor",
    "teacher",
    "soldier",
    "detective",
    "artist",
    "singer",
    "dancer",
    "thief",
    "lawyer",
    "nurse",
    "pilot",
    "sailor",
    "farmer",
    "widow",
    "orphan",
    "twin",
]


@dataclass(frozen=True)
class DemoFiles:
    movies: Path
    tv: Path
    movie_rows: int
    tv_rows: int
    malformed_rows: int


def _sentences(rng: np.random.Generator, n: int) -> list[str]:
    """A bank of overview sentences, some with commas, quotes and line breaks."""
    out = []
    for i in range(n):
        words = rng.choice(_WORDS, size=int(rng.integers(6, 22)))
        text = " ".join(words).capitalize()
        if i % 5 == 0:
            text = text.replace(" ", ", ", 1)
        if i % 11 == 0:
            text += ' "' + " ".join(rng.choice(_WORDS, size=3)) + '"'
        if i % 37 == 0:
            text += "\n"
        if i % 53 == 0:
            text += " — naïve café déjà vu"
        out.append(text + ".")
    return out


def _pick(rng: np.random.Generator, bank: list[str], n: int) -> pl.Series:
    return pl.Series(np.asarray(bank, dtype=object)[rng.integers(0, len(bank), n)], dtype=pl.String)


def _joined(
    rng: np.random.Generator, bank: list[str], n: int, max_parts: int, sep: str, empty_share: float
) -> pl.Series:
    """`sep`-joined lists of 1..max_parts distinct-ish items drawn from `bank`."""
    counts = rng.integers(1, max_parts + 1, n)
    parts = [_pick(rng, bank, n).alias(f"p{i}") for i in range(max_parts)]
    frame = pl.DataFrame(parts).with_columns(pl.Series("k", counts))
    exprs = [pl.when(pl.col("k") > i).then(pl.col(f"p{i}")) for i in range(max_parts)]
    joined = frame.select(pl.concat_str(exprs, separator=sep, ignore_nulls=True)).to_series()
    empty = rng.random(n) < empty_share
    return joined.zip_with(pl.Series(~empty), pl.Series([None] * n, dtype=pl.String))


def _some_of(rng: np.random.Generator, bank: list[str], n: int, mean_items: float) -> pl.Series:
    """Distinct items per row (each included with equal chance), ', '-joined; some rows none."""
    share = mean_items / len(bank)
    picked = [pl.when(pl.Series(rng.random(n) < share)).then(pl.lit(item)) for item in bank]
    joined = pl.select(pl.concat_str(picked, separator=", ", ignore_nulls=True)).to_series()
    return joined.replace("", None)


def _languages(rng: np.random.Generator, n: int) -> pl.Series:
    ranks = np.arange(1, len(LANGUAGES) + 1, dtype=float)
    weights = 1.0 / ranks**1.25
    weights[0] *= 2.5  # English dominates more than a plain Zipf tail says
    weights /= weights.sum()
    return pl.Series(
        np.asarray(LANGUAGES, dtype=object)[rng.choice(len(LANGUAGES), n, p=weights)],
        dtype=pl.String,
    )


def _dates(rng: np.random.Generator, n: int, missing_share: float) -> pl.Series:
    """Release dates from 1900 to the end of next year, denser in recent decades."""
    today = dt.date.today()
    end = dt.date(today.year + 1, 12, 31)
    span = (end - dt.date(1900, 1, 1)).days
    back = np.minimum(rng.exponential(span / 5, n), span).astype(np.int64)
    days = (np.datetime64(end) - back.astype("timedelta64[D]")).astype("datetime64[D]")
    series = pl.Series(days).cast(pl.Date).dt.to_string("%Y-%m-%d")
    missing = rng.random(n) < missing_share
    return series.zip_with(pl.Series(~missing), pl.Series([None] * n, dtype=pl.String))


def _votes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Long-tailed vote counts (most titles have none), averages noisier when votes are few."""
    has_votes = rng.random(n) < 0.42
    counts = np.where(has_votes, np.floor(rng.lognormal(1.2, 1.9, n)).astype(np.int64) + 1, 0)
    counts = np.minimum(counts, 40_000)
    spread = 2.8 / np.sqrt(np.maximum(counts, 1)) + 1.0
    averages = np.clip(rng.normal(6.1, 1.0, n) + rng.normal(0, 1, n) * spread, 0, 10)
    averages = np.where(counts > 0, np.round(averages, 3), 0.0)
    popularity = np.round(rng.lognormal(-0.4, 1.1, n) + counts / 400.0, 3)
    return counts, averages, popularity


def _common(rng: np.random.Generator, n: int, genres: list[str]) -> dict[str, pl.Series]:
    counts, averages, popularity = _votes(rng, n)
    sentences = _sentences(rng, 4000)
    overview = _joined(rng, sentences, n, 6, " ", empty_share=0.08)
    titles = _joined(rng, [w.capitalize() for w in _WORDS], n, 3, " ", empty_share=0.0)
    return {
        "vote_count": pl.Series(counts),
        "vote_average": pl.Series(averages),
        "popularity": pl.Series(popularity),
        "original_language": _languages(rng, n),
        "overview": overview,
        "title": titles,
        "genres": _some_of(rng, genres, n, mean_items=1.9),
        "adult": pl.Series(np.where(rng.random(n) < 0.02, "True", "False")),
        "poster_path": pl.Series(
            np.char.add(np.char.add("/syn", rng.integers(10**8, 10**9, n).astype(str)), ".jpg")
        ).zip_with(pl.Series(rng.random(n) > 0.3), pl.Series([None] * n, dtype=pl.String)),
    }


def movie_frame(rng: np.random.Generator, n: int, ids: np.ndarray) -> pl.DataFrame:
    c = _common(rng, n, MOVIE_GENRES)
    status = np.asarray(
        ["Released", "Released", "Released", "In Production", "Planned"], dtype=object
    )
    runtime = np.where(rng.random(n) < 0.15, 0, rng.integers(3, 200, n))
    return pl.DataFrame(
        {
            "id": ids,
            "title": c["title"],
            "vote_average": c["vote_average"],
            "vote_count": c["vote_count"],
            "status": pl.Series(status[rng.integers(0, len(status), n)], dtype=pl.String),
            "release_date": _dates(rng, n, missing_share=0.06),
            "revenue": np.where(rng.random(n) < 0.9, 0, rng.integers(1000, 10**9, n)),
            "runtime": runtime,
            "adult": c["adult"],
            "backdrop_path": None,
            "budget": np.where(rng.random(n) < 0.9, 0, rng.integers(1000, 2 * 10**8, n)),
            "homepage": None,
            "imdb_id": pl.Series(np.char.add("tt", rng.integers(10**6, 3 * 10**7, n).astype(str))),
            "original_language": c["original_language"],
            "original_title": c["title"],
            "overview": c["overview"],
            "popularity": c["popularity"],
            "poster_path": c["poster_path"],
            "tagline": None,
            "genres": c["genres"],
            "production_companies": _joined(
                rng, ["Syn Pictures", "Demo Films", "Fake Studio"], n, 2, ", ", 0.5
            ),
            "production_countries": _joined(
                rng, ["United States of America", "France", "Japan"], n, 2, ", ", 0.4
            ),
            "spoken_languages": _joined(
                rng, ["English", "French", "Spanish", "German"], n, 2, ", ", 0.3
            ),
            "keywords": _joined(rng, _WORDS, n, 6, ", ", empty_share=0.55),
            SYNTHETIC_COLUMN: "true",
        }
    ).select(MOVIE_COLUMNS)


def tv_frame(rng: np.random.Generator, n: int, ids: np.ndarray) -> pl.DataFrame:
    c = _common(rng, n, TV_GENRES)
    kinds = np.asarray(
        ["Scripted", "Reality", "Documentary", "Miniseries", "Talk Show"], dtype=object
    )
    status = np.asarray(["Ended", "Returning Series", "Canceled", "In Production"], dtype=object)
    first = _dates(rng, n, missing_share=0.08)
    return pl.DataFrame(
        {
            "id": ids,
            "name": c["title"],
            "number_of_seasons": rng.integers(1, 12, n),
            "number_of_episodes": rng.integers(1, 300, n),
            "original_language": c["original_language"],
            "vote_count": c["vote_count"],
            "vote_average": c["vote_average"],
            "overview": c["overview"],
            "adult": c["adult"],
            "backdrop_path": None,
            "first_air_date": first,
            "last_air_date": first,
            "homepage": None,
            "in_production": np.where(rng.random(n) < 0.2, "True", "False"),
            "original_name": c["title"],
            "popularity": c["popularity"],
            "poster_path": c["poster_path"],
            "type": pl.Series(kinds[rng.integers(0, len(kinds), n)], dtype=pl.String),
            "status": pl.Series(status[rng.integers(0, len(status), n)], dtype=pl.String),
            "tagline": None,
            "genres": c["genres"],
            "created_by": None,
            "languages": c["original_language"],
            "networks": _joined(rng, ["SynTV", "Demo Network", "FakeFlix"], n, 1, ", ", 0.2),
            "origin_country": _joined(rng, ["US", "GB", "FR", "JP", "KR"], n, 1, ", ", 0.1),
            "spoken_languages": _joined(rng, ["English", "French", "Korean"], n, 2, ", ", 0.3),
            "production_companies": None,
            "production_countries": None,
            "episode_run_time": rng.integers(0, 70, n),
            SYNTHETIC_COLUMN: "true",
        }
    ).select(TV_COLUMNS)


# The title of the demo's structurally broken record (more fields than the header): the one
# row that makes landing read the movie file with DuckDB's careful reader (see
# `without_broken_records`).
BROKEN_RECORD_TITLE = "Too Many Fields"


# Rows the importer must reject (or, for the duplicates, merge), written between chunks.
# Each is (reason the importer should give, raw CSV text with the right column count).
def _malformed_movie_rows(first_id: int) -> list[str]:
    blank = "," * (len(MOVIE_COLUMNS) - 6)
    return [
        f"abc,Not A Number Id,6.5,10,Released,2001-01-01{blank}",
        f"{first_id},Bad Date,6.5,10,Released,2001-13-45{blank}",
        f"{first_id + 1},Bad Votes,6.5,lots,Released,2001-01-01{blank}",
        f"{first_id + 2},,6.5,10,Released,2001-01-01{blank}",
        f"{first_id + 3},{BROKEN_RECORD_TITLE},6.5,10,Released,2001-01-01{blank},extra,extra",
    ]


def _write_with_noise(frame: pl.DataFrame, path: Path, noise: list[str], cut_last: bool) -> None:
    """Write `frame` as CSV with the `noise` lines spread between chunks of good rows."""
    tmp = path.with_name(path.name + ".partial")
    chunks = max(len(noise), 1) + 1
    size = -(-frame.height // chunks)
    with open(tmp, "wb") as out:
        for i in range(chunks):
            part = frame.slice(i * size, size)
            part.write_csv(out, include_header=(i == 0))
            if i < len(noise):
                out.write(noise[i].encode() + b"\n")
        if cut_last:
            # A download cut off mid-field: an opening quote that is never closed.
            out.write(b'999999999,"Cut off mid-fie')
    tmp.replace(path)


def generate(rows: int, out: Path, seed: int = 42, cut_last: bool = False) -> DemoFiles:
    """Write the synthetic movie and TV CSVs into `out` and return what was written.

    With `cut_last`, the movie file ends in a row cut off mid-field, as an interrupted
    download would; off by default so that any CSV reader (the benchmark's raw Polars
    floor included) can read the files.
    """
    if rows < 20:
        raise ValueError("--rows must be at least 20")
    rng = np.random.default_rng(seed)
    tv_rows = max(int(rows * TV_SHARE), 5)
    movie_rows = rows - tv_rows
    movie_ids = rng.choice(np.arange(2, movie_rows * 3 + 2), movie_rows, replace=False)
    movie_ids.sort()
    shared = int(tv_rows * SHARED_ID_SHARE)
    # Shows' own ids come from above the movie range, so exactly `shared` of them collide.
    top = int(movie_ids.max()) + 1
    tv_own = rng.choice(np.arange(top, top + tv_rows * 3), tv_rows - shared, replace=False)
    tv_ids = np.concatenate([rng.choice(movie_ids, shared, replace=False), tv_own])
    tv_ids = rng.permutation(tv_ids[:tv_rows])
    movies = movie_frame(rng, movie_rows, movie_ids)
    # Two within-file duplicates: a later row with the same id supersedes the earlier one.
    dupes = movies.slice(0, 2).with_columns(pl.col("vote_count") + 1)
    movies = pl.concat([movies, dupes])
    tv = tv_frame(rng, tv_rows, tv_ids)
    out.mkdir(parents=True, exist_ok=True)
    noise = _malformed_movie_rows(int(movie_ids.max()) + 10)
    _write_with_noise(movies, out / MOVIE_FILE, noise, cut_last=cut_last)
    blank_tv = "," * (len(TV_COLUMNS) - 2)
    tv_noise = [f"-5,Negative Id{blank_tv}"]
    _write_with_noise(tv, out / TV_FILE, tv_noise, cut_last=False)
    return DemoFiles(
        movies=out / MOVIE_FILE,
        tv=out / TV_FILE,
        movie_rows=movies.height,
        tv_rows=tv.height,
        malformed_rows=len(noise) + int(cut_last) + len(tv_noise),
    )


def without_broken_records(demo: Path, out: Path) -> None:
    """Copy the demo files in `demo` to `out` without their structurally broken record, so
    that landing reads them with its fast path (the benchmark measures both)."""
    out.mkdir(parents=True, exist_ok=True)
    mark = f",{BROKEN_RECORD_TITLE},".encode()
    for source in sorted(demo.glob("*.csv")):
        tmp = out / (source.name + ".partial")
        with open(source, "rb") as src, open(tmp, "wb") as dst:
            dst.writelines(line for line in src if mark not in line)
        tmp.replace(out / source.name)
