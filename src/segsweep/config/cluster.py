"""What each job asks a cluster scheduler for (README, "On a SLURM cluster").

Only the resources are sized here; which cluster, partition and GPU are the site's
(environment variables and the SLURM profile). A local run uses none of these values:
Snakemake schedules local jobs by ``threads`` (and ``--resources``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from segsweep.config.base import Section


class Cluster(Section):
    """Runtime and memory requests of the jobs (``segsweep.cluster`` computes them)."""

    # Seconds per optimizer step of a training cell. None: estimated from the patch
    # voxels, batch and U-Net width at one CPU core's rate (generous on a GPU). Measured:
    # copy ``seconds_per_step`` from the metrics.json of a one-epoch pilot of the cell.
    seconds_per_step: PositiveFloat | None = None
    runtime_margin: Annotated[float, Field(ge=1.0, le=100.0)] = 2.0  # × the estimate
    min_runtime: PositiveInt = 10  # minutes, every job
    # minutes; a cell that runs out of time is retried and resumes from its last epoch
    # checkpoint, so a cap at the cluster's time limit loses at most one epoch per retry
    max_runtime: PositiveInt = 2880
    memory_margin: Annotated[float, Field(ge=1.0, le=100.0)] = 1.5  # × the estimate
    min_memory: PositiveInt = 1000  # MB, every job

    @model_validator(mode="after")
    def _order(self) -> Cluster:
        if self.max_runtime < self.min_runtime:
            raise ValueError(f"max_runtime = {self.max_runtime}: must be at least min_runtime = {self.min_runtime}")
        return self
