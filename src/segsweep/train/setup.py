"""What one cell trains and scores with, built once before epoch 0 (``setup``): data,
model, optimizer, loss, scaler, norms, device; and the resume state's save/restore."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from segsweep.codegraph import code_digest
from segsweep.config import Train, section_json
from segsweep.losses import build_loss
from segsweep.models import build_model
from segsweep.optim import build_optimizer
from segsweep.train.data import TrainPatches, bn_batches, load_eval_images, load_train_patches, read_split
from segsweep.train.evaluate import window_of
from segsweep.train.norms import NormLogger
from segsweep.train.results import cpu_state
from segsweep.train.state import TrainState, resume_key


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from segsweep.errors import ConfigError

        raise ConfigError('train.device = "cuda": no CUDA device is visible; use auto or cpu')
    return torch.device(name)


@dataclass
class Setup:
    """What one cell trains and scores with, built once by ``setup`` (in the order that
    fixes the random draws: batch-norm sample, then the seed, then the weights)."""

    cfg: Train
    cell: str
    ndim: int
    device: torch.device
    split: dict
    data: TrainPatches
    val: list
    bn_sample: list
    model: torch.nn.Module
    init_state: dict
    optimizer: torch.optim.Optimizer
    loss_fn: object
    scaler: torch.amp.GradScaler
    norms: NormLogger | None
    fingerprint: dict  # what a resume file must have been written with (state.resume_key)
    window: tuple[int, ...] | None  # sliding-window inference (the patch size), or None: whole images

    def save(self, path: Path, state: TrainState) -> None:
        state.save(path, self.fingerprint, self.model, self.optimizer, self.scaler, self.norms)

    def restore(self, path: Path) -> TrainState | None:
        return TrainState.restore(path, self.fingerprint, self.model, self.optimizer, self.scaler, self.norms)


def setup(cfg: Train, cell: str, patches_dir: Path, split_path: Path, prepared_dir: Path, ndim: int) -> Setup:
    """Threads, determinism, data, model, optimizer, loss: everything before epoch 0."""
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    device = resolve_device(cfg.device)
    split = read_split(split_path)
    data = load_train_patches(patches_dir, split["train"])
    val = load_eval_images(prepared_dir, split["val"], ndim, 2**cfg.model.depth)
    bn_sample = [x.to(device) for x in bn_batches(data, cfg.evaluation.precise_bn_batches, cfg.batch_size, cfg.seed)]
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, ndim, data.images.shape[1]).to(device)
    return Setup(
        cfg=cfg,
        cell=cell,
        ndim=ndim,
        device=device,
        split=split,
        data=data,
        val=val,
        bn_sample=bn_sample,
        model=model,
        init_state=cpu_state(model),
        optimizer=build_optimizer(cfg.optimizer, model.parameters()),
        loss_fn=build_loss(cfg.loss, cfg.model.output),
        scaler=torch.amp.GradScaler("cuda", enabled=cfg.amp and device.type == "cuda"),
        norms=NormLogger(model) if cfg.log_norms else None,
        fingerprint=resume_key(
            section_json(cfg),
            {"patches": patches_dir, "split": split_path, "prepared": prepared_dir},
            code_digest(frozenset({"train"})),
        ),
        window=window_of(cfg.evaluation.inference, ndim, tuple(data.images.shape[2:])),
    )
