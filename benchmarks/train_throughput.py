"""Benchmark: segsweep's training loop against a bare PyTorch loop, in one process.

Same model (the default U-Net), same patches (the default 2D synthetic dataset,
built here), same loss, optimizer, batch size and thread count. Reports medians over
interleaved repetitions of:

- bare:     a minimal loop over a preloaded tensor (forward, loss, backward, step),
            with torch's deterministic algorithms on, as ``train_cell`` runs;
- bare-nondet: the same with deterministic algorithms off (what determinism costs);
- segsweep: ``train_cell`` with ``log_norms: false`` (its img/s counts training only,
            as in metrics.json: validation time excluded);
- +norms:   ``train_cell`` with per-step per-layer gradient/update norm logging.

Prints images/second and the ratios; the last line is ``<segsweep/bare>x``.
Goals: segsweep/bare ≥ 0.95, norm logging overhead ≤ 2 % of step time.

    python benchmarks/train_throughput.py [--reps 5] [--epochs 2] [--threads 1] [--smoke] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import parse_args, write_json

from segsweep.config import Augment, Patches, Prepare, Synth2D, Train
from segsweep.data.cases import read_manifest
from segsweep.data.ingest import ingest, reader_for
from segsweep.data.synth import write_synth
from segsweep.losses import build_loss
from segsweep.models import build_model
from segsweep.optim import build_optimizer
from segsweep.preprocess.augment import augment
from segsweep.preprocess.patches import extract_patches
from segsweep.preprocess.prepare import prepare
from segsweep.splits import split_cases
from segsweep.train.data import load_train_patches
from segsweep.train.loop import train_cell

SMOKE = {"reps": 1, "epochs": 1, "norm_steps": 3}


def build_data(root: Path, smoke: bool = False) -> dict[str, Path]:
    """The default params' 2D dataset and preprocessing, written under ``root`` (with
    ``smoke``: a few small images, one augmented copy, small patches)."""
    ds = Synth2D(kind="synth2d", **({"n_cases": 8, "size": 64} if smoke else {}))
    aug = Augment(copies=1, crop_2d=(48, 48)) if smoke else Augment()
    patches = Patches(size_2d=(32, 32), stride_2d=(16, 16)) if smoke else Patches()
    write_synth(ds, root / "synth", "b")
    ingest(reader_for(ds, root / "synth"), root / "synth", root / "interim", "datasets.b")
    prepare(Prepare(), root / "interim", root / "prepared")
    augment(aug, root / "prepared", root / "augmented")
    extract_patches(patches, 0.0, root / "augmented", root / "patches")
    (root / "split.json").write_text(json.dumps(split_cases(read_manifest(root / "interim"), 0.8, 0)))
    return {"patches": root / "patches", "split": root / "split.json", "prepared": root / "prepared"}


def bare_loop(cfg: Train, data: dict[str, Path], deterministic: bool = True) -> float:
    """Images/second of a minimal PyTorch loop on the same training patches."""
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    split = json.loads(Path(data["split"]).read_text())
    patches = load_train_patches(data["patches"], split["train"])
    x_all = torch.from_numpy(np.ascontiguousarray(patches.images[patches.index]))
    y_all = torch.from_numpy(np.ascontiguousarray(patches.masks[patches.index]))[:, None]
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, 2, x_all.shape[1])
    opt = build_optimizer(cfg.optimizer, model.parameters())
    loss_fn = build_loss(cfg.loss, cfg.model.output)
    n, seen, t0 = len(x_all), 0, time.perf_counter()
    for _epoch in range(cfg.epochs):
        model.train()
        order = torch.randperm(n)
        for b in range(0, n, cfg.batch_size):
            idx = order[b : b + cfg.batch_size]
            loss = loss_fn(model(x_all[idx]), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(idx)
    return seen / (time.perf_counter() - t0)


def norm_cost(cfg: Train, data: dict[str, Path], steps: int = 30) -> tuple[float, float]:
    """Seconds per training step, and seconds per step of the norm logging alone
    (``before_step`` + ``after_step``), measured on the same model and batches: a
    direct measure, since the whole-run difference is below run-to-run noise."""
    from segsweep.train.norms import NormLogger

    split = json.loads(Path(data["split"]).read_text())
    patches = load_train_patches(data["patches"], split["train"])
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, 2, patches.images.shape[1])
    opt = build_optimizer(cfg.optimizer, model.parameters())
    loss_fn = build_loss(cfg.loss, cfg.model.output)
    logger = NormLogger(model)
    step_t, norm_t = [], []
    for i in range(steps):
        x, y = patches.batch(np.arange(i * cfg.batch_size, (i + 1) * cfg.batch_size) % len(patches.index))
        t0 = time.perf_counter()
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t1 = time.perf_counter()
        logger.before_step()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        logger.after_step()
        t4 = time.perf_counter()
        step_t.append((t1 - t0) + (t3 - t2))
        norm_t.append((t2 - t1) + (t4 - t3))
    return statistics.median(step_t), statistics.median(norm_t)


def ours(cfg: Train, data: dict[str, Path], out: Path) -> float:
    m = train_cell(cfg, "bench", data["patches"], data["split"], data["prepared"], out, ndim=2)
    return m["images_per_second"]


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--norm-steps", type=int, default=30, help="steps timed for the per-step norm logging cost")
    return parse_args(ap, SMOKE)


def measure(args, cfg: Train) -> tuple[dict[str, list[float]], float, float]:
    """Images/second of each loop per repetition (interleaved), and the per-step costs."""
    with tempfile.TemporaryDirectory() as tmp:
        data = build_data(Path(tmp), args.smoke)
        runs: dict[str, list[float]] = {"bare": [], "bare-nondet": [], "segsweep": [], "+norms": []}
        bare_loop(cfg, data)  # warm-up (allocator, oneDNN primitives)
        for r in range(args.reps):
            runs["bare"].append(bare_loop(cfg, data))
            runs["bare-nondet"].append(bare_loop(cfg, data, deterministic=False))
            runs["segsweep"].append(ours(cfg.model_copy(update={"log_norms": False}), data, Path(tmp) / f"a{r}"))
            runs["+norms"].append(ours(cfg.model_copy(update={"log_norms": True}), data, Path(tmp) / f"b{r}"))
        step_s, norm_s = norm_cost(cfg, data, args.norm_steps)
    return runs, step_s, norm_s


def main() -> None:
    args = parse()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    settings = {"epochs": args.epochs, "threads": args.threads, "device": "cpu"}
    if args.smoke:  # fewer batch-norm recomputation batches: the tiny dataset has few patches
        settings["evaluation"] = {"precise_bn_batches": 2, "curve_bn_batches": 2}
    cfg = Train.model_validate(settings)
    runs, step_s, norm_s = measure(args, cfg)
    med = {k: statistics.median(v) for k, v in runs.items()}
    for k, v in runs.items():
        print(f"{k:11s} median {med[k]:7.1f} img/s   runs: {', '.join(f'{x:.1f}' for x in v)}")
    overhead = med["segsweep"] / med["+norms"] - 1
    print(f"norm logging, whole runs: {100 * overhead:+.2f}% of step time (noise-level)")
    print(
        f"norm logging, timed per step: {1e3 * norm_s:.3f} ms of a {1e3 * step_s:.1f} ms step = "
        f"{100 * norm_s / step_s:.2f}% (goal <= 2%)"
    )
    ratios = {
        "deterministic_over_nondeterministic": med["bare"] / med["bare-nondet"],
        "segsweep_with_norms_over_bare": med["+norms"] / med["bare"],
        "segsweep_over_bare": med["segsweep"] / med["bare"],
        "norm_logging_share_of_step": norm_s / step_s,
    }
    print(f"deterministic / nondeterministic bare loop: {ratios['deterministic_over_nondeterministic']:.3f}x")
    print(f"segsweep (with norms) / bare: {ratios['segsweep_with_norms_over_bare']:.3f}x")
    print(f"{ratios['segsweep_over_bare']:.3f}x")
    results = {"images_per_s": med, "step_ms": 1e3 * step_s, "norm_logging_ms": 1e3 * norm_s, **ratios}
    write_json(args.json, results, args)


if __name__ == "__main__":
    main()
