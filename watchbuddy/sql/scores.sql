-- The three pool scores, each in [0, 1], as DuckDB macros. This file is the only place they
-- are defined; the README explains them and tests/test_scores.py checks their properties.
--
--   R = vote_average (0..10), V = vote_count, P = popularity, d = days since release.
--
-- Constants (change them here, nowhere else):
--   prior_votes      m = 20     votes a rating needs before it counts as much as the prior
--   prior_rating     C = 6.0    the rating a title is assumed to have before votes come in
--   votes_half       1000       votes at which vote reach is 0.5
--   popularity_half  20         popularity at which popularity reach is 0.5
--   reach_shape      0.7        how sharply reach rises around its half point
--   fresh_half_life  365        days after release at which freshness is 0.5

-- How widely seen a title is: 0 for nobody, towards 1 for blockbusters. Non-decreasing in
-- votes and in popularity.
CREATE OR REPLACE MACRO wb_reach(v, p) AS
    0.75 * (pow(greatest(coalesce(v, 0), 0), 0.7)
            / (pow(greatest(coalesce(v, 0), 0), 0.7) + pow(1000, 0.7)))
  + 0.25 * (pow(greatest(coalesce(p, 0), 0), 0.7)
            / (pow(greatest(coalesce(p, 0), 0), 0.7) + pow(20, 0.7)));

-- The rating shrunk toward the prior, relative to a perfect 10 shrunk the same way:
-- (V*R + m*C) / (V*10 + m*C). A 10.0 from 1 vote and a 6.0 from 1 vote are nearly alike;
-- with many votes it approaches R/10. For any R <= 10 it never rises as votes are added,
-- which is what lets obscurity stay monotonic while still rewarding good ratings.
CREATE OR REPLACE MACRO wb_relative_quality(r, v) AS
    (greatest(coalesce(v, 0), 0) * least(greatest(coalesce(r, 0), 0), 10) + 20 * 6.0)
  / (greatest(coalesce(v, 0), 0) * 10 + 20 * 6.0);

-- The rating a title has earned: shrunk toward 0 when votes are few, V*R / ((V + m) * 10).
-- Never falls as votes are added, so mainstream stays monotonic.
CREATE OR REPLACE MACRO wb_proven_quality(r, v) AS
    greatest(coalesce(v, 0), 0) * least(greatest(coalesce(r, 0), 0), 10)
  / ((greatest(coalesce(v, 0), 0) + 20) * 10);

-- Hidden-gem score: good relative quality, little reach.
CREATE OR REPLACE MACRO obscurity_score(r, v, p) AS
    wb_relative_quality(r, v) * (1 - wb_reach(v, p));

-- Blockbuster score: proven quality times reach.
CREATE OR REPLACE MACRO mainstream_score(r, v, p) AS
    wb_proven_quality(r, v) * wb_reach(v, p);

-- Halves every year after release; 1 for today and for announced future releases (so a
-- newer release never scores lower); 0 when the release date is unknown. Computed at query
-- time from `today`, never stored.
CREATE OR REPLACE MACRO freshness_score(release_date, today) AS
    CASE
        WHEN release_date IS NULL THEN 0.0
        WHEN release_date >= today THEN 1.0
        ELSE pow(0.5, date_diff('day', release_date, today) / 365.0)
    END;
