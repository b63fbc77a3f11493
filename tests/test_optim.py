"""Optimizers by name and the schedules against torch's own schedulers."""

from __future__ import annotations

import pytest
import torch

from segsweep.config import optim_cfg, sched_cfg
from segsweep.optim import build_optimizer, lr_factor


def _torch_factors(make, epochs: int) -> list[float]:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = make(opt)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize(
    ("cfg", "make"),
    [
        (sched_cfg(name="step", step_size=3, gamma=0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
        (sched_cfg(name="exponential", gamma=0.97), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.97)),
        (sched_cfg(name="cosine"), lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10)),
        (sched_cfg(name="poly", power=0.9), lambda o: torch.optim.lr_scheduler.PolynomialLR(o, 10, 0.9)),
        (sched_cfg(name="none"), lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1.0)),
    ],
)
def test_schedules_match_torch(cfg, make):
    ours = [lr_factor(cfg, e, 10) for e in range(10)]
    assert ours == pytest.approx(_torch_factors(make, 10), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(
    ("cfg", "cls", "check"),
    [
        (
            optim_cfg(name="sgd", lr=0.1, momentum=0.95, nesterov=True, weight_decay=1e-4),
            torch.optim.SGD,
            {"momentum": 0.95, "nesterov": True, "weight_decay": 1e-4},
        ),
        (optim_cfg(name="adam", lr=2e-3), torch.optim.Adam, {"lr": 2e-3, "betas": (0.9, 0.999)}),
        (optim_cfg(name="adamw", weight_decay=0.01), torch.optim.AdamW, {"weight_decay": 0.01}),
        (optim_cfg(name="rmsprop"), torch.optim.RMSprop, {"momentum": 0.0, "alpha": 0.99}),
        (optim_cfg(name="rmsprop", momentum=0.5), torch.optim.RMSprop, {"momentum": 0.5}),
    ],
)
def test_optimizers(cfg, cls, check):
    opt = build_optimizer(cfg, [torch.nn.Parameter(torch.zeros(2))])
    assert type(opt) is cls
    for key, value in check.items():
        assert opt.param_groups[0][key] == value


def test_each_schedule_has_one_default_its_own():
    """``exponential`` declared gamma 0.97 while the shared section's 0.1 always won:
    the lr factor ran 1, 0.1, 0.01 per epoch."""
    from segsweep.config import Train

    cfg = Train.model_validate({"scheduler": {"name": "exponential"}}).scheduler
    assert [lr_factor(cfg, e, 10) for e in range(3)] == pytest.approx([1.0, 0.97, 0.97**2])
    assert lr_factor(sched_cfg(name="step", step_size=1), 2, 10) == pytest.approx(0.01)  # step's own 0.1
