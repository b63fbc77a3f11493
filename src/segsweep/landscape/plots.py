"""Side-by-side landscape figures for several cells on shared scales."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segsweep.figures import PALETTE, plt, save


def _log_levels(arrays: list[np.ndarray], n: int = 14) -> np.ndarray:
    lo = max(min(float(np.nanmin(a)) for a in arrays), 1e-6)
    hi = max(float(np.nanmax(a)) for a in arrays)
    return np.geomspace(lo, hi if hi > lo else lo * 10, n)


def plot_cells(data: dict[str, dict], out: Path) -> list[Path]:
    """``data``: cell -> loaded npz arrays. Writes line/interpolation/plane/surface figures."""
    written = []
    for kind, xkey, ykey, xlabel in (("line", "axis", "line_loss", "α (filter-normalised direction)"),
                                     ("interpolation", "interp_t", "interp_loss", "t (0: initialisation, 1: trained)")):
        cells = [c for c in data if ykey in data[c]]
        if not cells:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.4))
        for i, c in enumerate(cells):
            ax.plot(data[c][xkey], data[c][ykey], marker=".", color=PALETTE[i % len(PALETTE)], label=c)
        ax.set(yscale="log", xlabel=xlabel, ylabel="loss", title=f"{kind}: loss")
        ax.legend(fontsize=7)
        save(fig, out / kind)
        written.append(out / kind)
    cells = [c for c in data if "plane_loss" in data[c]]
    if cells:
        levels = _log_levels([data[c]["plane_loss"] for c in cells])
        fig, axes = plt.subplots(1, len(cells), figsize=(3.2 * len(cells), 3.2), squeeze=False)
        for ax, c in zip(axes[0], cells):
            a = data[c]["axis"]
            cs = ax.contour(a, a, data[c]["plane_loss"].T, levels=levels, cmap="viridis",
                            norm=plt.matplotlib.colors.LogNorm(levels[0], levels[-1]))
            ax.plot(0, 0, "k+")
            ax.set(title=c, xlabel="α", ylabel="β", aspect="equal")
        fig.colorbar(cs, ax=axes[0].tolist(), label="loss (shared log levels)", format="%.3g")
        save(fig, out / "plane_contours")
        fig = plt.figure(figsize=(3.4 * len(cells), 3.4))
        zmax = max(float(np.nanmax(np.log10(np.clip(data[c]["plane_loss"], 1e-6, None)))) for c in cells)
        zmin = min(float(np.nanmin(np.log10(np.clip(data[c]["plane_loss"], 1e-6, None)))) for c in cells)
        for i, c in enumerate(cells):
            ax = fig.add_subplot(1, len(cells), i + 1, projection="3d")
            a = data[c]["axis"]
            A, B = np.meshgrid(a, a, indexing="ij")
            ax.plot_surface(A, B, np.log10(np.clip(data[c]["plane_loss"], 1e-6, None)), cmap="viridis",
                            vmin=zmin, vmax=zmax)
            ax.set(title=c, xlabel="α", ylabel="β", zlabel="log10 loss", zlim=(zmin, zmax))
        save(fig, out / "plane_surfaces")
        written += [out / "plane_contours", out / "plane_surfaces"]
    return written
