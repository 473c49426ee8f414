"""Your watch history: Trakt, Letterboxd and IMDb exports matched to TMDB ids, and the app's
own "not interested" list, published as the `history` table."""
