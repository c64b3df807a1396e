"""Shared fixtures: small user-defined models for testing the generic integrator."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import settings
from numba import njit

from tme_env.models import InputVar, Model, ModelParameters, StateVar, param

# CI explores the same hypothesis examples on every run (a red build is then reproducible);
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@dataclass(frozen=True, slots=True)
class DecayParameters(ModelParameters):
    """dy/dt = -k y + v (a linear test problem with a closed-form solution)."""

    k: float = param(0.5, unit="1/day", source="test", description="decay rate")


@njit(cache=True)
def _decay_rhs(t, y, p, u, dydt):
    dydt[0] = -p[0] * y[0] + u[0]


@dataclass(frozen=True, slots=True)
class NoParameters(ModelParameters):
    """A model without parameters."""


@njit(cache=True)
def _nan_rhs(t, y, p, u, dydt):
    # NaN once y exceeds 2 (sqrt of a negative number).
    dydt[0] = 1.0 if y[0] <= 2.0 else np.sqrt(2.0 - y[0])


@njit(cache=True)
def _blowup_rhs(t, y, p, u, dydt):
    dydt[0] = y[0] * y[0]  # y(t) = 1 / (1 - t): singular at t = 1


@njit(cache=True)
def _negative_rhs(t, y, p, u, dydt):
    dydt[0] = -1.0  # a "population" that goes negative


def _toy(name, rhs, params=NoParameters, default=1.0, inputs=()):
    return Model(
        name=name,
        title=f"test model {name}",
        states=(StateVar("y", "-", "test state", default),),
        inputs=inputs,
        parameter_class=params,
        rhs=rhs,
    )


@pytest.fixture(scope="session")
def decay_model() -> Model:
    return _toy("decay", _decay_rhs, DecayParameters, inputs=(InputVar("v", "1/day", "rate"),))


@pytest.fixture(scope="session")
def nan_model() -> Model:
    return _toy("nan", _nan_rhs)


@pytest.fixture(scope="session")
def blowup_model() -> Model:
    return _toy("blowup", _blowup_rhs)


@pytest.fixture(scope="session")
def negative_model() -> Model:
    return _toy("negative", _negative_rhs)
