"""Splits: by source case, no leakage, nested across fractions, deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segsweep.errors import DataError
from segsweep.splits import split_cases


def _manifest(n: int, n_empty: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"case": [f"c{i:02d}" for i in range(n)], "has_fg": [i >= n_empty for i in range(n)]})


@pytest.mark.parametrize("fraction", [0.8, 0.6, 0.4, 0.2])
def test_no_leakage_between_train_and_val(fraction):
    manifest = _manifest(23, n_empty=5)
    split = split_cases(manifest, fraction, seed=0)
    assert not set(split["train"]) & set(split["val"])
    assert set(split["train"]) | set(split["val"]) == set(manifest["case"])
    # Patches of one case never straddle: a patch table joined on case lands on one side.
    patches = pd.DataFrame({"case": np.repeat(manifest["case"], 7)})
    side = patches["case"].map({**{c: "train" for c in split["train"]}, **{c: "val" for c in split["val"]}})
    assert side.notna().all() and patches.assign(side=side).groupby("case")["side"].nunique().eq(1).all()


def test_fractions_sizes_nesting_and_strata():
    manifest = _manifest(20, n_empty=5)
    splits = {f: split_cases(manifest, f, seed=1) for f in (0.8, 0.6, 0.4, 0.2)}
    assert [len(splits[f]["train"]) for f in (0.8, 0.6, 0.4, 0.2)] == [16, 12, 8, 4]
    assert set(splits[0.2]["train"]) < set(splits[0.4]["train"]) < set(splits[0.8]["train"])
    empty = set(manifest.loc[~manifest.has_fg, "case"])
    assert len(empty & set(splits[0.8]["train"])) == 4  # background-only cases spread by fraction


def test_deterministic_and_seeded():
    manifest = _manifest(30)
    assert split_cases(manifest, 0.5, 0) == split_cases(manifest, 0.5, 0)
    assert split_cases(manifest, 0.5, 0) != split_cases(manifest, 0.5, 1)


def test_tiny_datasets():
    assert split_cases(_manifest(2), 0.9, 0)["val"]
    assert split_cases(_manifest(2), 0.1, 0)["train"]
    with pytest.raises(DataError, match="at least 2 cases, the dataset has 1"):
        split_cases(_manifest(1), 0.5, 0)
