"""Where titles stream: the provider filter's vocabulary and the reads behind it.

The `providers` and `availability` views hold JustWatch's data as TMDB serves it, per
region (`watchbuddy providers` fetches them). A user names a provider the way they know it
("Prime Video", "disney+", "8"), so a name is resolved against the region's provider list:
a TMDB id, then the exact name in any case, then an alias (`PROVIDER_ALIASES`, the README's
table). The filter itself is a semi join in `sql/candidates.sql`; this module only decides
what the user meant and says clearly when a region has no data or a provider is unknown.

TMDB's terms require the attribution `ATTRIBUTION` wherever availability is shown, and
links to TMDB's watch page (`watch_page_url`), never to a provider directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from watchbuddy.errors import NoStreamingData, UnknownProvider
from watchbuddy.safe_text import clip
from watchbuddy.sql import statement
from watchbuddy.store.schema import MONETIZATION_TYPES as MONETIZATION_TYPES

if TYPE_CHECKING:  # the filter registry imports this module; only the reads need these
    import duckdb
    import polars as pl

SQL = "streaming.sql"
ATTRIBUTION = "Source of streaming data: JustWatch"
# The default of TMDB's monetization types: what a subscriber watches at no extra cost.
DEFAULT_MONETIZATION = ("flatrate", "free", "ads")
LOGO_BASE = "https://image.tmdb.org/t/p/w45"
TMDB_WEBSITE = "https://www.themoviedb.org"
# What people call a service -> the names TMDB has used for it, tried in order (an exact
# name of the region's list wins over an alias, so "Max" finds "Max" where TMDB lists it).
PROVIDER_ALIASES: dict[str, tuple[str, ...]] = {
    "Prime Video": ("Amazon Prime Video",),
    "Amazon Prime": ("Amazon Prime Video",),
    "Disney+": ("Disney Plus",),
    "Apple TV+": ("Apple TV Plus", "Apple TV"),
    "HBO Max": ("Max", "HBO Max"),
    "Max": ("HBO Max", "Max"),
    "Paramount+": ("Paramount Plus", "Paramount+ Premium"),
    "Peacock": ("Peacock Premium",),
}


@dataclass(frozen=True)
class Provider:
    provider_id: int
    name: str
    logo_path: str | None = None

    @property
    def logo_url(self) -> str | None:
        return f"{LOGO_BASE}{self.logo_path}" if self.logo_path else None


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


_ALIASES = {_key(alias): names for alias, names in PROVIDER_ALIASES.items()}


def find_provider(providers: Sequence[Provider], asked: str) -> Provider | None:
    """The region's provider `asked` means (an id, a name in any case, an alias), or None."""
    text = asked.strip()
    if text.isdigit():
        return next((p for p in providers if p.provider_id == int(text)), None)
    by_name = {_key(p.name): p for p in providers}
    if _key(text) in by_name:
        return by_name[_key(text)]
    for name in _ALIASES.get(_key(text), ()):
        if _key(name) in by_name:
            return by_name[_key(name)]
    return None


def resolve_providers(
    providers: Sequence[Provider], asked: Iterable[str], region: str
) -> tuple[Provider, ...]:
    """The region's providers for the asked ids or names, once each in the order asked;
    UnknownProvider naming the region's valid values when one does not match."""
    found: list[Provider] = []
    unknown: list[str] = []
    for text in asked:
        provider = find_provider(providers, text)
        if provider is None:
            unknown.append(clip(text))
        elif provider not in found:
            found.append(provider)
    if unknown:
        valid = ", ".join(f"{p.name} ({p.provider_id})" for p in providers)
        raise UnknownProvider(
            f"Unknown provider {', '.join(repr(u) for u in unknown)} for region {region}; "
            f"valid providers (name or id; aliases such as Prime Video and Disney+ work too): "
            f"{valid}."
        )
    return tuple(found)


def check_region(region: str, regions: Sequence[str]) -> None:
    """NoStreamingData when no fetch has brought data for `region`."""
    if region in regions:
        return
    have = f" (regions with data: {', '.join(regions)})" if regions else ""
    raise NoStreamingData(
        f"No streaming data for region {region} yet: run `watchbuddy providers --region "
        f"{region}` first{have}."
    )


def watch_page_url(media_type: str, tmdb_id: int, region: str) -> str:
    """TMDB's "where to watch" page of a title for a region (the only link availability
    may carry)."""
    return f"{TMDB_WEBSITE}/{media_type}/{tmdb_id}/watch?locale={region}"


# ---------------------------------------------------------------- reads over the views


def title_availability(
    con: duckdb.DuckDBPyConnection, region: str, media_type: str, tmdb_id: int
) -> pl.DataFrame:
    """Where one title streams in a region: `provider_name, logo_url, monetization`
    (the types joined), in display order."""
    return con.sql(
        statement(SQL, "title_availability"),
        params={
            "region": region,
            "media_type": media_type,
            "tmdb_id": tmdb_id,
            "logo_base": LOGO_BASE,
            "types": list(MONETIZATION_TYPES),
        },
    ).pl()


def alias_table() -> str:
    """The README's table of provider aliases, rendered from `PROVIDER_ALIASES` (a test
    compares)."""
    lines = ["| you may write | finds the region's provider named |", "|---|---|"]
    for alias, names in PROVIDER_ALIASES.items():
        lines.append(f"| `{alias}` | {' or '.join(f'`{n}`' for n in names)} |")
    return "\n".join(lines) + "\n"
