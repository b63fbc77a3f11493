"""segsweep: reproducible segmentation ablation studies (Snakemake + DVC + PyTorch)."""

__version__ = "0.1.0"
