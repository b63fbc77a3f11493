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
import logging
from collections import deque
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from segsweep.errors import DataError
from segsweep.train.norms import layer_index

KINDS = ("fg_bg", "bg_only")
log = logging.getLogger("segsweep")


def pick_patches(
    table: pd.DataFrame, images: np.ndarray, n: int, seed: int, cases: list[str] | None = None
) -> dict[str, np.ndarray]:
    """``n`` patch rows of each kind, stratified over the cases and never blank.

    A seeded round-robin over the cases (in a seeded order) takes one patch of the kind
    from each case per round, so every case contributes ⌊n/k⌋ or ⌈n/k⌉ patches of a
    kind (fewer when it has fewer) and no large volume dominates. A blank patch (zero
    variance in every channel: air clipped by a window, rotation padding) is skipped:
    it holds nothing to segment, and batch norm over one patch maps it to zeros.

    Args:
        table: the patch table (``case`` is the source case, ``kind`` fg_bg / bg_only).
        images: (N, C, *patch) the patches, to test for blanks (read only as picked).
        cases: the cases allowed (the training cases of a split); ``None``: all.

    Raises:
        DataError: no usable patch of one kind. Fewer than ``n`` is a warning naming
            the shortfall.
    """
    rng = np.random.default_rng(seed)
    allowed = table if cases is None else table[table["case"].astype(str).isin({str(c) for c in cases})]
    where = "" if cases is None else f" of the {allowed['case'].nunique()} training cases"
    out = {}
    for kind in KINDS:
        by_case = {c: rng.permutation(g.index.to_numpy()) for c, g in allowed[allowed["kind"] == kind].groupby("case")}
        cases_of_kind = list(by_case)
        order = [cases_of_kind[i] for i in rng.permutation(len(cases_of_kind))]
        picked, blank, queues = [], 0, {c: deque(by_case[c]) for c in order}
        while len(picked) < n and any(queues.values()):
            for case in order:
                while queues[case] and len(picked) < n:
                    row = queues[case].popleft()
                    if np.ptp(np.asarray(images[row]).reshape(images.shape[1], -1), axis=1).max() > 0:
                        picked.append(row)
                        break
                    blank += 1
        if not picked:
            raise DataError(
                f"no non-blank {kind} patch in the patches{where} ({blank} blank): the probe compares both "
                "kinds (smaller patches or a smaller preprocess.patches.fg_oversample give more bg_only)"
            )
        if len(picked) < n:
            log.warning(
                "probe: %d of the %d %s patches asked for (probe.n_patches): only %d non-blank ones in the "
                "patches%s (%d blank skipped)",
                *(len(picked), n, kind, len(picked), where, blank),
            )
        out[kind] = np.sort(np.array(picked, dtype=np.int64))
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
    _warn_single_patch_batch_norm(model, batch_size, bn_mode)
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


def _warn_single_patch_batch_norm(model: torch.nn.Module, batch_size: int, bn_mode: str) -> None:
    if (
        bn_mode == "train"
        and batch_size == 1
        and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    ):
        log.warning(
            "probe.bn_mode = train with probe.batch_size = 1: batch norm normalises each patch by its own "
            "statistics (training used batches), and a patch constant in a channel becomes zeros; "
            "bn_mode: eval uses the running statistics"
        )


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
