-- The pool scores, each in [0, 1], as DuckDB macros. This file is the only place they are
-- defined; the README explains them and tests/test_scores.py checks their properties.
--
--   R = vote_average (0..10), V = vote_count, P = popularity, d = days since release.
--
-- Two kinds of score, kept apart on purpose:
--   reach   (obscurity, mainstream): how widely seen a title is; votes and popularity only.
--   quality (quality):               how good it is, as far as its votes can tell.
-- The discovery modes (watchbuddy/pool/modes.py, MODES) blend them with freshness, the genre
-- match and the trend (popularity over time, from the daily exports; `trending` mostly).
-- Mixing quality into reach (as the old relative-quality obscurity did) let a lucky 10.0
-- from six votes top every obscure list.
--
-- Constants (change them here, nowhere else):
--   votes_half       1000   votes at which the vote part of reach is 0.5
--   votes_shape      1.5    how sharply it rises around that point: below ~200 votes every
--                          title is about equally unknown, above ~5000 equally famous
--   popularity_half  20     popularity at which the popularity part of reach is 0.5
--   popularity_shape 0.7
--   prior_votes      m = 50   votes a rating needs before it counts as much as the prior
--   prior_rating     C = 6.0  the rating a title is assumed to have before votes come in
--   fresh_half_life  365    days after release at which freshness is 0.5
--   popularity_floor k = 1   added to the popularity a change is relative to, so that a title
--                          going from 0.01 to 0.5 (noise in TMDB's long tail, where most
--                          titles sit below 1) is a +49% change, not +4,900%
--   trend_steepness  2      the power of the smoothed ratio in trend_score: a title whose
--                          smoothed popularity doubled in a week scores 0.8, one that halved 0.2

-- How widely seen a title is: 0 for nobody, towards 1 for blockbusters. Non-decreasing in
-- votes and in popularity; votes weigh three times as much (popularity is TMDB's
-- short-term attention and swings by the day).
CREATE OR REPLACE MACRO wb_reach(v, p) AS
    0.75 * (pow(greatest(coalesce(v, 0), 0), 1.5)
            / (pow(greatest(coalesce(v, 0), 0), 1.5) + pow(1000, 1.5)))
  + 0.25 * (pow(greatest(coalesce(p, 0), 0), 0.7)
            / (pow(greatest(coalesce(p, 0), 0), 0.7) + pow(20, 0.7)));

-- Little-known: the complement of reach. A pure function of votes and popularity, so more
-- votes or more popularity never make a title more obscure.
CREATE OR REPLACE MACRO obscurity_score(v, p) AS 1 - wb_reach(v, p);

-- Widely seen: reach itself.
CREATE OR REPLACE MACRO mainstream_score(v, p) AS wb_reach(v, p);

-- IMDb's weighted rating, on a 0..1 scale: WR = (V*R + m*C) / (V + m) / 10, the rating
-- shrunk toward the prior C by m votes' worth of evidence. A 10.0 from 6 votes is 6.4, an
-- 8.2 from 60 votes 7.2: confidence, not luck, decides. A title without votes scores C/10.
CREATE OR REPLACE MACRO quality_score(r, v) AS
    (greatest(coalesce(v, 0), 0) * least(greatest(coalesce(r, 0), 0), 10) + 50 * 6.0)
  / ((greatest(coalesce(v, 0), 0) + 50) * 10);

-- Halves every year after release; 1 for today and for announced future releases (so a
-- newer release never scores lower); 0 when the release date is unknown. Computed at query
-- time from `today`, never stored.
CREATE OR REPLACE MACRO freshness_score(release_date, today) AS
    CASE
        WHEN release_date IS NULL THEN 0.0
        WHEN release_date >= today THEN 1.0
        ELSE pow(0.5, date_diff('day', release_date, today) / 365.0)
    END;

-- The relative change of popularity from p_then to p_now, smoothed by k = 1:
-- (p_now - p_then) / (p_then + 1). NULL when either is unknown (no history that far back)
-- or negative. Above -1 always; 1 + change = (p_now + 1) / (p_then + 1), the smoothed ratio.
CREATE OR REPLACE MACRO popularity_change(p_now, p_then) AS
    CASE WHEN p_now >= 0 AND p_then >= 0 THEN (p_now - p_then) / (p_then + 1.0) END;

-- How strongly a title is rising, from its 7-day popularity change: a logistic function of
-- the smoothed log-ratio x = ln(1 + change), 1 / (1 + exp(-2x)) = r^2 / (r^2 + 1) with
-- r = (p_now + 1) / (p_then + 1). 0.5 is flat, above rising, below falling; it saturates
-- toward 1 and 0. Between popularities below 1 (TMDB's noise floor) r stays within
-- [1/2, 2], so such a title scores between 0.2 and 0.8 whatever its raw ratio. A title
-- without history (no change known) scores 0.5, flat: the score is never NULL, so a mode
-- blending it ranks titles without history by its other components.
CREATE OR REPLACE MACRO trend_score(change) AS
    CASE
        WHEN change IS NULL THEN 0.5
        ELSE pow(greatest(1 + change, 0), 2) / (pow(greatest(1 + change, 0), 2) + 1)
    END;
