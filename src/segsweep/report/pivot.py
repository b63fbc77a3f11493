"""Names and grids of a study's factors: short labels of each row's settings (legends,
pivot headers) and the two-factor pivot table papers print."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segsweep.report.render import VERDICTS, best_rows, display_rows, label
from segsweep.report.tables import param_columns


def factor_columns(table: pd.DataFrame, axis: str) -> list[str]:
    """The table's varying-params columns that grid axis ``axis`` sets. A loss /
    optimizer / scheduler axis owns every column of its section (a mapping value such
    as ``{name: sgd, momentum: 0.95}`` sets several)."""
    from segsweep.grid import AXES

    cols = []
    for path in AXES[axis]:
        section, _, field = path.rpartition(".")
        if field == "name":
            cols += [c for c in table.columns if c.startswith(section + ".")]
        elif path in table.columns:
            cols.append(path)
    return cols


def factor_labels(table: pd.DataFrame, cols: list[str]) -> list[str]:
    """Short labels of a factor's values: the component name, plus the settings that
    tell apart rows sharing that name (``exponential, gamma=0.97``)."""
    names = [c for c in cols if c.endswith(".name")]
    if len(cols) == 1 and not names:
        return [str(v) for v in table[cols[0]]]
    out = []
    for _, r in table.iterrows():
        same = table[table[names[0]].astype(str) == str(r[names[0]])] if names else table
        extra = [c for c in cols if c not in names and (not names or same[c].astype(str).nunique() > 1)]
        out.append(", ".join([str(r[n]) for n in names] + [f"{c.rsplit('.', 1)[-1]}={r[c]}" for c in extra]))
    return out


def row_labels(table: pd.DataFrame, reference: str = "baseline") -> list[str]:
    """Legend names of a study table's rows: the values of the params that vary in the
    study (``sgd, lr=0.01, momentum=0.95``; ``train fraction = 0.25``), the reference
    row marked ``(reference)``, never a cell id."""
    cols = param_columns(table)
    if not cols:
        names = [str(c) for c in table["cell"]]
    elif len(cols) == 1 and not cols[0].endswith(".name"):
        names = [f"{label(cols[0])} = {v}" for v in table[cols[0]]]
    else:
        names = factor_labels(table, cols)
    return [f"{n} (reference)" if c == reference else n for n, c in zip(names, table["cell"])]


def pivot_table(table: pd.DataFrame, axes: list[str], decimals: int = 3) -> tuple[pd.DataFrame, frozenset] | None:
    """A two-factor study as the grid papers print: rows the first axis's values,
    columns the second's, cells the Dice (mean ± std with several seeds, ``diverged``)
    with the row's verdict against the reference. ``None`` unless the study
    has exactly two axes besides ``seed``.

    Returns:
        ``(frame, bold)``: text frame (first column: the row factor) and the position of
        the best cell.
    """
    factors = [a for a in axes if a != "seed"]
    if len(factors) != 2:
        return None
    cols = [factor_columns(table, a) for a in factors]
    if not all(cols):
        return None
    rows, columns = factor_labels(table, cols[0]), factor_labels(table, cols[1])
    text, _ = display_rows(table, decimals)
    cell = {}
    for (row, col), shown, (_, r) in zip(zip(rows, columns), text["dice"], table.iterrows()):
        verdict = r.get("verdict", "")
        cell[row, col] = shown + (f" ({verdict})" if isinstance(verdict, str) and verdict in VERDICTS else "")
    row_keys, col_keys = list(dict.fromkeys(rows)), list(dict.fromkeys(columns))
    frame = pd.DataFrame(
        [[k, *(cell.get((k, c), "") for c in col_keys)] for k in row_keys],
        columns=[factors[0] + " \\ " + factors[1], *col_keys],
    )
    scored = table["dice"].astype(float).where([i in best_rows(table) for i in range(len(table))])
    bold = frozenset()
    if scored.notna().any():
        i = int(np.nanargmax(scored.to_numpy()))
        bold = frozenset({(row_keys.index(rows[i]), 1 + col_keys.index(columns[i]))})
    return frame, bold
