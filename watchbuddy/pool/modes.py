"""Discovery modes: the one table of vote floors, score weights and TMDB sort orders.

A mode says how far from the mainstream a list reaches: it sets the default vote floor, the
weights that blend the pool scores and the genre match into `score`, and, for the TMDB
fallback, the discover order that finds titles of that kind first. All three live in one
row, so a mode cannot exist for the pool and be missing for TMDB.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    """A discovery mode: the default vote floor, the weights of the score's components and
    TMDB discover's `sort_by` for the fallback."""

    min_votes: int
    mainstream: float
    obscurity: float
    quality: float
    freshness: float
    genre_match: float
    trend: float
    similarity: float
    sort_by: str

    def weights(self, similar: bool = False) -> dict[str, float]:
        """Each component's weight, normalized so that `score` stays in [0, 1]. Similarity
        counts only when there is something to be similar to (`similar`: titles liked with
        --like, or a history for `for_you`)."""
        raw = {name: getattr(self, name) for name in COMPONENTS}
        if not similar:
            raw["similarity"] = 0.0
        total = sum(raw.values())
        return {name: value / total for name, value in raw.items()}


# The components a mode blends, with the pool (or query) column each one reads.
COMPONENTS = {
    "mainstream": "mainstream_score",
    "obscurity": "obscurity_score",
    "quality": "quality_score",
    "freshness": "freshness_score",
    "genre_match": "genre_match",
    "trend": "trend_score",
    "similarity": "similarity",
}

# The one table of discovery modes (documented in the README). `score` is the weighted sum
# of the pool's reach scores (mainstream, obscurity), its confidence-aware quality score,
# freshness, the share of requested genres a title has (1 when no genre is requested) and
# the trend score (0.5 flat, towards 1 rising; 0.5 without popularity history), so it stays
# in [0, 1]. In the obscure modes quality outweighs obscurity: among titles that few have
# seen, the well-attested rating decides (an 8.2 from 60 votes ranks above a 10.0 from 6),
# while obscurity still keeps famous titles down the list. `trending` is mostly the trend,
# with a little quality and reach so that, among titles rising alike, the better and more
# widely seen come first (the trend score itself already damps noise at tiny popularity).
# The TMDB fallback asks discover for the mode's kind of title first: by popularity for the
# mainstream and trending modes, by vote count for balanced, by rating for the obscure ones.
# Similarity (pool/similar.py) weighs as much as all the rest together when titles are liked
# (`--like`), so "obscure titles like Inception" are half like it, half obscure and good;
# without a like it is left out and the weights are the mode's own. `for_you` is balanced
# with more weight on similarity to the titles your history rates highly.
# mode: (vote floor, mainstream, obscurity, quality, freshness, genre match, trend,
#        similarity, sort_by)
_MODE_TABLE = {
    "mainstream": (500, 0.50, 0.0, 0.30, 0.05, 0.15, 0.0, 1.0, "popularity.desc"),
    "popular": (100, 0.30, 0.0, 0.20, 0.35, 0.15, 0.0, 1.0, "popularity.desc"),
    "balanced": (50, 0.15, 0.15, 0.45, 0.10, 0.15, 0.0, 1.0, "vote_count.desc"),
    "obscure": (20, 0.0, 0.30, 0.45, 0.10, 0.15, 0.0, 1.0, "vote_average.desc"),
    "very_obscure": (10, 0.0, 0.40, 0.45, 0.0, 0.15, 0.0, 1.0, "vote_average.desc"),
    "deep_discovery": (5, 0.0, 0.30, 0.35, 0.20, 0.15, 0.0, 1.0, "vote_average.desc"),
    "trending": (20, 0.10, 0.0, 0.15, 0.0, 0.15, 0.60, 1.0, "popularity.desc"),
    "for_you": (50, 0.10, 0.10, 0.35, 0.05, 0.15, 0.0, 1.5, "vote_count.desc"),
}
MODES: dict[str, Mode] = {name: Mode(*row) for name, row in _MODE_TABLE.items()}
DEFAULT_MODE = "balanced"
