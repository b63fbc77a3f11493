"""The component registries, importable without torch (builders import it lazily).

Importing this module registers every family: losses, optimizers, schedulers, models.
"""

from segsweep.losses import LOSSES
from segsweep.models import MODELS
from segsweep.optim import OPTIMIZERS, SCHEDULERS

__all__ = ["LOSSES", "MODELS", "OPTIMIZERS", "SCHEDULERS"]
