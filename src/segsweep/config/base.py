"""The base of every params model, and the value types the sections share."""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from segsweep.errors import did_you_mean

Size2D = tuple[PositiveInt, PositiveInt]
Size3D = tuple[PositiveInt, PositiveInt, PositiveInt]
Fraction = Annotated[float, Field(gt=0.0, lt=1.0)]
TrainFraction = Annotated[float, Field(gt=0.0, le=1.0)]  # share of the training pool; 1: all of it
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def admits_bool(annotation: object) -> bool:
    """Whether a field of this type takes true/false (``bool``, ``Any``, or a union or
    literal holding one): elsewhere pydantic would read true as 1."""
    if annotation is bool or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return admits_bool(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(admits_bool(a) for a in typing.get_args(annotation))
    if origin is Literal:
        return any(isinstance(a, bool) for a in typing.get_args(annotation))
    return False


class Section(BaseModel):
    """Base of every params model: unknown keys are errors, and so are true/false where
    a number or text is expected and non-finite floats (inf, nan)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
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
            for key, value in data.items():
                if key not in fields:
                    # a component (loss, optimizer...) says whose settings these are
                    name = data.get("name") if "name" in fields else None
                    owner = f" (not a setting of {name})" if isinstance(name, str) else ""
                    raise ValueError(
                        f"unknown key '{key}'{owner}{did_you_mean(key, fields)}; allowed: {', '.join(fields)}"
                    )
                if isinstance(value, bool) and not admits_bool(fields[key].annotation):
                    raise ValueError(f"boolean for '{key}': {str(value).lower()}")
        return data
