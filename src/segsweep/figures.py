"""One figure style for every output: colour-blind-safe palette (Okabe-Ito), PNG + PDF."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from segsweep.io import atomic_path  # noqa: E402

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

plt.rcParams.update({
    "figure.dpi": 110, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 10,
    "axes.spines.top": False, "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "legend.frameon": False,
    "pdf.fonttype": 42,  # editable text in the PDF
    "figure.constrained_layout.use": True,
})


def save(fig, stem: Path) -> list[Path]:
    """Write ``stem``.png and ``stem``.pdf atomically and close the figure. The PDF
    carries no creation date, so the same figure gives the same bytes (DVC hashes)."""
    out = []
    for ext in ("png", "pdf"):
        path = Path(f"{stem}.{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, bbox_inches="tight", metadata={"CreationDate": None} if ext == "pdf" else None)
        out.append(path)
    plt.close(fig)
    return out
