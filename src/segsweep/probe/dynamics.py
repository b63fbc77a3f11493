"""Training dynamics from the per-step logs (``norms.parquet``) of the cells.

Per cell: per-layer gradient 2-norm and update (Δw) 2-norm against the step, semilog,
smoothed by a rolling mean. Per study: the cells' total gradient norm, update norm
and loss side by side (e.g. SGD with momentum vs Adam vs RMSprop; schedulers).
Under momentum the update is not −lr·grad: the two panels differ.

The trend of each layer's gradient norm over the whole run is one number per cell and
layer, the late/early ratio: the mean gradient 2-norm over the last quarter of the
logged steps divided by its mean over the first quarter (``late_early_ratios``). A
study row is the group of cells that differ only by seed; per row and layer the trend
table gives the geometric mean of the ratio over the seeds and a 95 % t-interval on
the log ratios, back-transformed (``row_interval``), so that it stays above 0.
The figures are drawn by ``segsweep.probe.figures``.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from segsweep.io import atomic_path
from segsweep.probe.figures import plot_cell, plot_study, plot_trend, smooth

log = logging.getLogger("segsweep")

TREND_SHARE = 0.25  # share of the logged steps in the early and in the late window
TREND_COLUMNS = ["study", "row", "layer", "n_seeds", "ratio_mean", "ci95_low", "ci95_high"]


def seed_rows(ids: list[str], params: dict[str, dict]) -> dict[str, list[str]]:
    """Group a study's cells whose settings differ only by ``seed`` (the study's rows).

    Args:
        ids: the study's cell ids, in study order.
        params: cell id -> its resolved train settings (``metrics.json`` key ``params``);
            a cell missing here is a row of its own.

    Returns:
        Row label -> cell ids, in the order rows first appear. The label is the row's
        first cell id, as in the report's study tables (``cell`` column).
    """
    rows: dict[str, list[str]] = {}
    first: dict[str, str] = {}
    for cid in ids:
        if cid not in params:
            rows[cid] = [cid]
            continue
        key = json.dumps({k: v for k, v in params[cid].items() if k not in ("seed", "split_seed")}, sort_keys=True)
        rows.setdefault(first.setdefault(key, cid), []).append(cid)
    return rows


def late_early_ratios(norms: pd.DataFrame, share: float = TREND_SHARE) -> pd.DataFrame:
    """Per layer: mean gradient 2-norm over the last ``share`` of the run / over the first.

    The logged steps are sorted by ``step``; with n of them each window holds the first
    (early) or the last (late) ⌈share·n⌉ steps (n = 20: steps 1–5 and 16–20). Means
    use the finite norms only. A ratio is NaN with fewer than 2 logged steps, or where a
    window has no finite norm.

    Args:
        norms: one cell's ``norms.parquet`` (``step`` and ``grad/<layer>`` columns).
        share: share of the logged steps in each window, in (0, 0.5].

    Returns:
        One row per layer (network order): layer, early, late, ratio.
    """
    if not 0 < share <= 0.5:
        raise ValueError(f"share must be in (0, 0.5], got {share}")
    cols = [c for c in norms.columns if c.startswith("grad/")]
    g = norms.sort_values("step")[cols].to_numpy(dtype=np.float64)
    g = np.where(np.isfinite(g), g, np.nan)
    w = math.ceil(share * len(g))

    def mean(block: np.ndarray) -> np.ndarray:
        n = np.isfinite(block).sum(0)
        return np.where(n > 0, np.nansum(block, 0) / np.maximum(n, 1), np.nan)  # no empty-slice warning

    nan = np.full(len(cols), np.nan)
    early, late = (mean(g[:w]), mean(g[-w:])) if len(g) >= 2 else (nan, nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = late / early
    return pd.DataFrame({"layer": [c[len("grad/") :] for c in cols], "early": early, "late": late, "ratio": ratio})


def row_interval(ratios: np.ndarray) -> tuple[int, float, float, float]:
    """(n, geometric mean, 95 % interval) of positive ratios over seeds.

    The interval is the t-interval of the mean log ratio, exp(mean ± t₀.₉₇₅,ₙ₋₁·sd/√n):
    ratios multiply, so logs are the scale on which seeds scatter symmetrically, and the
    back-transformed interval stays > 0. Ratios that are not finite and positive are
    left out; the interval is NaN for n < 2, everything NaN for n = 0.
    """
    from scipy import stats

    r = np.asarray(ratios, dtype=np.float64)
    logs = np.log(r[np.isfinite(r) & (r > 0)])
    n = len(logs)
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    centre = float(logs.mean())
    if n == 1:
        return 1, math.exp(centre), math.nan, math.nan
    half = float(stats.t.ppf(0.975, n - 1) * logs.std(ddof=1) / math.sqrt(n))
    return n, math.exp(centre), math.exp(centre - half), math.exp(centre + half)


def trend_table(ratios: dict[str, pd.DataFrame], study: str, rows: dict[str, list[str]]) -> pd.DataFrame:
    """``TREND_COLUMNS`` per row and layer of ``study`` from per-cell ratio tables.

    ``ratios``: cell -> ``late_early_ratios`` (cells without norms absent); ``rows``:
    row label -> cell ids. Layers appear in the order of the row's cells' tables.
    """
    out = []
    for label, ids in rows.items():
        cells = [ratios[c] for c in ids if c in ratios]
        if not cells:
            continue
        per_layer = pd.concat(cells).groupby("layer", sort=False)["ratio"]
        for layer, values in per_layer:
            n, mean, low, high = row_interval(values.to_numpy())
            if n < len(values):
                log.warning(
                    "trend %s %s %s: %d of %d seeds without a finite positive ratio, left out",
                    study,
                    label,
                    layer,
                    len(values) - n,
                    len(values),
                )
            out.append(
                {
                    "study": study,
                    "row": label,
                    "layer": layer,
                    "n_seeds": n,
                    "ratio_mean": mean,
                    "ci95_low": low,
                    "ci95_high": high,
                }
            )
    return pd.DataFrame(out, columns=TREND_COLUMNS)


def dynamics(
    cells: dict[str, Path], studies: dict[str, list[str]], window: int, out: Path, params: dict[str, dict] | None = None
) -> pd.DataFrame:
    """Figures for every cell in ``cells`` and every study, and each study's
    gradient-norm trend (``study_<study>_trend.csv`` and figure, ``trend_cells.csv``).

    Args:
        cells: cell id -> its ``norms.parquet``.
        studies: study -> cell ids.
        window: rolling-mean window (steps) of the curves.
        out: the folder to write (atomically, whole).
        params: cell id -> resolved train settings, to group seeds into rows
            (``seed_rows``); ``None``: every cell is its own row.

    Returns:
        Per-cell summary numbers (first/last smoothed gradient and update norms).
    """
    with atomic_path(out) as tmp:
        tmp.mkdir()
        return _dynamics({c: pd.read_parquet(p) for c, p in cells.items()}, studies, window, tmp, params or {})


def _dynamics(
    frames: dict[str, pd.DataFrame], studies: dict[str, list[str]], window: int, out: Path, params: dict[str, dict]
) -> pd.DataFrame:
    rows, ratios = [], {}
    # one per-cell figure per study row (its first seed): the trend figure covers the seeds
    drawn = {label for ids in studies.values() for label in seed_rows(ids, params)} if params else set(frames)
    for cell, norms in frames.items():
        if "grad_total" not in norms or norms.empty:
            continue  # log_norms was off, or the cell diverged at once
        if cell in drawn:
            plot_cell(norms, cell, window, out / f"cell_{cell}")
        g, u = smooth(norms["grad_total"], window), smooth(norms["update_total"], window)
        rows.append(
            {
                "cell": cell,
                "steps": len(norms),
                "grad_first": g.iloc[0],
                "grad_last": g.iloc[-1],
                "update_first": u.iloc[0],
                "update_last": u.iloc[-1],
                "update_over_lr_grad_last": u.iloc[-1] / (norms["lr"].iloc[-1] * g.iloc[-1]),
            }
        )
        ratios[cell] = late_early_ratios(norms)
    for study, ids in studies.items():
        groups = seed_rows(ids, params)
        plot_study({c: frames[c] for c in ids if c in ratios}, groups, study, window, out / f"study_{study}")
        trend = trend_table(ratios, study, groups)
        trend.to_csv(out / f"study_{study}_trend.csv", index=False)
        if len(trend):
            plot_trend(trend, study, out / f"study_{study}_trend", TREND_SHARE)
    per_cell = [r.assign(cell=c) for c, r in ratios.items()]
    columns = ["cell", "layer", "early", "late", "ratio"]
    (pd.concat(per_cell)[columns] if per_cell else pd.DataFrame(columns=columns)).to_csv(
        out / "trend_cells.csv", index=False
    )
    summary = pd.DataFrame(rows)
    summary.to_csv(out / "summary.csv", index=False)
    return summary
