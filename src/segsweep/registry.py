"""Name -> builder registries: one per component family (losses, optimizers, ...).

Keys are the names used in params.yaml and in cell ids. Registering a name twice is
an error; an unknown name raises listing the valid ones. Builders import heavy
libraries (torch, MONAI) inside their bodies, so validating params stays fast.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from segsweep.errors import did_you_mean

F = TypeVar("F", bound=Callable)


class Registry(Generic[F]):
    """A named family of builders, e.g. ``LOSSES = Registry("loss")``."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._items: dict[str, F] = {}

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator: ``@LOSSES.register("dice")``."""

        def deco(fn: F) -> F:
            if name in self._items:
                raise KeyError(f"{self.family} '{name}' is registered twice")
            self._items[name] = fn
            return fn

        return deco

    def names(self) -> list[str]:
        return sorted(self._items)

    def check(self, name: str) -> str:
        """Return ``name`` if registered.

        Raises:
            ValueError: ``unknown loss 'dic' (did you mean 'dice'?); valid: ce, dice, ...``
        """
        if name not in self._items:
            raise ValueError(
                f"unknown {self.family} '{name}'{did_you_mean(name, self._items)}; valid: {', '.join(self.names())}"
            )
        return name

    def get(self, name: str) -> F:
        return self._items[self.check(name)]

    def settings(self, name: str, values: Mapping, exclude: tuple[str, ...] = ()) -> dict:
        """The entries of ``values`` (a config section's fields) that the builder of
        ``name`` takes as keyword arguments, minus ``exclude``: a section holds the
        settings of every component of its family (``momentum`` is SGD's), and each
        builder gets, and each report shows, only its own."""
        accepted = inspect.signature(self.get(name)).parameters
        return {k: v for k, v in values.items() if k in accepted and k not in exclude}

    def __contains__(self, name: object) -> bool:
        return name in self._items
