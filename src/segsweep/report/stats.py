"""How much of a difference is noise: the estimators behind every interval, test and
power statement of the report, as pure functions of arrays.

**The unit of replication is the training run (seed).** Test images measure each run;
every seed of every row is scored on the same images. A row's per-image Dice is a
matrix ``y`` of shape (n_seeds, n_images); a comparison's is the matrix of paired
differences ``D = y_row - y_reference`` (same seed, same image). Both are read as a
balanced two-way random-effects layout (seed + image + residual), whose grand mean has
variance

    Var = sigma_seed^2 / S + sigma_image^2 / I + sigma_resid^2 / (S I)
        = (MS_seed + MS_image - MS_resid) / (S I)          (method of moments)

with the image term truncated at 0. It counts both sources a reviewer asks about:
another seed (another training run) and another sample of test images. Two t
reference distributions are used, and a claim must hold under both:

- the paired t over the per-seed means (``S - 1`` df; t(0.975, 2) = 4.30 for 3 seeds),
  exact under normality for these test images;
- the two-way t (the variance above, Satterthwaite's df), which adds the variance of
  the test sample; alone it is liberal with 3 seeds (measured: 8 % false positives when
  both parts are small and alike), since its df grow from a noisy image part.

Each interval is the union of the two t-intervals, each p the larger of the two
p-values. Without per-image values, the paired t over per-seed values. One seed has no
replication: its interval measures only the test sample and the report never calls it
a difference (``segsweep.report.tables``).

Error rates are measured, not assumed: ``benchmarks/stats_calibration.py`` simulates
per-image Dice with known effects, seed and image variance and failed seeds, runs these
functions and prints the false-positive rate and the interval coverage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class TDist:
    """A standard error and its degrees of freedom: ``(mean - true) / se ~ t(df)``."""

    se: float
    df: float

    def valid(self) -> bool:
        return math.isfinite(self.se) and self.df > 0


NONE = TDist(math.nan, 0.0)


@dataclass(frozen=True)
class Estimate:
    """A mean with two t reference distributions, and the variance parts that
    planning more seeds needs. Every interval is the wider of the two, every p the
    larger: a claim must hold under both.

    Attributes:
        mean: grand mean of the values.
        seeds: the paired t over per-seed means (``S - 1`` df): exact, under
            normality, for these test images.
        both: seeds and test images as random (two-way random effects, Satterthwaite
            df): adds the test sample's own variance. ``NONE`` where it does not apply.
        n_seeds, n_images: the layout's size (``n_images`` 0 without per-image values).
        seed_var: variance of one seed's mean over the images (sigma_seed^2 +
            sigma_resid^2 / I): the part that more seeds average away.
        image_var: sigma_image^2 (>= 0): the part only more test images reduce.
    """

    mean: float
    seeds: TDist
    both: TDist
    n_seeds: int
    n_images: int
    seed_var: float
    image_var: float

    def _parts(self) -> list[TDist]:
        return [t for t in (self.seeds, self.both) if t.valid()]

    def interval(self, level: float = 0.95, bounds: tuple[float, float] = (-math.inf, math.inf)) -> tuple[float, float]:
        """Two-sided ``level`` interval (the union of the t-intervals), clipped to
        ``bounds`` (the metric's range)."""
        parts = self._parts()
        if not parts:
            return math.nan, math.nan
        half = max(float(stats.t.ppf(0.5 + level / 2, t.df)) * t.se for t in parts)
        return max(bounds[0], self.mean - half), min(bounds[1], self.mean + half)

    def p_value(self) -> float:
        """Two-sided p of mean = 0 (the larger of the t-tests' p)."""
        parts = self._parts()
        if not parts:
            return math.nan
        return max(_two_sided(self.mean, t) for t in parts)

    def p_equivalent(self, margin: float) -> float:
        """TOST p (Schuirmann 1987): the larger of the one-sided p-values of
        H0: mean <= -margin and H0: mean >= +margin. Below alpha: the difference lies
        within +-margin (the (1 - 2 alpha) interval sits inside it)."""
        parts = self._parts()
        if not parts or margin <= 0:
            return math.nan
        return max(
            max(_one_sided(self.mean + margin, t, upper=True), _one_sided(self.mean - margin, t, upper=False))
            for t in parts
        )


def _two_sided(x: float, t: TDist) -> float:
    if t.se == 0:
        return 1.0 if x == 0 else 0.0
    return float(2 * stats.t.sf(abs(x) / t.se, t.df))


def _one_sided(x: float, t: TDist, upper: bool) -> float:
    """P(T >= x / se) (``upper``) or P(T <= x / se)."""
    if t.se == 0:
        return float((x <= 0) if upper else (x >= 0))
    return float(stats.t.sf(x / t.se, t.df) if upper else stats.t.cdf(x / t.se, t.df))


def _satterthwaite(terms: list[tuple[float, float]]) -> float:
    """df of a sum of mean squares ``sum(c * MS)`` given as ``(c * MS, df)`` pairs."""
    total = sum(v for v, _ in terms)
    denom = sum(v * v / d for v, d in terms if d > 0)
    return total * total / denom if denom > 0 else math.inf


def estimate(values: np.ndarray) -> Estimate:
    """The grand mean of ``values`` with its standard errors and df.

    Args:
        values: (n_seeds, n_images) per-image values of each seed (no NaN), or
            (n_seeds,) per-seed values when per-image values are missing.

    Returns:
        An ``Estimate``: for a matrix with >= 2 seeds and >= 2 images, the paired t
        over per-seed means and the two-way random-effects t; for one seed, the t over
        its images alone (``both``; conditional on that seed: no replication); for a
        vector, the t over seeds.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim == 1:
        s = len(v)
        var = float(v.var(ddof=1)) if s > 1 else math.nan
        seeds = TDist(math.sqrt(var / s), s - 1.0) if s > 1 else NONE
        return Estimate(float(v.mean()), seeds, NONE, s, 0, var, 0.0)
    s, i = v.shape
    if s == 1:
        var = float(v[0].var(ddof=1)) if i > 1 else math.nan
        return Estimate(float(v.mean()), NONE, TDist(math.sqrt(var / i), i - 1.0), 1, i, math.nan, var)
    grand = v.mean()
    seed_means, image_means = v.mean(1), v.mean(0)
    ms_seed = i * float(seed_means.var(ddof=1))
    ms_image = s * float(image_means.var(ddof=1))
    resid = v - seed_means[:, None] - image_means[None, :] + grand
    ms_resid = float((resid**2).sum()) / ((s - 1) * (i - 1))
    seeds = TDist(math.sqrt(ms_seed / (s * i)), s - 1.0)
    image_part = max(ms_image - ms_resid, 0.0)  # method of moments, truncated at 0
    if image_part > 0:
        terms = [(ms_seed, s - 1.0), (ms_image, i - 1.0), (-ms_resid, (s - 1.0) * (i - 1.0))]
        both = TDist(math.sqrt((ms_seed + image_part) / (s * i)), min(_satterthwaite(terms), s * i - 1.0))
    else:
        both = seeds
    return Estimate(float(grand), seeds, both, s, i, ms_seed / i, image_part / s)


def holm(p: list[float]) -> list[float]:
    """Holm's step-down adjustment of p-values (NaN stays NaN)."""
    idx = [k for k, v in enumerate(p) if not math.isnan(v)]
    order = sorted(idx, key=lambda k: p[k])
    out, running = list(p), 0.0
    for rank, k in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p[k]))
        out[k] = running
    return out


def _designs(est: Estimate, n_seeds: int) -> list[TDist]:
    """The reference distributions the same design would have with ``n_seeds`` seeds."""
    a = est.seed_var / n_seeds
    out = [TDist(math.sqrt(a), n_seeds - 1.0)]
    b = est.image_var / est.n_images if est.n_images else 0.0
    if b > 0:
        df = (a + b) ** 2 / (a * a / (n_seeds - 1) + b * b / max(est.n_images - 1, 1))
        out.append(TDist(math.sqrt(a + b), df))
    return out


def power(est: Estimate, effect: float, n_seeds: int, alpha: float) -> float:
    """Power of the report's test (both t-tests must reject) at two-sided ``alpha`` to
    detect a true difference ``effect`` with ``n_seeds`` seeds and the variance parts of
    ``est`` (noncentral t; the smaller of the two powers, an upper bound)."""
    powers = []
    for t in _designs(est, n_seeds):
        if t.se == 0:
            powers.append(1.0 if effect else 0.0)
            continue
        crit, nc = stats.t.ppf(1 - alpha / 2, t.df), abs(effect) / t.se
        p = float(stats.nct.sf(crit, t.df, nc) + stats.nct.cdf(-crit, t.df, nc))
        if math.isnan(p):  # scipy's nct gives up far in the tail: the normal limit
            p = float(stats.norm.sf(crit - nc) + stats.norm.cdf(-crit - nc))
        powers.append(p)
    return min(powers)


def seeds_needed(est: Estimate, effect: float, alpha: float, target: float = 0.8, most: int = 1000) -> float:
    """Fewest seeds (>= 2) for ``target`` power at two-sided ``alpha`` (pass alpha / m
    for a family of m comparisons under Holm: the level its smallest p must reach);
    ``inf`` when even ``most`` seeds do not (the test images' own spread dominates, or
    the effect is 0), NaN without a variance estimate."""
    if not (math.isfinite(est.seed_var) and math.isfinite(effect)) or est.n_seeds < 2:
        return math.nan
    if power(est, effect, most, alpha) < target:
        return math.inf
    lo, hi = 2, most  # power grows with seeds: bisect
    if power(est, effect, lo, alpha) >= target:
        return float(lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if power(est, effect, mid, alpha) >= target else (mid, hi)
    return float(hi)


def min_detectable_effect(est: Estimate, alpha: float, target: float = 0.8) -> float:
    """Smallest true difference the design as run (its seeds and images) detects with
    ``target`` power at two-sided ``alpha``: (t(1 - alpha/2) + t(target)) x se, the
    larger over the two tests (the usual t approximation of the noncentral-t power; a
    closed form, since a page of thousands of rows asks for it once per row). NaN
    without a variance estimate."""
    if not math.isfinite(est.seed_var) or est.n_seeds < 2:
        return math.nan
    return max(
        float((stats.t.ppf(1 - alpha / 2, t.df) + stats.t.ppf(target, t.df)) * t.se) for t in _designs(est, est.n_seeds)
    )


def prob_improvement(row: np.ndarray, ref: np.ndarray) -> float:
    """P(a seed of the row scores higher than a seed of the reference), ties half
    (Agarwal et al. 2021), over all seed pairs of the per-seed values."""
    row, ref = np.asarray(row, float), np.asarray(ref, float)
    if not len(row) or not len(ref):
        return math.nan
    diff = row[:, None] - ref[None, :]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))
