"""The state of one cell's training that a restarted job resumes from: epochs done,
curves, steps, the selection's running weights, timings; saved with the model,
optimizer, scaler, RNG and norms after every epoch (``.work/resume.pt``, through
``segsweep.checkpoint``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from segsweep import checkpoint


@dataclass
class TrainState:
    """Everything besides model, optimizer and scaler that a resumed job needs."""

    epoch: int = 0  # completed epochs
    history: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    best_val: dict = field(default_factory=lambda: {"epoch": -1, "dice": -1.0})
    best_state: dict | None = None  # weights of the best validation epoch (best_val)
    averaged: dict | None = None  # running sum of the last epochs' weights (last_k)
    n_averaged: int = 0
    train_seconds: float = 0.0
    seen: int = 0
    diverged_at: dict | None = None

    def save(self, path: Path, fingerprint: str, model, optimizer, scaler, norms) -> None:
        ckpt = {
            "fingerprint": fingerprint,
            "state": asdict(self),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "rng": torch.get_rng_state(),
            "norms": norms.state() if norms else [],
        }
        checkpoint.save(path, ckpt)

    @classmethod
    def restore(cls, path: Path, fingerprint: str, model, optimizer, scaler, norms) -> TrainState | None:
        """The saved state, loaded into the given objects; None when there is none or
        it was written with other settings."""
        if not path.exists():
            return None
        ckpt = checkpoint.load(path)
        if ckpt["fingerprint"] != fingerprint:
            return None
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scaler.load_state_dict(ckpt["scaler"])
        torch.set_rng_state(ckpt["rng"])
        if norms is not None:
            norms.load(ckpt["norms"])
        return cls(**ckpt["state"])
