"""Test / validation / train splits by source case (leak-free: the patches and augmented
copies of one image or volume always fall on one side).

The evaluation protocol, in the order the draws happen:

1. **test**: per dataset, ``test_fraction`` of the cases, drawn once with ``test_seed``
   before anything else. It does not depend on the train fraction or the split seed,
   so every cell of a dataset is scored on the same test cases.
2. **validation**: ``val_fraction`` of the remaining (development) cases, drawn per
   split seed. It is used for curves and for ``best_val`` selection, never for the
   headline numbers, and it is the same for every train fraction of one split seed.
3. **train**: ``train_fraction`` of what is left (the training pool). For one split
   seed the cases of each stratum are permuted once and the training set is a prefix
   of that order, so training sets are nested across fractions (0.25 ⊂ 0.5 ⊂ 1).

Every draw is stratified: background-only cases, and cases with a foreground fraction
below / above the median of the dataset's non-empty cases, are spread evenly over the
sides (Metrics Reloaded: empty references must be scored, and small structures are
where methods differ).
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from segsweep.errors import DataError


def strata(manifest: pd.DataFrame) -> pd.Series:
    """Stratum per case (indexed by case id): ``empty``, ``small`` or ``large``
    (foreground fraction at most / above the median of the non-empty cases). Manifests
    without ``fg_fraction`` only tell empty from non-empty."""
    cases = manifest.drop_duplicates("case").set_index("case")
    has_fg = cases["has_fg"].astype(bool)
    out = pd.Series("fg", index=cases.index)
    if "fg_fraction" in cases and has_fg.sum() >= 2:
        frac = cases["fg_fraction"].astype(float)
        median = frac[has_fg].median()
        out = pd.Series(np.where(frac > median, "large", "small"), index=cases.index)
    out[~has_fg] = "empty"
    return out


def _orders(groups: pd.Series, seed: int, salt: str) -> dict[str, list[str]]:
    """Each stratum's cases in a seeded random order (the seed, the stratum and the
    case ids make the draw: the same cases always give the same order)."""
    out = {}
    for name in sorted(groups.unique()):
        ids = sorted(groups.index[groups == name])
        rng = np.random.default_rng([seed, zlib.crc32(f"{salt}:{name}".encode()), zlib.crc32(",".join(ids).encode())])
        out[name] = [ids[i] for i in rng.permutation(len(ids))]
    return out


def _take(groups: pd.Series, fraction: float, seed: int, salt: str) -> list[str]:
    """``round(fraction · n)`` cases of each stratum (prefixes of its seeded order)."""
    picked: list[str] = []
    for order in _orders(groups, seed, salt).values():
        picked += order[: int(round(fraction * len(order)))]
    return picked


def test_cases(manifest: pd.DataFrame, test_fraction: float = 0.3, test_seed: int = 0) -> list[str]:
    """The dataset's fixed test cases (sorted), the same for every split seed and train
    fraction: ``split_cases`` holds them out, and whatever is computed over "the
    dataset" before the splits (CT normalisation statistics) leaves them out.

    Raises:
        DataError: fewer than three cases (test, validation and train each need one).
    """
    groups = strata(manifest)
    n = len(groups)
    if n < 3:
        raise DataError(f"a test/validation/train split needs at least 3 cases, the dataset has {n}")
    test = _take(groups, test_fraction, test_seed, "test") or [_orders(groups, test_seed, "test")[groups.iloc[0]][0]]
    if n - len(test) < 2:  # validation and train need one case each
        test = test[: n - 2]
    return sorted(test)


def split_cases(
    manifest: pd.DataFrame,
    train_fraction: float,
    seed: int,
    *,
    test_fraction: float = 0.3,
    test_seed: int = 0,
    val_fraction: float = 0.2,
) -> dict[str, list[str]]:
    """Return ``{"train": [...], "val": [...], "test": [...]}`` (sorted case ids).

    Args:
        manifest: one row per source case with columns ``case``, ``has_fg`` and
            optionally ``fg_fraction``.
        train_fraction: in (0, 1]: the share of the training pool that trains.
        seed: the split seed (validation draw and training order).
        test_fraction: in (0, 1): the share of all cases held out for test.
        test_seed: the test draw's seed (fixed per dataset).
        val_fraction: in (0, 1): the share of the non-test cases used for validation.

    Raises:
        DataError: fewer than three cases (test, validation and train each need one).
    """
    groups = strata(manifest)
    test = test_cases(manifest, test_fraction, test_seed)
    dev = groups.drop(test)
    val = _take(dev, val_fraction, seed, "val") or [sorted(dev.index)[0]]
    pool = dev.drop(val)
    if pool.empty:
        val, pool = val[:-1], dev.drop(val[:-1])
    train = _take(pool, train_fraction, seed, "train") or [sorted(pool.index)[0]]
    return {"train": sorted(train), "val": sorted(val), "test": sorted(test)}
