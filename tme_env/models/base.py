"""Building blocks shared by every model: parameter fields, parameter sets, the `Model` record.

A model is data plus one compiled right-hand side:

* a frozen parameter dataclass (a subclass of `ModelParameters`) whose fields carry value,
  unit, source and meaning (`param`); its field order defines the kernel's parameter array;
* named states and inputs (`StateVar`, `InputVar`) with units and defaults;
* ``rhs(t, y, p, u, dydt)``: an ``@njit`` function on float64 arrays that writes the time
  derivative of the state ``y`` into ``dydt``, given the parameter array ``p`` and the input
  (infusion rate) array ``u``. It must not allocate, validate, log or draw random numbers.

The generic integrator (`tme_env.simulator`) knows nothing else about a model.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "InputVar",
    "Model",
    "ModelParameters",
    "ParameterInfo",
    "StateVar",
    "check_value",
    "index_enum",
    "param",
]

_P = TypeVar("_P", bound="ModelParameters")


def param(
    value: float,
    *,
    unit: str,
    source: str,
    description: str,
    lower: float = 0.0,
    upper: float = math.inf,
) -> Any:
    """Declare one model parameter as a dataclass field with its provenance.

    Args:
        value: Default (published or calibrated) value.
        unit: Physical unit, e.g. ``"1/day"`` or ``"cells"``; ``"-"`` for dimensionless.
        source: Paper and table (or "calibrated: <phenomenon>") the value comes from.
        description: What the parameter means, in words.
        lower: Smallest admissible value (inclusive).
        upper: Largest admissible value (inclusive).

    Returns:
        A `dataclasses.field` whose metadata holds the provenance and bounds.
    """
    if not lower <= value <= upper:
        raise ValueError(f"default value {value} lies outside [{lower}, {upper}]")
    return field(
        default=float(value),
        metadata={
            "unit": unit,
            "source": source,
            "description": description,
            "lower": float(lower),
            "upper": float(upper),
        },
    )


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    """One parameter's value and provenance, as listed by `ModelParameters.info`."""

    name: str
    value: float
    unit: str
    source: str
    description: str
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class ModelParameters:
    """Base class of every model's parameter set.

    Subclasses are ``@dataclass(frozen=True, slots=True)`` whose fields are all declared with
    `param`. The field order is the order of the kernel's parameter array (`to_array`), and
    `index_enum` derives the kernel's index constants from the same order, so the order is
    defined in exactly one place.
    """

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Parameter names in kernel order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def to_array(self) -> np.ndarray:
        """Return the parameter values as a float64 array in kernel order."""
        return np.array([getattr(self, n) for n in self.names()], dtype=np.float64)

    @classmethod
    def from_array(cls: type[_P], values: np.ndarray) -> _P:
        """Build a parameter set from an array in kernel order (validated)."""
        values = np.asarray(values, dtype=np.float64)
        names = cls.names()
        if values.shape != (len(names),):
            raise ValueError(
                f"{cls.__name__}.from_array expects shape ({len(names)},), got {values.shape}"
            )
        return cls().replace(**dict(zip(names, values.tolist(), strict=True)))

    def info(self) -> tuple[ParameterInfo, ...]:
        """Value, unit, source, meaning and bounds of every parameter."""
        out = []
        for f in dataclasses.fields(self):
            md = f.metadata
            out.append(
                ParameterInfo(
                    name=f.name,
                    value=getattr(self, f.name),
                    unit=md["unit"],
                    source=md["source"],
                    description=md["description"],
                    lower=md["lower"],
                    upper=md["upper"],
                )
            )
        return tuple(out)

    def replace(self: _P, **overrides: float) -> _P:
        """Return a copy with some parameters changed, validating names and values.

        Raises:
            ValueError: If a name is unknown, or a value is not a finite real number within
                the parameter's bounds.
        """
        fields = {f.name: f for f in dataclasses.fields(self)}
        clean: dict[str, float] = {}
        for name, value in overrides.items():
            if name not in fields:
                raise ValueError(
                    f"unknown parameter {name!r} for {type(self).__name__}; "
                    f"valid parameters: {', '.join(fields)}"
                )
            clean[name] = check_value(
                f"parameter {name!r}",
                value,
                fields[name].metadata["lower"],
                fields[name].metadata["upper"],
            )
        return dataclasses.replace(self, **clean)


def check_value(what: str, value: object, lower: float = 0.0, upper: float = math.inf) -> float:
    """Convert ``value`` to float, raising `ValueError` unless finite and within bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what} must be a real number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {x!r}")
    if not lower <= x <= upper:
        raise ValueError(f"{what} must lie in [{lower}, {upper}], got {x!r}")
    return x


@dataclass(frozen=True, slots=True)
class StateVar:
    """A model state: name, unit, meaning and default initial value."""

    name: str
    unit: str
    description: str
    default: float


@dataclass(frozen=True, slots=True)
class InputVar:
    """A model input (an infusion rate, piecewise constant in time)."""

    name: str
    unit: str
    description: str


def index_enum(name: str, names: tuple[str, ...] | list[str]) -> type[IntEnum]:
    """Build an `IntEnum` of array indices (usable as compile-time constants in numba kernels)."""
    return IntEnum(name, list(names), start=0)


@dataclass(frozen=True)
class Model:
    """A registered ODE model: states, inputs, parameters and its compiled right-hand side.

    Attributes:
        name: Registry name, e.g. ``"depillis2003"``.
        title: One-line description with the primary citation.
        states: The state variables, in kernel order.
        inputs: The inputs (infusion rates), in kernel order.
        parameter_class: The model's `ModelParameters` subclass; its defaults are the model's
            nominal parameters.
        rhs: ``@njit`` function ``rhs(t, y, p, u, dydt) -> None``.
        reference: Citation(s) and notes on which published values were used.
        default_rtol: Default relative tolerance of `tme_env.simulate`.
        default_atol: Default absolute tolerance (same units as each state).
    """

    name: str
    title: str
    states: tuple[StateVar, ...]
    inputs: tuple[InputVar, ...]
    parameter_class: type[ModelParameters]
    rhs: Callable[..., None]
    reference: str = ""
    default_rtol: float = 1e-6
    default_atol: float = 1e-9

    @property
    def state_names(self) -> tuple[str, ...]:
        """State names in kernel order."""
        return tuple(s.name for s in self.states)

    @property
    def input_names(self) -> tuple[str, ...]:
        """Input names in kernel order."""
        return tuple(i.name for i in self.inputs)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Parameter names in kernel order."""
        return self.parameter_class.names()

    @property
    def default_parameters(self) -> ModelParameters:
        """The nominal parameter set."""
        return self.parameter_class()

    @property
    def default_initial_state(self) -> dict[str, float]:
        """Default initial value of every state."""
        return {s.name: s.default for s in self.states}

    def parameters(self, **overrides: float) -> ModelParameters:
        """Nominal parameters with ``overrides`` applied (validated)."""
        return self.parameter_class().replace(**overrides)

    def initial_state(self, values: Mapping[str, float] | None = None) -> np.ndarray:
        """Initial state array: model defaults, updated by ``values`` (validated).

        Raises:
            ValueError: On an unknown state name or a NaN, infinite or negative value.
        """
        y0 = np.array([s.default for s in self.states], dtype=np.float64)
        if values is None:
            return y0
        if not isinstance(values, Mapping):
            raise ValueError(
                "initial_state must be a mapping of state name to value, "
                f"got {type(values).__name__}"
            )
        index = {n: i for i, n in enumerate(self.state_names)}
        for key, value in values.items():
            if key not in index:
                raise ValueError(
                    f"unknown state {key!r} for model {self.name!r}; "
                    f"valid states: {', '.join(self.state_names)}"
                )
            y0[index[key]] = check_value(f"initial value of state {key!r}", value)
        return y0

    def describe(self) -> str:
        """A human-readable summary: states, inputs and the parameter table."""
        lines = [f"{self.name}: {self.title}", ""]
        lines.append("states:")
        for s in self.states:
            lines.append(f"  {s.name:<6} [{s.unit}] {s.description} (default {s.default:g})")
        lines.append("inputs:")
        for i in self.inputs:
            lines.append(f"  {i.name:<6} [{i.unit}] {i.description}")
        lines.append("parameters:")
        for p in self.default_parameters.info():
            lines.append(
                f"  {p.name:<16} {p.value:<12.6g} [{p.unit}] {p.description} -- {p.source}"
            )
        if self.reference:
            lines += ["", self.reference]
        return "\n".join(lines)
