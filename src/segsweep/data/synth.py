"""Deterministic synthetic datasets: the embedded default data (no download).

2D, ``style: lesion`` (the default): RGB "skin lesion" photographs: a textured skin-coloured background, an irregular
blob-shaped darker lesion whose area is drawn log-uniformly from ``fg_range`` (so the
foreground fraction spans under 1 % to about 40 %), a few hair-like strokes and
Gaussian noise; masks are 0/255 PNG. A fraction of cases (``empty_fraction``) has no
lesion at all: background-only images are what the gradient studies need.
``style: microscopy``: grayscale fluorescence tiles: bright textured elliptic nuclei
(their total area drawn like the lesion's) on a dark background with uneven
illumination, blur and shot noise, at a random gain per tile; stored as 8- or 16-bit
(12-bit camera range) gray PNG.

3D: CT-like volumes in Hounsfield units: air around an elliptic body (soft tissue
≈ 40 HU with fat ≈ -100 HU), a spine-like bone cylinder (≈ 700 HU) and an organ-like
foreground (a lobed ellipsoid ≈ 90 HU); written as int16 NIfTI with the configured
spacing. Label 1 is the organ.

Every case draws from its own generator seeded by (dataset seed, case index), so the
same seed gives byte-identical files whatever else changes.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from PIL import Image
from scipy import ndimage

from segsweep.config import Synth2D, Synth3D
from segsweep.data.cases import MANIFEST, fg_stats
from segsweep.io import atomic_path


def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Zero-mean, unit-std low-frequency noise (Gaussian-filtered white noise)."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return (field - field.mean()) / (field.std() + 1e-12)


def _blob_mask(rng: np.random.Generator, size: int, area: float) -> np.ndarray:
    """An irregular star-convex blob of about ``area`` pixels: r(θ) = r0·(1 + Σ a_k cos(kθ + φ_k))."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    r0 = np.sqrt(area / np.pi)
    margin = min(r0 * 1.3, size / 2 - 1)
    cy, cx = rng.uniform(margin, size - margin, 2) if margin < size / 2 - 1 else (size / 2, size / 2)
    theta = np.arctan2(yy - cy, xx - cx)
    k = np.arange(2, 7)
    amp = rng.uniform(0.02, 0.16, k.size) / np.sqrt(k / 2)
    phase = rng.uniform(0, 2 * np.pi, k.size)
    radius = r0 * (1 + (amp[:, None, None] * np.cos(k[:, None, None] * theta + phase[:, None, None])).sum(0))
    return np.hypot(yy - cy, xx - cx) <= radius


def lesion_image(cfg: Synth2D, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Case ``index`` of a synthetic 2D dataset.

    Returns:
        ``(image, mask)``: image (H, W, 3) uint8 RGB, mask (H, W) uint8 in {0, 1}.
    """
    rng = _rng(cfg.seed, index)
    n = cfg.size
    empty = rng.random() < cfg.empty_fraction
    lo, hi = cfg.fg_range
    area = np.exp(rng.uniform(np.log(lo), np.log(hi))) * n * n
    mask = np.zeros((n, n), bool) if empty else _blob_mask(rng, n, area)

    skin = np.array([0.86, 0.68, 0.58]) + rng.uniform(-0.08, 0.08, 3)
    tex = 0.05 * _smooth_noise(rng, (n, n), n / 24) + 0.02 * _smooth_noise(rng, (n, n), 1.5)
    img = skin[None, None, :] * (1 + tex[..., None])
    # Vignetting, as in dermoscopy photographs.
    yy, xx = np.mgrid[-1 : 1 : n * 1j, -1 : 1 : n * 1j]
    img *= (1 - 0.18 * (xx**2 + yy**2))[..., None]
    if mask.any():
        lesion = np.array([0.45, 0.28, 0.2]) * rng.uniform(0.55, 1.15) + rng.uniform(-0.03, 0.03, 3)
        # Soft lesion edge and mottled pigment; the mask is the hard boundary.
        soft = ndimage.gaussian_filter(mask.astype(float), 1.0)
        mottle = 1 + 0.15 * _smooth_noise(rng, (n, n), n / 40)
        img = img * (1 - soft[..., None]) + (lesion[None, None, :] * mottle[..., None]) * soft[..., None]
    for _ in range(rng.integers(0, 4)):  # hair-like dark strokes
        p0, p1 = rng.uniform(0, n, (2, 2))
        t = np.linspace(0, 1, 4 * n)
        pts = np.round(p0[None] + t[:, None] * (p1 - p0)[None]).astype(int).clip(0, n - 1)
        img[pts[:, 0], pts[:, 1]] *= 0.35
    img += cfg.noise * rng.standard_normal(img.shape)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8), mask.astype(np.uint8)


def microscopy_image(cfg: Synth2D, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Case ``index`` of a synthetic fluorescence-microscopy dataset.

    Returns:
        ``(image, mask)``: image (H, W) uint8 or uint16 gray (``cfg.bit_depth``), mask
        (H, W) uint8 in {0, 1} (the nuclei).
    """
    rng = _rng(cfg.seed, index)
    n = cfg.size
    empty = rng.random() < cfg.empty_fraction
    lo, hi = cfg.fg_range
    target = 0.0 if empty else np.exp(rng.uniform(np.log(lo), np.log(hi))) * n * n
    mask = np.zeros((n, n), bool)
    yy, xx = np.mgrid[0:n, 0:n]
    while mask.sum() < target:
        r = rng.uniform(0.02, 0.06) * n
        cy, cx = rng.uniform(0, n, 2)
        a, b, t = r * rng.uniform(0.8, 1.25), r * rng.uniform(0.6, 1.0), rng.uniform(0, np.pi)
        u, v = (yy - cy) * np.cos(t) + (xx - cx) * np.sin(t), -(yy - cy) * np.sin(t) + (xx - cx) * np.cos(t)
        mask |= (u / a) ** 2 + (v / b) ** 2 <= 1
    light = 1 + 0.3 * _smooth_noise(rng, (n, n), n / 4)  # uneven illumination
    img = 0.06 + 0.02 * _smooth_noise(rng, (n, n), n / 16)
    if mask.any():
        nuclei = ndimage.gaussian_filter(mask.astype(float), 0.8) * rng.uniform(0.4, 0.8)
        img = img + nuclei * (1 + 0.25 * _smooth_noise(rng, (n, n), 2.0))
    img = ndimage.gaussian_filter(img * light, 0.7)
    photons = rng.uniform(200, 2000)  # shot noise: fewer photons, noisier tile
    img = rng.poisson(np.clip(img, 0, None) * photons) / photons + cfg.noise * rng.standard_normal(img.shape)
    top = 255 if cfg.bit_depth == 8 else 4095
    gain = rng.uniform(0.5, 1.0) * top  # the camera's scale differs per tile
    dtype = np.uint8 if cfg.bit_depth == 8 else np.uint16
    return np.clip(img * gain, 0, top).round().astype(dtype), mask.astype(np.uint8)


def organ_volume(cfg: Synth3D, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Case ``index`` of a synthetic 3D dataset.

    Returns:
        ``(volume, label)``: volume (D, H, W) int16 in HU (``ct``) or float32 in an
        arbitrary scale (``mri``), label (D, H, W) uint8 in {0, 1}.
    """
    if cfg.modality == "mri" or cfg.target == "lesion":
        return _volume_v2(cfg, index)
    rng = _rng(cfg.seed, index)
    d, h, w = cfg.shape
    zz, yy, xx = np.meshgrid(*(np.linspace(-1, 1, s) for s in (d, h, w)), indexing="ij")
    body = (yy / 0.8) ** 2 + (xx / 0.9) ** 2 <= 1
    vol = np.full((d, h, w), -1000.0)
    vol[body] = 40.0
    fat = body & ((yy / 0.8) ** 2 + (xx / 0.9) ** 2 > 0.8)
    vol[fat] = -100.0
    vol += 15 * _smooth_noise(rng, (d, h, w), 3.0) * body
    spine = ((yy - 0.55) / 0.12) ** 2 + (xx / 0.12) ** 2 <= 1
    vol[spine & body] = 700.0

    label = np.zeros((d, h, w), bool)
    if rng.random() >= cfg.empty_fraction:
        c = rng.uniform([-0.3, -0.35, -0.4], [0.3, 0.05, 0.2])
        r = rng.uniform([0.25, 0.18, 0.2], [0.6, 0.35, 0.4])
        # Lobes: an ellipsoid whose radius is modulated by smooth noise.
        wobble = 1 + 0.25 * _smooth_noise(rng, (d, h, w), 4.0)
        rho = ((zz - c[0]) / r[0]) ** 2 + ((yy - c[1]) / r[1]) ** 2 + ((xx - c[2]) / r[2]) ** 2
        label = (rho <= wobble) & body & ~spine
        vol[label] = 90.0 + 10 * _smooth_noise(rng, (d, h, w), 2.0)[label]
    vol += cfg.noise_hu * rng.standard_normal(vol.shape)
    return np.clip(vol, -1024, 3071).round().astype(np.int16), label.astype(np.uint8)


def _volume_v2(cfg: Synth3D, index: int) -> tuple[np.ndarray, np.ndarray]:
    """MRI-like volumes and tiny lesions (the CT organ path above keeps its exact draws)."""
    rng = _rng(cfg.seed, 10_000 + index)
    d, h, w = cfg.shape
    zz, yy, xx = np.meshgrid(*(np.linspace(-1, 1, s) for s in (d, h, w)), indexing="ij")
    body = (yy / 0.8) ** 2 + (xx / 0.9) ** 2 <= 1
    label = np.zeros((d, h, w), bool)
    if rng.random() >= cfg.empty_fraction:
        if cfg.target == "lesion":  # one sphere of ~1.5 voxels radius, inside the body
            centre = np.array(
                [rng.integers(2, d - 2), rng.integers(h // 3, 2 * h // 3), rng.integers(w // 3, 2 * w // 3)]
            )
            grid = np.stack(np.meshgrid(*(np.arange(s) for s in (d, h, w)), indexing="ij"), -1)
            label = ((grid - centre) ** 2).sum(-1) <= 2.25
        else:
            c, r = rng.uniform([-0.3, -0.35, -0.4], [0.3, 0.05, 0.2]), rng.uniform([0.25, 0.18, 0.2], [0.6, 0.35, 0.4])
            label = (((zz - c[0]) / r[0]) ** 2 + ((yy - c[1]) / r[1]) ** 2 + ((xx - c[2]) / r[2]) ** 2 <= 1) & body
    if cfg.modality == "ct":
        vol = np.where(body, 40.0, -1000.0) + 15 * _smooth_noise(rng, (d, h, w), 3.0) * body
        vol[label] = 90.0
        vol += cfg.noise_hu * rng.standard_normal(vol.shape)
        return np.clip(vol, -1024, 3071).round().astype(np.int16), label.astype(np.uint8)
    gain = rng.uniform(200.0, 2000.0)  # no absolute scale: each case its own
    bias = np.exp(0.3 * _smooth_noise(rng, (d, h, w), 12.0))  # smooth multiplicative field
    vol = np.where(body, 1.0, 0.02) + 0.1 * _smooth_noise(rng, (d, h, w), 3.0) * body
    vol[label] = 1.6  # hyperintense
    vol = gain * bias * vol + gain * 0.03 * np.abs(rng.standard_normal(vol.shape))  # Rician-like floor
    return vol.astype(np.float32), label.astype(np.uint8)


def write_synth(cfg: Synth2D | Synth3D, out: Path, name: str) -> pd.DataFrame:
    """Write a synthetic dataset to ``out`` (atomically) and return its manifest.

    Layout: 2D ``images/<case>.png`` + ``masks/<case>.png``; 3D ``imagesTr/<case>.nii.gz``
    + ``labelsTr/<case>.nii.gz``; ``manifest.csv`` with shape and foreground fraction.
    """
    rows = []
    with atomic_path(out) as tmp:
        for i in range(cfg.n_cases):
            case = f"{name}_{i:04d}"
            if cfg.kind == "synth2d":
                img, mask = (microscopy_image if cfg.style == "microscopy" else lesion_image)(cfg, i)
                for sub, arr in (("images", img), ("masks", mask * 255)):
                    (tmp / sub).mkdir(parents=True, exist_ok=True)
                    Image.fromarray(arr).save(tmp / sub / f"{case}.png", optimize=False)
            else:
                img, mask = organ_volume(cfg, i)
                # NIfTI axes are (x, y, z); our arrays are (D, H, W) = (z, y, x).
                affine = np.diag([cfg.spacing[2], cfg.spacing[1], cfg.spacing[0], 1.0])
                for sub, arr in (("imagesTr", img), ("labelsTr", mask)):
                    (tmp / sub).mkdir(parents=True, exist_ok=True)
                    nib.save(nib.Nifti1Image(arr.transpose(2, 1, 0), affine), tmp / sub / f"{case}.nii.gz")
            rows.append({"case": case, "shape": "x".join(map(str, mask.shape)), **fg_stats(mask)})
        manifest = pd.DataFrame(rows)
        manifest.to_csv(tmp / MANIFEST, index=False)
    return manifest
