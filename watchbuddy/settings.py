"""Settings: one declared list, read from `watchbuddy.toml`, then the environment, then CLI options.

Each setting is declared once, as a field of `Settings` with its default, environment
variable and a sentence of documentation (`setting()`); `SETTINGS`, the list the loader,
the `sql` sandbox and the docs test read, is derived from those fields. A test checks that
every one of them appears in the README, so the list cannot drift from what users read.
The TMDB credential is wrapped in `Secret` so that printing a `Settings` object, or an
error that includes one, never shows it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tomllib
import urllib.parse
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from watchbuddy.errors import ConfigError
from watchbuddy.safe_text import clip

DEFAULT_TMDB_BASE_URL = "https://api.themoviedb.org/3"
DEFAULT_TMDB_EXPORTS_URL = "https://files.tmdb.org/p/exports"
# The settings that are URLs, each with the example its error message gives.
URL_EXAMPLES = {
    "tmdb_base_url": DEFAULT_TMDB_BASE_URL,
    "tmdb_exports_url": DEFAULT_TMDB_EXPORTS_URL,
}
CONFIG_FILE_ENV = "WATCHBUDDY_CONFIG"
DEFAULT_CONFIG_FILE = "watchbuddy.toml"
_SETTING = "watchbuddy.setting"  # the field metadata key that makes a field a setting
T = TypeVar("T")


class Secret:
    """A credential that refuses to be printed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Names(tuple[str, ...]):
    """The kind of a list setting: comma-separated text in the environment (`US,DE`), an
    array of strings in `watchbuddy.toml`; kept as a tuple of the non-empty items."""


# A region is an ISO 3166-1 alpha-2 code, as TMDB's `watch_region` takes it.
_REGION = re.compile(r"[A-Za-z]{2}")


class Size:
    """The kind of a memory-size setting: text as DuckDB reads it (`1GB`, `512MiB`), kept as
    written for messages and checked by `parse_size` when settings load."""


# DuckDB's units: without one, or with `PB`, it refuses the size on every statement.
SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
# Below a few MB DuckDB cannot even open a connection; above 100TB no machine has the memory,
# and DuckDB reads a size past 2^64 bytes (or a negative one) as no limit at all.
MIN_SIZE, MAX_SIZE = 16 * 1000**2, 100 * 1000**4
SIZE_RANGE = "from 16MB to 100TB"
_SIZE = re.compile(r"\s*([0-9]{1,15}(?:\.[0-9]{1,15})?)\s*([a-z]+)\s*", re.ASCII | re.IGNORECASE)


@dataclass(frozen=True)
class SettingSpec:
    name: str
    env: str
    kind: type
    default: Any
    doc: str
    # (lowest, highest) a number may be, both included: past them the setting cannot work
    # (no request would ever start, or a wait would never end), so it is refused at load.
    bounds: tuple[float, float] | None = None


def setting(
    default: T,
    env: str,
    doc: str,
    *,
    kind: type | None = None,
    bounds: tuple[float, float] | None = None,
) -> T:
    """A field of `Settings` that is a setting: its default, environment variable, README
    sentence, kind (the default's type unless given) and bounds, declared in one place.
    Typed as the default, so `settings.tmdb_rps` stays a `float` to the type checker."""
    meta = {"env": env, "doc": doc, "kind": kind or type(default), "bounds": bounds}
    return field(default=default, metadata={_SETTING: meta})


@dataclass(frozen=True)
class Settings:
    data_dir: Path = setting(
        Path("data"),
        "WATCHBUDDY_DATA_DIR",
        "Folder scanned for `*.csv` / `*.csv.gz` files to land.",
        kind=Path,
    )
    warehouse: Path = setting(
        Path("warehouse"),
        "WATCHBUDDY_WAREHOUSE",
        "Folder holding the Parquet warehouse (the system of record).",
        kind=Path,
    )
    tmdb_api_key: Secret | None = setting(
        None,
        "TMDB_API_KEY",
        "TMDB v3 API key, sent as the `api_key` query parameter.",
        kind=Secret,
    )
    tmdb_read_access_token: Secret | None = setting(
        None,
        "TMDB_READ_ACCESS_TOKEN",
        "TMDB v4 read access token, sent as `Authorization: Bearer` (preferred over the key).",
        kind=Secret,
    )
    tmdb_base_url: str = setting(
        DEFAULT_TMDB_BASE_URL,
        "WATCHBUDDY_TMDB_BASE_URL",
        "TMDB API v3 base URL; tests point it at the bundled fake server.",
    )
    tmdb_exports_url: str = setting(
        DEFAULT_TMDB_EXPORTS_URL,
        "WATCHBUDDY_TMDB_EXPORTS_URL",
        "Where TMDB's daily ID export files are (`movie_ids_MM_DD_YYYY.json.gz` …), no key "
        "needed; tests point it at the bundled fake server.",
    )
    exports_backfill_days: int = setting(
        30,
        "WATCHBUDDY_EXPORTS_BACKFILL_DAYS",
        "Days of daily ID exports a first `watchbuddy exports` run lands, ending today (1 to "
        "90: TMDB keeps a file about three months).",
        bounds=(1, 90),
    )
    tmdb_rps: float = setting(
        35.0,
        "WATCHBUDDY_TMDB_RPS",
        "Client-side TMDB request rate limit, requests per second (0.1 to 10,000).",
        bounds=(0.1, 10_000),
    )
    tmdb_timeout: float = setting(
        10.0,
        "WATCHBUDDY_TMDB_TIMEOUT",
        "Seconds one TMDB request may take, its whole answer included, before it is retried "
        "(0.5 to 600).",
        bounds=(0.5, 600),
    )
    tmdb_attempts: int = setting(
        6,
        "WATCHBUDDY_TMDB_ATTEMPTS",
        "Tries of one TMDB request that times out, cannot connect or gets a 5xx before the "
        "job gives up on it (1 to 20); the waits between them double from up to 1 s, to at "
        "most 30 s (six tries: up to about half a minute).",
        bounds=(1, 20),
    )
    tmdb_concurrency: int = setting(
        8,
        "WATCHBUDDY_TMDB_CONCURRENCY",
        "TMDB requests in flight at once (1 to 64; the rate limit still applies).",
        bounds=(1, 64),
    )
    details_per_run: int = setting(
        200,
        "WATCHBUDDY_DETAILS_PER_RUN",
        "Newly seen titles per ingest run to enrich with details (runtime, keywords, IMDb id); "
        "0 turns enrichment off.",
    )
    ingest_start: dt.date = setting(
        dt.date(2024, 1, 1),
        "WATCHBUDDY_INGEST_START",
        "First release date to ingest when a media type has no checkpoint yet (a date, no time "
        "of day; not after today).",
    )
    refresh_days: int = setting(
        90,
        "WATCHBUDDY_REFRESH_DAYS",
        "Vote refresh covers titles released within this many days (more days than the "
        "calendar has means every title).",
    )
    refresh_limit: int = setting(
        400,
        "WATCHBUDDY_REFRESH_LIMIT",
        "Titles per vote-refresh run, least recently refreshed first.",
    )
    max_data_age_days: int = setting(
        180,
        "WATCHBUDDY_MAX_DATA_AGE_DAYS",
        "Oldest TMDB data the pool may hold, in days (1 to 3,650): `refresh-titles` re-fetches "
        "enough titles a run that each is fetched again within this age (TMDB's terms: six "
        "months).",
        bounds=(1, 3650),
    )
    refresh_titles_daily_budget: int = setting(
        50_000,
        "WATCHBUDDY_REFRESH_TITLES_DAILY_BUDGET",
        "Most TMDB requests `refresh-titles` makes a day (100 to 3,000,000), spread over its "
        "runs: the age pace first, ids the newest export lists and the pool lacks with the rest.",
        bounds=(100, 3_000_000),
    )
    schedule_ingest_movies: str = setting(
        "every 2h",
        "WATCHBUDDY_SCHEDULE_INGEST_MOVIES",
        "When the `ingest-movies` job runs: `every <n>s|m|h|d [at +<offset>]` (at most `366d`, "
        "the offset shorter than the interval) or a UTC cron expression that fires.",
    )
    schedule_ingest_tv: str = setting(
        "every 2h at +1h",
        "WATCHBUDDY_SCHEDULE_INGEST_TV",
        "When the `ingest-tv` job runs (staggered an hour after the movies by default).",
    )
    schedule_refresh_movies: str = setting(
        "30 3 * * *",
        "WATCHBUDDY_SCHEDULE_REFRESH_MOVIES",
        "When the `refresh-votes-movies` job runs (daily, 03:30 UTC).",
    )
    schedule_refresh_tv: str = setting(
        "0 4 * * *",
        "WATCHBUDDY_SCHEDULE_REFRESH_TV",
        "When the `refresh-votes-tv` job runs (daily, 04:00 UTC).",
    )
    schedule_refresh_titles: str = setting(
        "every 1h at +30m",
        "WATCHBUDDY_SCHEDULE_REFRESH_TITLES",
        "When the `refresh-titles` job runs (hourly, half past; its per-run number follows "
        "from this).",
    )
    schedule_compact: str = setting(
        "30 4 * * *",
        "WATCHBUDDY_SCHEDULE_COMPACT",
        "When the `compact` job runs (daily, 04:30 UTC; it does nothing until 8 titles files "
        "or 8 history day files have piled up).",
    )
    schedule_exports: str = setting(
        "0 9 * * *",
        "WATCHBUDDY_SCHEDULE_EXPORTS",
        "When the `exports` job runs (daily, 09:00 UTC: TMDB publishes a day's files around "
        "07:00-08:00 UTC).",
    )
    schedule_providers: str = setting(
        "0 6 * * *",
        "WATCHBUDDY_SCHEDULE_PROVIDERS",
        "When the `providers` job runs (daily, 06:00 UTC; it records a skipped run while "
        "`WATCHBUDDY_WATCH_REGIONS` is empty).",
    )
    watch_regions: tuple[str, ...] = setting(
        Names(),
        "WATCHBUDDY_WATCH_REGIONS",
        "Countries whose streaming availability is fetched and filtered on, as ISO 3166-1 "
        "codes separated by commas (`US,DE`); the first is the default region of the "
        "provider filter. Empty: none (the app asks for one).",
        kind=Names,
    )
    watch_providers: tuple[str, ...] = setting(
        Names(),
        "WATCHBUDDY_WATCH_PROVIDERS",
        "Streaming providers whose catalogues are fetched, by TMDB id or name separated by "
        "commas (`8,Disney Plus`); empty: every provider TMDB lists for the region.",
        kind=Names,
    )
    scheduler_in_app: bool = setting(
        True,
        "WATCHBUDDY_SCHEDULER_IN_APP",
        "Run the scheduler inside the Streamlit app's server process.",
    )
    auto_bootstrap: bool = setting(
        True,
        "WATCHBUDDY_AUTO_BOOTSTRAP",
        "Land the data dir automatically when a read command or the app finds the pool empty.",
    )
    app_address: str = setting(
        "127.0.0.1",
        "WATCHBUDDY_APP_ADDRESS",
        "Address the explorer listens on. The default serves this machine only; `0.0.0.0` "
        "exposes it to the network with no login (see Operations).",
    )
    duckdb_memory_limit: str = setting(
        "1GB",
        "WATCHBUDDY_DUCKDB_MEMORY_LIMIT",
        "Memory cap for DuckDB while landing and compacting (it spills to disk beyond it): a "
        "size from `16MB` to `100TB` in DuckDB's units (`KB`, `MB`, `GB`, `TB`, `KiB` … `TiB`, "
        "`B`).",
        kind=Size,
    )
    sql_memory_limit: str = setting(
        "1GB",
        "WATCHBUDDY_SQL_MEMORY_LIMIT",
        "Memory cap for one `watchbuddy sql` query and its result (no spilling: past it the "
        "query stops with an error); a size like `duckdb_memory_limit`'s.",
        kind=Size,
    )
    sql_timeout: float = setting(
        300.0,
        "WATCHBUDDY_SQL_TIMEOUT",
        "Seconds one `watchbuddy sql` query may run before it is stopped.",
    )
    config_file: Path | None = field(default=None, compare=False)

    @property
    def has_tmdb_credential(self) -> bool:
        return bool(self.tmdb_api_key) or bool(self.tmdb_read_access_token)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Apply CLI options; `None` means "not given" and keeps the current value."""
        given = {k: _coerce(_SPECS[k], v) for k, v in overrides.items() if v is not None}
        return replace(self, **given)


# Derived from the fields, in their order: every setting's default is written once, above.
SETTINGS: tuple[SettingSpec, ...] = tuple(
    SettingSpec(name=f.name, default=f.default, **f.metadata[_SETTING])
    for f in fields(Settings)
    if _SETTING in f.metadata
)
DEFAULT_SETTINGS: dict[str, Any] = {spec.name: spec.default for spec in SETTINGS}
_SPECS = {spec.name: spec for spec in SETTINGS}


# What a TMDB credential can be: a v3 key is 32 hex digits, a v4 token a JWT; both travel in
# an HTTP header or a URL, where anything else (an accented letter, a space pasted in the
# middle) cannot go.
_CREDENTIAL = re.compile(r"[!-~]+")


def _url_problem(url: str) -> str | None:
    """Why `url` cannot be TMDB's base URL (None: it can), checked when settings load rather
    than when the first request fails."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return "it contains spaces or control characters"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError as exc:
        return f"it does not parse ({exc})"
    if parts.scheme not in ("http", "https"):
        return "it must start with http:// or https://"
    if not parts.hostname:
        return "it names no host"
    if parts.query or parts.fragment:
        return "a base URL has no query or fragment"
    return None


def parse_size(text: str, setting: str = "sql_memory_limit") -> int:
    """Bytes in a memory size as DuckDB reads one (`1GB` = 10^9, `1GiB` = 2^30); a size
    DuckDB would refuse, or read as no limit, is refused here naming `setting`."""
    match = _SIZE.fullmatch(str(text))
    unit = match.group(2).lower() if match else ""
    size = int(float(match.group(1)) * SIZE_UNITS[unit]) if match and unit in SIZE_UNITS else 0
    if not MIN_SIZE <= size <= MAX_SIZE:
        spec = _SPECS[setting]
        raise ConfigError(
            f"Setting {spec.name} ({spec.env}) must be a memory size {SIZE_RANGE} such as "
            f"1GB or 512MiB, not {clip(text)!r}."
        )
    return size


def _check(spec: SettingSpec, value: Any) -> Any:
    """Refuse a value of the right type that still cannot work, with a reason; never
    echoing a credential."""
    if spec.bounds is not None and not spec.bounds[0] <= value <= spec.bounds[1]:
        low, high = spec.bounds
        raise ConfigError(
            f"Setting {spec.name} ({spec.env}) must be from {low:,g} to {high:,g}, not {value:,g}."
        )
    if spec.kind is Secret and not _CREDENTIAL.fullmatch(value.reveal()):
        raise ConfigError(
            f"Setting {spec.name} ({spec.env}) is malformed: a TMDB credential is ASCII "
            "letters, digits and punctuation without spaces; copy it again from your TMDB "
            "account's API settings."
        )
    if spec.kind is Path and "\x00" in str(value):
        raise ConfigError(
            f"Setting {spec.name} ({spec.env}) contains a NUL character (\\u0000), which no "
            "path can hold; fix the path."
        )
    if spec.kind is Size:
        parse_size(value, spec.name)
    if spec.name == "watch_regions":
        bad = [region for region in value if not _REGION.fullmatch(region)]
        if bad:
            raise ConfigError(
                f"Setting {spec.name} ({spec.env}) has {clip(', '.join(bad))!r}, which is not "
                "a country code; give ISO 3166-1 codes such as US,DE."
            )
        value = Names(region.upper() for region in value)
    if spec.name in URL_EXAMPLES:
        problem = _url_problem(value)
        if problem:
            raise ConfigError(
                f"Setting {spec.name} ({spec.env}) is not a usable URL: {problem}; give one "
                f"like {URL_EXAMPLES[spec.name]}."
            )
    return value


def _coerce(spec: SettingSpec, raw: Any) -> Any:
    if raw is None or raw == "":
        return spec.default
    if spec.kind is Secret and not isinstance(raw, Secret) and not str(raw).strip():
        return spec.default  # only spaces: no credential
    return _check(spec, _convert(spec, raw))


# What a value that does not come as text (a watchbuddy.toml value, a command-line option)
# may be, per kind: `str()` would turn a TOML table into a "credential" and `true` into a
# count of 1.
_EXPECTED: dict[type, tuple[str, type | tuple[type, ...]]] = {
    Path: ("a path in quotes", os.PathLike),
    Secret: ("the credential in quotes", Secret),
    str: ("text in quotes", ()),
    Size: ('a size in quotes such as "1GB"', ()),
    Names: ('an array of strings such as ["US", "DE"]', list),
    bool: ("true or false", bool),
    int: ("a whole number", (int, float)),  # 400.0 is 400; 2.5 and 1e400 fail below
    float: ("a number", (int, float)),
    dt.date: ("a date such as 2024-01-01 (without a time of day)", dt.date),
}
# What `_coerce` accepts beyond the type, for its one error message.
_RULES = {
    float: "a finite number above 0",
    int: "a whole number, 0 or more",
    dt.date: "a date such as 2024-01-01 (without a time of day)",
}
_TOML_TYPES = (
    (bool, "true/false"),
    (dict, "a table"),
    (list, "an array"),
    (int, "an integer"),
    (float, "a float"),
    (dt.datetime, "a date-time"),
    (dt.date, "a date"),
    (dt.time, "a time of day"),
)


def _check_type(spec: SettingSpec, raw: Any) -> None:
    if isinstance(raw, str):
        return
    expected, types = _EXPECTED[spec.kind]
    wrong_bool = isinstance(raw, bool) and spec.kind is not bool  # bool is an int subclass
    wrong_date = isinstance(raw, dt.datetime)  # and datetime a date subclass
    if isinstance(raw, types) and not wrong_bool and not wrong_date:
        return
    given = next((name for kind, name in _TOML_TYPES if isinstance(raw, kind)), "another type")
    raise ConfigError(f"Setting {spec.name} ({spec.env}) must be {expected}, not {given}.")


def _convert(spec: SettingSpec, raw: Any) -> Any:
    _check_type(spec, raw)
    try:
        if spec.kind is Path:
            return Path(raw).expanduser()
        if spec.kind is Secret:
            return raw if isinstance(raw, Secret) else Secret(str(raw).strip())
        if spec.kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(text)
        if spec.kind is float:
            value = float(raw)
            if not math.isfinite(value) or value <= 0:  # NaN and inf make no rate or timeout
                raise ValueError(raw)
            return value
        if spec.kind is int:
            if isinstance(raw, float) and not raw.is_integer():  # 2.5 is no count; nor 1e400
                raise ValueError(raw)
            value = int(raw)
            if value < 0:
                raise ValueError(raw)
            return value
        if spec.kind is Names:
            items = raw if isinstance(raw, list) else str(raw).split(",")
            if not all(isinstance(item, str) for item in items):
                raise ValueError(raw)
            return Names(item.strip() for item in items if item.strip())
        if spec.kind is dt.date:
            return raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw).strip())
        return str(raw).strip() if spec.kind is Size else spec.kind(raw)
    except (TypeError, ValueError, OverflowError, RuntimeError):  # RuntimeError: ~nobody/
        rule = _RULES.get(spec.kind, _EXPECTED[spec.kind][0])
        raise ConfigError(
            f"Setting {spec.name} ({spec.env}) has an invalid value; expected {rule}."
        ) from None


def load_settings(environ: dict[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Read `watchbuddy.toml` (if any), then let environment variables override it."""
    env = os.environ if environ is None else environ
    base = cwd or Path.cwd()
    config_path = (
        Path(env[CONFIG_FILE_ENV]) if env.get(CONFIG_FILE_ENV) else base / DEFAULT_CONFIG_FILE
    )
    values: dict[str, Any] = {}
    used_file: Path | None = None
    if config_path.is_file():
        try:
            # utf-8-sig: an editor's byte-order mark is no reason to refuse the file.
            file_values = tomllib.loads(config_path.read_bytes().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise ConfigError(
                f"Cannot read {config_path}: it is not UTF-8 text, which a TOML file must be; "
                "save it as UTF-8."
            ) from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                f"Cannot read {config_path}: {exc}; fix or remove the file."
            ) from None
        unknown = sorted(set(file_values) - set(_SPECS))
        if unknown:
            raise ConfigError(
                f"{config_path} has unknown settings {', '.join(unknown)}; "
                f"valid ones are {', '.join(_SPECS)}."
            )
        values.update({k: _coerce(_SPECS[k], v) for k, v in file_values.items()})
        used_file = config_path
    elif env.get(CONFIG_FILE_ENV):
        raise ConfigError(f"{CONFIG_FILE_ENV} points to {config_path}, which does not exist.")
    for spec in SETTINGS:
        if env.get(spec.env):
            values[spec.name] = _coerce(spec, env[spec.env])
    settings = Settings(**values, config_file=used_file)
    # Relative folders from a config file are relative to that file, not to the cwd.
    if used_file is not None:
        for name in ("data_dir", "warehouse"):
            value = getattr(settings, name)
            if name in values and not value.is_absolute() and not env.get(_SPECS[name].env):
                settings = replace(settings, **{name: used_file.parent / value})
    return settings
