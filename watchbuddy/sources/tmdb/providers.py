"""Where titles stream: each region's streaming providers and their whole catalogues, from
TMDB (whose availability data comes from JustWatch).

Per region: the providers TMDB lists (`/watch/providers/movie` and `/tv` with
`watch_region`), of which `WATCHBUDDY_WATCH_PROVIDERS` chooses some (by id or name, any
case; none given: all), then each chosen provider's catalogue per monetization type and
media type through discover (`watch_region`, `with_watch_providers`,
`with_watch_monetization_types`). Discover serves 500 pages of a query at most, so a
catalogue at the cap is split by release date, and a day by vote counts, exactly as
ingestion splits its windows (`ingest.discover`, shared, not copied).

Each region is published on its own, in one commit that replaces that region's
`providers` and `availability` files (other regions' stay) and adds the titles the pool
lacks as a delta, the way ingestion lands discover results. A region is published only
when every page of it was read: a region with a lost page, or one TMDB failed for, keeps
its previous fetch, and the run ends 'partial' naming it. The run holds the warehouse
write lock throughout and records itself like every TMDB job ('failed' with the reason
when stopped, nothing half-published).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from watchbuddy.errors import ConfigError, TmdbAuthError, TmdbError
from watchbuddy.safe_text import clip
from watchbuddy.settings import Settings
from watchbuddy.sources.tmdb.client import TmdbClient, stopping
from watchbuddy.sources.tmdb.ingest import (
    WRITE_LOCK_WAIT_SECONDS,
    Discovery,
    Progress,
    api_title_rows,
    client_for,
    discover,
    existing_titles,
    normalize,
    note_rejected,
    recorded,
    result_id,
    stage_rejects,
)
from watchbuddy.store.runs import Run, abandon_dead_runs, stage_run, start_run
from watchbuddy.store.schema import (
    AVAILABILITY_SCHEMA,
    MEDIA_TYPES,
    MONETIZATION_TYPES,
    PROVIDER_SCHEMA,
)
from watchbuddy.store.warehouse import Warehouse, WarehouseWriter, utcnow

JOB = "providers"
# region -> the page progress of its catalogues (pages done, pages known so far)
RegionProgress = Callable[[str], Progress]
# A region's files in `providers` and `availability`: `region-US-000042.parquet`.
REGION_FILE = re.compile(r"^[a-z_]+/region-([A-Z0-9]+)-")


@dataclass(frozen=True)
class Provider:
    id: int
    name: str
    logo_path: str | None
    display_priority: int | None


@dataclass
class RegionResult:
    """What one region's fetch did: 'ok' (published), 'partial' (published, a query TMDB
    truncates at its cap), 'failed' (not published: the previous fetch stays)."""

    region: str
    status: str = "running"
    providers: list[str] = field(default_factory=list)  # the chosen providers' names
    titles: int = 0  # distinct titles available on any chosen provider
    offers: int = 0  # availability rows: (provider, monetization type, title)
    new_titles: int = 0  # titles the pool lacked, landed with the region
    pages: int = 0
    problem: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "status": self.status,
            "providers": self.providers,
            "titles": self.titles,
            "offers": self.offers,
            "new_titles": self.new_titles,
            "pages": self.pages,
            "problem": self.problem,
            "notes": self.notes,
        }

    def summary(self) -> str:
        if self.status == "failed":
            return f"{self.region}: failed: {self.problem}; its previous fetch is kept"
        partial = f"partial: {self.problem}; " if self.status == "partial" else ""
        return (
            f"{self.region}: {partial}{len(self.providers)} providers, {self.titles:,} titles "
            f"available ({self.offers:,} offers), {self.new_titles:,} new to the pool, "
            f"{self.pages:,} pages"
        )


@dataclass
class ProvidersResult:
    run: Run
    regions: list[RegionResult] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f"{r.region} {r.status}: {r.problem}" for r in self.regions if r.problem]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.run.to_dict(),
            "regions": [r.to_dict() for r in self.regions],
            "problems": self.problems,
        }


def regions_to_fetch(settings: Settings, regions: Sequence[str] = ()) -> list[str]:
    """The regions given (upper-cased, each once), else `WATCHBUDDY_WATCH_REGIONS`; none at
    all is a ConfigError saying how to give one."""
    chosen = [r.strip().upper() for r in regions if r.strip()] or list(settings.watch_regions)
    if not chosen:
        raise ConfigError(
            "No watch region: set WATCHBUDDY_WATCH_REGIONS (ISO 3166-1 codes such as US,DE) "
            "or pass --region."
        )
    return list(dict.fromkeys(chosen))


def choose_providers(
    wanted: Sequence[str], listed: dict[str, list[Provider]], complete: bool = True
) -> dict[str, list[Provider]]:
    """Each region's providers that `wanted` names (ids, or names in any case; empty: all
    of them). A name no region lists is a ConfigError listing the valid ones (only when
    every region's list was read, `complete`: a name may be on the list that failed); one
    that only some regions list is fetched where it is listed."""
    if not wanted or not listed:
        return listed
    known: dict[int, Provider] = {}
    for providers in listed.values():
        for p in providers:
            known.setdefault(p.id, p)

    def matches(item: str, p: Provider) -> bool:
        text = item.strip()
        return str(p.id) == text or p.name.casefold() == text.casefold()

    unknown = [w for w in wanted if not any(matches(w, p) for p in known.values())]
    if unknown and complete:
        valid = ", ".join(f"{p.name} ({p.id})" for p in known.values())
        regions = ", ".join(listed)
        raise ConfigError(
            f"Unknown streaming provider {clip(', '.join(unknown))!r} in "
            f"WATCHBUDDY_WATCH_PROVIDERS: TMDB lists for {regions}: {valid}; give ids or "
            "names from that list."
        )
    return {
        region: [p for p in providers if any(matches(w, p) for w in wanted)]
        for region, providers in listed.items()
    }


def fetch_providers(
    settings: Settings, regions: Sequence[str] = (), progress: RegionProgress | None = None
) -> ProvidersResult:
    """Fetch and publish each region's providers and catalogues (see the module)."""
    wanted = regions_to_fetch(settings, regions)
    warehouse = Warehouse(settings.warehouse)
    client = client_for(settings)  # fails fast without a credential, before taking the lock
    with warehouse.writer(JOB, wait_seconds=WRITE_LOCK_WAIT_SECONDS) as writer:
        abandon_dead_runs(writer)
        run = Run(job=JOB, media_type="all")
        start_run(writer, run)
        with recorded(writer, run, client):
            result = ProvidersResult(run)
            asyncio.run(_fetch(client, settings, wanted, writer, result, progress))
            result.regions.sort(key=lambda r: wanted.index(r.region))
            regions_done = [r for r in result.regions if r.status != "failed"]
            run.requests = client.stats.requests
            run.retries = client.stats.retries
            run.pages = sum(r.pages for r in result.regions)
            run.titles_new = sum(r.new_titles for r in result.regions)
            run.errors = sum(r.status == "failed" for r in result.regions)
            run.messages.extend(r.summary() for r in result.regions)
            for region in result.regions:
                run.messages.extend(f"{region.region}: {note}" for note in region.notes)
            if not regions_done:
                status = "failed"
            elif len(regions_done) < len(result.regions) or any(
                r.status == "partial" for r in regions_done
            ):
                status = "partial"
            else:
                status = "ok"
            run.finish(status)
            writer.commit(add={"runs": [stage_run(writer, [run])]})
            return result


async def _fetch(
    client: TmdbClient,
    settings: Settings,
    wanted: list[str],
    writer: WarehouseWriter,
    result: ProvidersResult,
    progress: RegionProgress | None,
) -> None:
    async with client:
        body = await client.get("/watch/providers/regions") or {}
        known = {
            item["iso_3166_1"]: item.get("english_name")
            for item in body.get("results") or []
            if isinstance(item, dict) and isinstance(item.get("iso_3166_1"), str)
        }
        unknown = [r for r in wanted if r not in known]
        if unknown:
            raise ConfigError(
                f"Unknown watch region {clip(', '.join(unknown))!r}: TMDB has streaming data "
                f"for {', '.join(sorted(known))}; set WATCHBUDDY_WATCH_REGIONS or pass "
                "--region with codes from that list."
            )
        lists = await asyncio.gather(
            *(_provider_list(client, region) for region in wanted), return_exceptions=True
        )
        listed: dict[str, list[Provider]] = {}
        for region, answer in zip(wanted, lists, strict=True):
            if isinstance(answer, BaseException):
                _raise_if_fatal(answer)
                result.regions.append(
                    RegionResult(region, "failed", problem=_reason(answer, "provider list"))
                )
            else:
                listed[region] = answer
        chosen = choose_providers(
            settings.watch_providers, listed, complete=len(listed) == len(wanted)
        )
        for region, providers in chosen.items():
            outcome = RegionResult(region, providers=[p.name for p in providers])
            result.regions.append(outcome)
            if settings.watch_providers and len(providers) < len(settings.watch_providers):
                outcome.notes.append(
                    f"{len(settings.watch_providers) - len(providers)} of the providers in "
                    "WATCHBUDDY_WATCH_PROVIDERS are not offered in this region"
                )
            try:
                found = await _catalogues(
                    client, region, providers, outcome, progress(region) if progress else None
                )
            except TmdbError as exc:
                _raise_if_fatal(exc)
                outcome.status, outcome.problem = "failed", _reason(exc, "catalogues")
                continue
            if outcome.status != "failed":
                _publish(writer, region, providers, found, outcome)


def _raise_if_fatal(exc: BaseException) -> None:
    """A bad credential, a shutdown, or anything but TMDB failing for one region ends the
    run; TMDB failing for one region fails that region only."""
    if isinstance(exc, TmdbAuthError) or not isinstance(exc, TmdbError) or stopping():
        raise exc


def _reason(exc: BaseException, what: str) -> str:
    reason = exc.reason if isinstance(exc, TmdbError) else str(exc)
    return f"TMDB failed for its {what} ({reason})"


def _provider(item: Any) -> Provider | None:
    """A provider list entry, or None for one without a whole-number id and a name."""
    if not isinstance(item, dict):
        return None
    provider_id, name = item.get("provider_id"), item.get("provider_name")
    if isinstance(provider_id, bool) or not isinstance(provider_id, int) or provider_id < 1:
        return None
    if not isinstance(name, str) or not name.strip():
        return None
    logo = item.get("logo_path")
    priority = item.get("display_priority")
    return Provider(
        provider_id,
        name.strip(),
        logo if isinstance(logo, str) else None,
        priority if isinstance(priority, int) and not isinstance(priority, bool) else None,
    )


async def _provider_list(client: TmdbClient, region: str) -> list[Provider]:
    """The providers TMDB lists for the region, movies' and shows' together, in TMDB's
    display order (a provider on both lists once, as the movie list has it)."""
    merged: dict[int, Provider] = {}
    for media_type in MEDIA_TYPES:
        body = await client.get(f"/watch/providers/{media_type}", {"watch_region": region}) or {}
        for item in body.get("results") or []:
            provider = _provider(item)
            if provider is not None:
                merged.setdefault(provider.id, provider)
    return sorted(
        merged.values(),
        key=lambda p: (p.display_priority is None, p.display_priority or 0, p.id),
    )


@dataclass
class _Catalogue:
    """Every chosen provider's catalogue of one region: availability keys and results."""

    offers: set[tuple[int, str, str, int]] = field(default_factory=set)
    # media type -> discover results, one per title (the last seen; the catalogues overlap),
    # and those without a usable id (they land in rejects)
    results: dict[str, dict[int, Any]] = field(default_factory=dict)
    unusable: dict[str, list[Any]] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)


async def _catalogues(
    client: TmdbClient,
    region: str,
    providers: list[Provider],
    outcome: RegionResult,
    progress: Progress | None,
) -> _Catalogue:
    """Each provider's catalogue per monetization type and media type; marks `outcome`
    failed when a page could not be read (its availability would be incomplete)."""
    queries = [(p, kind, m) for p in providers for kind in MONETIZATION_TYPES for m in MEDIA_TYPES]
    found = [Discovery() for _ in queries]
    pages: dict[int, tuple[int, int]] = {}

    def step(index: int) -> Progress:
        def report(done: int, known: int) -> None:
            pages[index] = (done, known)
            if progress:
                progress(sum(d for d, _ in pages.values()), sum(k for _, k in pages.values()))

        return report

    # Every query ends before the region is judged (none left running into the next region);
    # the first error, a bad credential before any other, then fails the region or the run.
    answers = await asyncio.gather(
        *(
            discover(
                client,
                media_type,
                None,
                None,
                found[index],
                step(index),
                extra={
                    "watch_region": region,
                    "with_watch_providers": str(provider.id),
                    "with_watch_monetization_types": kind,
                },
            )
            for index, (provider, kind, media_type) in enumerate(queries)
        ),
        return_exceptions=True,
    )
    errors = [a for a in answers if isinstance(a, BaseException)]
    if errors:
        raise next((e for e in errors if isinstance(e, TmdbAuthError)), errors[0])
    out = _Catalogue(results={m: {} for m in MEDIA_TYPES}, unusable={m: [] for m in MEDIA_TYPES})
    lost = 0
    for (provider, kind, media_type), one in zip(queries, found, strict=True):
        outcome.pages += one.pages_done
        lost += one.pages_skipped
        out.truncated.extend(f"{provider.name} {kind}: {t}" for t in one.truncated)
        for item in one.results:
            tmdb_id = result_id(item)
            if tmdb_id is None:
                out.unusable[media_type].append(item)
            else:
                out.offers.add((provider.id, kind, media_type, tmdb_id))
                out.results[media_type][tmdb_id] = item
    if lost:
        outcome.status = "failed"
        outcome.problem = f"{lost:,} pages could not be read"
    return out


def _is_region_file(path: str, region: str) -> bool:
    match = REGION_FILE.match(path)
    return match is not None and match.group(1) == region


def _publish(
    writer: WarehouseWriter,
    region: str,
    providers: list[Provider],
    catalogue: _Catalogue,
    outcome: RegionResult,
) -> None:
    """One commit: the region's providers and availability replace its previous files, and
    the titles the pool lacks land as a delta."""
    fetched_at = utcnow()
    batch = writer.allocate_batch()
    names = {p.id: p.name for p in providers}
    provider_rows = pa.Table.from_pylist(
        [
            {
                "region": region,
                "provider_id": p.id,
                "provider_name": p.name,
                "logo_path": p.logo_path,
                "display_priority": p.display_priority,
                "fetched_at": fetched_at,
            }
            for p in providers
        ],
        schema=PROVIDER_SCHEMA,
    )
    offers = sorted(catalogue.offers, key=lambda o: (o[0], o[1], o[2], o[3]))
    availability_rows = pa.Table.from_pylist(
        [
            {
                "region": region,
                "provider_id": provider_id,
                "provider_name": names[provider_id],
                "monetization_type": kind,
                "media_type": media_type,
                "tmdb_id": tmdb_id,
                "fetched_at": fetched_at,
            }
            for provider_id, kind, media_type, tmdb_id in offers
        ],
        schema=AVAILABILITY_SCHEMA,
    )
    name = f"region-{region}-{batch:06d}.parquet"
    staged = {
        "providers": writer.stage_table("providers", provider_rows, name),
        "availability": writer.stage_table("availability", availability_rows, name),
    }
    manifest = writer.warehouse.read_manifest()
    replace = {
        table: [f for f in manifest.files(table) if not _is_region_file(f, region)] + [path]
        for table, path in staged.items()
    }
    add: dict[str, list[str]] = {}
    found = Discovery()
    for media_type, results in catalogue.results.items():
        rejected: list[tuple[Any, str]] = []
        items = [*results.values(), *catalogue.unusable[media_type]]
        frame = normalize(items, media_type, rejected)
        found.reject(f"/discover/{media_type}", rejected)
        known = existing_titles(writer.warehouse, frame.select("media_type", "tmdb_id"))
        new = frame.filter(~pl.col("tmdb_id").is_in(known["tmdb_id"].to_list()))
        if new.height:
            rows = api_title_rows(new, pl.lit(f"{JOB}/{media_type}"), batch, fetched_at)
            add.setdefault("titles", []).append(
                writer.stage_table(
                    "titles", rows, f"{JOB}-{batch:06d}-{region}-{media_type}.parquet"
                )
            )
        outcome.new_titles += new.height
    stage_rejects(writer, found, f"{JOB}-{region}", batch, add)
    note_rejected(found)
    outcome.notes.extend(found.notes)
    writer.commit(add=add, replace=replace)
    outcome.titles = len({(m, i) for _, _, m, i in catalogue.offers})
    outcome.offers = len(offers)
    if catalogue.truncated:
        outcome.status = "partial"
        outcome.problem = f"{len(catalogue.truncated):,} queries truncated at TMDB's cap"
        outcome.notes.extend(catalogue.truncated[:8])
    else:
        outcome.status = "ok"
