"""Train/validation splits by source case (leak-free: the patches and augmented copies
of one image or volume always fall on one side).

For one seed, the cases of each stratum (with / without foreground) are permuted once
and the training set is a prefix of that order, so the training sets of the fractions
are nested (0.2 ⊂ 0.4 ⊂ ...) and background-only cases are spread evenly.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from segsweep.errors import DataError


def split_cases(manifest: pd.DataFrame, train_fraction: float, seed: int) -> dict[str, list[str]]:
    """Return ``{"train": [...], "val": [...]}`` (sorted case ids) for one fraction and seed.

    Args:
        manifest: one row per source case with columns ``case`` and ``has_fg``.
        train_fraction: in (0, 1); each stratum puts ``round(fraction · n)`` cases in train.
        seed: permutation seed.

    Raises:
        DataError: fewer than two cases (no split can have both sides).
    """
    cases = manifest[["case", "has_fg"]].drop_duplicates("case")
    n = len(cases)
    if n < 2:
        raise DataError(f"a train/validation split needs at least 2 cases, the dataset has {n}")
    train: list[str] = []
    for has_fg, group in cases.groupby("has_fg", sort=True):
        ids = sorted(group["case"])
        rng = np.random.default_rng([seed, int(has_fg), zlib.crc32(",".join(ids).encode())])
        order = [ids[i] for i in rng.permutation(len(ids))]
        train += order[: int(round(train_fraction * len(ids)))]
    # Both sides must be non-empty whatever the rounding did.
    if not train:
        train = [sorted(cases["case"])[0]]
    if len(train) == n:
        train = train[:-1]
    val = sorted(set(cases["case"]) - set(train))
    return {"train": sorted(train), "val": val}
