"""Assemble ``results/report/``: tables, figures, provenance and ``index.html``.

The page opens from disk with no server or network: images are referenced by relative
paths inside the report folder, styles are inline.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from segsweep.figures import style
from segsweep.io import atomic_path
from segsweep.report import html as page_html
from segsweep.report.compare import wide_dice
from segsweep.report.provenance import provenance_section
from segsweep.report.sections import datasets_section, figures_section, seeds_section, study_section
from segsweep.report.tables import study_table
from segsweep.report.verdicts import adjust_family

STATS_NOTE = (
    "The unit of replication is the training run (seed); the test images measure each run. Dice: test-set "
    "mean of per-image Dice of each cell's selected weights; a row's Dice is the mean over all its seeds "
    "(a diverged seed counts as 0, a collapsed one at its Dice; 'ok seeds' beside it: the mean without them) "
    "± std over seeds. 95 % intervals: the wider of two t-intervals, one over the per-seed means (n seeds - 1 "
    "df) and one over seeds and test images as random effects (Satterthwaite df), clipped to the metric's "
    "range; their error rates are measured by simulation (benchmarks/stats_calibration.py). 'Δ vs reference': "
    "the row's mean difference from the study's reference row over the seeds both share, paired by seed, "
    "with that interval; p: the larger of the two paired t-tests, Holm-adjusted over every comparison on this "
    "page. Verdict: better/worse (adjusted p < {alpha}), equivalent (two one-sided tests within ±{margin} "
    "Dice, adjusted), inconclusive otherwise, not replicated with one seed. P(better): the share of seed "
    "pairs in which the row beats the reference. Bold: the best value of a metric among rows whose seeds all "
    "succeeded (never a lone row)."
)


def protocol_note(cells: pd.DataFrame) -> str:
    """What the numbers are: test and validation sizes, selection rule, batch-norm
    statistics and the training budget, read from the cells themselves."""

    def values(col):
        return sorted({str(v) for v in cells[col].dropna()}) if col in cells else []

    def join(col):
        return " / ".join(values(col)) or "?"

    budget = values("params.steps_per_epoch")
    if budget and budget != ["nan"]:
        steps = (
            f"a budget of {join('steps_run')} optimizer steps per cell (train.steps_per_epoch = "
            f"{join('params.steps_per_epoch')} × epochs), whatever the train fraction"
        )
    else:
        steps = (
            f"one pass over the training patches per epoch ({join('steps_run')} optimizer steps: "
            "fewer for smaller train fractions)"
        )
    bn, curve = join("params.evaluation.precise_bn_batches"), join("params.evaluation.curve_bn_batches")
    return (
        f"Protocol: every cell is scored once, with the weights its selection rule picks "
        f"({join('selection')}), on the same fixed test set of {join('n_test_images')} images "
        f"({join('n_test_empty')} with an empty reference, scored as 'empty predicted empty', the rest in the "
        f"Dice mean); the validation set ({join('n_val_images')} images) gives the curves and best_val "
        f"selection and never the headline numbers. Batch-norm statistics are re-estimated before every "
        f"evaluation over fixed batches of training patches: {bn} for the scored weights, the first {curve} "
        f"of them for the per-epoch curves (0: running averages kept). Training: {steps}. "
        f"A cell is 'collapsed' when it predicts the same thing for every test image (a constant mask, all "
        f"background or all foreground, on each, or one and the same mask on all), 'diverged' when its training "
        f"loss became non-finite; both are counted in the status and in every mean."
    )


def _intro(cfg, cells: pd.DataFrame, n_studies: int) -> list[str]:
    counts = cells["status"].value_counts()
    return [
        f"<h1>{html.escape(cfg.title)}</h1>",
        f"<p class=small>{len(cells)} cells ({counts.get('ok', 0)} ok, {counts.get('diverged', 0)} diverged, "
        f"{counts.get('collapsed', 0)} collapsed); {n_studies} studies.</p>",
        f"<p class=small>{html.escape(protocol_note(cells))}</p>",
        "<p class=small>" + html.escape(STATS_NOTE.format(alpha=cfg.alpha, margin=cfg.equivalence_margin)) + "</p>",
    ]


def _narrative(params_json: str, cells: pd.DataFrame, tables: dict, manifest, splits) -> tuple[str, str]:
    """The generated "Data" and "Limitations" paragraphs (``segsweep.report.narrative``)."""
    from segsweep.report.datasets import dataset_summary
    from segsweep.report.narrative import data_paragraph, limitations_paragraph

    params = json.loads(params_json) if params_json.strip().startswith("{") else {}
    used = sorted(set(cells["params.dataset"].dropna())) if "params.dataset" in cells else []
    summary = dataset_summary(manifest, splits) if manifest is not None and splits else None
    return data_paragraph(params, used, summary), limitations_paragraph(tables, len(used))


def _paragraph(title: str, text: str) -> list[str]:
    return [f"<h2>{title}</h2>", f"<p>{html.escape(text.split('. ', 1)[1])}</p>"] if text else []


def study_tables(cfg, cells: pd.DataFrame, per_image, studies: dict[str, list[str]], summary: Path):
    """Every study's table, Holm-adjusted over all the page's comparisons together (the
    family a reader scans), and the family's size."""
    conv = (cfg.convergence.window, cfg.convergence.tolerance)
    raw = {
        study: study_table(
            cells,
            ids,
            per_image,
            cfg.alpha,
            cfg.equivalence_margin,
            cfg.reference.get(study, "baseline"),
            summary / "curves",
            conv,
            adjust=False,
        )
        for study, ids in studies.items()
    }
    family = int(sum(t["p"].notna().sum() for t in raw.values()))
    return dict(zip(raw, adjust_family(list(raw.values()), cfg.alpha))), family


def build_report(
    cfg,
    params_json: str,
    studies: dict[str, list[str]],
    summary: Path,
    extra_figures: list[Path],
    out: Path,
    examples: Path | None = None,
    axes: dict[str, list[str]] | None = None,
    references: dict[str, dict] | None = None,
    manifest: Path | None = None,
    splits: list[Path] | None = None,
) -> Path:
    """Write the report folder atomically; return the path of ``index.html``.

    Args:
        cfg: the ``report`` section (``segsweep.config.Report``).
        params_json: the resolved params (recorded, and hashed in the provenance).
        studies: study name -> cell ids (``segsweep.grid.expand``); ``cfg.studies``
            selects and orders the tables.
        summary: ``results/summary`` (``cells.csv``, ``per_image.csv``, ``curves/``).
        extra_figures: probe and landscape PNGs to include (their PDFs are copied too).
        out: the report folder.
        examples: the example-segmentation folder (``segsweep examples``), if any.
        axes: study -> its axis names in params order (a two-axis study also gets a
            pivot table: rows the first axis, columns the second).
        references: dataset -> its global-threshold reference (``segsweep.reference``),
            added as the last row of every study on that dataset.
        manifest, splits: the ingest manifest and the split files the cells used, for
            the dataset summary (none without them).
    """
    cells = pd.read_csv(summary / "cells.csv")
    per_image_csv = summary / "per_image.csv"
    per_image = wide_dice(pd.read_csv(per_image_csv)) if per_image_csv.exists() else None
    chosen = {s: studies[s] for s in cfg.studies} if cfg.studies else studies
    with atomic_path(out) as tmp, style(cfg.figure.font_size, cfg.figure.dpi):
        (tmp / "tables").mkdir(parents=True)
        (tmp / "figures").mkdir()
        body = _intro(cfg, cells, len(chosen)) + datasets_section(tmp, manifest, splits or [])
        headline = {}
        tables, family = study_tables(cfg, cells, per_image, chosen, summary)
        data, limits = _narrative(params_json, cells, tables, manifest, splits or [])
        body += _paragraph("Data", data)
        for study, ids in chosen.items():
            section, headline[study] = study_section(
                tmp,
                cfg,
                cells,
                tables[study],
                study,
                ids,
                (axes or {}).get(study, []),
                summary,
                references or {},
                family,
                per_image,
            )
            body += section
        body += _paragraph("Limitations", limits)
        (tmp / "narrative.md").write_text("\n\n".join(t for t in (data, limits) if t) + "\n")
        body += seeds_section(tmp, cfg, cells, per_image) + figures_section(tmp, examples, extra_figures)
        (tmp / "study_metrics.json").write_text(json.dumps(headline, indent=2) + "\n")
        body += provenance_section(tmp, params_json)
        (tmp / "index.html").write_text(page_html.page(cfg.title, body))
    return out / "index.html"
