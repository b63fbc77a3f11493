"""The report's estimators against independent computations: scipy's paired t,
statsmodels' TOST, power and Holm, and the two-way random-effects variance by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from segsweep.report.stats import estimate, holm, min_detectable_effect, power, prob_improvement, seeds_needed


def _layout(seed_sd: float, image_sd: float, resid_sd: float, s: int = 4, i: int = 30, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.05 + rng.normal(0, seed_sd, (s, 1)) + rng.normal(0, image_sd, (1, i)) + rng.normal(0, resid_sd, (s, i))


def test_seed_part_is_scipys_paired_t_over_per_seed_means():
    d = _layout(0.02, 0.0, 0.05)
    est = estimate(d)
    ref = stats.ttest_1samp(d.mean(1), 0.0)
    assert est.seeds.df == 3 and est.seeds.se == pytest.approx(d.mean(1).std(ddof=1) / 2)
    assert est.p_value() >= ref.pvalue - 1e-12  # the larger of the two p
    low, high = ref.confidence_interval(0.95)
    e_low, e_high = est.interval()
    assert e_low <= low + 1e-12 and e_high >= high - 1e-12  # the union of the two intervals


def test_two_way_variance_by_hand():
    d = _layout(0.01, 0.08, 0.03, s=3, i=20, seed=1)
    s, i = d.shape
    g = d.mean()
    ms_seed = i * ((d.mean(1) - g) ** 2).sum() / (s - 1)
    ms_image = s * ((d.mean(0) - g) ** 2).sum() / (i - 1)
    ms_resid = ((d - d.mean(1, keepdims=True) - d.mean(0, keepdims=True) + g) ** 2).sum() / ((s - 1) * (i - 1))
    var = (ms_seed + ms_image - ms_resid) / (s * i)
    df = (ms_seed + ms_image - ms_resid) ** 2 / (
        ms_seed**2 / (s - 1) + ms_image**2 / (i - 1) + ms_resid**2 / ((s - 1) * (i - 1))
    )
    est = estimate(d)
    assert est.both.se == pytest.approx(math.sqrt(var)) and est.both.df == pytest.approx(df)
    assert est.image_var == pytest.approx((ms_image - ms_resid) / s) and est.seed_var == pytest.approx(ms_seed / i)
    # the interval is the union, the p the larger, of the two-way and the seed t
    seed_se = d.mean(1).std(ddof=1) / math.sqrt(s)
    half = max(stats.t.ppf(0.975, df) * math.sqrt(var), stats.t.ppf(0.975, s - 1) * seed_se)
    assert est.interval() == pytest.approx((g - half, g + half))
    p = max(2 * stats.t.sf(abs(g) / math.sqrt(var), df), stats.ttest_1samp(d.mean(1), 0.0).pvalue)
    assert est.p_value() == pytest.approx(p)


def test_no_image_variance_falls_back_to_the_seed_t():
    d = np.tile(np.array([[0.01], [0.03], [-0.01]]), (1, 10)) + np.linspace(0, 1e-9, 10)
    est = estimate(d)
    assert est.both.se == pytest.approx(est.seeds.se) and est.image_var == pytest.approx(0.0, abs=1e-15)


def test_tost_equals_statsmodels():
    from statsmodels.stats.weightstats import ttost_paired

    rng = np.random.default_rng(2)
    a, b = rng.normal(0.80, 0.01, 6), rng.normal(0.801, 0.01, 6)
    est = estimate(a - b)  # per-seed values: the seed t alone
    p, _, _ = ttost_paired(a, b, -0.02, 0.02)
    assert est.p_equivalent(0.02) == pytest.approx(p)


def test_power_and_seeds_needed_equal_statsmodels():
    from statsmodels.stats.power import TTestPower

    d = np.array([0.03, 0.05, 0.01, 0.04])
    est = estimate(d)
    sd = d.std(ddof=1)
    for n in (3, 5, 9):
        assert power(est, 0.02, n, 0.05) == pytest.approx(TTestPower().power(0.02 / sd, n, 0.05), rel=1e-6)
    need = TTestPower().solve_power(0.02 / sd, alpha=0.01, power=0.8)
    assert seeds_needed(est, 0.02, 0.01) == math.ceil(need)
    assert seeds_needed(est, 0.0, 0.05) == math.inf
    mde = min_detectable_effect(est, 0.05)  # the t approximation: close to 80 % power
    assert mde == pytest.approx((stats.t.ppf(0.975, 3) + stats.t.ppf(0.8, 3)) * sd / 2)
    assert power(est, mde, 4, 0.05) == pytest.approx(0.8, abs=0.05)


def test_image_spread_bounds_what_more_seeds_can_resolve():
    d = _layout(0.001, 0.3, 0.001, s=3, i=10, seed=3)
    est = estimate(d)
    assert seeds_needed(est, 0.001, 0.05) == math.inf  # the test sample's own spread: more images, not seeds


def test_holm_equals_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = [0.03, 0.01, 0.5, 0.02, 0.0001, 0.04]
    assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]))
    assert math.isnan(holm([0.01, math.nan])[1])


def test_intervals_stay_inside_the_metric_range():
    near_one = np.clip(np.random.default_rng(0).normal(0.98, 0.05, (3, 30)), 0, 1)
    low, high = estimate(near_one).interval(bounds=(0.0, 1.0))
    assert 0 <= low < near_one.mean() < high <= 1


def test_one_seed_is_the_t_over_images_only():
    d = _layout(0.0, 0.1, 0.0, s=1, i=12)
    est = estimate(d)
    ref = stats.ttest_1samp(d[0], 0.0)
    assert not est.seeds.valid() and est.both.df == 11 and est.p_value() == pytest.approx(ref.pvalue)


def test_probability_of_improvement_counts_ties_half():
    assert prob_improvement(np.array([0.5, 0.7]), np.array([0.6, 0.7])) == pytest.approx((0 + 0 + 1 + 0.5) / 4)
