"""3D cases resampled to one voxel spacing, as nnU-Net's "plan and preprocess" does
(the target spacing: ``segsweep.data.spacing``).

A case whose own spacing is anisotropic is resampled in-plane with cubic splines and
along its thick axis with nearest neighbours, so neighbouring slices are not blurred
into one another; an isotropic-enough case with cubic splines on every axis. Masks:
linear interpolation thresholded at 0.5 (nearest along a thick axis). Evaluation then
scores the resampled voxels (Dice in the target spacing, not the original one).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from segsweep.data.spacing import ANISOTROPY, resampled_shape


def resample_case(
    image: np.ndarray, mask: np.ndarray, spacing: tuple[float, ...], target: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """One case at ``target`` spacing.

    Args:
        image: (D, H, W) float32 volume (already normalised).
        mask: (D, H, W) uint8 in {0, 1}.
        spacing, target: (D, H, W) spacings in mm.

    Returns:
        ``(image, mask)``: float32 and uint8 {0, 1} arrays of ``resampled_shape``;
        the inputs themselves when the spacings agree to 0.1 %.
    """
    if np.allclose(spacing, target, rtol=1e-3, atol=0.0):
        return image, mask
    shape = resampled_shape(image.shape, spacing, target)
    image = _resample(image, shape, spacing, order=3)
    soft = _resample(mask.astype(np.float32), shape, spacing, order=1)
    return image.astype(np.float32), (soft >= 0.5).astype(np.uint8)


def resample_logits(logits: np.ndarray, shape: tuple[int, ...], spacing: tuple[float, ...]) -> np.ndarray:
    """Logits back on a case's original grid, as nnU-Net v2 exports predictions.

    Args:
        logits: (C, D, H, W) float32 on the resampled grid.
        shape: the original (D, H, W).
        spacing: the original spacing; where it is anisotropic, linear in-plane and
            nearest along the thick axis (as the case was resampled), else linear.

    Returns:
        (C, *shape) float32.
    """
    result = np.stack([_resample(channel, shape, spacing, order=1) for channel in logits]).astype(np.float32)
    assert result.shape[1:] == tuple(shape), (result.shape, shape)
    return result


def _resample(arr: np.ndarray, shape: tuple[int, ...], spacing: tuple[float, ...], order: int) -> np.ndarray:
    """(D, H, W) ``arr`` to ``shape``: spline of ``order`` on every axis, or, where
    ``spacing`` (the grid with the thick slices) is anisotropic, in-plane first and then
    nearest neighbour along the thick axis."""
    factors = [n / s for n, s in zip(shape, arr.shape)]
    if max(spacing) / min(spacing) <= ANISOTROPY:
        return _zoom(arr, factors, order)
    thick = int(np.argmax(spacing))
    plane = [1.0 if a == thick else f for a, f in enumerate(factors)]
    along = [factors[thick] if a == thick else 1.0 for a in range(3)]
    return _zoom(_zoom(arr, plane, order), along, 0)


def _zoom(arr: np.ndarray, factors: list[float], order: int) -> np.ndarray:
    # grid_mode: voxel edges stay aligned, so the volume covers the same extent in mm
    # (scipy's default aligns the first and last voxel centres instead)
    return ndimage.zoom(arr, factors, order=order, mode="nearest", grid_mode=True)
