"""Side-by-side landscape figures for several cells on shared scales.

Points whose loss is not finite (NaN or ±inf in the .npz) are shown, not dropped: on
line and interpolation plots a × in the cell's colour at the bottom edge at their x
position, on contour and surface plots a black × at their grid point, with the count
in the legend or the panel title.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segsweep.figures import DOUBLE, SINGLE, legend_outside, plt, row_style, save
from segsweep.landscape.surface import as_nan

NONFINITE = {"marker": "x", "linestyle": "none", "markersize": 6, "markeredgewidth": 1.2}


def _log_levels(arrays: list[np.ndarray], n: int = 14) -> np.ndarray:
    """``n`` log-spaced levels over the finite values of all ``arrays``."""
    finite = np.concatenate([a[np.isfinite(a)].ravel() for a in arrays])
    if not finite.size:  # every point non-finite: any levels do, the panels only show ×
        return np.geomspace(1e-3, 1.0, n)
    lo = max(float(finite.min()), 1e-6)
    hi = float(finite.max())
    return np.geomspace(lo, hi if hi > lo else lo * 10, n)


def _nonfinite_note(n: int) -> str:
    return f" ({n} non-finite ×)" if n else ""


CAPTIONS = {
    "line": "Loss along one filter-normalised random direction around each cell's scored weights (α = 0)",
    "interpolation": "Loss along the straight line from each cell's initial weights (t = 0) to its scored weights "
    "(t = 1)",
    "plane_contours": "Loss on the plane of two filter-normalised random directions around each cell's scored "
    "weights (+), shared log-spaced contour levels",
    "plane_surfaces": "log10 loss on the plane of two filter-normalised random directions around each cell's "
    "scored weights, shared z scale",
}


def _caption(kind: str, cells: list[str], n_points: str) -> str:
    return (
        f"{CAPTIONS[kind]}: {n_points} points per cell, each the mean loss over the same fixed training "
        f"batches; cells {', '.join(cells)} (one seed each); × marks a non-finite loss."
    )


def _curves(data: dict[str, dict], kind: str, xkey: str, ykey: str, xlabel: str, stem: Path) -> bool:
    """One loss curve per cell; × at the bottom edge where the loss is not finite."""
    cells = [c for c in data if ykey in data[c]]
    if not cells:
        return False
    # one column for one cell; two when a legend must sit beside the axes
    fig, ax = plt.subplots(figsize=(SINGLE, 2.6) if len(cells) == 1 else (DOUBLE, 2.8))
    # x in data units, y in axes units: the × sit on the bottom edge whatever the scale
    edge = ax.get_xaxis_transform()
    total = 0
    for i, c in enumerate(cells):
        colour = row_style(i)["color"]
        x, y = np.asarray(data[c][xkey]), as_nan(data[c][ykey])
        bad = np.isnan(y)
        total += int(bad.sum())
        ax.plot(
            x,
            y,
            marker=row_style(i)["marker"],
            ms=3,
            ls=row_style(i)["dash"],
            color=colour,
            label=c + _nonfinite_note(int(bad.sum())),
        )
        if bad.any():
            ax.plot(x[bad], np.full(int(bad.sum()), 0.03), color=colour, transform=edge, clip_on=False, **NONFINITE)
    title = f"{kind}: loss" + (f"; {total} non-finite (×, bottom)" if total else "")
    if len(cells) == 1:  # no legend on one column: the title names the cell
        title = f"{kind}: {cells[0]}" + _nonfinite_note(total)
    ax.set(yscale="log", xlabel=xlabel, ylabel="loss", title=title)
    if len(cells) > 1:
        legend_outside(fig, ax)
    save(fig, stem, _caption(kind, cells, str(len(data[cells[0]][xkey]))))
    return True


def _contours(data: dict[str, dict], cells: list[str], stem: Path) -> None:
    planes = {c: as_nan(data[c]["plane_loss"]) for c in cells}
    levels = _log_levels(list(planes.values()))
    width = SINGLE if len(cells) == 1 else DOUBLE
    fig, axes = plt.subplots(1, len(cells), figsize=(width, min(width / len(cells) * 1.15 + 0.4, 4.0)), squeeze=False)
    norm = plt.matplotlib.colors.LogNorm(levels[0], levels[-1])
    for ax, c in zip(axes[0], cells):
        a, z = data[c]["axis"], planes[c]
        ax.contour(a, a, np.ma.masked_invalid(z).T, levels=levels, cmap="viridis", norm=norm)
        ax.plot(0, 0, "k+")
        bad = np.isnan(z)
        if bad.any():
            A, B = np.meshgrid(a, a, indexing="ij")
            ax.plot(A[bad], B[bad], color="black", clip_on=False, **NONFINITE)  # edge points whole
        ax.set(title=c + _nonfinite_note(int(bad.sum())), xlabel="α", ylabel="β", aspect="equal")
    # a mappable of its own: a panel with no finite contour must not break the colour bar
    mappable = plt.matplotlib.cm.ScalarMappable(norm=norm, cmap="viridis")
    fig.colorbar(mappable, ax=axes[0].tolist(), label="loss (shared log levels)", format="%.3g")
    n = len(data[cells[0]]["axis"])
    save(fig, stem, _caption("plane_contours", cells, f"{n} × {n}"))


def _surfaces(data: dict[str, dict], cells: list[str], stem: Path) -> None:
    logs = {c: np.log10(np.clip(as_nan(data[c]["plane_loss"]), 1e-6, None)) for c in cells}
    finite = np.concatenate([z[np.isfinite(z)] for z in logs.values()])
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (-3.0, 0.0)
    if zmax <= zmin:
        zmax = zmin + 1.0
    width = SINGLE if len(cells) == 1 else DOUBLE
    fig = plt.figure(figsize=(width, min(width / len(cells) * 1.1 + 0.4, 4.0)))
    for i, c in enumerate(cells):
        ax = fig.add_subplot(1, len(cells), i + 1, projection="3d")
        a, z = data[c]["axis"], logs[c]
        A, B = np.meshgrid(a, a, indexing="ij")
        surface = ax.plot_surface(A, B, z, cmap="viridis", vmin=zmin, vmax=zmax)
        bad = np.isnan(z)
        if bad.any():  # on the floor of the box: the surface has a hole there
            ax.plot(A[bad], B[bad], np.full(int(bad.sum()), zmin), color="black", **NONFINITE)
        ax.set(title=c + _nonfinite_note(int(bad.sum())), xlabel="α", ylabel="β", zlim=(zmin, zmax))
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):  # three ticks each: 8 pt labels in a 2.3 in panel
            axis.set_major_locator(plt.matplotlib.ticker.MaxNLocator(3))
        ax.set_box_aspect(None, zoom=0.85)  # room for the tick labels inside the panel
    # the z axis named where a 3D panel has room for it: a shared colour bar of the same scale
    fig.colorbar(surface, ax=fig.axes, label="z: log10 loss", shrink=0.6, pad=0.02)
    fig.suptitle("log10 loss on the plane of two filter-normalised directions (shared z scale)")
    n = len(data[cells[0]]["axis"])
    save(fig, stem, _caption("plane_surfaces", cells, f"{n} × {n}"))


def plot_cells(data: dict[str, dict], out: Path) -> list[Path]:
    """Write line/interpolation/plane figures for several cells side by side.

    Args:
        data: cell -> loaded npz arrays (``segsweep.landscape.surface.cell_landscape``).
        out: folder for the figures (``<name>.png`` and ``.pdf``).

    Returns:
        The figure stems written.
    """
    written = []
    for kind, xkey, ykey, xlabel in (
        ("line", "axis", "line_loss", "α (filter-normalised direction)"),
        ("interpolation", "interp_t", "interp_loss", "t (0: initialisation, 1: trained)"),
    ):
        if _curves(data, kind, xkey, ykey, xlabel, out / kind):
            written.append(out / kind)
    cells = [c for c in data if "plane_loss" in data[c]]
    if cells:
        _contours(data, cells, out / "plane_contours")
        _surfaces(data, cells, out / "plane_surfaces")
        written += [out / "plane_contours", out / "plane_surfaces"]
    return written
