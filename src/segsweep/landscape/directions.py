"""Random directions in parameter space, normalised as in Li et al. (2018).

A direction is a dict name -> tensor shaped like the model's parameters. Filter
normalisation rescales each filter (slice along dim 0 of a conv weight) of the
direction to the norm of the matching filter of the weights, so that scale-invariant
networks (batch norm) are compared at comparable step sizes. Directions of 1-D
parameters (biases, batch-norm weight and bias) are zeroed with ``ignore_bias_bn``,
otherwise rescaled to the parameter's norm (as the ``loss-landscapes`` package does).
"""

from __future__ import annotations

import torch


def random_direction(
    params: dict[str, torch.Tensor], seed: int, normalization: str = "filter", ignore_bias_bn: bool = True
) -> dict[str, torch.Tensor]:
    """A Gaussian direction like ``params``, normalised (``filter``, ``layer`` or ``none``)."""
    if normalization not in ("filter", "layer", "none"):
        raise ValueError(f"normalization must be filter, layer or none, got {normalization!r}")
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, p in params.items():
        d = torch.randn(p.shape, generator=g, dtype=p.dtype)
        if p.ndim <= 1:
            if ignore_bias_bn:
                d = torch.zeros_like(d)
            elif normalization != "none":
                d = d * (p.norm() / d.norm().clamp_min(1e-12))
        elif normalization == "filter":
            pn = p.flatten(1).norm(dim=1)
            dn = d.flatten(1).norm(dim=1).clamp_min(1e-12)
            d = d * (pn / dn).view(-1, *([1] * (p.ndim - 1)))
        elif normalization == "layer":
            d = d * (p.norm() / d.norm().clamp_min(1e-12))
        out[name] = d
    return out
