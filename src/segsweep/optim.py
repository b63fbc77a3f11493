"""Optimizers and learning-rate schedules by name.

A schedule is a pure function ``factor(epoch, epochs) -> float`` multiplying the base
learning rate (nanoGPT style): no scheduler state to checkpoint, resume is exact.
"""

from __future__ import annotations

import math

from segsweep.registry import Registry

OPTIMIZERS = Registry("optimizer")
SCHEDULERS = Registry("scheduler")


@OPTIMIZERS.register("sgd")
def sgd(params, lr: float, momentum: float = 0.9, nesterov: bool = False, weight_decay: float = 0.0):
    import torch

    return torch.optim.SGD(
        params, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0, weight_decay=weight_decay
    )


@OPTIMIZERS.register("adam")
def adam(params, lr: float, betas=(0.9, 0.999), weight_decay: float = 0.0):
    import torch

    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)


@OPTIMIZERS.register("adamw")
def adamw(params, lr: float, betas=(0.9, 0.999), weight_decay: float = 0.0):
    import torch

    return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)


@OPTIMIZERS.register("rmsprop")
def rmsprop(params, lr: float, alpha: float = 0.99, rmsprop_momentum: float = 0.0, weight_decay: float = 0.0):
    import torch

    return torch.optim.RMSprop(params, lr=lr, alpha=alpha, momentum=rmsprop_momentum, weight_decay=weight_decay)


def build_optimizer(cfg, params):
    """The optimizer named by ``cfg.name`` (an ``OptimCfg``) over ``params``, given the
    settings its builder accepts (``momentum`` is SGD's; RMSprop has ``rmsprop_momentum``,
    0 by default as in torch, so a grid cell that switches adam -> rmsprop does not
    inherit SGD's momentum)."""
    return OPTIMIZERS.get(cfg.name)(params, **OPTIMIZERS.settings(cfg.name, cfg.model_dump(), exclude=("params",)))


@SCHEDULERS.register("none")
def constant(epoch: int, epochs: int) -> float:
    return 1.0


@SCHEDULERS.register("step")
def step(epoch: int, epochs: int, step_size: int = 100, gamma: float = 0.1) -> float:
    """×gamma every ``step_size`` epochs (torch StepLR)."""
    return gamma ** (epoch // step_size)


@SCHEDULERS.register("exponential")
def exponential(epoch: int, epochs: int, gamma: float = 0.97) -> float:
    """×gamma every epoch (torch ExponentialLR)."""
    return gamma**epoch


@SCHEDULERS.register("cosine")
def cosine(epoch: int, epochs: int, min_factor: float = 0.0) -> float:
    """Half a cosine from 1 down to ``min_factor`` over the run (torch CosineAnnealingLR)."""
    return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * epoch / max(epochs, 1)))


@SCHEDULERS.register("poly")
def poly(epoch: int, epochs: int, power: float = 0.9, min_factor: float = 0.0) -> float:
    """(1 − epoch/epochs)^power, nnU-Net's schedule, floored at ``min_factor``."""
    return max(min_factor, (1 - epoch / max(epochs, 1)) ** power)


def lr_factor(cfg, epoch: int, epochs: int) -> float:
    """The learning-rate multiplier of ``epoch`` (0-based) under ``cfg`` (a ``SchedCfg``)."""
    kwargs = SCHEDULERS.settings(cfg.name, cfg.model_dump(), exclude=("epoch", "epochs"))
    return SCHEDULERS.get(cfg.name)(epoch, epochs, **kwargs)
