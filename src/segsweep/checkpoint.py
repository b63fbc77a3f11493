"""The checkpoint files of a trained cell, in one place: what each holds, how it is
written (atomically: a temporary name, then a rename) and how it is read.

Files in ``results/cells/<cell>/``, each a ``torch.save`` of a dict:

- ``snapshots/epoch_NNN.pt``: ``{"epoch", "model"}``, the weights after NNN completed
  epochs (0: the initialisation), for the probes and the landscape's interpolation;
- ``checkpoint_selected.pt``: the weights the test set scored (``train.evaluation``
  selection) with the run's metadata, ``"epoch"``, ``"selection"``, ``"from_epochs"``;
- ``checkpoint_last.pt``: the final weights and optimizer state, for fine-tuning;
- ``.work/resume.pt`` while the job runs (``train.state.TrainState``).

Every file is read with ``weights_only=True`` (torch's restricted unpickler: tensors,
numbers, strings, lists and dicts), so a checkpoint from elsewhere cannot run code
(tests/test_checkpoint.py loads every kind a training job writes).
"""

from __future__ import annotations

from pathlib import Path

import torch

from segsweep.io import atomic_path

SELECTED = "checkpoint_selected.pt"
LAST = "checkpoint_last.pt"
SNAPSHOTS = "snapshots"


def save(path: str | Path, payload: dict) -> None:
    """Write ``payload`` (tensors, numbers, strings, lists and dicts: what ``load``
    reads back) to ``path`` atomically."""
    with atomic_path(Path(path)) as tmp:
        torch.save(payload, tmp)


def load(path: str | Path) -> dict:
    """A checkpoint's dict, tensors on the CPU."""
    return torch.load(path, map_location="cpu", weights_only=True)


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The model ``state_dict`` a checkpoint holds."""
    return load(path)["model"]


def snapshot_path(folder: str | Path, epoch: int) -> Path:
    """Where the snapshot after ``epoch`` completed epochs lives in ``folder``."""
    return Path(folder) / f"epoch_{epoch:03d}.pt"


def save_snapshot(folder: str | Path, epoch: int, model: torch.nn.Module) -> None:
    """Save ``model``'s weights as the snapshot after ``epoch`` completed epochs."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    save(snapshot_path(folder, epoch), {"epoch": epoch, "model": model.state_dict()})


def list_snapshots(folder: str | Path) -> list[Path]:
    """The snapshots in ``folder``, by epoch."""
    return sorted(Path(folder).glob("epoch_*.pt"))
