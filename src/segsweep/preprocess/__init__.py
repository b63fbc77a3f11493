"""Preprocessing stages: prepare (CLAHE, resize/pad, intensity window), augment
(seeded rotations and crops), patches (noise levels, sliding-window and
foreground-centred patch extraction)."""
