"""The state of one cell's training that a restarted job resumes from: epochs done,
curves, steps, the selection's running weights, timings; saved with the model,
optimizer, scaler, RNG and norms after every epoch (``.work/resume.pt``, through
``segsweep.checkpoint``).

A resume file is used only by the job that wrote it: same training settings, same
code and the same bytes of every input (patches, split, prepared cases), recorded as
a ``resume_key``. Anything else (a new ``preprocess`` setting, a changed split, edited
code) starts over with a log line naming what changed; a file that cannot be read is
moved aside, named in one line, and training starts over.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from segsweep import checkpoint

log = logging.getLogger("segsweep")


def resume_key(settings: str, inputs: dict[str, str | Path], code: str) -> dict:
    """What a resume file must have been written with: the training ``settings`` (JSON),
    the md5 of each input file or folder (``fingerprint.Digests.path``), the code
    digest of the train verb and the numeric libraries' versions."""
    from segsweep.fingerprint import Digests, library_versions

    digests = Digests()
    return {
        "params": {"train": settings},
        "inputs": {name: digests.path(path) for name, path in sorted(inputs.items())},
        "code": code,
        "libraries": library_versions(),  # a resumed run must continue under the same numerics
    }


def _load(path: Path) -> dict | None:
    """The resume checkpoint, or None (moved aside to ``*.unreadable``, one log line)
    when its bytes cannot be read back (a killed write on a full disk, a copy cut short)."""
    try:
        return checkpoint.load(path)
    except Exception as err:  # torch raises RuntimeError, EOFError, UnpicklingError... for bad bytes
        aside = path.with_name(path.name + ".unreadable")
        os.replace(path, aside)
        why = type(err).__name__
        log.warning("%s: unreadable resume file (%s); moved to %s, training starts over", path, why, aside)
        return None


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

    def save(self, path: Path, fingerprint: dict, model, optimizer, scaler, norms) -> None:
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
    def restore(cls, path: Path, key: dict, model, optimizer, scaler, norms) -> TrainState | None:
        """The saved state, loaded into the given objects; None when there is none,
        when it cannot be read, or when it was written for another ``resume_key``."""
        from segsweep.fingerprint import differences

        if not path.exists():
            return None
        ckpt = _load(path)
        if ckpt is None:
            return None
        recorded = ckpt.get("fingerprint")
        if recorded != key:
            why = differences(recorded if isinstance(recorded, dict) else None, key)
            log.info("%s: not resuming (%s): training starts over", path, why)
            return None
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scaler.load_state_dict(ckpt["scaler"])
        torch.set_rng_state(ckpt["rng"])
        if norms is not None:
            norms.load(ckpt["norms"])
        return cls(**ckpt["state"])
