"""The fake TMDB's streaming availability (JustWatch's data as TMDB serves it), for tests and
the providers benchmark.

A deterministic table says, for every (region, provider, monetization type, media type,
title) of the fake's catalogue, whether the provider offers the title there that way: a
stable hash of the five (and an `epoch`, which a test bumps to make the catalogues change
between two fetches) below the provider's share for that type. From it the fake answers,
in TMDB's shapes:

- `/watch/providers/regions`: `results` of `iso_3166_1`, `english_name`, `native_name`;
- `/watch/providers/movie|tv?watch_region=R`: `results` of `provider_id`, `provider_name`,
  `logo_path`, `display_priority` (R's) and `display_priorities` (every region's); an
  unknown or missing region answers an empty list, as TMDB does for a country it has no
  data for;
- `/movie|tv/{id}/watch/providers`: `results` keyed by region, each with TMDB's `link` and
  the `flatrate`, `free`, `ads`, `rent`, `buy` lists that are not empty;
- discover's `watch_region` with `with_watch_providers` (`|` any, `,` all) and
  `with_watch_monetization_types` (`|` any), which TMDB applies only together with a
  region (an unknown region matches nothing).

`truth(region)` is the table itself, for tests to compare a fetch against. The default
providers carry a few per cent of the catalogue each; `tmdb_sized_providers(titles)` gives
shares that make each catalogue as large as TMDB's for the US (Netflix about 7,000 titles
flatrate, a rent/buy store about 25,000), for the benchmark.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from typing import Any

from watchbuddy.store.schema import MEDIA_TYPES, MONETIZATION_TYPES

SCALE = 1_000_000  # shares are compared as parts per million of a hash

# (ISO 3166-1 code, English name, native name), as `/watch/providers/regions` lists them.
REGIONS = (
    ("DE", "Germany", "Deutschland"),
    ("DK", "Denmark", "Danmark"),
    ("FR", "France", "France"),
    ("GB", "United Kingdom", "United Kingdom"),
    ("JP", "Japan", "日本"),
    ("US", "United States of America", "United States"),
)


@dataclass(frozen=True)
class FakeProvider:
    """A provider: the share of the catalogue it offers per monetization type (0 to 1), and
    the regions it serves (None: every region)."""

    id: int
    name: str
    shares: tuple[tuple[str, float], ...]
    regions: tuple[str, ...] | None = None

    @property
    def logo_path(self) -> str:
        return f"/fakeprovider{self.id}.jpg"

    def serves(self, region: str) -> bool:
        return self.regions is None or region in self.regions


# TMDB's ids for these providers; the shares make small catalogues for tests.
DEFAULT_PROVIDERS = (
    FakeProvider(8, "Netflix", (("flatrate", 0.12),)),
    FakeProvider(9, "Amazon Prime Video", (("flatrate", 0.10), ("ads", 0.03))),
    FakeProvider(337, "Disney Plus", (("flatrate", 0.05),)),
    FakeProvider(15, "Hulu", (("flatrate", 0.06),), ("US", "JP")),
    FakeProvider(1899, "Max", (("flatrate", 0.05),), ("US", "DK", "FR")),
    FakeProvider(2, "Apple TV", (("rent", 0.30), ("buy", 0.35))),
    FakeProvider(3, "Google Play Movies", (("rent", 0.25), ("buy", 0.30))),
    FakeProvider(10, "Amazon Video", (("rent", 0.30), ("buy", 0.35)), ("US", "DE", "GB", "JP")),
    FakeProvider(73, "Tubi TV", (("free", 0.04), ("ads", 0.06)), ("US", "GB")),
    FakeProvider(300, "Pluto TV", (("free", 0.05), ("ads", 0.05))),
)

# Titles per monetization type in the US, movies and shows together, roughly TMDB's sizes.
TMDB_SIZES: dict[int, dict[str, int]] = {
    8: {"flatrate": 7_000},
    9: {"flatrate": 9_000, "ads": 2_000},
    337: {"flatrate": 2_500},
    15: {"flatrate": 3_000},
    1899: {"flatrate": 2_500},
    2: {"rent": 20_000, "buy": 25_000},
    3: {"rent": 18_000, "buy": 22_000},
    10: {"rent": 22_000, "buy": 25_000},
    73: {"free": 3_000, "ads": 12_000},
    300: {"free": 2_000, "ads": 5_000},
}


def tmdb_sized_providers(titles: int) -> tuple[FakeProvider, ...]:
    """The default providers with shares that give a catalogue of `titles` titles TMDB's
    catalogue sizes (`TMDB_SIZES`, at most the whole catalogue)."""
    return tuple(
        replace(
            p,
            shares=tuple(
                (kind, min(1.0, size / max(titles, 1))) for kind, size in TMDB_SIZES[p.id].items()
            ),
        )
        for p in DEFAULT_PROVIDERS
    )


def _mix(*parts: object) -> int:
    data = ",".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class FakeAvailability:
    """The availability table over a catalogue (`Catalogue` of fake_tmdb: `.titles`, `.lock`,
    `.version`, `.touch()`)."""

    def __init__(
        self,
        catalogue: Any,
        providers: tuple[FakeProvider, ...] = DEFAULT_PROVIDERS,
        regions: tuple[tuple[str, str, str], ...] = REGIONS,
    ) -> None:
        self.catalogue = catalogue
        self.providers = providers
        self.regions = regions
        self.epoch = 0
        self._lock = threading.Lock()
        self._ids: dict[tuple[Any, ...], frozenset[int]] = {}

    def bump(self) -> None:
        """Change every catalogue (a new epoch), as days passing do on JustWatch."""
        with self._lock:
            self.epoch += 1
            self._ids.clear()
        self.catalogue.touch()  # discover's cached answers are stale now

    def region_codes(self) -> list[str]:
        return [code for code, _, _ in self.regions]

    def in_region(self, region: str) -> list[FakeProvider]:
        """The region's providers, in its display order (empty for an unknown region)."""
        if region not in self.region_codes():
            return []
        return sorted(
            (p for p in self.providers if p.serves(region)), key=lambda p: _mix(region, p.id)
        )

    def priorities(self, provider: FakeProvider) -> dict[str, int]:
        """display_priority of the provider in each region it serves."""
        out = {}
        for region in self.region_codes():
            ordered = self.in_region(region)
            if provider in ordered:
                out[region] = ordered.index(provider)
        return out

    def ids(
        self, region: str, provider: FakeProvider, kind: str, media_type: str
    ) -> frozenset[int]:
        """The titles `provider` offers in `region` as `kind`."""
        share = dict(provider.shares).get(kind, 0.0)
        if not share or not provider.serves(region) or region not in self.region_codes():
            return frozenset()
        catalogue = self.catalogue
        key = (region, provider.id, kind, media_type, catalogue.version, self.epoch)
        with self._lock:
            found = self._ids.get(key)
        if found is not None:
            return found
        with catalogue.lock:
            titles = list(catalogue.titles[media_type])
        bound = int(share * SCALE)
        found = frozenset(
            i
            for i in titles
            if _mix(self.epoch, region, provider.id, kind, media_type, i) % SCALE < bound
        )
        with self._lock:
            self._ids[key] = found
        return found

    def truth(self, region: str) -> set[tuple[int, str, str, int]]:
        """Every (provider_id, monetization type, media type, tmdb_id) available in `region`."""
        return {
            (p.id, kind, media_type, i)
            for p in self.in_region(region)
            for kind, _ in p.shares
            for media_type in MEDIA_TYPES
            for i in self.ids(region, p, kind, media_type)
        }

    # ------------------------------------------------------------ TMDB's answers

    def regions_body(self) -> dict[str, Any]:
        return {
            "results": [
                {"iso_3166_1": code, "english_name": english, "native_name": native}
                for code, english, native in self.regions
            ]
        }

    def providers_body(self, region: str | None) -> dict[str, Any]:
        return {
            "results": [
                {
                    "display_priorities": self.priorities(p),
                    "display_priority": index,
                    "logo_path": p.logo_path,
                    "provider_name": p.name,
                    "provider_id": p.id,
                }
                for index, p in enumerate(self.in_region(region or ""))
            ]
        }

    def title_body(self, media_type: str, tmdb_id: int) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for region in self.region_codes():
            entry: dict[str, Any] = {}
            for index, p in enumerate(self.in_region(region)):
                for kind in MONETIZATION_TYPES:
                    if tmdb_id in self.ids(region, p, kind, media_type):
                        entry.setdefault(kind, []).append(
                            {
                                "logo_path": p.logo_path,
                                "provider_id": p.id,
                                "provider_name": p.name,
                                "display_priority": index,
                            }
                        )
            if entry:
                link = f"https://www.themoviedb.org/{media_type}/{tmdb_id}/watch?locale={region}"
                results[region] = {"link": link, **entry}
        return {"id": tmdb_id, "results": results}

    def allowed(self, media_type: str, query: dict[str, str]) -> frozenset[int] | None:
        """The titles discover's provider filters let through (None: no such filter)."""
        region = query.get("watch_region")
        wanted = query.get("with_watch_providers")
        kinds_text = query.get("with_watch_monetization_types")
        if not region or not (wanted or kinds_text):
            return None  # TMDB applies the provider filters only together with a region
        kinds = kinds_text.split("|") if kinds_text else list(MONETIZATION_TYPES)
        by_id = {p.id: p for p in self.in_region(region)}

        def offered(text: str) -> frozenset[int]:
            # A value that is not an id matches nothing, as TMDB's filter does.
            provider = by_id.get(int(text)) if text.strip().isdigit() else None
            if provider is None:
                return frozenset()
            return frozenset().union(*(self.ids(region, provider, k, media_type) for k in kinds))

        if not wanted:
            return frozenset().union(*(offered(str(i)) for i in by_id))
        if "," in wanted:
            sets = [offered(i) for i in wanted.split(",")]
            return frozenset.intersection(*sets)
        return frozenset().union(*(offered(i) for i in wanted.split("|")))
