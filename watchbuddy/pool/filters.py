"""The candidate filters, each declared once: `CandidateFilters` is the registry.

Every field of `CandidateFilters` carries its `Filter` entry: help text, validation, the SQL
condition it adds, its TMDB discover parameters, its `recommend` option, its link parameter
and its sidebar widget. Everything that handles filters is derived from these entries: the
CLI options (`watchbuddy.cli.filter_options`), the link parser
(`watchbuddy.explorer.query_params`), the Explore sidebar, `validated()`, the cache key, the
fallback's discover queries and the README's filter table (`readme_table`, checked by a
test). So the CLI, the links and the Python API cannot disagree about what a value means or
whether it is allowed; adding a filter is one field here (and its test).

A value is checked by one function per entry (`Filter.validate`). Each surface words a
refusal its own way: `validated()` and the CLI raise the entry's sentence (click states its
own ranges and choices first, built from the same declaration), a link drops the value with
a short reason. Whether a language has titles in the pool is a separate question
(`missing_languages`), asked by the CLI and the link parser, which know the pool.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from watchbuddy.errors import ConfigError, InvalidValue
from watchbuddy.pool.languages import to_code
from watchbuddy.pool.modes import DEFAULT_MODE, MODES
from watchbuddy.pool.streaming import DEFAULT_MONETIZATION, MONETIZATION_TYPES
from watchbuddy.safe_text import clip
from watchbuddy.store.genres import CANONICAL_NAMES, genre_mask, normalize_request, tmdb_genre_ids
from watchbuddy.store.schema import RELEASE_DATE_RANGE

MediaChoice = Literal["movie", "tv", "both"]
GenreMode = Literal["any", "all"]
PosterChoice = Literal["any", "with", "without"]
# Release years a filter may ask for: the years of the release dates that land.
YEAR_RANGE = (RELEASE_DATE_RANGE[0].year, RELEASE_DATE_RANGE[1].year)
# The most --limit, --offset and --min-votes may be: far past any pool (TMDB has about 1.5M
# titles), far below the 64-bit integers DuckDB takes them as.
MAX_LIST = 10_000_000
# The Explore page shows at most this many rows, and its links skip at most this many.
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
# The longest runtime a filter may ask for, in minutes: past any title (the longest film
# TMDB lists runs about 51,000 minutes), within the 32-bit runtime column.
MAX_RUNTIME = 100_000
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
SAME: Any = object()  # an entry's CLI default that is the field's own

Number = int | float
WidgetKind = Literal["selectbox", "radio", "multiselect", "number", "slider", "checkbox"]


@dataclass(frozen=True)
class Widget:
    """How the Explore sidebar shows a filter (the page lays the widgets out)."""

    kind: WidgetKind
    label: str
    labels: Mapping[str, str] | None = None  # option -> text shown for it
    options: tuple[str, ...] = ()  # for a multiselect whose options are fixed
    placeholder: str | None = None
    step: Number | None = None


@dataclass(frozen=True)
class DiscoverQuery:
    """One TMDB discover query of a fallback: for one media type and at most one language
    (discover takes one original language per query)."""

    media_type: str
    language: str | None
    today: dt.date
    date_field: str  # primary_release_date or first_air_date


# A condition: the name of its `where_*` statement in candidates.sql and its parameters.
Condition = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Filter:
    """One filter (or list option) of `CandidateFilters`: everything about it, in one place.

    `name`, `type` and `default` come from the dataclass field the entry is declared on."""

    help: str
    # The sentence for a value outside `choices` or `bounds` (validated(), the CLI).
    refusal: Callable[[Filter, Any], str] | None = None
    # Normalizes a value, or raises InvalidValue (genres and languages).
    normalize: Callable[[Filter, Any], Any] | None = None
    choices: tuple[str, ...] = ()  # the allowed values; a Literal type gives its own
    bounds: tuple[Number, Number] | None = None  # inclusive; None values pass
    role: Literal["filter", "option"] = "filter"
    where: Callable[[CandidateFilters], Condition | None] | None = None
    discover: Callable[[CandidateFilters, DiscoverQuery], dict[str, Any] | None] | None = None
    cli: str | None = None  # the `recommend` option
    cli_default: Any = SAME  # the CLI's default, when it is not the field's
    cli_range: bool = True  # click states the bounds ("x is not in the range ...")
    cli_file: bool = False  # the option names a file the command reads into the value
    url: str | None = None  # the Explore link parameter
    url_help: str = ""  # what the parameter holds (the About page, "Ignored" notes)
    url_bounds: tuple[int, int] | None = None  # narrower bounds for links and the sidebar
    widget: Widget | None = None
    shown_default: str | None = None  # the README's words for the default
    shown_values: str | None = None  # the README's words for the values, when not derived
    # From the dataclass field the entry is declared on:
    name: str = ""
    python_type: Any = None
    default: Any = None

    @property
    def word(self) -> str:
        """How messages name the filter: `year-min`, `limit`."""
        return self.cli.lstrip("-") if self.cli else self.name

    @property
    def base(self) -> Any:
        """The Python type of one value: str, int, float, bool, tuple (a list) or frozenset."""
        kind = self.python_type
        if typing.get_origin(kind) in (typing.Union, types.UnionType):
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        if typing.get_origin(kind) is Literal:
            return str
        return typing.get_origin(kind) or kind

    @property
    def options(self) -> tuple[str, ...]:
        """The allowed values of a choice: the Literal's, or the declared ones."""
        if typing.get_origin(self.python_type) is Literal:
            return tuple(typing.get_args(self.python_type))
        return self.choices

    @property
    def is_list(self) -> bool:
        return self.base is tuple

    def validate(self, value: Any) -> Any:
        """The value, normalized; InvalidValue when the entry refuses it. The one check of
        a value, whichever way it came (Python, the CLI, a link)."""
        if self.options and value not in self.options:
            raise InvalidValue(self._refused(value), f"not one of {', '.join(self.options)}")
        if self.bounds is not None and value is not None:
            low, high = self.bounds
            if not low <= value <= high:
                raise InvalidValue(self._refused(value), f"not between {low} and {high}")
        return self.normalize(self, value) if self.normalize else value

    def _refused(self, value: Any) -> str:
        return self.refusal(self, value) if self.refusal else f"{self.word} {value!r} is refused."

    def parse(self, text: str) -> Any:
        """One value from text (a link parameter): ValueError with a short reason."""
        if self.base is bool:
            word = text.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise ValueError("not true or false")
        if self.base is int:
            try:
                return int(text)
            except ValueError:
                raise ValueError("not a whole number") from None
        if self.base is float:
            try:
                return float(text)
            except ValueError:
                raise ValueError("not a number") from None
        return text.strip().lower() if self.options else text

    def from_link(self, text: str) -> Any:
        """A link's value, parsed and validated; ValueError with a short reason."""
        value = self.parse(text)
        if self.url_bounds is not None and not self.url_bounds[0] <= value <= self.url_bounds[1]:
            raise ValueError(f"not between {self.url_bounds[0]} and {self.url_bounds[1]}")
        try:
            return self.validate(value)
        except InvalidValue as exc:
            raise ValueError(exc.reason) from None

    def to_link(self, value: Any) -> str:
        if self.is_list:
            return ",".join(value)
        return str(value).lower() if isinstance(value, bool) else str(value)


def entry(default: Any, spec: Filter) -> Any:
    """A `CandidateFilters` field declared with its registry entry."""
    return field(default=default, metadata={"filter": spec})


# ---------------------------------------------------------------- checks and their sentences


def _unknown_choice(listing: str) -> Callable[[Filter, Any], str]:
    def message(spec: Filter, value: Any) -> str:
        return f"Unknown {spec.word.replace('-', ' ')} {clip(str(value))!r}; {listing}."

    return message


def _out_of_range(template: str) -> Callable[[Filter, Any], str]:
    def message(spec: Filter, value: Any) -> str:
        low, high = spec.bounds or (None, None)
        return template.format(word=spec.word, value=value, low=low, high=high)

    return message


def _min_votes_message(spec: Filter, value: int) -> str:
    if value < 0:
        return f"{spec.word} must be 0 or more."
    return f"{spec.word} must be at most {MAX_LIST:,} (got {value:,})."


def _check_genres(spec: Filter, value: tuple[str, ...]) -> tuple[str, ...]:
    """Canonical genres ('Sci-Fi' -> 'Science Fiction'), in the order asked, once each."""
    try:
        return normalize_request(tuple(value))
    except ValueError as exc:
        raise InvalidValue(
            f"Unknown genre {exc}; valid genres: {', '.join(CANONICAL_NAMES)} (TMDB's TV "
            "names such as 'Sci-Fi & Fantasy' and 'Action & Adventure' work too).",
            f"not a known genre ({', '.join(CANONICAL_NAMES)})",
        ) from None


def _check_languages(spec: Filter, value: tuple[str, ...]) -> tuple[str, ...]:
    """TMDB's codes for codes or names ('Danish', 'Deutsch' -> 'da', 'de'), sorted, once each."""
    codes = set()
    for given in value:
        try:
            codes.add(to_code(given))
        except ConfigError as exc:
            raise InvalidValue(str(exc), "not a language code or name") from None
    return tuple(sorted(codes))


_REGION = re.compile(r"[A-Z]{2}")


def _check_region(spec: Filter, value: str | None) -> str | None:
    """An ISO 3166-1 code in upper case, as TMDB's `watch_region` takes it."""
    if value is None:
        return None
    region = str(value).strip().upper()
    if not _REGION.fullmatch(region):
        raise InvalidValue(
            f"region {clip(str(value))!r} is not a country code; give an ISO 3166-1 code such "
            "as US or DE.",
            "not a two-letter country code",
        )
    return region


def _check_providers(spec: Filter, value: tuple[str, ...]) -> tuple[str, ...]:
    """The asked providers, trimmed, once each (in any case), in the order asked; which
    provider a name means is decided against the region's list when the query runs."""
    kept: dict[str, str] = {}
    for given in value:
        text = " ".join(str(given).split())
        if text:
            kept.setdefault(text.casefold(), text)
    return tuple(kept.values())


def _check_monetization(spec: Filter, value: tuple[str, ...]) -> tuple[str, ...]:
    """Monetization types from repeated or comma-separated values, in TMDB's order; none
    given means the default (what a subscriber watches at no extra cost)."""
    asked = {part.strip().lower() for given in value for part in str(given).split(",")}
    asked.discard("")
    unknown = sorted(asked - set(MONETIZATION_TYPES))
    if unknown:
        raise InvalidValue(
            f"Unknown monetization type {clip(', '.join(unknown))!r}; valid types: "
            f"{', '.join(MONETIZATION_TYPES)}.",
            f"not one of {', '.join(MONETIZATION_TYPES)}",
        )
    return tuple(t for t in MONETIZATION_TYPES if t in asked) or DEFAULT_MONETIZATION


def _check_like(spec: Filter, value: tuple[str, ...]) -> tuple[str, ...]:
    """The liked titles as asked, blanks collapsed, once each, in the order asked; which
    title a text means is decided against the pool when the query runs
    (`similar.find_title`)."""
    kept: dict[str, str] = {}
    for given in value:
        text = " ".join(str(given).split())
        if text:
            kept.setdefault(text.casefold(), text)
    return tuple(kept.values())


def missing_languages(codes: tuple[str, ...], known: list[str] | set[str]) -> list[str]:
    """The codes no title in the pool has (they could only ever return nothing)."""
    return [code for code in codes if code not in known]


def year_order_error(year_min: int | None, year_max: int | None) -> str | None:
    """The sentence for an empty year range, or None: the one rule across two filters."""
    if year_min is not None and year_max is not None and year_min > year_max:
        return f"year-min {year_min} is after year-max {year_max}."
    return None


def runtime_order_error(runtime_min: int | None, runtime_max: int | None) -> str | None:
    """The sentence for an empty runtime range, or None."""
    if runtime_min is not None and runtime_max is not None and runtime_min > runtime_max:
        return f"runtime-min {runtime_min} is above runtime-max {runtime_max}."
    return None


def order_errors(values: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(low field, high field, sentence) for each range of two filters that is empty: the
    rules across two filters, for `validated()` and the link parser."""
    found = []
    for low, high, check in (
        ("year_min", "year_max", year_order_error),
        ("runtime_min", "runtime_max", runtime_order_error),
    ):
        error = check(values.get(low), values.get(high))
        if error:
            found.append((low, high, error))
    return found


# Runs of this white space in a keyword become one space, as candidates.sql does it.
_SPACES = re.compile(r"[\t\n\f\r ]+")


def _check_keywords(spec: Filter, value: tuple[str, ...]) -> tuple[str, ...]:
    """Keywords as the candidate table compares them (candidates.sql, load_keyword_names):
    runs of ASCII white space made one space, trimmed, in lower case, once each, in the
    order asked. A comma is refused: a link lists keywords separated by commas (and the
    pool's keyword lists are split on them when landed)."""
    kept: list[str] = []
    for given in value:
        text = _SPACES.sub(" ", str(given)).strip(" ").lower()
        if "," in text:
            raise InvalidValue(
                f"{spec.word} {clip(str(given))!r} holds a comma; give one keyword per "
                f"--{spec.word} (a keyword never holds a comma).",
                "a keyword holds no comma",
            )
        if text and text not in kept:
            kept.append(text)
    return tuple(kept)


# ---------------------------------------------------------------- SQL and TMDB parameters


def _when_set(name: str) -> Callable[[CandidateFilters], Condition | None]:
    """The condition `where_<name>` with the filter's value as `$<name>`, when it is set."""

    def where(filters: CandidateFilters) -> Condition | None:
        value = getattr(filters, name)
        return None if value is None else (f"where_{name}", {name: value})

    return where


def _genres_where(filters: CandidateFilters) -> Condition | None:
    if not filters.genres:
        return None
    kind = "all" if filters.genre_mode == "all" else "any"
    return f"where_genres_{kind}", {"genre_mask": genre_mask(filters.genres)}


def _genres_discover(filters: CandidateFilters, query: DiscoverQuery) -> dict[str, Any] | None:
    """TMDB's genre ids for the media type: `,` = all of, `|` = any of; a canonical genre
    with two TMDB ids is an "or". None when TMDB cannot express the request (a genre with no
    TMDB equivalent for this media type, in 'all' mode, or none at all in 'any' mode)."""
    if not filters.genres:
        return {}
    ids = tmdb_genre_ids(filters.genres, query.media_type)
    if filters.genre_mode == "all":
        if any(not v for v in ids.values()):
            return None
        return {"with_genres": ",".join("|".join(map(str, v)) for v in ids.values())}
    flat = sorted({i for v in ids.values() for i in v})
    return {"with_genres": "|".join(map(str, flat))} if flat else None


def _release_ceiling(filters: CandidateFilters, query: DiscoverQuery) -> dict[str, Any]:
    """The latest release date: the end of year_max, and today unless unreleased titles are
    asked for (year_max and include_unreleased both set this one parameter)."""
    last = dt.date(filters.year_max, 12, 31) if filters.year_max is not None else None
    if not filters.include_unreleased:
        last = min(last, query.today) if last else query.today
    return {} if last is None else {f"{query.date_field}.lte": last.isoformat()}


def _year_min_discover(filters: CandidateFilters, query: DiscoverQuery) -> dict[str, Any]:
    if filters.year_min is None:
        return {}
    return {f"{query.date_field}.gte": f"{filters.year_min}-01-01"}


def _min_rating_discover(filters: CandidateFilters, query: DiscoverQuery) -> dict[str, Any]:
    return {} if filters.min_rating is None else {"vote_average.gte": filters.min_rating}


def _providers_where(filters: CandidateFilters) -> Condition | None:
    """Titles the region's availability lists for one of the providers in one of the
    monetization types. The providers are TMDB ids by now: `CandidateProvider` resolves the
    asked names against the region's list before it builds the query."""
    if not filters.providers:
        return None
    return "where_providers", {
        "region": filters.region,
        "provider_ids": [int(p) for p in filters.providers],
        "monetization_mask": sum(1 << MONETIZATION_TYPES.index(t) for t in filters.monetization),
    }


def _providers_discover(filters: CandidateFilters, query: DiscoverQuery) -> dict[str, Any]:
    """TMDB's watch filters: the region, the provider ids (`|` = any of them) and the
    monetization types (`|` = any), once the providers are resolved to ids."""
    if not filters.providers:
        return {}
    return {
        "watch_region": filters.region,
        "with_watch_providers": "|".join(filters.providers),
        "with_watch_monetization_types": "|".join(filters.monetization),
    }


def _exclude_genres_where(filters: CandidateFilters) -> Condition | None:
    if not filters.exclude_genres:
        return None
    return "where_no_genres", {"exclude_mask": genre_mask(filters.exclude_genres)}


def _exclude_genres_discover(
    filters: CandidateFilters, query: DiscoverQuery
) -> dict[str, Any] | None:
    """TMDB's ids of the left-out genres for the media type (a title with any of them is
    left out); a genre TMDB has no id for in this media type has nothing to leave out."""
    ids = tmdb_genre_ids(filters.exclude_genres, query.media_type)
    flat = sorted({i for v in ids.values() for i in v})
    return {"without_genres": ",".join(map(str, flat))} if flat else {}


def _runtime_discover(filters: CandidateFilters, query: DiscoverQuery) -> dict[str, Any]:
    """TMDB's runtime bounds (minutes; a show's episode runtime)."""
    params: dict[str, Any] = {}
    if filters.runtime_min is not None:
        params["with_runtime.gte"] = filters.runtime_min
    if filters.runtime_max is not None:
        params["with_runtime.lte"] = filters.runtime_max
    return params


def _keywords_where(filters: CandidateFilters) -> Condition | None:
    if not filters.keywords:
        return None
    return "where_keywords", {"keywords": list(filters.keywords)}


def _exclude_keywords_where(filters: CandidateFilters) -> Condition | None:
    if not filters.exclude_keywords:
        return None
    return "where_no_keywords", {"exclude_keywords": list(filters.exclude_keywords)}


def _poster_where(filters: CandidateFilters) -> Condition | None:
    if filters.poster == "any":
        return None
    return ("where_poster" if filters.poster == "with" else "where_no_poster"), {}


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class CandidateFilters:
    """What the engine (or a user) asks for; `validated()` (called by every query) checks it
    and normalizes genres and languages. Each field is a registry entry (see the module)."""

    mode: str = entry(
        DEFAULT_MODE,
        Filter(
            "Discovery mode: sets the default vote floor and how the scores are blended.",
            role="option",
            choices=tuple(MODES),
            refusal=_unknown_choice(f"valid modes: {', '.join(MODES)}"),
            discover=lambda f, q: {"sort_by": MODES[f.mode].sort_by},
            cli="--mode",
            url="mode",
            url_help=f"discovery mode: {', '.join(MODES)}",
            widget=Widget(
                "selectbox",
                "Discovery mode",
                labels={m: f"{m.replace('_', ' ')} (≥ {MODES[m].min_votes} votes)" for m in MODES},
            ),
        ),
    )
    media_type: MediaChoice = entry(
        "both",
        Filter(
            "Movies, shows or both.",
            refusal=_unknown_choice("use movie, tv or both"),
            where=lambda f: (
                None if f.media_type == "both" else ("where_media_type", {"media": f.media_type})
            ),
            cli="--media-type",
            url="media",
            url_help="movie, tv or both",
            widget=Widget(
                "radio",
                "Media type",
                labels={"both": "Movies and shows", "movie": "Movies", "tv": "Shows"},
            ),
        ),
    )
    languages: tuple[str, ...] = entry(
        (),
        Filter(
            "Original language: a code (da) or a name (Danish, Deutsch); repeat for any of "
            "several.",
            normalize=_check_languages,
            where=lambda f: (
                ("where_languages", {"languages": list(f.languages)}) if f.languages else None
            ),
            discover=lambda f, q: {"with_original_language": q.language} if q.language else {},
            cli="--language",
            url="lang",
            url_help="original language codes, comma-separated (da,sv)",
            widget=Widget("multiselect", "Original language", placeholder="any language"),
        ),
    )
    genres: tuple[str, ...] = entry(
        (),
        Filter(
            "Genre (e.g. 'Science Fiction', 'Sci-Fi', 'Thriller'); repeat for several.",
            normalize=_check_genres,
            where=_genres_where,
            discover=_genres_discover,
            cli="--genre",
            url="genre",
            url_help="genres, comma-separated (Thriller,Crime)",
            widget=Widget(
                "multiselect", "Genres", options=CANONICAL_NAMES, placeholder="any genre"
            ),
        ),
    )
    genre_mode: GenreMode = entry(
        "any",
        Filter(
            "Whether a title needs any or all of the genres.",
            # its SQL condition and TMDB parameter are the genres entry's
            refusal=_unknown_choice("use any or all"),
            cli="--genre-mode",
            url="genre_mode",
            url_help="any or all",
            widget=Widget(
                "radio", "Titles must have", labels={"any": "any of them", "all": "all of them"}
            ),
        ),
    )
    exclude_genres: tuple[str, ...] = entry(
        (),
        Filter(
            "Genre to leave out (e.g. Music, Talk, Reality): a title with any of them is not "
            "listed; repeat for several.",
            normalize=_check_genres,
            where=_exclude_genres_where,
            discover=_exclude_genres_discover,
            cli="--exclude-genre",
            url="no_genre",
            url_help="genres to leave out, comma-separated (Music,Talk)",
            widget=Widget(
                "multiselect", "Leave out genres", options=CANONICAL_NAMES, placeholder="none"
            ),
        ),
    )
    keywords: tuple[str, ...] = entry(
        (),
        Filter(
            "TMDB keyword a title must have (any case, the whole keyword: 'time travel'); "
            "repeat for any of several. With it the TMDB fallback is not asked: discover's "
            "results carry no keywords, so none of them could match.",
            normalize=_check_keywords,
            where=_keywords_where,
            discover=lambda f, q: None if f.keywords else {},
            cli="--keyword",
            url="keyword",
            url_help="keywords, any of them, comma-separated (heist,time travel)",
            widget=Widget("multiselect", "Keywords (any of)", placeholder="type a keyword"),
        ),
    )
    exclude_keywords: tuple[str, ...] = entry(
        (),
        Filter(
            "TMDB keyword to leave out (any case, the whole keyword: 'concert'); repeat for "
            "several. Not sent to TMDB's discover (it takes keyword ids).",
            normalize=_check_keywords,
            where=_exclude_keywords_where,
            cli="--exclude-keyword",
            url="no_keyword",
            url_help="keywords to leave out, comma-separated (concert,stand-up comedy)",
            widget=Widget("multiselect", "Leave out keywords", placeholder="type a keyword"),
        ),
    )
    year_min: int | None = entry(
        None,
        Filter(
            "Earliest release year.",
            bounds=YEAR_RANGE,
            refusal=_out_of_range(
                "{word} {value} is outside the years titles can have ({low}-{high})."
            ),
            where=_when_set("year_min"),
            discover=_year_min_discover,
            cli="--year-min",
            cli_range=False,  # its sentence says what the range is
            url="year_min",
            url_help="earliest release year",
            widget=Widget("number", "From year", placeholder="any", step=1),
        ),
    )
    year_max: int | None = entry(
        None,
        Filter(
            "Latest release year.",
            bounds=YEAR_RANGE,
            refusal=_out_of_range(
                "{word} {value} is outside the years titles can have ({low}-{high})."
            ),
            where=_when_set("year_max"),
            discover=_release_ceiling,
            cli="--year-max",
            cli_range=False,
            url="year_max",
            url_help="latest release year",
            widget=Widget("number", "To year", placeholder="any", step=1),
        ),
    )
    runtime_min: int | None = entry(
        None,
        Filter(
            "Shortest runtime in minutes (a show's episode runtime); titles of unknown runtime "
            "are left out when a runtime bound is set.",
            bounds=(0, MAX_RUNTIME),
            refusal=_out_of_range("{word} must be from {low} to {high:,} minutes."),
            where=_when_set("runtime_min"),
            discover=_runtime_discover,
            cli="--runtime-min",
            cli_range=False,
            url="runtime_min",
            url_help="shortest runtime in minutes",
            widget=Widget("number", "Runtime from (min)", placeholder="any", step=10),
        ),
    )
    runtime_max: int | None = entry(
        None,
        Filter(
            "Longest runtime in minutes (a show's episode runtime); titles of unknown runtime "
            "are left out when a runtime bound is set.",
            bounds=(0, MAX_RUNTIME),
            refusal=_out_of_range("{word} must be from {low} to {high:,} minutes."),
            where=_when_set("runtime_max"),
            discover=_runtime_discover,
            cli="--runtime-max",
            cli_range=False,
            url="runtime_max",
            url_help="longest runtime in minutes",
            widget=Widget("number", "Runtime to (min)", placeholder="any", step=10),
        ),
    )
    min_rating: float | None = entry(
        None,
        Filter(
            "Lowest TMDB rating (vote average), 0-10.",
            bounds=(0, 10),
            refusal=_out_of_range("{word} must be between {low} and {high}."),
            where=_when_set("min_rating"),
            discover=_min_rating_discover,
            cli="--min-rating",
            url="min_rating",
            url_help="lowest TMDB rating, 0-10",
            widget=Widget("slider", "Lowest rating", step=0.5),
        ),
    )
    min_votes: int | None = entry(
        None,  # None: the mode's floor
        Filter(
            "Lowest vote count (default: the mode's vote floor).",
            bounds=(0, MAX_LIST),
            refusal=_min_votes_message,
            where=lambda f: ("where_min_votes", {"min_votes": f.vote_floor}),
            discover=lambda f, q: {"vote_count.gte": f.vote_floor},
            cli="--min-votes",
            url="min_votes",
            url_help="vote floor (default: the mode's)",
            shown_default="the mode's floor",
            widget=Widget("number", "Lowest vote count", step=10),
        ),
    )
    poster: PosterChoice = entry(
        "any",
        Filter(
            "Titles with a poster, without one, or either. Not sent to TMDB's discover (it "
            "has no such parameter; what it returns is filtered here).",
            refusal=_unknown_choice("use any, with or without"),
            where=_poster_where,
            cli="--poster",
            url="poster",
            url_help="any, with or without",
            widget=Widget(
                "radio",
                "Poster",
                labels={"any": "any", "with": "with a poster", "without": "without"},
            ),
        ),
    )
    include_adult: bool = entry(
        False,
        Filter(
            "Also adult titles.",
            where=lambda f: None if f.include_adult else ("where_not_adult", {}),
            discover=lambda f, q: {"include_adult": str(f.include_adult).lower()},
            cli="--include-adult",
            url="adult",
            url_help="include adult titles: true/false",
            widget=Widget("checkbox", "Include adult titles"),
        ),
    )
    include_unreleased: bool = entry(
        False,
        Filter(
            "Also titles released after today or with no release date.",
            where=lambda f: None if f.include_unreleased else ("where_released", {}),
            discover=_release_ceiling,
            cli="--include-unreleased",
            url="unreleased",
            url_help="include unreleased titles: true/false",
            widget=Widget("checkbox", "Include unreleased titles"),
        ),
    )
    include_removed: bool = entry(
        False,
        Filter(
            "Also titles TMDB removed: answered 404 for, or its daily ID exports no longer "
            "list (removed_from_tmdb_at is set).",
            where=lambda f: None if f.include_removed else ("where_not_removed", {}),
            cli="--include-removed",
            url="removed",
            url_help="include titles TMDB removed: true/false",
            widget=Widget("checkbox", "Include titles TMDB removed"),
        ),
    )
    region: str | None = entry(
        None,
        Filter(
            "Streaming region, an ISO 3166-1 code (US, DE): whose availability the provider "
            "filter and the streaming_on column read.",
            normalize=_check_region,
            cli="--region",
            url="region",
            url_help="streaming region, an ISO 3166-1 code (US)",
            shown_default="none; with a provider: the first of `WATCHBUDDY_WATCH_REGIONS`",
            widget=Widget("selectbox", "Streaming region"),
        ),
    )
    providers: tuple[str, ...] = entry(
        (),
        Filter(
            "Streaming provider, by name or TMDB id (Netflix, 'Prime Video', 8), any case; "
            "repeat for any of several.",
            normalize=_check_providers,
            where=_providers_where,
            discover=_providers_discover,
            cli="--provider",
            url="provider",
            url_help="streaming providers by name or id, comma-separated (Netflix,Disney Plus)",
            widget=Widget("multiselect", "Streams on", placeholder="any provider"),
        ),
    )
    monetization: tuple[str, ...] = entry(
        DEFAULT_MONETIZATION,
        Filter(
            "How the provider offers the title (flatrate = subscription); repeat or separate "
            "with commas. Default: what a subscriber watches at no extra cost.",
            normalize=_check_monetization,
            # its SQL condition and TMDB parameter are the providers entry's
            cli="--monetization",
            url="monetization",
            url_help=f"monetization types, comma-separated ({','.join(DEFAULT_MONETIZATION)})",
            shown_values=", ".join(f"`{t}`" for t in MONETIZATION_TYPES),
            shown_default=f"`{','.join(DEFAULT_MONETIZATION)}`",
            widget=Widget(
                "multiselect",
                "Offered as",
                options=MONETIZATION_TYPES,
                labels={
                    "flatrate": "subscription",
                    "free": "free",
                    "ads": "free with ads",
                    "rent": "rent",
                    "buy": "buy",
                },
            ),
        ),
    )
    for_me: bool = entry(
        False,
        Filter(
            "Leave out every title your history lists as watched or rated (`watchbuddy "
            "history import`); titles marked not interested are left out either way.",
            cli="--for-me",
            url="for_me",
            url_help="leave out what your history says you watched or rated: true/false",
            widget=Widget("checkbox", "For me: hide what I watched or rated"),
        ),
    )
    like: tuple[str, ...] = entry(
        (),
        Filter(
            "More like this title: movie:27205, tv:1399 or a title with an optional year "
            "('Inception 2010'); repeat for several. The liked titles are left out.",
            role="option",
            normalize=_check_like,
            cli="--like",
            url="like",
            url_help="titles to find more like, comma-separated (movie:27205,tv:1399)",
            widget=Widget("multiselect", "More like", placeholder="no title chosen"),
        ),
    )
    exclude: frozenset[tuple[str, int]] = entry(
        frozenset(),
        Filter(
            "Watched list: CSV with a TMDB id column and optional media type.",
            role="option",
            cli="--exclude-file",
            cli_file=True,
        ),
    )
    limit: int = entry(
        50,
        Filter(
            "Rows to return.",
            role="option",
            bounds=(1, MAX_LIST),
            refusal=_out_of_range("{word} must be from {low:,} to {high:,} (got {value:,})."),
            cli="--limit",
            cli_default=20,
            url="limit",
            url_help=f"rows to show, 1-{MAX_LIMIT}",
            url_bounds=(1, MAX_LIMIT),
            widget=Widget("number", "Rows", step=50),
        ),
    )
    offset: int = entry(
        0,
        Filter(
            "Rows to skip: the next page starts at the row count.",
            role="option",
            bounds=(0, MAX_LIST),
            refusal=_out_of_range("{word} must be from {low:,} to {high:,} (got {value:,})."),
            cli="--offset",
            url="offset",
            url_help="rows to skip (the next page starts at limit)",
            url_bounds=(0, MAX_OFFSET),
            widget=Widget("number", "Skip first"),
        ),
    )

    def validated(self) -> CandidateFilters:
        """These filters checked by their entries, genres and languages normalized."""
        values = {spec.name: spec.validate(getattr(self, spec.name)) for spec in FILTERS}
        for _low, _high, error in order_errors(values):
            raise ConfigError(error)
        return CandidateFilters(**values)

    @property
    def vote_floor(self) -> int:
        return MODES[self.mode].min_votes if self.min_votes is None else self.min_votes

    def cache_key(self) -> tuple[tuple[str, Any], ...]:
        """Every entry's value, hashable and in a fixed order (the watched list sorted)."""
        return tuple(
            (spec.name, tuple(sorted(value)) if isinstance(value, frozenset) else value)
            for spec in FILTERS
            for value in (getattr(self, spec.name),)
        )

    def narrowing(self) -> list[str]:
        """How the sidebar names each filter this request sets away from its default, in
        registry order: what an empty list's message asks the user to loosen."""
        return [
            spec.widget.label if spec.widget else spec.word
            for spec in FILTERS
            if spec.role == "filter" and spec.where and getattr(self, spec.name) != spec.default
        ]

    def conditions(self) -> list[Condition]:
        """The `where_*` statements (candidates.sql) this request needs, with parameters."""
        return [c for spec in FILTERS if spec.where for c in (spec.where(self),) if c]


_HINTS = typing.get_type_hints(CandidateFilters)
_ANNOTATIONS = {f.name: str(f.type) for f in dataclasses.fields(CandidateFilters)}
FILTERS: tuple[Filter, ...] = tuple(
    dataclasses.replace(
        f.metadata["filter"], name=f.name, python_type=_HINTS[f.name], default=f.default
    )
    for f in dataclasses.fields(CandidateFilters)
)
BY_NAME: dict[str, Filter] = {spec.name: spec for spec in FILTERS}


def media_types(media_type: str) -> tuple[str, ...]:
    return ("movie", "tv") if media_type == "both" else (media_type,)


def discover_queries(
    filters: CandidateFilters, today: dt.date, date_fields: Mapping[str, str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(media type, discover parameters) for each TMDB query a fallback makes: one per media
    type and language. A query TMDB cannot express (an entry answers None) is left out."""
    for media_type in media_types(filters.media_type):
        for language in filters.languages or (None,):
            query = DiscoverQuery(media_type, language, today, date_fields[media_type])
            params: dict[str, Any] = {}
            for spec in FILTERS:
                part = spec.discover(filters, query) if spec.discover else {}
                if part is None:
                    break
                params.update(part)
            else:
                yield media_type, params


# ---------------------------------------------------------------- the README's table


def _values(spec: Filter) -> str:
    if spec.shown_values:
        return spec.shown_values
    if spec.options:
        return ", ".join(f"`{o}`" for o in spec.options)
    if spec.bounds is not None:
        return "–".join(f"{n:,}" if n >= 10_000 else str(n) for n in spec.bounds)
    if spec.base is bool:
        return "yes/no"
    return ""


def _default(spec: Filter) -> str:
    if spec.shown_default:
        return spec.shown_default
    if spec.default is None or spec.default in ((), frozenset()):
        return "none"
    if spec.cli_default is not SAME:
        return f"`{spec.default!r}` (`recommend`: {spec.cli_default})"
    return f"`{spec.default!r}`"


README_COLUMNS = (
    "field",
    "type",
    "kind",
    "values",
    "default",
    "`recommend` option",
    "link parameter",
    "meaning",
)


def readme_table() -> str:
    """The README's table of filters, rendered from the registry (a test compares)."""
    lines = [
        "| " + " | ".join(README_COLUMNS) + " |",
        "|" + "---|" * len(README_COLUMNS),
    ]
    for spec in FILTERS:
        cells = [
            f"`{spec.name}`",
            f"`{_ANNOTATIONS[spec.name]}`",
            spec.role,
            _values(spec),
            _default(spec),
            f"`{spec.cli}`" if spec.cli else "",
            f"`{spec.url}`" if spec.url else "",
            spec.help,
        ]
        # A pipe, even in a code span, would end the cell.
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
