"""The report's "Data" and "Limitations" paragraphs, written from what the run knows.

A reviewer asks what the numbers were computed on and what they cannot show. Both
paragraphs are generated, never typed: "Data" from the resolved params (how each dataset
the cells used was generated or read, and prepared) and the dataset summary (cases per
split); "Limitations" from the study tables (seeds per row, test images, the step
budget, rows still improving, failed seeds) and the number of datasets.
"""

from __future__ import annotations

import pandas as pd


def _shape(values) -> str:
    return "×".join(str(v) for v in values)


def _source(name: str, ds: dict) -> str:
    """How dataset ``name`` came about, from its resolved params."""
    kind = ds.get("kind")
    if kind == "synth2d":
        return (
            f"{name}: {ds['n_cases']} synthetic 2D {ds.get('style', '')} images of {ds['size']}×{ds['size']} px "
            f"(generator seed {ds['seed']}; {ds['empty_fraction']:g} of them without foreground; foreground "
            f"fraction {ds['fg_range'][0]:g}–{ds['fg_range'][1]:g}; noise sd {ds['noise']:g})"
        )
    if kind == "synth3d":
        return (
            f"{name}: {ds['n_cases']} synthetic 3D {ds.get('modality', '').upper()} volumes of "
            f"{_shape(ds['shape'])} voxels at {_shape(ds['spacing'])} mm ({ds.get('target', '')} target, "
            f"generator seed {ds['seed']}; {ds['empty_fraction']:g} without foreground)"
        )
    files = "2D image/mask pairs" if kind == "folder2d" else "3D NIfTI volumes"
    return f"{name}: the user's {files} under {ds.get('root')}"


def _preparation(ds: dict, preprocess: dict) -> str:
    """How dataset ``ds`` was prepared before training and where it is scored."""
    patches = preprocess.get("patches", {})
    if ds.get("kind") in ("synth3d", "nifti"):
        return (
            f"resampled to the {ds.get('target_spacing')} spacing, intensities normalised by "
            f"{ds.get('normalization')}, {_shape(patches.get('size_3d', []))} patches, scored on each case's "
            "original grid (in mm of its spacing)"
        )
    clahe = preprocess.get("prepare", {}).get("clahe", {})
    contrast = f"CLAHE (clip limit {clahe.get('clip_limit')})" if clahe.get("enabled") else "no CLAHE"
    return f"{contrast}, {_shape(patches.get('size_2d', []))} patches, scored on whole images (a pixel as 1 mm)"


def data_paragraph(params: dict, datasets: list[str], summary: pd.DataFrame | None) -> str:
    """ "Data": each dataset the cells used, its source and preparation, and its cases
    per split (from ``summary``, ``segsweep.report.datasets.dataset_summary``)."""
    parts = []
    for name in datasets:
        ds = params.get("datasets", {}).get(name)
        if ds is None:
            continue
        text = f"{_source(name, ds)}; {_preparation(ds, params.get('preprocess', {}))}"
        if summary is not None and len(summary):
            rows = summary[summary["dataset"] == name]
            if len(rows):
                r = rows.iloc[0]
                text += f"; {r['n_test']} test cases ({r['empty_test']} without foreground), held out from every cell"
        parts.append(text + ".")
    return "Data. " + " ".join(parts) if parts else ""


def limitations_paragraph(tables: dict[str, pd.DataFrame], n_datasets: int) -> str:
    """ "Limitations": what the study tables cannot show, stated from their own counts."""
    rows = pd.concat([t[t["test"] != "threshold"] for t in tables.values()], ignore_index=True) if tables else None
    if rows is None or rows.empty:
        return ""
    seeds = sorted({int(n) for n in rows["n_seeds"].dropna()})
    images = sorted({int(n) for n in rows["n_test_images"].dropna()})
    steps = sorted({int(s) for s in rows["steps"].dropna()}) if "steps" in rows else []
    rising = int((rows["converged"] == False).sum()) if "converged" in rows else 0  # noqa: E712 (None: unknown)
    failed = int(rows["n_diverged"].sum() + rows["n_collapsed"].sum())
    inconclusive = int((rows.get("verdict", pd.Series(dtype=str)) == "inconclusive").sum())
    text = [
        f"Limitations. Each row rests on {' / '.join(map(str, seeds))} training seed(s) and "
        f"{' / '.join(map(str, images))} test images"
        + (f" from {n_datasets} dataset{'s' if n_datasets != 1 else ''}" if n_datasets else "")
        + "; the conclusions hold for these data and nothing beyond them."
    ]
    if steps:
        text.append(f"Every cell trained for a fixed budget of {' / '.join(map(str, steps))} optimizer steps")
        text[-1] += (
            f", and {rising} of {len(rows)} rows were still improving when it ran out: their ranking may change "
            "with a longer budget."
            if rising
            else "."
        )
    if failed:
        text.append(f"{failed} seed(s) diverged or collapsed; they count in the means (diverged as Dice 0).")
    if inconclusive:
        text.append(
            f"{inconclusive} comparison(s) are inconclusive: no difference was shown, which is not evidence "
            "that there is none (the seeds-for-power column says what would decide)."
        )
    return " ".join(text)
