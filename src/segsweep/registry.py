"""Name -> builder registries: one per component family (losses, optimizers, ...).

Keys are the names used in params.yaml and in cell ids; each builder takes its
component's typed model (``segsweep.config.components``), and the names of a family's
registry and of its models are the same set (``tests/test_registry.py``). Registering
a name twice is an error; an unknown name raises listing the valid ones. Builders import heavy
libraries (torch, MONAI) inside their bodies, so validating params stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
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

    def __contains__(self, name: object) -> bool:
        return name in self._items
