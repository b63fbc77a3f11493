"""Assemble ``results/report/``: tables, figures, provenance and ``index.html``.

The page opens from disk with no server or network: images are referenced by relative
paths inside the report folder, styles are inline.
"""

from __future__ import annotations

import hashlib
import html
import json
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

from segsweep.figures import plt
from segsweep.io import atomic_path
from segsweep.report import html as page_html
from segsweep.report.plots import curves_figure, fraction_figure
from segsweep.report.render import (
    display_rows,
    frame_latex,
    frame_markdown,
    labelled,
    pivot_table,
    to_latex,
    to_markdown,
)
from segsweep.report.tables import seed_table, study_table, table_note

PACKAGES = ("segsweep", "torch", "monai", "numpy", "pandas", "albumentations", "snakemake", "dvc")


def data_hashes(lock: Path = Path("dvc.lock")) -> dict[str, str]:
    """md5 of every data and model output DVC recorded in ``dvc.lock`` (empty without)."""
    import yaml

    if not lock.exists():
        return {}
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    return {o["path"]: o.get("md5", "") for st in stages.values() for o in st.get("outs", []) if "path" in o}


def provenance(params_json: str) -> dict:
    """Commit (and whether the work tree had uncommitted changes), the sha256 of the
    shipped ``params.json`` (check it with ``sha256sum params.json``), the data hashes
    DVC recorded, package versions and device."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                    text=True, check=False).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown (not a git checkout)", False
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    import torch

    device = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"
    if torch.cuda.is_available():
        device += f", CUDA {torch.cuda.get_device_name(0)}"
    return {"git_commit": commit, "git_dirty": dirty,
            "params_sha256": hashlib.sha256((params_json + "\n").encode()).hexdigest(),
            "python": platform.python_version(), "platform": platform.platform(), "device": device,
            "data_md5": data_hashes(), "packages": versions}


def _html_table(df: pd.DataFrame, decimals: int, caption: str) -> str:
    text, bold = display_rows(df, decimals)
    return page_html.table(labelled(text), bold, caption)


STATS_NOTE = ("Dice: test-set mean of per-image Dice of each cell's selected weights; with several seeds "
              "mean ± std over the ok seeds (failed seeds are counted, not averaged), 95 % interval: "
              "hierarchical percentile bootstrap over seeds and test images. Bold: the best value of each metric "
              "column. 'vs reference': the row's mean difference from the study's reference row (baseline), "
              "with its 95 % hierarchical bootstrap interval; p: {tests}, Holm-adjusted over the rows of the table; "
              "n.s.: adjusted p ≥ {alpha}. A p-value is never shown below the smallest value its test can give.")


def _headline(table: pd.DataFrame) -> dict:
    """Per row (its first cell's id): the numbers ``dvc metrics diff`` should compare."""
    def num(v):
        return None if pd.isna(v) else round(float(v), 6)

    return {r["cell"]: {"dice": num(r["dice"]), "dice_std": num(r["dice_std"]), "n": int(r["n"]),
                        "n_ok": int(r["n_ok"]), "diff": num(r["diff"]), "p_holm": num(r["p_holm"])}
            for _, r in table.iterrows()}


def protocol_note(cells: pd.DataFrame) -> str:
    """What the numbers are: test and validation sizes, selection rule, batch-norm
    statistics and the training budget, read from the cells themselves."""
    def values(col):
        return sorted({str(v) for v in cells[col].dropna()}) if col in cells else []

    def join(col):
        return " / ".join(values(col)) or "?"

    budget = values("params.steps_per_epoch")
    if budget and budget != ["nan"]:
        steps = f"a budget of {join('steps_run')} optimizer steps per cell (train.steps_per_epoch = {join('params.steps_per_epoch')} × epochs), whatever the train fraction"
    else:
        steps = f"one pass over the training patches per epoch ({join('steps_run')} optimizer steps: fewer for smaller train fractions)"
    bn, curve = join("params.evaluation.precise_bn_batches"), join("params.evaluation.curve_bn_batches")
    return (f"Protocol: every cell is scored once, with the weights its selection rule picks "
            f"({join('selection')}), on the same fixed test set of {join('n_test_images')} images "
            f"({join('n_test_empty')} with an empty reference, scored as 'empty predicted empty', the rest in the "
            f"Dice mean); the validation set ({join('n_val_images')} images) gives the curves and best_val "
            f"selection and never the headline numbers. Batch-norm statistics are re-estimated before every "
            f"evaluation over fixed batches of training patches: {bn} for the scored weights, the first {curve} "
            f"of them for the per-epoch curves (0: running averages kept). Training: {steps}. "
            f"Cells whose prediction is constant on every test image are 'collapsed', a non-finite loss "
            f"'diverged': both are counted in the status and left out of the means.")


def reference_row(reference: dict, table: pd.DataFrame) -> dict:
    """The global-threshold reference as a table row (no seeds, no test against it)."""
    row = {c: "" for c in table.columns}
    dice = reference.get("dice")
    row.update({"cell": "global grey threshold (no learning)", "seeds": "", "n": 1, "n_seeds": 0, "n_ok": 1,
                "n_diverged": 0, "n_collapsed": 0, "status": "n/a", "dice": float("nan") if dice is None else dice,
                "dice_std": float("nan"), "ci95_low": float("nan"), "ci95_high": float("nan"),
                "iou": float("nan"), "val_dice": float("nan"), "selected_epoch": float("nan"),
                "empty_correct": float("nan") if reference.get("empty_correct") is None else reference["empty_correct"],
                "selection": f"fitted on {reference['n_train_cases']} training cases", "steps": float("nan"),
                "n_test_images": reference["n_test_images"], "test": "threshold", "significant": None})
    for key in ("n_pairs", "diff", "diff_ci95_low", "diff_ci95_high", "p", "p_holm", "p_floor", "p_improve", "mde"):
        row[key] = float("nan")
    return row


def build_report(cfg, params_json: str, studies: dict[str, list[str]], summary: Path, extra_figures: list[Path],
                 out: Path, examples: Path | None = None, axes: dict[str, list[str]] | None = None,
                 references: dict[str, dict] | None = None) -> Path:
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
    """
    cells = pd.read_csv(summary / "cells.csv")
    per_image_csv = summary / "per_image.csv"
    per_image = pd.read_csv(per_image_csv) if per_image_csv.exists() else None
    chosen = {s: studies[s] for s in cfg.studies} if cfg.studies else studies
    axes = axes or {}
    width = cfg.figure.width
    style = {"savefig.dpi": cfg.figure.dpi, "font.size": cfg.figure.font_size,
             "axes.titlesize": cfg.figure.font_size + 1}
    with atomic_path(out) as tmp, plt.rc_context(style):
        (tmp / "tables").mkdir(parents=True)
        (tmp / "figures").mkdir()
        counts = cells["status"].value_counts()
        body = [f"<h1>{html.escape(cfg.title)}</h1>",
                f"<p class=small>{len(cells)} cells ({counts.get('ok', 0)} ok, {counts.get('diverged', 0)} diverged, "
                f"{counts.get('collapsed', 0)} collapsed); {len(chosen)} studies.</p>",
                f"<p class=small>{html.escape(protocol_note(cells))}</p>",
                "<p class=small>" + html.escape(STATS_NOTE.format(
                    alpha=cfg.alpha, tests="exact two-sided sign-flip test of the per-seed differences over the "
                    "seeds both rows share (paired t-test beyond 16 seeds); with a single seed, the sign-flip test "
                    "over per-image test differences, which leaves out training noise")) + "</p>"]
        headline = {}
        for study, ids in chosen.items():
            table = study_table(cells, ids, per_image, cfg.alpha, cfg.bootstrap, cfg.seed,
                                cfg.reference.get(study, "baseline"))
            headline[study] = _headline(table)
            datasets = set(cells.set_index("cell").loc[ids, "params.dataset"]) if "params.dataset" in cells else set()
            shown = pd.concat([table, *(pd.DataFrame([reference_row(references[ds], table)])
                                        for ds in sorted(datasets & set(references or {})))], ignore_index=True)
            shown.to_csv(tmp / "tables" / f"{study}.csv", index=False)
            note = table_note(shown, cfg.alpha)
            (tmp / "tables" / f"{study}.md").write_text(to_markdown(shown, cfg.decimals, note))
            (tmp / "tables" / f"{study}.tex").write_text(to_latex(shown, f"Study {study}", cfg.decimals, note,
                                                                             label=f"tab:{study}"))
            curves_figure(cells, table, ids, summary / "curves", study, width, tmp / "figures" / f"curves_{study}")
            body.append(f"<h2>Study: {html.escape(study)}</h2>")
            pivot = pivot_table(table, axes.get(study, []), cfg.decimals)
            if pivot is not None:
                frame, bold = pivot
                (tmp / "tables" / f"{study}_pivot.md").write_text(frame_markdown(frame, bold))
                (tmp / "tables" / f"{study}_pivot.tex").write_text(frame_latex(frame, bold))
                frame.to_csv(tmp / "tables" / f"{study}_pivot.csv", index=False)
                body += [page_html.table(frame, bold, f"Study {study}: test Dice, rows × columns"),
                         page_html.links([f"tables/{study}_pivot.{e}" for e in ("csv", "md", "tex")], tmp)]
            n = f"n = {int(table['n_seeds'].max())} seeds per row"
            body += [_html_table(shown, cfg.decimals, f"Study {study}: test metrics per setting"),
                     f"<p class=small>{html.escape(note)}</p>",
                     page_html.links([f"tables/{study}.{e}" for e in ("csv", "md", "tex")], tmp),
                     page_html.figure(f"curves_{study}", f"Study {study}: training (solid) and validation (dashed) "
                                      f"loss and validation Dice per epoch, one colour per row, mean over seeds "
                                      f"(shaded: range; {n}).")]
            if fraction_figure(table, study, width, tmp / "figures" / f"fraction_{study}"):
                body += [page_html.figure(f"fraction_{study}", f"Study {study}: test Dice (mean ± std over seeds, "
                                          f"{n}) against the train fraction. Every fraction is scored on the same "
                                          "test images; fractions are shares of one training pool (smaller sets "
                                          "are subsets of larger ones) and the validation set is the same for all.")]
        seeds = seed_table(cells)
        if len(seeds):
            seeds.to_csv(tmp / "tables" / "seeds.csv", index=False)
            rounded = seeds.round(cfg.decimals)
            (tmp / "tables" / "seeds.md").write_text(frame_markdown(rounded))
            (tmp / "tables" / "seeds.tex").write_text(frame_latex(rounded))
            body += ["<h2>Variation over seeds</h2>",
                     ("<p class=small>Every group of cells that differ only by seed: mean, standard deviation "
                      "and 95 % t-interval of the test Dice. A difference between two cells smaller than "
                      "this spread is not evidence of an effect.</p>"),
                     page_html.table(rounded, caption="Test Dice over seeds, per group of cells"),
                     page_html.links([f"tables/seeds.{e}" for e in ("csv", "md", "tex")], tmp)]
        if examples is not None:
            pngs = sorted(examples.glob("*.png"))
            if pngs:
                body.append("<h2>Example segmentations: best and worst cells</h2>")
            for png in pngs:
                for src in (png, png.with_suffix(".pdf")):
                    if src.exists():
                        shutil.copy(src, tmp / "figures" / f"examples_{src.name}")
                body.append(page_html.figure(f"examples_{png.stem}", "Test images (rows): image, ground truth, and "
                                             "the predictions (orange, ground-truth outline blue) of the best and the "
                                             "worst cell by test Dice, with each image's Dice."))
        if extra_figures:
            body.append("<h2>Gradient probes and loss landscapes</h2>")
        for fig in extra_figures:
            name = f"{fig.parent.name}_{fig.stem}"
            for ext in (".png", ".pdf"):
                src = fig.with_suffix(ext)
                if src.exists():
                    shutil.copy(src, tmp / "figures" / f"{name}{ext}")
            body.append(page_html.figure(name, page_html.describe(name), pdf=fig.with_suffix(".pdf").exists()))
        (tmp / "study_metrics.json").write_text(json.dumps(headline, indent=2) + "\n")
        prov = provenance(params_json)
        (tmp / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
        (tmp / "params.json").write_text(params_json + "\n")
        flat = {**{k: v for k, v in prov.items() if k not in ("packages", "data_md5")}, **prov["packages"],
                **{f"md5 {k}": v for k, v in prov["data_md5"].items()}}
        body += ["<h2>Provenance</h2>",
                 page_html.table(pd.DataFrame(list(flat.items()), columns=["what", "value"]), caption="Provenance"),
                 page_html.links(["params.json", "provenance.json", "study_metrics.json"], tmp)]
        (tmp / "index.html").write_text(page_html.page(cfg.title, body))
    return out / "index.html"
