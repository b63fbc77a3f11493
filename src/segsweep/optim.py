"""Optimizers and learning-rate schedules by name.

A schedule is a pure function ``factor(cfg, epoch, epochs) -> float`` multiplying the
base learning rate (nanoGPT style): no scheduler state to checkpoint, resume is exact.
Each builder takes its component's typed model (``segsweep.config.components``), where
the settings and their defaults are declared once.
"""

from __future__ import annotations

import math

from segsweep.registry import Registry

OPTIMIZERS = Registry("optimizer")
SCHEDULERS = Registry("scheduler")


@OPTIMIZERS.register("sgd")
def sgd(cfg, params):
    import torch

    return torch.optim.SGD(
        params,
        lr=cfg.lr,
        momentum=cfg.momentum,
        nesterov=cfg.nesterov and cfg.momentum > 0,
        weight_decay=cfg.weight_decay,
    )


@OPTIMIZERS.register("adam")
def adam(cfg, params):
    import torch

    return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)


@OPTIMIZERS.register("adamw")
def adamw(cfg, params):
    import torch

    return torch.optim.AdamW(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)


@OPTIMIZERS.register("rmsprop")
def rmsprop(cfg, params):
    import torch

    return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.alpha, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def build_optimizer(cfg, params):
    """The optimizer ``cfg`` (a component model of ``segsweep.config.components``:
    ``SGD``, ``Adam``, ...) over ``params``."""
    return OPTIMIZERS.get(cfg.name)(cfg, params)


@SCHEDULERS.register("none")
def constant(cfg, epoch: int, epochs: int) -> float:
    return 1.0


@SCHEDULERS.register("step")
def step(cfg, epoch: int, epochs: int) -> float:
    """×gamma every ``step_size`` epochs (torch StepLR)."""
    return cfg.gamma ** (epoch // cfg.step_size)


@SCHEDULERS.register("exponential")
def exponential(cfg, epoch: int, epochs: int) -> float:
    """×gamma every epoch (torch ExponentialLR)."""
    return cfg.gamma**epoch


@SCHEDULERS.register("cosine")
def cosine(cfg, epoch: int, epochs: int) -> float:
    """Half a cosine from 1 down to ``min_factor`` over the run (torch CosineAnnealingLR)."""
    return cfg.min_factor + (1 - cfg.min_factor) * 0.5 * (1 + math.cos(math.pi * epoch / max(epochs, 1)))


@SCHEDULERS.register("poly")
def poly(cfg, epoch: int, epochs: int) -> float:
    """(1 − epoch/epochs)^power, nnU-Net's schedule, floored at ``min_factor``."""
    return max(cfg.min_factor, (1 - epoch / max(epochs, 1)) ** cfg.power)


def lr_factor(cfg, epoch: int, epochs: int) -> float:
    """The learning-rate multiplier of ``epoch`` (0-based) under ``cfg`` (a scheduler
    model: ``Step``, ``Exponential``, ...)."""
    return SCHEDULERS.get(cfg.name)(cfg, epoch, epochs)
