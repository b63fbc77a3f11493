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

from segsweep.figures import PALETTE, plt, save
from segsweep.io import atomic_path
from segsweep.report.tables import (
    _cells_text, frame_latex, frame_markdown, seed_table, study_table, to_latex, to_markdown)

PACKAGES = ("segsweep", "torch", "monai", "numpy", "pandas", "albumentations", "snakemake", "dvc")


def provenance(params_json: str) -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                    text=True).stdout.strip())
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
    return {"git_commit": commit + (" (uncommitted changes)" if dirty else ""),
            "params_sha256": hashlib.sha256(params_json.encode()).hexdigest(),
            "python": platform.python_version(), "platform": platform.platform(), "device": device,
            "packages": versions}


def _curves_figure(ids: list[str], curves: Path, study: str, stem: Path) -> None:
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    for i, cell in enumerate(ids):
        h = pd.read_csv(curves / f"{cell}.csv")
        colour = PALETTE[i % len(PALETTE)]
        a.plot(h["epoch"], h["train_loss"], color=colour, label=cell)
        a.plot(h["epoch"], h["val_loss"], color=colour, ls="--")
        b.plot(h["epoch"], h["val_dice"], color=colour, label=cell)
    a.set(xlabel="epoch", ylabel="loss", title="training (solid) and validation (dashed) loss")
    b.set(xlabel="epoch", ylabel="validation Dice", title="validation Dice")
    b.legend(fontsize=7)
    fig.suptitle(f"study '{study}'")
    save(fig, stem)


def _html_table(df: pd.DataFrame, decimals: int) -> str:
    header, rows = _cells_text(df, decimals)
    dice = header.index("dice")
    out = ["<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for row, best in rows:
        cells = [html.escape(x) for x in row]
        if best:
            cells[dice] = f"<b>{cells[dice]}</b>"
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "".join(out) + "</tbody></table>"


CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ccc}
th{border-bottom:2px solid #444;text-align:left}img{max-width:100%;margin:0.5em 0}
code{background:#f3f3f3;padding:1px 4px}.small{color:#666;font-size:12px}"""


def build_report(cfg, params_json: str, studies: dict[str, list[str]], summary: Path, extra_figures: list[Path],
                 out: Path) -> Path:
    """Write the report folder atomically; return the path of ``index.html``."""
    cells = pd.read_csv(summary / "cells.csv")
    with atomic_path(out) as tmp:
        (tmp / "tables").mkdir(parents=True)
        (tmp / "figures").mkdir()
        body = [f"<h1>{html.escape(cfg.title)}</h1>",
                f"<p class=small>{len(cells)} cells, {int((cells['status'] == 'diverged').sum())} diverged. "
                "Dice: validation mean of per-image Dice at the best epoch; bold: best of the table.</p>"]
        for study, ids in studies.items():
            table = study_table(cells, ids)
            table.to_csv(tmp / "tables" / f"{study}.csv", index=False)
            (tmp / "tables" / f"{study}.md").write_text(to_markdown(table, cfg.decimals))
            (tmp / "tables" / f"{study}.tex").write_text(to_latex(table, f"Study {study}", cfg.decimals))
            _curves_figure(ids, summary / "curves", study, tmp / "figures" / f"curves_{study}")
            body += [f"<h2>Study: {html.escape(study)}</h2>", _html_table(table, cfg.decimals),
                     f"<p class=small>tables/{study}.csv · .md · .tex</p>",
                     f'<img src="figures/curves_{study}.png" alt="curves {html.escape(study)}">']
        seeds = seed_table(cells)
        if len(seeds):
            seeds.to_csv(tmp / "tables" / "seeds.csv", index=False)
            rounded = seeds.round(cfg.decimals)
            (tmp / "tables" / "seeds.md").write_text(frame_markdown(rounded))
            (tmp / "tables" / "seeds.tex").write_text(frame_latex(rounded))
            body += ["<h2>Variation over seeds</h2>",
                     "<p class=small>Cells that differ only by seed: mean, standard deviation and 95 % "
                     "t-interval of the validation Dice. A difference between two cells smaller than "
                     "this spread is not evidence of an effect.</p>",
                     seeds.round(cfg.decimals).to_html(index=False, border=0, escape=True)]
        if extra_figures:
            body.append("<h2>Gradient probes and loss landscapes</h2>")
        for fig in extra_figures:
            name = f"{fig.parent.name}_{fig.name}"
            for ext in (".png", ".pdf"):
                src = fig.with_suffix(ext)
                if src.exists():
                    shutil.copy(src, tmp / "figures" / Path(name).with_suffix(ext))
            body.append(f'<h3>{html.escape(name[:-4] if name.endswith(".png") else name)}</h3>'
                        f'<img src="figures/{html.escape(Path(name).with_suffix(".png").name)}">')
        prov = provenance(params_json)
        (tmp / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
        (tmp / "params.json").write_text(params_json + "\n")
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(str(v))}</code></td></tr>"
                       for k, v in {**{k: v for k, v in prov.items() if k != "packages"}, **prov["packages"]}.items())
        body += ["<h2>Provenance</h2>", f"<table>{rows}</table>",
                 '<p class=small>Resolved params: <a href="params.json">params.json</a></p>']
        page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(cfg.title) +
                f"</title><style>{CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n")
        (tmp / "index.html").write_text(page)
    return out / "index.html"
