"""The base of every params model, and the value types the sections share."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from segsweep.errors import did_you_mean

Size2D = tuple[PositiveInt, PositiveInt]
Size3D = tuple[PositiveInt, PositiveInt, PositiveInt]
Fraction = Annotated[float, Field(gt=0.0, lt=1.0)]
TrainFraction = Annotated[float, Field(gt=0.0, le=1.0)]  # share of the training pool; 1: all of it
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class Section(BaseModel):
    """Base of every params model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Fields used only for 2D or only for 3D data (besides the *_2d / *_3d ones).
    ONLY_2D: ClassVar[tuple[str, ...]] = ()
    ONLY_3D: ClassVar[tuple[str, ...]] = ()

    def for_ndim(self, ndim: int) -> dict:
        """The fields that matter for ``ndim``-D data, as JSON-ready values: what a rule
        passes as ``params:`` so that a 3D-only change never reruns 2D jobs."""
        other = 3 if ndim == 2 else 2
        drop = {f for f in type(self).model_fields if f.endswith(f"_{other}d")}
        drop |= set(self.ONLY_3D if ndim == 2 else self.ONLY_2D)
        return self.model_dump(mode="json", exclude=drop)

    @model_validator(mode="before")
    @classmethod
    def _unknown_keys(cls, data: object) -> object:
        # pydantic's own extra_forbidden message cannot suggest the intended key.
        if isinstance(data, dict):
            fields = cls.model_fields  # once: the property is slow, and a grid validates 10,000 cells
            for key in data:
                if key not in fields:
                    raise ValueError(f"unknown key '{key}'{did_you_mean(key, fields)}; allowed: {', '.join(fields)}")
        return data
