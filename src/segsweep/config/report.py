"""Typed model of the ``report`` section."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from segsweep.config.base import Section


class Report(Section):
    title: str = "segsweep study"
    decimals: Annotated[int, Field(ge=1, le=6)] = 3
