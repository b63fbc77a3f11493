"""What each job asks a cluster scheduler for (docs/clusters.md).

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

    seconds_per_step: PositiveFloat | None = Field(
        None,
        description="Seconds per optimizer step of a training cell. null: estimated from the patch voxels, batch "
        "and U-Net width at one CPU core's rate (generous on a GPU). Measured: copy the s/step that ends the "
        "training log of a pilot run of the cell.",
    )
    runtime_margin: Annotated[float, Field(ge=1.0, le=100.0)] = Field(2.0, description="× the runtime estimate.")
    min_runtime: PositiveInt = Field(10, description="Minutes, every job.")
    max_runtime: PositiveInt = Field(
        2880,
        description="Minutes; a cell that runs out of time is retried and resumes from its last epoch checkpoint, "
        "so a cap at the cluster's time limit loses at most one epoch per retry.",
    )
    memory_margin: Annotated[float, Field(ge=1.0, le=100.0)] = Field(1.5, description="× the memory estimate.")
    min_memory: PositiveInt = Field(1000, description="MB, every job.")

    @model_validator(mode="after")
    def _order(self) -> Cluster:
        if self.max_runtime < self.min_runtime:
            raise ValueError(f"max_runtime = {self.max_runtime}: must be at least min_runtime = {self.min_runtime}")
        return self
