"""Model registry: published models as validated presets, and user-registered models.

>>> import tme_env
>>> tme_env.models.available()
('depillis2003', 'depillis2013', 'tme')
>>> tme_env.models.get("depillis2003").state_names
('N', 'T', 'I', 'u')
"""

from __future__ import annotations

from tme_env.models import depillis2003, depillis2013, tme
from tme_env.models.base import (
    InputVar,
    Model,
    ModelParameters,
    ParameterInfo,
    StateVar,
    param,
)

__all__ = [
    "InputVar",
    "Model",
    "ModelParameters",
    "ParameterInfo",
    "StateVar",
    "available",
    "get",
    "param",
    "register",
]

_REGISTRY: dict[str, Model] = {}


def register(model: Model, *, overwrite: bool = False) -> Model:
    """Add a model to the registry so that it can be simulated by name.

    Raises:
        ValueError: If the name is taken (and ``overwrite`` is false) or the object is not a
            `Model`.
    """
    if not isinstance(model, Model):
        raise ValueError(f"register expects a Model, got {type(model).__name__}")
    if model.name in _REGISTRY and not overwrite:
        raise ValueError(f"a model named {model.name!r} is already registered")
    _REGISTRY[model.name] = model
    return model


def available() -> tuple[str, ...]:
    """Names of the registered models, sorted."""
    return tuple(sorted(_REGISTRY))


def get(name: str) -> Model:
    """Return the registered model called ``name``.

    Raises:
        ValueError: If no such model is registered (the message lists the valid names).
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown model {name!r}; available models: {', '.join(available())}"
        ) from None


def _register_builtin() -> None:
    for module in (depillis2003, depillis2013, tme):
        register(module.MODEL, overwrite=True)


_register_builtin()
