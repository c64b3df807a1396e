"""de Pillis & Radunskaya 2003: normal, tumour and immune cells under chemotherapy (N-T-I-u).

L.G. de Pillis, A.E. Radunskaya, "The dynamics of an optimally controlled tumor model: a case
study", *Math. Comput. Modelling* 37(11):1221-1244 (2003), doi:10.1016/S0895-7177(03)00133-X;
structure first in *J. Theor. Med.* 3:79-100 (2001). Parameters as encoded in the curated
BioModels entry BIOMD0000000909 (identical to the nominal values of DTR-Bench's
``AhnChemoEnv``; see ``shared/reference/models.md`` §1). This is the model behind Ahn & Park
(2011) and the RL chemotherapy-scheduling literature that followed.

Equations (units: populations normalised so that each logistic carrying capacity 1/b = 1;
time in days; ``u`` the drug concentration at the tumour site, ``v`` the drug input rate)::

    dN/dt = r2 N (1 - b2 N) - c4 T N - a3 (1 - exp(-u)) N
    dT/dt = r1 T (1 - b1 T) - c2 I T - c3 T N - a2 (1 - exp(-u)) T
    dI/dt = s + rho I T / (alpha + T) - c1 I T - d1 I - a1 (1 - exp(-u)) I
    du/dt = v(t) - d2 u

Default initial state: the BioModels default N=1, T=0.25, I=0.15, u=0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from tme_env.jit import JIT_FLAGS
from tme_env.models.base import InputVar, Model, ModelParameters, StateVar, index_enum, param

__all__ = ["MODEL", "DePillis2003Parameters"]

_SRC = "de Pillis & Radunskaya 2003 parameter table; BioModels BIOMD0000000909 (curated)"
_NORM = "normalised cells"


@dataclass(frozen=True, slots=True)
class DePillis2003Parameters(ModelParameters):
    """Nominal parameters of de Pillis & Radunskaya (2003); cells are normalised to capacity."""

    a1: float = param(
        0.2, unit="1/day", source=_SRC, description="fractional immune-cell kill by drug"
    )
    a2: float = param(
        0.3, unit="1/day", source=_SRC, description="fractional tumour-cell kill by drug"
    )
    a3: float = param(
        0.1, unit="1/day", source=_SRC, description="fractional normal-cell kill by drug"
    )
    b1: float = param(
        1.0, unit=f"1/({_NORM})", source=_SRC, description="reciprocal tumour carrying capacity"
    )
    b2: float = param(
        1.0,
        unit=f"1/({_NORM})",
        source=_SRC,
        description="reciprocal normal-tissue carrying capacity",
    )
    c1: float = param(
        1.0, unit=f"1/({_NORM} day)", source=_SRC, description="immune-cell inactivation by tumour"
    )
    c2: float = param(
        0.5, unit=f"1/({_NORM} day)", source=_SRC, description="tumour kill by immune cells"
    )
    c3: float = param(
        1.0,
        unit=f"1/({_NORM} day)",
        source=_SRC,
        description="competition of normal cells on tumour",
    )
    c4: float = param(
        1.0,
        unit=f"1/({_NORM} day)",
        source=_SRC,
        description="competition of tumour on normal cells",
    )
    d1: float = param(0.2, unit="1/day", source=_SRC, description="immune-cell death rate")
    d2: float = param(1.0, unit="1/day", source=_SRC, description="drug decay rate")
    r1: float = param(1.5, unit="1/day", source=_SRC, description="tumour growth rate")
    r2: float = param(1.0, unit="1/day", source=_SRC, description="normal-cell growth rate")
    s: float = param(
        0.33, unit=f"{_NORM}/day", source=_SRC, description="constant immune-cell source"
    )
    alpha: float = param(
        0.3, unit=_NORM, source=_SRC, description="immune-response threshold (half-saturation)"
    )
    rho: float = param(0.01, unit="1/day", source=_SRC, description="immune response rate")


P = index_enum("P", DePillis2003Parameters.names())
S = index_enum("S", ("N", "T", "I", "u"))
U = index_enum("U", ("v",))


@njit(**JIT_FLAGS)
def rhs(t, y, p, u, dydt):  # noqa: ARG001 - autonomous model; t is part of the kernel ABI
    """Right-hand side ``dydt = f(t, y; p, u)`` of the N-T-I-u model."""
    n = y[S.N]
    tum = y[S.T]
    imm = y[S.I]
    kill = 1.0 - np.exp(-y[S.u])
    dydt[S.N] = p[P.r2] * n * (1.0 - p[P.b2] * n) - p[P.c4] * tum * n - p[P.a3] * kill * n
    dydt[S.T] = (
        p[P.r1] * tum * (1.0 - p[P.b1] * tum)
        - p[P.c2] * imm * tum
        - p[P.c3] * tum * n
        - p[P.a2] * kill * tum
    )
    dydt[S.I] = (
        p[P.s]
        + p[P.rho] * imm * tum / (p[P.alpha] + tum)
        - p[P.c1] * imm * tum
        - p[P.d1] * imm
        - p[P.a1] * kill * imm
    )
    dydt[S.u] = u[U.v] - p[P.d2] * y[S.u]


MODEL = Model(
    name="depillis2003",
    title="de Pillis & Radunskaya 2003 tumour-immune-normal cell model with chemotherapy",
    states=(
        StateVar("N", _NORM, "normal (host) cells", 1.0),
        StateVar("T", _NORM, "tumour cells", 0.25),
        StateVar("I", _NORM, "immune (effector) cells", 0.15),
        StateVar("u", "drug units", "drug concentration at the tumour site", 0.0),
    ),
    inputs=(InputVar("v", "drug units/day", "chemotherapy infusion rate (enters du/dt)"),),
    parameter_class=DePillis2003Parameters,
    rhs=rhs,
    reference=(
        "de Pillis LG, Radunskaya AE. Math Comput Model 37:1221-1244 (2003); "
        "BioModels BIOMD0000000909. Default initial state N=1, T=0.25, I=0.15, u=0 (BioModels)."
    ),
)
