"""Splits: a fixed stratified test set, validation per seed, nested training sets, no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segsweep.errors import DataError
from segsweep.splits import split_cases, strata


def _manifest(n: int, n_empty: int = 0) -> pd.DataFrame:
    frac = np.linspace(0.001, 0.4, n)
    return pd.DataFrame(
        {
            "case": [f"c{i:02d}" for i in range(n)],
            "has_fg": [i >= n_empty for i in range(n)],
            "fg_fraction": [0.0 if i < n_empty else f for i, f in enumerate(frac)],
        }
    )


@pytest.mark.parametrize("fraction", [1.0, 0.5, 0.25])
def test_no_leakage_and_everything_assigned(fraction):
    manifest = _manifest(40, n_empty=5)
    split = split_cases(manifest, fraction, seed=0)
    sides = [set(split[k]) for k in ("train", "val", "test")]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    if fraction == 1.0:
        assert set.union(*sides) == set(manifest["case"])
    # Patches of one case never straddle: a patch table joined on case lands on one side.
    patches = pd.DataFrame({"case": np.repeat(manifest["case"], 7)})
    side = patches["case"].map({c: k for k in ("train", "val", "test") for c in split[k]})
    assert patches.assign(side=side).dropna().groupby("case")["side"].nunique().eq(1).all()


def test_test_set_is_fixed_across_fractions_and_split_seeds():
    manifest = _manifest(60, n_empty=6)
    tests = {tuple(split_cases(manifest, f, s)["test"]) for f in (1.0, 0.5, 0.25) for s in (0, 1, 2)}
    assert len(tests) == 1
    vals = {f: split_cases(manifest, f, 1)["val"] for f in (1.0, 0.5, 0.25)}
    assert vals[1.0] == vals[0.5] == vals[0.25], "one validation set per split seed, whatever the fraction"
    assert split_cases(manifest, 1.0, 0)["val"] != split_cases(manifest, 1.0, 1)["val"]
    assert split_cases(manifest, 1.0, 0, test_seed=1)["test"] != next(iter(tests))


def test_sizes_nesting_and_strata():
    manifest = _manifest(100, n_empty=10)
    splits = {f: split_cases(manifest, f, seed=1, test_fraction=0.3, val_fraction=0.2) for f in (1.0, 0.5, 0.25)}
    # round(fraction · n) per stratum: within one case per stratum of fraction · n
    assert abs(len(splits[1.0]["test"]) - 30) <= 2 and abs(len(splits[1.0]["val"]) - 0.2 * 70) <= 2
    assert set(splits[0.25]["train"]) < set(splits[0.5]["train"]) < set(splits[1.0]["train"])
    groups = strata(manifest)
    for side in ("test", "val", "train"):  # every stratum is represented on every side
        assert set(groups[splits[1.0][side]]) == {"empty", "small", "large"}
    assert (groups[splits[1.0]["test"]] == "empty").sum() == 3
    assert abs((groups[splits[1.0]["test"]] == "small").sum() - (groups[splits[1.0]["test"]] == "large").sum()) <= 1


def test_strata_by_foreground_size():
    g = strata(_manifest(9, n_empty=3))
    assert list(g) == ["empty"] * 3 + ["small"] * 3 + ["large"] * 3
    no_sizes = strata(_manifest(5, 1).drop(columns="fg_fraction"))
    assert list(no_sizes) == ["empty", "fg", "fg", "fg", "fg"]


def test_deterministic_and_seeded():
    manifest = _manifest(30)
    assert split_cases(manifest, 0.5, 0) == split_cases(manifest, 0.5, 0)
    assert split_cases(manifest, 0.5, 0) != split_cases(manifest, 0.5, 1)


def test_tiny_datasets():
    s = split_cases(_manifest(3), 1.0, 0)
    assert all(len(s[k]) == 1 for k in ("train", "val", "test"))
    with pytest.raises(DataError, match="at least 3 cases, the dataset has 2"):
        split_cases(_manifest(2), 0.5, 0)
