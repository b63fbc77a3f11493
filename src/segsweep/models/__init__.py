"""Models by name (the registry imports torch lazily)."""

from __future__ import annotations

from segsweep.registry import Registry

MODELS = Registry("model")


@MODELS.register("unet")
def unet(ndim: int, in_channels: int, **kwargs):
    from segsweep.models.unet import UNet

    return UNet(ndim=ndim, in_channels=in_channels, **kwargs)


def build_model(cfg, ndim: int, in_channels: int):
    """The model named by ``cfg.name`` (a ``ModelCfg``) for ``ndim``-D inputs."""
    kwargs = cfg.model_dump(exclude={"name"})
    return MODELS.get(cfg.name)(ndim, in_channels, **kwargs)
