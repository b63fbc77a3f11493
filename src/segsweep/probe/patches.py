"""Gradient 2-norms of each loss on foreground+background vs background-only patches.

For a model state (an initialisation, or a snapshot of a trained cell) and each loss,
one backward per batch (batch size 1 by default, as in the published probe; the
forward pass is shared by the losses, which does not change any gradient) over N
``fg_bg`` and N ``bg_only`` patches; the total and per-layer gradient norms are
recorded (one fused ``torch._foreach_norm`` per backward). The model is not updated;
batch-norm running statistics are restored afterwards.

Finding being reproduced: with soft dice on the foreground channel only, background-
only patches give gradients orders of magnitude smaller than patches with foreground;
dice over all channels, cross-entropy and top-k lose about one order of magnitude.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from segsweep.errors import DataError
from segsweep.train.norms import layer_index

KINDS = ("fg_bg", "bg_only")


def pick_patches(table: pd.DataFrame, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` patch rows of each kind (all of them when fewer exist), seeded.

    Raises:
        DataError: the dataset has no patch of one kind.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for kind in KINDS:
        rows = table.index[table["kind"] == kind].to_numpy()
        if rows.size == 0:
            raise DataError(
                f"no {kind} patch in this dataset: the probe compares both kinds "
                "(smaller patches or a smaller preprocess.patches.fg_oversample give more bg_only)"
            )
        out[kind] = np.sort(rng.choice(rows, size=min(n, rows.size), replace=False))
    return out


def probe_state(
    model: torch.nn.Module,
    losses: dict,
    images: np.ndarray,
    masks: np.ndarray,
    picks: dict[str, np.ndarray],
    batch_size: int = 1,
    bn_mode: str = "train",
) -> pd.DataFrame:
    """Gradient norms for every loss and patch; one row per batch.

    Args:
        model: the network at the state to probe (left unchanged).
        losses: name -> loss module (logits, target) -> scalar.
        images: (N, C, *patch) float32; masks: (N, *patch) uint8.
        picks: patch rows per kind (from ``pick_patches``).
        batch_size: patches per backward.
        bn_mode: ``train`` (batch statistics, as in training) or ``eval``.

    Returns:
        Columns ``loss``, ``patch_kind``, ``patch`` (first row of the batch), ``loss_value``,
        ``grad_norm`` (total 2-norm), ``grad/<layer>``.
    """
    model = copy.deepcopy(model)  # BN running statistics and grads stay out of the caller's model
    model.train(bn_mode == "train")
    for m in model.modules():  # dropout off: it would make the probe random
        if isinstance(m, (torch.nn.Dropout, torch.nn.Dropout2d, torch.nn.Dropout3d)):
            m.eval()
    named = list(model.named_parameters())
    params = [p for _, p in named]
    names, index = layer_index([n for n, _ in named])
    rows = []
    for kind, picked in picks.items():
        for b in range(0, len(picked), batch_size):
            sel = picked[b : b + batch_size]
            x = torch.from_numpy(np.ascontiguousarray(images[sel]))
            y = torch.from_numpy(np.ascontiguousarray(masks[sel]))[:, None]
            logits = model(x)  # one forward shared by every loss
            for i, (loss_name, loss_fn) in enumerate(losses.items()):
                loss = loss_fn(logits, y)
                grads = torch.autograd.grad(loss, params, retain_graph=i < len(losses) - 1, allow_unused=True)
                grads = [g if g is not None else torch.zeros_like(p) for g, p in zip(grads, params)]
                sq = torch.stack(torch._foreach_norm(grads)).double() ** 2
                per_layer = torch.zeros(len(names), dtype=torch.float64).index_add_(0, index, sq).sqrt()
                rows.append(
                    {
                        "loss": loss_name,
                        "patch_kind": kind,
                        "patch": int(sel[0]),
                        "loss_value": float(loss.detach()),
                        "grad_norm": float(sq.sum().sqrt()),
                        **{f"grad/{n}": float(v) for n, v in zip(names, per_layer)},
                    }
                )
    return pd.DataFrame(rows)


def ratios(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group and loss: mean, median, std of each patch kind, and bg_only / fg_bg."""
    stats = (
        table.groupby([*by, "loss", "patch_kind"])["grad_norm"]
        .agg(["mean", "median", "std", "count"])
        .unstack("patch_kind")
    )
    stats.columns = [f"{kind}_{stat}" for stat, kind in stats.columns]
    stats["ratio_mean"] = stats["bg_only_mean"] / stats["fg_bg_mean"]
    stats["ratio_median"] = stats["bg_only_median"] / stats["fg_bg_median"]
    return stats.reset_index()


def load_patches(patches_dir: Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    table = pd.read_parquet(Path(patches_dir) / "patches.parquet")
    images = np.load(Path(patches_dir) / "images.npy", mmap_mode="r")
    masks = np.load(Path(patches_dir) / "masks.npy", mmap_mode="r")
    return table, images, masks
