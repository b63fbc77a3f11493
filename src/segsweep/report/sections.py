"""The report's sections, each written into the report's temporary folder ``tmp``
and returned as HTML: one study (tables in CSV/Markdown/LaTeX, pivot, curves and
fraction figures), the datasets, the seeds, the figures of other stages and the
provenance. ``segsweep.report.build`` puts them in order on the page."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pandas as pd

from segsweep.report import html as page_html
from segsweep.report.datasets import LABELS as DATASET_LABELS
from segsweep.report.datasets import dataset_summary
from segsweep.report.pivot import pivot_table
from segsweep.report.plots import curves_figure, fraction_figure, images_figure
from segsweep.report.render import (
    display_rows,
    formatted,
    frame_markdown,
    labelled,
    latex_table,
    to_latex,
    to_markdown,
)
from segsweep.report.tables import METRICS, seed_table, top_rows
from segsweep.report.verdicts import table_note
from segsweep.study_results import seed_groups


def _html_table(df: pd.DataFrame, decimals: int, caption: str) -> str:
    text, bold = display_rows(df, decimals)
    return page_html.table(labelled(text), bold, caption)


def _headline(table: pd.DataFrame) -> dict:
    """Per row (its first cell's id): test Dice mean over the ok seeds and their number,
    the two columns per row ``dvc exp show`` / ``dvc metrics diff`` compare (the spread
    and the tests are in the tables)."""
    return {
        r["cell"]: {"dice": None if pd.isna(r["dice"]) else round(float(r["dice"]), 6), "n_ok": int(r["n_ok"])}
        for _, r in table.iterrows()
    }


def reference_row(reference: dict, table: pd.DataFrame) -> dict:
    """The global-threshold reference as a table row (no seeds, no test against it)."""
    row = {c: "" for c in table.columns}
    dice = reference.get("dice")
    filled = {
        "cell": "global grey threshold (no learning)",
        "seeds": "",
        "n": 1,
        "n_seeds": 0,
        "n_ok": 1,
        "n_diverged": 0,
        "n_collapsed": 0,
        "status": "n/a",
        "dice": float("nan") if dice is None else dice,
        "dice_std": float("nan"),
        "ci95_low": float("nan"),
        "ci95_high": float("nan"),
        "iou": float("nan"),
        "val_dice": float("nan"),
        "selected_epoch": float("nan"),
        "empty_correct": float("nan") if reference.get("empty_correct") is None else reference["empty_correct"],
        "selection": f"fitted on {reference['n_train_cases']} training cases",
        "steps": float("nan"),
        "n_test_images": reference["n_test_images"],
        "test": "threshold",
        "verdict": "not compared",
        "significant": None,
        "equivalent": None,
        "converged": None,
    }
    row.update(filled)
    for key in METRICS:  # the comparison and the rest: not for a row without seeds
        if key not in filled:
            row[key] = float("nan")
    return row


def _write_formats(tmp: Path, stem: str, text: pd.DataFrame, caption: str, bold: frozenset = frozenset()) -> None:
    """``tables/<stem>.md`` and ``.tex`` of an already formatted frame (same digits)."""
    (tmp / "tables" / f"{stem}.md").write_text(frame_markdown(text, bold))
    (tmp / "tables" / f"{stem}.tex").write_text(latex_table(text, caption, f"tab:{stem}", bold))


def _plain_section(
    tmp: Path, stem: str, frame: pd.DataFrame, text: pd.DataFrame, heading: str, caption: str, intro: str
) -> list[str]:
    """A table that needs no statistics: CSV (``frame``), Markdown and LaTeX (``text``,
    formatted), and its HTML with a heading, an explanation and download links."""
    frame.to_csv(tmp / "tables" / f"{stem}.csv", index=False)
    _write_formats(tmp, stem, text, caption)
    return [
        f"<h2>{html.escape(heading)}</h2>",
        f"<p class=small>{html.escape(intro)}</p>",
        page_html.table(text, caption=caption),
        page_html.links([f"tables/{stem}.{e}" for e in ("csv", "md", "tex")], tmp),
    ]


def study_section(
    tmp: Path,
    cfg,
    cells: pd.DataFrame,
    full: pd.DataFrame,
    study: str,
    ids: list[str],
    axes: list[str],
    summary: Path,
    references: dict,
    family: int,
    per_image: pd.DataFrame | None = None,
) -> tuple[list[str], dict]:
    """One study's tables (CSV, Markdown, LaTeX; a pivot for two factors), curves and
    fraction figures, and its HTML; returns the HTML and the study's headline numbers.
    ``full``: the study's table (``tables.study_table``) already adjusted over the
    page's ``family`` of comparisons (``verdicts.adjust_family``)."""
    reference = cfg.reference.get(study, "baseline")
    datasets = set(cells.set_index("cell").loc[ids, "params.dataset"]) if "params.dataset" in cells else set()
    thresholds = [pd.DataFrame([reference_row(references[ds], full)]) for ds in sorted(datasets & set(references))]
    pd.concat([full, *thresholds], ignore_index=True).to_csv(tmp / "tables" / f"{study}.csv", index=False)
    # a large study: the page, tables, curves and DVC metrics show cfg.max_rows rows
    keep = top_rows(full, cfg.max_rows)
    table = full.iloc[keep].reset_index(drop=True)
    groups = seed_groups(cells, ids)
    shown_ids = [c for i in keep for c in groups[i]]
    shown = pd.concat([table, *thresholds], ignore_index=True)
    conv = (cfg.convergence.window, cfg.convergence.tolerance)
    note = table_note(shown, cfg.alpha, cfg.equivalence_margin, family, conv)
    if len(table) < len(full):
        note += (
            f" Shown: {len(table)} of {len(full)} rows, the reference and the best by mean validation Dice "
            f"(p-values stay Holm-adjusted over all {family}); every row is in tables/{study}.csv."
        )
    (tmp / "tables" / f"{study}.md").write_text(to_markdown(shown, cfg.decimals, note))
    (tmp / "tables" / f"{study}.tex").write_text(
        to_latex(shown, f"Study {study}", cfg.decimals, note, label=f"tab:{study}")
    )
    curves_figure(cells, table, shown_ids, summary / "curves", study, tmp / "figures" / f"curves_{study}", reference)
    body = [f"<h2>Study: {html.escape(study)}</h2>", *_pivot_section(tmp, cfg, full, study, axes)]
    n = f"n = {int(table['n_seeds'].max())} seeds per row, {int(table['n_test_images'].max())} test images"
    body += [
        _html_table(shown, cfg.decimals, f"Study {study}: test metrics per setting"),
        f"<p class=small>{html.escape(note)}</p>",
        page_html.links([f"tables/{study}.{e}" for e in ("csv", "md", "tex")], tmp),
        page_html.figure(
            f"curves_{study}",
            f"Study {study}: training (solid) and validation (dashed) loss, "
            f"and validation Dice, per epoch, on the validation set ({_val_images(cells, shown_ids)} images); one "
            f"colour and marker per row, the line the mean over all seeds, the band their range "
            f"(n = {int(table['n_seeds'].max())} seeds per row).",
        ),
    ]
    if per_image is not None:
        body.append(_images_figure(tmp, cells, table, [groups[i] for i in keep], per_image, study, reference))
    no_learning = tuple(float(t["dice"].iloc[0]) for t in thresholds)
    if fraction_figure(table, study, tmp / "figures" / f"fraction_{study}", no_learning):
        body.append(
            page_html.figure(
                f"fraction_{study}",
                f"Study {study}: test Dice (mean ± std over seeds; {n}) "
                "against the train fraction. Every fraction is scored on the same test "
                "images; fractions are shares of one training pool (smaller sets are subsets "
                "of larger ones) and the validation set is the same for all. Dotted: the global grey "
                "threshold's test Dice (no learning).",
            )
        )
    return body, _headline(table)


def _images_figure(tmp: Path, cells, table, groups, per_image, study: str, reference: str) -> str:
    """The per-test-image figure of a study (``plots.images_figure``) and its caption."""
    status = cells.set_index("cell")["status"]
    scored = {c for g in groups for c in g if status.get(c) != "diverged"}
    n = images_figure(table, groups, scored, per_image, study, tmp / "figures" / f"images_{study}", reference)
    return page_html.figure(
        f"images_{study}",
        f"Study {study}: test Dice per test image (n = {n} images with a reference foreground, the same for "
        f"every row), each image's Dice averaged over the row's scored seeds (diverged seeds left out; "
        f"n = {int(table['n_seeds'].max())} seeds per row); bar: median over images, diamond: mean. The "
        "reference row is on top.",
    )


def _val_images(cells: pd.DataFrame, ids: list[str]) -> str:
    if "n_val_images" not in cells:
        return "?"
    values = sorted({int(v) for v in cells.set_index("cell").loc[ids, "n_val_images"].dropna()})
    return " / ".join(map(str, values)) or "?"


def _pivot_section(tmp: Path, cfg, full: pd.DataFrame, study: str, axes: list[str]) -> list[str]:
    """A two-factor study's rows × columns table of test Dice (files, and the page when
    it fits ``cfg.max_rows``); nothing for other studies."""
    pivot = pivot_table(full, axes, cfg.decimals)
    if pivot is None:
        return []
    frame, bold = pivot
    _write_formats(tmp, f"{study}_pivot", frame, f"Study {study}: test Dice, rows × columns", bold)
    frame.to_csv(tmp / "tables" / f"{study}_pivot.csv", index=False)
    body = []
    if len(frame) <= cfg.max_rows:  # a larger grid: the files only
        body.append(page_html.table(frame, bold, f"Study {study}: test Dice, rows × columns"))
    return [*body, page_html.links([f"tables/{study}_pivot.{e}" for e in ("csv", "md", "tex")], tmp)]


def datasets_section(tmp: Path, manifest: Path | None, splits: list[Path]) -> list[str]:
    """Per dataset split the cells used: case counts, empty cases, foreground, spacing."""
    if manifest is None or not splits:
        return []
    frame = dataset_summary(manifest, splits)
    return _plain_section(
        tmp,
        "datasets",
        frame,
        formatted(frame, 3).rename(columns=DATASET_LABELS),
        "Datasets",
        "Datasets: cases per split (train / validation / test) and their reference masks",
        "The cases every number below was computed on: one row per split the cells use. Empty: cases whose "
        "reference mask has no foreground. Foreground fraction: median and range over the split's non-empty "
        "cases. The test cases are the same for every train fraction and seed.",
    )


# The seeds table's headers in the Markdown, LaTeX and HTML renderings (the CSV keeps
# the machine names).
SEED_LABELS = {
    "cells": "cell group (first cell)",
    "n": "seeds (n)",
    "n_ok": "ok",
    "n_diverged": "diverged",
    "n_collapsed": "collapsed",
    "dice_mean": "Dice mean",
    "dice_std": "Dice sd",
    "ci95_low": "95 % CI low",
    "ci95_high": "95 % CI high",
    "dice_ok": "Dice, ok seeds",
}


def seeds_section(tmp: Path, cfg, cells: pd.DataFrame, per_image) -> list[str]:
    seeds = seed_table(cells, per_image)
    if not len(seeds):
        return []
    return _plain_section(
        tmp,
        "seeds",
        seeds,
        # a group by its first cell (the others differ only by seed; all of them in the CSV)
        formatted(seeds.assign(cells=seeds["cells"].str.split(", ").str[0]), cfg.decimals).rename(columns=SEED_LABELS),
        "Variation over seeds",
        "Test Dice over seeds, per group of cells that differ only by seed",
        "Every group of cells that differ only by seed: mean, standard deviation and 95 % interval of the test "
        "Dice over all its seeds (diverged as 0, collapsed at their Dice, as in the study tables; the mean over "
        "the ok seeds beside it); the interval is the wider of the t-intervals over per-seed means and over "
        "seeds and test images. A difference between two cells smaller than this spread is not evidence of an "
        "effect.",
    )


def _copy_figure(src_png: Path, tmp: Path, name: str) -> bool:
    """Copy a PNG (and its PDF, if any) into ``figures/<name>``; True if a PDF came along."""
    shutil.copy(src_png, tmp / "figures" / f"{name}.png")
    pdf = src_png.with_suffix(".pdf")
    if pdf.exists():
        shutil.copy(pdf, tmp / "figures" / f"{name}.pdf")
    return pdf.exists()


def _dataset_of(stem: str) -> str:
    """``Dataset organ3d: `` for ``best_worst_organ3d`` (one figure per dataset)."""
    ds = stem.removeprefix("best_worst").removeprefix("_")
    return f"Dataset {ds}: " if ds else ""


def figures_section(tmp: Path, examples: Path | None, extra_figures: list[Path]) -> list[str]:
    body = []
    pngs = sorted(examples.glob("*.png")) if examples is not None else []
    if pngs:
        body.append("<h2>Example segmentations: best and worst cells</h2>")
    for png in pngs:
        pdf = _copy_figure(png, tmp, f"examples_{png.stem}")
        shown = png.with_suffix(".csv")
        n = f"{pd.read_csv(shown)['case'].nunique()} " if shown.exists() else ""
        body.append(
            page_html.figure(
                f"examples_{png.stem}",
                f"{_dataset_of(png.stem)}{n}test images (rows), chosen to span the range of "
                "foreground fractions: image, ground truth, and the predictions (vermillion, "
                "ground-truth outline blue) of the best and the worst cell by test Dice (named "
                "in the figure's title; one seed each), with each image's Dice.",
                pdf=pdf,
            )
        )
    if extra_figures:
        body.append("<h2>Gradient probes and loss landscapes</h2>")
    for fig in extra_figures:
        name = f"{fig.parent.name}_{fig.stem}"
        pdf = _copy_figure(fig, tmp, name)
        # the caption its producer wrote (what, over which data, n), else a generic one
        caption = fig.with_suffix(".caption.txt")
        text = caption.read_text().strip() if caption.exists() else page_html.describe(name)
        body.append(page_html.figure(name, text, pdf=pdf))
    return body
