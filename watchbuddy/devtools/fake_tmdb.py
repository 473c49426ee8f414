"""A fake TMDB v3 API on loopback, for tests, benchmarks and trying things by hand.

It serves a generated catalogue through the endpoints WatchBuddy uses, with TMDB's real
response and error shapes: `/discover/movie` and `/discover/tv` (date windows, vote-count
ranges, ascending release-date order, 20 results a page, HTTP 400 status_code 22 past page
500, and TMDB's capped totals: `total_pages` at most 500 and `total_results` at most 10,000
by default, or the true `total_results` with `totals="true_results"`; real TMDB answers
both ways),
`/movie/{id}` and `/tv/{id}` (with `append_to_response=keywords,external_ids`),
`/genre/movie/list`, `/genre/tv/list`, `/movie/changes` and `/tv/changes` (100 ids a page,
HTTP 422 status_code 20 for windows over 14 days), and streaming availability
(`/watch/providers/regions`, `/watch/providers/movie|tv`, `/movie|tv/{id}/watch/providers`
and discover's `watch_region`, `with_watch_providers`, `with_watch_monetization_types` over
the deterministic table of `fake_providers.FakeAvailability`). Credentials are checked (HTTP 401
status_code 7), a request-rate limit can be enforced (HTTP 429 status_code 25), and faults
can be switched on while it runs: bursts of 429 with or without `Retry-After` (any value,
well-formed or not), 500/502/503,
slow responses, hangs past the client's timeout, malformed JSON (the next N answers, or the
answers to requests matching `malformed_at`, such as one page of one window), a revoked
key, and a hostile server: any answer of your making instead of the real one (status, body,
headers, padding, gzip, so a test can send a body that decodes to many megabytes or a
redirect) and bodies that trickle in a byte at a time. `catalogue.remove()` deletes a title,
which then answers 404.

    python -m watchbuddy.devtools.fake_tmdb --port 8765 --movies 5000 --shows 1000 --api-key demo

then `WATCHBUDDY_TMDB_BASE_URL=http://127.0.0.1:8765/3 TMDB_API_KEY=demo watchbuddy ingest all`
(and `WATCHBUDDY_TMDB_EXPORTS_URL=http://127.0.0.1:8765/p/exports watchbuddy exports all`).
Faults can also be set over HTTP: `POST /__faults` with a JSON object of `Faults` fields.

It also serves TMDB's daily ID exports (`FakeExports`) under `/p/exports/`, no key needed:
`movie_ids_MM_DD_YYYY.json.gz`, `tv_series_ids_…`, `adult_movie_ids_…` and
`adult_tv_series_ids_…` for the last 90 days up to the fake's today, in TMDB's line shapes,
with popularity that rises and falls, titles that appear and disappear on known days, and
S3's 403 `AccessDenied` XML for a day outside the window or today's file before it is
published (08:00 UTC by default). `export_truth()` is what a file holds, for tests.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import gzip
import hashlib
import json
import math
import random
import re
import socket
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from watchbuddy.devtools.fake_providers import FakeAvailability, tmdb_sized_providers
from watchbuddy.store.schema import genre_table

PAGE_SIZE = 20
MAX_PAGE = 500  # TMDB serves no page past it; the results cap is MAX_PAGE * PAGE_SIZE
TOTALS = ("capped", "true_results")
DISCOVER_CACHE_SIZE = 64
CHANGES_PAGE_SIZE = 100
MAX_CHANGES_DAYS = 14

ERROR_BODIES = {
    7: "Invalid API key: You must be granted a valid key.",
    20: "Invalid date range: Should be a range no longer than 14 days.",
    22: "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer.",
    25: "Your request count (41) is over the allowed limit of 40.",
    34: "The resource you requested could not be found.",
    11: "Internal error: Something went wrong, contact TMDb.",
}

_WORDS = (
    "night river glass winter signal harbor letter orchard machine garden echo summer "
    "mirror island stranger promise shadow engine lantern border"
).split()


@dataclass
class Title:
    media_type: str
    id: int
    title: str
    date: dt.date
    genre_ids: list[int]
    original_language: str
    popularity: float
    vote_average: float
    vote_count: int
    runtime: int
    imdb_id: str
    keywords: list[str]
    changed: dt.date | None = None  # when TMDB last changed it (default: its release date)

    def summary(self) -> dict[str, Any]:
        """The object TMDB puts in discover results."""
        common = {
            "adult": False,
            "backdrop_path": None,
            "genre_ids": self.genre_ids,
            "id": self.id,
            "original_language": self.original_language,
            "overview": f"A {self.title.lower()}, as told in a fake catalogue.",
            "popularity": self.popularity,
            "poster_path": f"/fake{self.id}.jpg",
            "vote_average": self.vote_average,
            "vote_count": self.vote_count,
        }
        if self.media_type == "movie":
            return {
                **common,
                "original_title": self.title,
                "release_date": self.date.isoformat(),
                "title": self.title,
                "video": False,
            }
        return {
            **common,
            "first_air_date": self.date.isoformat(),
            "name": self.title,
            "origin_country": ["US"],
            "original_name": self.title,
        }

    def details(self, append: set[str]) -> dict[str, Any]:
        out = self.summary()
        del out["genre_ids"]
        names = genre_table()[self.media_type]
        out["genres"] = [{"id": g, "name": names[g]} for g in self.genre_ids if g in names]
        keywords = [{"id": i, "name": k} for i, k in enumerate(self.keywords, start=1)]
        # TMDB's shapes: movie keywords under `keywords.keywords`, a show's under
        # `keywords.results`; `external_ids` for both (a movie also has `imdb_id` on top).
        external = {
            "id": self.id,
            "imdb_id": self.imdb_id,
            "wikidata_id": None,
            "facebook_id": None,
            "instagram_id": None,
            "twitter_id": None,
        }
        if self.media_type == "movie":
            out.update(runtime=self.runtime, status="Released", imdb_id=self.imdb_id)
            if "keywords" in append:
                out["keywords"] = {"id": self.id, "keywords": keywords}
        else:
            out.update(episode_run_time=[self.runtime], status="Returning Series")
            external.update(freebase_mid=None, freebase_id=None, tvdb_id=None, tvrage_id=None)
            if "keywords" in append:
                out["keywords"] = {"results": keywords}
        if "external_ids" in append:
            out["external_ids"] = external
        return out


class Catalogue:
    """Titles by media type, generated from a seed; tests may add, change or remove titles.

    Discover reads a date index (titles sorted by date, rebuilt after `add` or `remove`), so
    a catalogue of tens of thousands of titles answers a page in microseconds. A test that
    changes a title's date or vote count in place calls `touch()` so discover sees it.
    """

    def __init__(self) -> None:
        self.titles: dict[str, dict[int, Title]] = {"movie": {}, "tv": {}}
        self.lock = threading.Lock()
        self.version = 0  # bumped by every add, remove and touch
        self._index: dict[str, tuple[tuple[int, int], list[Title], list[dt.date]]] = {}

    @classmethod
    def generate(
        cls,
        movies: int,
        shows: int,
        start: dt.date,
        end: dt.date,
        seed: int = 1,
        shared_ids: int = 0,
    ) -> Catalogue:
        rng = random.Random(seed)
        catalogue = cls()
        span = (end - start).days
        genre_ids = {m: sorted(t) for m, t in genre_table().items()}
        movie_ids = rng.sample(range(1_000_000, 1_000_000 + movies * 5), movies)
        show_ids = rng.sample(range(2_000_000, 2_000_000 + shows * 5), shows)
        show_ids[:shared_ids] = movie_ids[:shared_ids]  # ids that are both a movie and a show
        for media_type, ids in (("movie", movie_ids), ("tv", show_ids)):
            for tmdb_id in ids:
                words = rng.sample(_WORDS, 2)
                catalogue.add(
                    Title(
                        media_type=media_type,
                        id=tmdb_id,
                        title=" ".join(w.capitalize() for w in words),
                        date=start + dt.timedelta(days=rng.randint(0, span)),
                        genre_ids=rng.sample(genre_ids[media_type], rng.randint(1, 3)),
                        original_language=rng.choice(["en", "en", "en", "fr", "ja", "da", "ko"]),
                        popularity=round(rng.lognormvariate(0, 1.2), 3),
                        vote_average=round(rng.uniform(3, 9), 1),
                        vote_count=int(rng.lognormvariate(2, 1.5)),
                        runtime=rng.randint(20, 180),
                        imdb_id=f"tt{rng.randint(1_000_000, 9_999_999)}",
                        keywords=rng.sample(_WORDS, 3),
                    )
                )
        return catalogue

    def add(self, title: Title) -> None:
        with self.lock:
            self.titles[title.media_type][title.id] = title
            self.version += 1

    def add_many(self, titles: list[Title]) -> None:
        """Add titles in one step (big catalogues for tests)."""
        with self.lock:
            for title in titles:
                self.titles[title.media_type][title.id] = title
            self.version += 1

    def remove(self, media_type: str, tmdb_id: int) -> None:
        """Delete a title from TMDB: its details answer 404 and discover no longer lists it."""
        with self.lock:
            del self.titles[media_type][tmdb_id]
            self.version += 1

    def touch(self) -> None:
        """Say that titles were changed in place (discover re-reads them)."""
        with self.lock:
            self.version += 1

    def _sorted(self, media_type: str) -> tuple[list[Title], list[dt.date]]:
        """Titles of a media type by (date, id) and their dates, rebuilt when changed (the
        length is part of the key too, for a test that deletes from `titles` directly)."""
        key = (self.version, len(self.titles[media_type]))
        cached = self._index.get(media_type)
        if cached is None or cached[0] != key:
            ordered = sorted(self.titles[media_type].values(), key=lambda t: (t.date, t.id))
            cached = (key, ordered, [t.date for t in ordered])
            self._index[media_type] = cached
        return cached[1], cached[2]

    def window(self, media_type: str, gte: dt.date | None, lte: dt.date | None) -> list[Title]:
        """Titles released from `gte` to `lte` (both included), by date then id."""
        with self.lock:
            ordered, dates = self._sorted(media_type)
            first = 0 if gte is None else bisect.bisect_left(dates, gte)
            last = len(dates) if lte is None else bisect.bisect_right(dates, lte)
            return ordered[first:last]

    def changed_between(
        self, media_type: str, start: dt.date | None, end: dt.date | None
    ) -> list[Title]:
        with self.lock:
            found = [
                t
                for t in self.titles[media_type].values()
                if (start is None or (t.changed or t.date) >= start)
                and (end is None or (t.changed or t.date) <= end)
            ]
        return sorted(found, key=lambda t: (t.changed or t.date, t.id))

    def get(self, media_type: str, tmdb_id: int) -> Title | None:
        with self.lock:
            return self.titles[media_type].get(tmdb_id)


@dataclass
class Faults:
    """Switchable misbehaviour. Counters count down as requests consume them."""

    status_burst: int = 0  # the next N requests answer with `burst_status`
    burst_status: int = 429
    # Sent with burst 429s / 503s when set: a number as seconds, a string exactly as given
    # ("NaN", "-1", "", an HTTP-date), to see what the client makes of odd values.
    retry_after: float | str | None = None
    malformed: int = 0  # the next N answers are cut-off JSON
    # Answers to requests that match this are cut-off JSON, `malformed_at_times` times:
    # {"path": "/discover/movie", "page": "3"} matches the path (with or without the /3
    # prefix) and every other key as a query parameter, compared as text.
    malformed_at: dict[str, Any] | None = None
    malformed_at_times: int = 0
    slow: int = 0  # the next N answers take `slow_seconds` extra
    slow_seconds: float = 0.0
    hang: int = 0  # the next N requests hang for `hang_seconds` (past the client timeout)
    hang_seconds: float = 30.0
    revoked: bool = False  # every request gets 401
    # A hostile server: the next N requests (of those matching `answer_at`, when set, as
    # `malformed_at` matches) get this answer instead of the real one: `answer_status`,
    # `answer_body` sent exactly as given (valid JSON or not), `answer_headers`, then
    # `answer_pad` bytes of JSON whitespace, gzip-encoded when `answer_gzip` (compressed as
    # it is built, so a small test sends a small body that decodes to many megabytes).
    answer: int = 0
    answer_at: dict[str, Any] | None = None
    answer_status: int = 200
    answer_body: str = "{}"
    answer_headers: dict[str, str] | None = None
    answer_pad: int = 0
    answer_gzip: bool = False
    # The next N answers send their body one byte every `trickle_seconds`: every read is
    # quick, the whole answer takes as long as its length says (a slowloris).
    trickle: int = 0
    trickle_seconds: float = 0.05
    latency: float = 0.0  # added to every request
    rate_limit: float | None = None  # requests per second beyond which TMDB answers 429
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def take(self, name: str) -> bool:
        with self.lock:
            left = getattr(self, name)
            if left > 0:
                setattr(self, name, left - 1)
                return True
            return False

    def take_targeted(self, path: str, query: dict[str, str]) -> bool:
        """Whether this request is one `malformed_at` targets (and count it down)."""
        with self.lock:
            spec = self.malformed_at
            if not spec or self.malformed_at_times <= 0 or not _targets(spec, path, query):
                return False
            self.malformed_at_times -= 1
            return True

    def take_answer(self, path: str, query: dict[str, str]) -> bool:
        """Whether this request gets the hostile `answer` (and count it down)."""
        with self.lock:
            if self.answer <= 0 or (self.answer_at and not _targets(self.answer_at, path, query)):
                return False
            self.answer -= 1
            return True

    def hostile_answer(self) -> tuple[int, bytes, dict[str, str]]:
        """The `answer` fault's status, bytes on the wire and headers."""
        with self.lock:
            body, pad, gzip = self.answer_body.encode(), self.answer_pad, self.answer_gzip
            status, headers = self.answer_status, dict(self.answer_headers or {})
        spaces = b" " * (1 << 20)
        if not gzip:
            return status, body + b" " * pad, headers
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        parts = [packer.compress(body)]
        while pad > 0:
            parts.append(packer.compress(spaces[: min(pad, len(spaces))]))
            pad -= len(spaces)
        parts.append(packer.flush())
        return status, b"".join(parts), {**headers, "Content-Encoding": "gzip"}

    def update(self, values: dict[str, Any]) -> None:
        with self.lock:
            for key, value in values.items():
                if key == "lock" or not hasattr(self, key):
                    raise KeyError(key)
                setattr(self, key, value)

    def public(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "lock"}


def _targets(spec: dict[str, Any], path: str, query: dict[str, str]) -> bool:
    """Whether a request matches a fault's target: its path (with or without the /3 prefix)
    and every other key as a query parameter, compared as text."""
    wanted_path = str(spec.get("path", path))
    if path not in (wanted_path, "/3" + wanted_path):
        return False
    return all(query.get(k) == str(v) for k, v in spec.items() if k != "path")


# ---------------------------------------------------------------- daily ID exports

# TMDB's export file name prefixes by (media type, adult).
EXPORT_PREFIXES = {
    ("movie", False): "movie_ids",
    ("tv", False): "tv_series_ids",
    ("movie", True): "adult_movie_ids",
    ("tv", True): "adult_tv_series_ids",
}
EXPORT_KEEP_DAYS = 90  # TMDB deletes a file after about three months
EXPORT_PUBLISH_HOUR = 8  # UTC; a day's files answer 403 before it
EXPORT_CHUNK = 64 * 1024
# What S3 behind files.tmdb.org answers for a file that is not there (status 403).
ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message><RequestId>FAKE</RequestId></Error>"
)
ADULT_ID_BASE = {"movie": 9_000_000, "tv": 9_500_000}
EXPORT_ONLY_ID_BASE = {"movie": 5_000_000, "tv": 6_000_000}
_EXPORT_NAME = re.compile(
    r"/p/exports/(adult_)?(movie_ids|tv_series_ids)_(\d\d)_(\d\d)_(\d{4})\.json\.gz"
)


def export_file_name(media_type: str, day: dt.date, adult: bool = False) -> str:
    """TMDB's name for one export file, e.g. `movie_ids_08_31_2026.json.gz`."""
    return f"{EXPORT_PREFIXES[(media_type, adult)]}_{day:%m_%d_%Y}.json.gz"


def _mix(*parts: int) -> int:
    """A stable 64-bit hash of integers (the same in every process and run)."""
    data = ",".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


@dataclass(frozen=True)
class ExportTitle:
    id: int
    name: str
    base: float  # popularity around which the daily value swings
    period: int  # days of one rise and fall
    phase: int
    amplitude: float
    first: dt.date | None  # listed from this day on (a new title), None: always
    last: dt.date | None  # listed up to the day before this one (removed), None: still listed

    def listed(self, day: dt.date) -> bool:
        return (self.first is None or day >= self.first) and (self.last is None or day < self.last)

    def popularity(self, day: dt.date) -> float:
        """Deterministic, rising and falling over days: a sine on a log scale."""
        angle = 2 * math.pi * ((day.toordinal() + self.phase) % self.period) / self.period
        return round(self.base * math.exp(self.amplitude * math.sin(angle)), 4)


class FakeExports:
    """TMDB's daily ID exports over the catalogue, for `FakeTmdb` to serve under /p/exports/.

    The files list the catalogue's titles (so export ids and API titles agree), plus
    `adult_titles` adult ids per media type (in the adult files only) and `export_only` ids
    per media type that only the exports know (ids the pool lacks, and big files for tests).
    Events happen on known days of the 90 days ending at `start + 89`: a title whose hash
    says so is new (listed from `first` on) or removed (listed before `last` only).
    `now` is the fake's clock (None: the real one); tests set it. A file answers 403 with
    S3's XML body for a day outside the 90 days up to today, for today's before
    `publish_hour` UTC, and for names in `withheld`. `bad_lines` adds raw lines to a file
    (by file name), `chunk_delay` slows every 64 KB sent, `bytes_sent` counts what went out.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        today: dt.date | None = None,
        adult_titles: int | None = None,
        export_only: dict[str, int] | None = None,
        publish_hour: int = EXPORT_PUBLISH_HOUR,
    ) -> None:
        self.catalogue = catalogue
        today = today or dt.datetime.now(dt.UTC).date()
        self.start = today - dt.timedelta(days=EXPORT_KEEP_DAYS - 1)  # events fall on these days
        self.now: dt.datetime | None = None
        if today != dt.datetime.now(dt.UTC).date():
            self.now = dt.datetime.combine(today, dt.time(12), dt.UTC)
        self.publish_hour = publish_hour
        sizes = {m: len(catalogue.titles[m]) for m in ("movie", "tv")}
        self.adult_titles = {
            m: adult_titles if adult_titles is not None else max(2, sizes[m] // 50) for m in sizes
        }
        self.export_only = dict(export_only or {})
        self.withheld: set[str] = set()
        self.bad_lines: dict[str, list[str]] = {}
        self.chunk_delay = 0.0
        self.bytes_sent: dict[str, int] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self._params: dict[tuple[str, int], ExportTitle] = {}

    def today(self) -> dt.date:
        return (self.now or dt.datetime.now(dt.UTC)).date()

    def available(self, media_type: str, day: dt.date, adult: bool = False) -> bool:
        """Whether TMDB serves this file now."""
        now = self.now or dt.datetime.now(dt.UTC)
        today = now.date()
        if export_file_name(media_type, day, adult) in self.withheld:
            return False
        if day > today or day <= today - dt.timedelta(days=EXPORT_KEEP_DAYS):
            return False
        return day < today or now.hour >= self.publish_hour

    def _title(self, media_type: str, tmdb_id: int, name: str, base: float) -> ExportTitle:
        key = (media_type, tmdb_id)
        found = self._params.get(key)
        if found is not None and found.name == name and found.base == base:
            return found
        h = _mix(tmdb_id, 1 if media_type == "movie" else 2)
        period = 40 + h % 80
        event_day = self.start + dt.timedelta(days=1 + (h >> 24) % (EXPORT_KEEP_DAYS - 1))
        first = event_day if h % 17 == 0 else None
        last = event_day if first is None and h % 19 == 0 else None
        found = ExportTitle(
            id=tmdb_id,
            name=name,
            base=max(base, 0.0),
            period=period,
            phase=(h >> 8) % period,
            amplitude=0.3 + ((h >> 16) % 50) / 100,
            first=first,
            last=last,
        )
        self._params[key] = found
        return found

    def _candidates(self, media_type: str, adult: bool) -> list[ExportTitle]:
        if adult:
            base_id = ADULT_ID_BASE[media_type]
            ids = range(base_id, base_id + self.adult_titles[media_type])
            return [
                self._title(media_type, i, f"Adult {i}", round(1 + (_mix(i) % 5000) / 1000, 3))
                for i in ids
            ]
        with self.catalogue.lock:
            titles = list(self.catalogue.titles[media_type].values())
        out = [self._title(media_type, t.id, t.title, t.popularity) for t in titles]
        base_id = EXPORT_ONLY_ID_BASE[media_type]
        for i in range(base_id, base_id + self.export_only.get(media_type, 0)):
            out.append(self._title(media_type, i, f"Export {i}", round((i % 997) / 100, 2)))
        return out

    def titles(self, media_type: str, adult: bool = False) -> list[ExportTitle]:
        """Every title a file of this kind may list, with its known days (`first`, `last`)."""
        with self.lock:
            return self._candidates(media_type, adult)

    def truth(self, media_type: str, day: dt.date, adult: bool = False) -> list[dict[str, Any]]:
        """Exactly the objects the file for (media type, day, adult) holds, in file order
        (an order by hash, not by id, as TMDB's files are not sorted); lines in `bad_lines`
        are not among them."""
        with self.lock:
            listed = [t for t in self._candidates(media_type, adult) if t.listed(day)]
        listed.sort(key=lambda t: _mix(t.id, 7))
        if media_type == "movie":
            return [
                {
                    "adult": adult,
                    "id": t.id,
                    "original_title": t.name,
                    "popularity": t.popularity(day),
                    "video": False,
                }
                for t in listed
            ]
        return [
            {"id": t.id, "original_name": t.name, "popularity": t.popularity(day)} for t in listed
        ]

    def file_bytes(self, media_type: str, day: dt.date, adult: bool = False) -> bytes:
        """The gzip file as served: one JSON object a line, `bad_lines` spread among them."""
        lines = [
            json.dumps(o, ensure_ascii=False, separators=(",", ":"))
            for o in self.truth(media_type, day, adult)
        ]
        for index, bad in enumerate(
            self.bad_lines.get(export_file_name(media_type, day, adult), [])
        ):
            lines.insert(min(len(lines), 1 + index * 3), bad)
        text = "".join(line + "\n" for line in lines)
        return gzip.compress(text.encode(), compresslevel=1, mtime=0)

    def answer(self, path: str) -> tuple[int, bytes, str, str]:
        """(status, body, content type, file name) for a request under /p/exports/."""
        match = _EXPORT_NAME.fullmatch(path)
        name = path.rsplit("/", 1)[-1]
        with self.lock:
            self.requests.append(name)
        if not match:
            return 403, ACCESS_DENIED, "application/xml", name
        adult = bool(match.group(1))
        media_type = "movie" if match.group(2) == "movie_ids" else "tv"
        try:
            day = dt.date(int(match.group(5)), int(match.group(3)), int(match.group(4)))
        except ValueError:
            return 403, ACCESS_DENIED, "application/xml", name
        if not self.available(media_type, day, adult):
            return 403, ACCESS_DENIED, "application/xml", name
        return 200, self.file_bytes(media_type, day, adult), "application/octet-stream", name

    def sent(self, name: str, count: int) -> None:
        with self.lock:
            self.bytes_sent[name] = self.bytes_sent.get(name, 0) + count


class FakeTmdb:
    """The server. `with FakeTmdb(catalogue, api_key="k") as tmdb: tmdb.base_url ...`"""

    def __init__(
        self,
        catalogue: Catalogue,
        api_key: str | None = "test-key",
        read_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        totals: str = "capped",
        exports: FakeExports | None = None,
        availability: FakeAvailability | None = None,
    ) -> None:
        if totals not in TOTALS:
            raise ValueError(f"totals must be one of {TOTALS}, not {totals!r}")
        self.catalogue = catalogue
        self.exports = exports or FakeExports(catalogue)
        # Streaming availability per region and provider (fake_providers).
        self.availability = availability or FakeAvailability(catalogue)
        # How discover reports totals past the cap: "capped" (total_pages at most 500 and
        # total_results at most 10,000) or "true_results" (total_pages capped, total_results
        # true). Real TMDB does both.
        self.totals = totals
        self._discover_cache: dict[tuple, list[Title]] = {}
        self.api_key = api_key
        self.read_token = read_token
        self.faults = Faults()
        self.requests = 0
        self.log: deque[tuple[float, str]] = deque(maxlen=100_000)
        self._recent: deque[float] = deque()
        self._count_lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/3"

    @property
    def exports_url(self) -> str:
        """Where the daily ID exports are, as WATCHBUDDY_TMDB_EXPORTS_URL takes it."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/p/exports"

    def start(self) -> FakeTmdb:
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="fake-tmdb"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTmdb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def over_rate(self) -> bool:
        """Sliding one-second window, as TMDB's limiter behaves."""
        limit = self.faults.rate_limit
        now = time.monotonic()
        with self._count_lock:
            self._recent.append(now)
            while self._recent and self._recent[0] < now - 1.0:
                self._recent.popleft()
            return limit is not None and len(self._recent) > limit


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    return dt.date.fromisoformat(value)


def _handler_for(server: FakeTmdb) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; with Nagle's algorithm the second waits
            # for the client's delayed ACK (~40 ms a request on keep-alive connections).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(
            self,
            status: int,
            body: Any,
            headers: dict[str, str] | None = None,
            raw: bytes | None = None,
            trickle: float = 0.0,
        ) -> None:
            payload = raw if raw is not None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if not trickle:
                self.wfile.write(payload)
                return
            self.close_connection = True
            try:
                for index in range(len(payload)):
                    self.wfile.write(payload[index : index + 1])
                    self.wfile.flush()
                    time.sleep(trickle)
            except OSError:  # the client gave up and closed the connection
                return

        def _error(self, status: int, code: int, headers: dict[str, str] | None = None) -> None:
            self._send(
                status,
                {"status_code": code, "status_message": ERROR_BODIES[code], "success": False},
                headers,
            )

        def do_POST(self) -> None:
            if self.path != "/__faults":
                self._error(404, 34)
                return
            length = int(self.headers.get("Content-Length", "0"))
            try:
                server.faults.update(json.loads(self.rfile.read(length) or b"{}"))
            except (ValueError, KeyError) as exc:
                self._send(400, {"error": f"unknown fault {exc}"})
                return
            self._send(200, server.faults.public())

        def do_GET(self) -> None:
            faults = server.faults
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            with server._count_lock:
                server.requests += 1
            server.log.append((time.monotonic(), url.path))
            if url.path.startswith("/p/exports/"):  # files.tmdb.org: no key, no API faults
                self._export_file(url.path)
                return
            if faults.latency:
                time.sleep(faults.latency)
            if faults.take("hang"):
                time.sleep(faults.hang_seconds)
            if faults.take("slow"):
                time.sleep(faults.slow_seconds)
            if not self._authorized(query) or faults.revoked:
                self._error(401, 7)
                return
            if server.over_rate():
                self._error(429, 25)
                return
            if faults.take("status_burst"):
                headers = {}
                if faults.retry_after is not None:
                    headers["Retry-After"] = str(faults.retry_after)
                if faults.burst_status == 429:
                    self._error(429, 25, headers)
                else:
                    self._error(faults.burst_status, 11, headers)
                return
            trickle = faults.trickle_seconds if faults.take("trickle") else 0.0
            if faults.take_answer(url.path, query):
                status, raw, headers = faults.hostile_answer()
                self._send(status, None, headers, raw=raw, trickle=trickle)
                return
            try:
                status, body = self._route(url.path, query)
            except ValueError:
                status, body = (
                    400,
                    {"status_code": 22, "status_message": ERROR_BODIES[22], "success": False},
                )
            if status == 200 and (
                faults.take("malformed") or faults.take_targeted(url.path, query)
            ):
                text = json.dumps(body).encode()
                self._send(200, None, raw=text[: max(len(text) // 2, 1)], trickle=trickle)
                return
            self._send(status, body, trickle=trickle)

        def _export_file(self, path: str) -> None:
            exports = server.exports
            status, body, content_type, name = exports.answer(path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for start in range(0, len(body), EXPORT_CHUNK):
                    if exports.chunk_delay and start:
                        time.sleep(exports.chunk_delay)
                    chunk = body[start : start + EXPORT_CHUNK]
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    exports.sent(name, len(chunk))
            except OSError:  # the client went away (or was killed) mid-file
                self.close_connection = True

        def _authorized(self, query: dict[str, str]) -> bool:
            auth = self.headers.get("Authorization", "")
            if server.read_token and auth == f"Bearer {server.read_token}":
                return True
            return bool(server.api_key) and query.get("api_key") == server.api_key

        def _route(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
            match = re.fullmatch(r"/3/discover/(movie|tv)", path)
            if match:
                return self._discover(match.group(1), query)
            match = re.fullmatch(r"/3/(movie|tv)/(\d+)", path)
            if match:
                title = server.catalogue.get(match.group(1), int(match.group(2)))
                if title is None:
                    return 404, _error_body(34)
                append = set(filter(None, query.get("append_to_response", "").split(",")))
                return 200, title.details(append)
            match = re.fullmatch(r"/3/genre/(movie|tv)/list", path)
            if match:
                names = genre_table()[match.group(1)]
                return 200, {"genres": [{"id": k, "name": v} for k, v in names.items()]}
            match = re.fullmatch(r"/3/(movie|tv)/changes", path)
            if match:
                return self._changes(match.group(1), query)
            availability = server.availability
            if path == "/3/watch/providers/regions":
                return 200, availability.regions_body()
            match = re.fullmatch(r"/3/watch/providers/(movie|tv)", path)
            if match:
                return 200, availability.providers_body(query.get("watch_region"))
            match = re.fullmatch(r"/3/(movie|tv)/(\d+)/watch/providers", path)
            if match:
                media_type, tmdb_id = match.group(1), int(match.group(2))
                if server.catalogue.get(media_type, tmdb_id) is None:
                    return 404, _error_body(34)
                return 200, availability.title_body(media_type, tmdb_id)
            return 404, _error_body(34)

        def _discover(self, media_type: str, query: dict[str, str]) -> tuple[int, Any]:
            page = int(query.get("page", "1"))
            if page < 1 or page > MAX_PAGE:
                return 400, _error_body(22)
            found = self._discover_all(media_type, query)
            start = (page - 1) * PAGE_SIZE
            pages = max(math.ceil(len(found) / PAGE_SIZE), 1)
            capped = server.totals == "capped"
            return 200, {
                "page": page,
                "results": [t.summary() for t in found[start : start + PAGE_SIZE]],
                "total_pages": min(pages, MAX_PAGE),
                "total_results": min(len(found), MAX_PAGE * PAGE_SIZE) if capped else len(found),
            }

        def _discover_all(self, media_type: str, query: dict[str, str]) -> list[Title]:
            """Every title matching a discover query, in its order; the pages of one query
            share the list (cached per catalogue version)."""
            field = "primary_release_date" if media_type == "movie" else "first_air_date"
            catalogue = server.catalogue
            key = (
                catalogue.version,
                len(catalogue.titles[media_type]),
                media_type,
                tuple(sorted((k, v) for k, v in query.items() if k not in ("page", "api_key"))),
            )
            found = server._discover_cache.get(key)
            if found is not None:
                return found
            found = catalogue.window(
                media_type, _date(query.get(f"{field}.gte")), _date(query.get(f"{field}.lte"))
            )
            allowed = server.availability.allowed(media_type, query)
            found = [
                t for t in found if _matches(t, query) and (allowed is None or t.id in allowed)
            ]
            sort_by = query.get("sort_by", f"{field}.asc")
            order = sort_by.rsplit(".", 1)[0]
            if order in ("popularity", "vote_average", "vote_count"):
                found.sort(key=lambda t: (getattr(t, order), t.id))
            if sort_by.endswith(".desc"):
                found.reverse()
            with server._count_lock:
                if len(server._discover_cache) >= DISCOVER_CACHE_SIZE:
                    server._discover_cache.pop(next(iter(server._discover_cache)))
                server._discover_cache[key] = found
            return found

        def _changes(self, media_type: str, query: dict[str, str]) -> tuple[int, Any]:
            start, end = _date(query.get("start_date")), _date(query.get("end_date"))
            if start and end and (end - start).days > MAX_CHANGES_DAYS:
                return 422, _error_body(20)
            page = int(query.get("page", "1"))
            found = server.catalogue.changed_between(media_type, start, end)
            chunk = found[(page - 1) * CHANGES_PAGE_SIZE : page * CHANGES_PAGE_SIZE]
            return 200, {
                "results": [{"id": t.id, "adult": False} for t in chunk],
                "page": page,
                "total_pages": max(math.ceil(len(found) / CHANGES_PAGE_SIZE), 1),
                "total_results": len(found),
            }

    return Handler


def _matches(title: Title, query: dict[str, str]) -> bool:
    """TMDB's discover filters: language, genres ('|' any, ',' all), vote floors and
    ceilings."""
    language = query.get("with_original_language")
    if language and title.original_language not in language.split("|"):
        return False
    genres = query.get("with_genres")
    if genres:
        if "|" in genres:
            if not {int(g) for g in genres.split("|")} & set(title.genre_ids):
                return False
        elif not {int(g) for g in genres.split(",")} <= set(title.genre_ids):
            return False
    if float(query.get("vote_count.gte", 0)) > title.vote_count:
        return False
    if "vote_count.lte" in query and float(query["vote_count.lte"]) < title.vote_count:
        return False
    return float(query.get("vote_average.gte", 0)) <= title.vote_average


def _error_body(code: int) -> dict[str, Any]:
    return {"status_code": code, "status_message": ERROR_BODIES[code], "success": False}


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a fake TMDB API on loopback.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--movies", type=int, default=5000)
    parser.add_argument("--shows", type=int, default=1000)
    parser.add_argument("--start", default="2023-06-01", help="earliest release date")
    parser.add_argument(
        "--days-ahead",
        type=int,
        default=120,
        help="latest release date, in days from today (future releases)",
    )
    parser.add_argument("--api-key", default="demo")
    parser.add_argument("--read-token", default=None)
    parser.add_argument("--rate-limit", type=float, default=40.0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--tmdb-sized-providers",
        action="store_true",
        help="provider catalogues as large as TMDB's in the US (Netflix ~7K titles, a rent/buy "
        "store ~25K; the catalogue needs tens of thousands of titles)",
    )
    parser.add_argument(
        "--totals",
        choices=TOTALS,
        default="capped",
        help="discover totals past the cap: both capped (default) or true total_results",
    )
    args = parser.parse_args()
    end = dt.date.today() + dt.timedelta(days=args.days_ahead)
    catalogue = Catalogue.generate(
        args.movies,
        args.shows,
        dt.date.fromisoformat(args.start),
        end,
        seed=args.seed,
        shared_ids=min(args.movies, args.shows) // 10,
    )
    providers = (
        FakeAvailability(catalogue, tmdb_sized_providers(args.movies + args.shows))
        if args.tmdb_sized_providers
        else None
    )
    server = FakeTmdb(
        catalogue,
        api_key=args.api_key,
        read_token=args.read_token,
        port=args.port,
        totals=args.totals,
        availability=providers,
    )
    server.faults.rate_limit = args.rate_limit
    server.faults.latency = args.latency
    print(
        f"Fake TMDB serving {args.movies} movies and {args.shows} shows at {server.base_url}"
        f" (api_key={args.api_key!r}) and daily ID exports at {server.exports_url}; "
        "Ctrl-C to stop.",
        flush=True,
    )
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()


if __name__ == "__main__":
    main()
