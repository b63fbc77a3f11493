"""The voxel spacing a 3D dataset is resampled to, and the shapes that gives.

The target (``target_spacing``): per axis, the median of the dataset's spacings. Where
that median is anisotropic (largest / smallest > 3: thick slices), the thick axis takes
the 10th percentile of its spacings instead, so the few thin-slice cases are not
averaged away (nnU-Net's rule). Spacing carries no label information, so the target
comes from all cases of the dataset without leaking test labels. Read from the stores
by ``preprocess.prepare`` and from NIfTI headers by ``data.inspect.check_volumes``.
"""

from __future__ import annotations

import numpy as np

ANISOTROPY = 3.0  # largest / smallest spacing above which an axis is "thick" (nnU-Net)


def target_spacing(spacings: np.ndarray, setting) -> tuple[float, ...] | None:
    """The spacing a dataset is resampled to.

    Args:
        spacings: (N, 3) the cases' spacings, (D, H, W) order, in mm.
        setting: ``"median"`` (nnU-Net's rule above), an explicit ``[d, h, w]``, or
            None (no resampling).
    """
    if setting is None:
        return None
    if not isinstance(setting, str):
        return tuple(float(s) for s in setting)
    spacings = np.asarray(spacings, dtype=np.float64)
    target = np.median(spacings, axis=0)
    if target.max() / target.min() > ANISOTROPY:
        axis = int(np.argmax(target))
        target[axis] = np.percentile(spacings[:, axis], 10)
    return tuple(float(s) for s in target)


def resampled_shape(shape: tuple[int, ...], spacing: tuple[float, ...], target: tuple[float, ...]) -> tuple[int, ...]:
    """(D, H, W) of a volume of ``shape`` at ``spacing`` once resampled to ``target``."""
    return tuple(max(1, int(round(n * s / t))) for n, s, t in zip(shape, spacing, target))
