"""Per-step, per-layer gradient and update (Δw) 2-norms with fused foreach kernels.

Under momentum or Adam the update is not −lr·grad, so both are logged. Each step costs
one ``torch._foreach_norm`` over the gradients, one copy of the parameters before the
step (``torch._foreach_mul``), one fused subtraction and norm after it, and a scatter
of per-tensor squares into per-layer sums, with no Python loop over tensors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch


def layer_index(names: list[str]) -> tuple[list[str], torch.Tensor]:
    """Group parameter names by owning module (``down.0.0.weight`` -> ``down.0.0``).

    Returns:
        ``(layers, index)``: layer names in first-seen order, and for each parameter the
        position of its layer (for ``index_add_`` of per-tensor squared norms).
    """
    layers: list[str] = []
    index = []
    for name in names:
        layer = name.rsplit(".", 1)[0]
        if layer not in layers:
            layers.append(layer)
        index.append(layers.index(layer))
    return layers, torch.tensor(index)


class NormLogger:
    """Collects norms for the parameters of ``model`` grouped by owning module.

    Use: ``before_step()`` after ``backward()`` (and after unscaling under AMP), then
    ``after_step()`` after ``optimizer.step()``.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.params = [p for _, p in named]
        self.layers, index = layer_index([n for n, _ in named])
        self.index = index.to(self.params[0].device)
        self.rows: list[torch.Tensor] = []  # per step: [grad per layer..., update per layer...]
        self._before: list[torch.Tensor] | None = None
        self._grad: torch.Tensor | None = None

    def _per_layer(self, norms: list[torch.Tensor]) -> torch.Tensor:
        sq = torch.stack(norms).float() ** 2
        return torch.zeros(len(self.layers), device=sq.device).index_add_(0, self.index, sq).sqrt()

    @torch.no_grad()
    def before_step(self) -> None:
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        self._grad = self._per_layer(torch._foreach_norm(grads))
        self._before = torch._foreach_mul(self.params, 1.0)

    @torch.no_grad()
    def after_step(self) -> None:
        delta = torch._foreach_sub(self.params, self._before)
        self.rows.append(torch.cat([self._grad, self._per_layer(torch._foreach_norm(delta))]))
        self._before = None

    def table(self, meta: pd.DataFrame) -> pd.DataFrame:
        """One row per logged step: ``meta`` columns (step, epoch, loss, lr), total norms,
        then ``grad/<layer>`` and ``update/<layer>``."""
        if not self.rows:
            return meta.assign(grad_total=[], update_total=[])
        arr = torch.stack(self.rows).cpu().numpy().astype(np.float64)
        n = len(self.layers)
        grad, upd = arr[:, :n], arr[:, n:]
        cols = {"grad_total": np.sqrt((grad**2).sum(1)), "update_total": np.sqrt((upd**2).sum(1))}
        cols |= {f"grad/{name}": grad[:, i] for i, name in enumerate(self.layers)}
        cols |= {f"update/{name}": upd[:, i] for i, name in enumerate(self.layers)}
        return pd.concat([meta.reset_index(drop=True), pd.DataFrame(cols)], axis=1)

    def state(self) -> list[torch.Tensor]:
        return [r.cpu() for r in self.rows]

    def load(self, rows: list[torch.Tensor]) -> None:
        self.rows = [r.to(self.index.device) for r in rows]
