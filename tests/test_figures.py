"""Figures: PNG + PDF, the same bytes for the same figure (no dates embedded); paper
sizes and text sizes; a palette that reads on white and for colour-blind readers."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from segsweep.figures import DOUBLE, MIN_PT, PALETTE, SINGLE, check, plt, row_style, save, subplots


def test_same_figure_same_bytes(tmp_path):
    def draw(stem):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 4])
        ax.set_title("same")
        return save(fig, tmp_path / stem)

    a = draw("a")
    time.sleep(1.1)  # a PDF creation date would differ by now
    b = draw("b")
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.suffix


def _linear(hex_colour: str) -> np.ndarray:
    c = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _contrast_on_white(hex_colour: str) -> float:
    """WCAG 2.1 contrast ratio against white."""
    luminance = float(_linear(hex_colour) @ [0.2126, 0.7152, 0.0722])
    return 1.05 / (luminance + 0.05)


# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB
CVD = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def _lab(linear: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of a linear-RGB colour."""
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(
        linear, 0, 1
    )
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_palette_reads_on_white():
    assert min(_contrast_on_white(c) for c in PALETTE) >= 3.0  # WCAG non-text contrast
    assert _contrast_on_white("#F0E442") < 3.0  # the check can fail: Okabe-Ito yellow is 1.3:1


def _smallest_gap(kind: str, colours: list[str]) -> float:
    """Smallest ΔE*ab between two of ``colours`` as a reader with ``kind`` sees them."""
    sim = [_lab(np.array(CVD[kind]) @ _linear(c)) for c in colours]
    return min(float(np.linalg.norm(a - b)) for i, a in enumerate(sim) for b in sim[i + 1 :])


@pytest.mark.parametrize("kind", sorted(CVD))
def test_palette_stays_distinct_for_colour_blind_readers(kind):
    assert _smallest_gap(kind, PALETTE) > 15  # ΔE*ab; ~2.3 is just noticeable


def test_the_colour_blind_check_can_fail():
    assert _smallest_gap("deuteranopia", ["#d62728", "#2ca02c"]) < 15  # matplotlib's default red and green
    assert _smallest_gap("protanopia", ["#ff7f0e", "#2ca02c"]) < 15  # its orange and green


def test_rows_never_share_a_style():
    styles = {tuple(row_style(i).values()) for i in range(60)}
    assert len(styles) == 60


def test_check_flags_screen_sized_figures_and_small_text(caplog, tmp_path):
    fig, axes = subplots(1, 2, width=DOUBLE)
    axes[0][0].set_title("fine")
    assert check(fig) == []
    axes[0][1].text(0.5, 0.5, "tiny", fontsize=MIN_PT - 1)
    assert "below" in " ".join(check(fig))
    plt.close(fig)
    fig, axes = subplots(width=SINGLE)
    fig.suptitle("a title far too long for a single column of a paper, which runs off both edges")
    assert "cut off" in " ".join(check(fig))
    plt.close(fig)
    fig, _ = plt.subplots(figsize=(9, 3))
    assert "width 9.00" in " ".join(check(fig))
    with caplog.at_level(logging.WARNING, "segsweep.figures"):
        save(fig, tmp_path / "wide")
    assert "width 9.00" in caplog.text
    fig, _ = subplots(width=SINGLE)
    save(fig, tmp_path / "single")
    from PIL import Image

    assert Image.open(tmp_path / "single.png").size[0] == round(SINGLE * plt.rcParams["savefig.dpi"])


def test_large_png_is_reduced_for_the_web_and_stays_deterministic(tmp_path):
    from PIL import Image

    from segsweep.figures import PNG_BUDGET

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:400, 0:400] / 40
    field = np.sin(x) * np.cos(y) + 0.3 * rng.random((400, 400))  # a heat map with texture

    def draw(stem):
        fig, axes = subplots(width=DOUBLE, aspect=1.0)
        axes[0][0].imshow(field, cmap="viridis", interpolation="nearest")
        with plt.rc_context({"savefig.dpi": 150}):
            return save(fig, tmp_path / stem)[0]

    png = draw("a")
    assert png.stat().st_size <= PNG_BUDGET
    with Image.open(png) as im:
        assert im.size == (1050, 1050) and im.mode == "P"
    assert draw("b").read_bytes() == png.read_bytes()


def test_check_flags_text_on_text_on_a_legend_and_repeated_ticks():
    """Issue 27: the figure check caught text cut at the edge, not text on text."""
    fig, axes = subplots(1, 2, width=DOUBLE, aspect=0.3)
    a, b = axes[0]
    a.plot([0, 1], [0, 1], label="a row with a long name")
    a.set_title("gradient 2-norm (all layers), a long title")
    b.set_title("update 2-norm (all layers), a long title")
    fig.legend(loc="upper center")
    fig.suptitle("study optimizer: smoothed over 5 steps")
    fig.draw_without_rendering()
    problems = " | ".join(check(fig))
    assert "text over text" in problems and "text over a legend" in problems
    plt.close(fig)
    fig, axes = subplots(width=SINGLE, aspect=0.8)
    image = axes[0][0].imshow(np.linspace(1e-4, 1.6e-4, 16).reshape(4, 4))
    bar = fig.colorbar(image)
    bar.set_ticks([1.0e-4, 1.2e-4, 1.4e-4])
    bar.set_ticklabels(["1e-04", "1e-04", "1e-04"])
    assert any("tick labels repeat" in p for p in check(fig))
    plt.close(fig)
    fig, axes = subplots(width=SINGLE, aspect=0.8)
    axes[0][0].plot([0, 1], [0, 1], label="fine")
    axes[0][0].set(title="nothing collides", xlabel="x", ylabel="y")
    assert check(fig) == []
    plt.close(fig)


def test_the_probe_figures_of_a_real_study_have_no_colliding_text(tmp_path, caplog):
    """The default study's dynamics figures: 40 layers, three rows with long names."""
    import pandas as pd

    from segsweep.probe.figures import plot_study, plot_trend

    layers = [f"down.{i}.{j}" for i in range(4) for j in range(5)] + [
        f"up_blocks.{i}.{j}" for i in range(4) for j in range(5)
    ]
    rows = ["baseline", "sched-exponential-gamma0.7", "sched-cosine"]
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        [
            {"row": r, "layer": layer, "ratio_mean": m, "ci95_low": m / 2, "ci95_high": m * 2, "n_seeds": 6}
            for r in rows
            for layer, m in zip(layers, np.exp(rng.normal(0, 1, len(layers))))
        ]
    )
    frames = {
        f"{r}-{s}": pd.DataFrame(
            {
                "step": np.arange(100),
                "grad_total": rng.uniform(0.1, 1, 100),
                "update_total": rng.uniform(0.01, 10, 100),
                "loss": np.linspace(0.9, 0.1, 100),
            }
        )
        for r in rows
        for s in range(6)
    }
    with caplog.at_level(logging.WARNING, "segsweep.figures"):
        plot_trend(table, "scheduler", tmp_path / "trend", 0.25)
        plot_study(frames, {r: [f"{r}-{s}" for s in range(6)] for r in rows}, "scheduler", 5, tmp_path / "study")
    assert caplog.text == ""


def test_colliding_text_is_found_in_the_pdf_too(tmp_path):
    from tests.pdf_text import colliding_spans

    fig, axes = subplots(width=SINGLE, aspect=0.8)
    axes[0][0].set_title("a title that runs into")
    fig.text(0.45, 0.97, "another text", va="top")
    save(fig, tmp_path / "bad")
    assert colliding_spans(tmp_path / "bad.pdf")
    fig, axes = subplots(width=SINGLE, aspect=0.8)
    axes[0][0].set(title="nothing collides", xlabel="x", ylabel="y")
    save(fig, tmp_path / "good")
    assert colliding_spans(tmp_path / "good.pdf") == []


def test_colour_bar_ticks_are_written_exactly_and_apart():
    from segsweep.figures import DistinctSci

    fmt = DistinctSci()
    assert fmt.format_ticks([1e-4, 2e-4, 3e-4]) == ["1e-04", "2e-04", "3e-04"]
    assert fmt.format_ticks([1e-4, 1.5e-4, 2e-4]) == ["1.0e-04", "1.5e-04", "2.0e-04"]
    assert fmt.format_ticks([1.5e-4, 3e-4]) == ["1.5e-04", "3.0e-04"]  # never 1.5e-04 shown as 2e-04
