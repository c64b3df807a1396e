"""de Pillis, Caldwell, Sarapata & Williams 2013: regulatory T cells and sunitinib in RCC.

L.G. de Pillis, T. Caldwell, E. Sarapata, H. Williams, "Mathematical modeling of regulatory
T cell effects on renal cell carcinoma treatment", *Discrete Contin. Dyn. Syst. Ser. B*
18(4):915-943 (2013), doi:10.3934/dcdsb.2013.18.915. The closest published analogue of our
"suppressor cells + suppressor-inhibitor" axis: sunitinib is modelled purely as a
Treg-depleting drug.

Parameter values are the paper's **section 4 text values**, not its Table 3 (which BioModels
BIOMD0000000908 encodes). The two disagree on r1, H_R, mu_I, omega and phi; only the text
values reproduce the paper's reported results (bistability threshold near 1.77e7 cells, and
the sunitinib trial's CR/PR/NR split; with Table 3's H_R = 0.227 every patient is cured,
contradicting the paper). See ``shared/reference/models.md`` §3a and ``tests/science``.

Units: T in cells; N, L, R, C in cells/L of blood; I (IL-2) in IU/L; S (sunitinib) in mg/L;
v_S in mg/L/day; time in days. Equations::

    D     = d (L/T)^l / (s + (L/T)^l)             (ratio-dependent CD8+ kill)
    dT/dt = a T (1 - b T) - c exp(-lambda_T R) N T - D T
    dN/dt = f ((e/f) C - N) - p N T + p_N N I / (g_N + I)
    dL/dt = -m L - q L T + (r1 N + r2 C) T + p_I L I / (g_I + I)
            - z L^2 R I / (kappa + I) + j T / (k + T) L
    dR/dt = u ((w/u) C - R) + p_R R I / (g_R + I) - H_R (1 - exp(-lambda_R S)) R
    dC/dt = beta (alpha/beta - C)
    dI/dt = -mu_I I + phi C + omega L I / (zeta + I)
    dS/dt = -eta S + v_S(t)

D T is evaluated as ``d T / (1 + s (T/L)^l)`` (algebraically equal, finite at T = 0 and
L = 0). Fractional powers use ``max(x, 0)`` of their base so that round-off undershoots of a
vanishing population do not produce NaN.

Default initial state: the paper's no-tumour homeostasis for the immune states (N=2.5e8,
L=2.4e4, R=1.1e8, C=2.14e9, I=48.9, S=0) with the virtual-trial tumour T=1e8 cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from tme_env.jit import JIT_FLAGS
from tme_env.models.base import InputVar, Model, ModelParameters, StateVar, index_enum, param

__all__ = [
    "BODY_VOLUME_L",
    "MODEL",
    "SUNITINIB_RATE_MG_PER_L_PER_DAY",
    "DePillis2013Parameters",
    "sunitinib_schedule",
]

_T4 = "de Pillis et al. 2013 section 4 text = Table 3"
_TEXT = "de Pillis et al. 2013 section 4 text (Table 3 differs; text reproduces the paper)"
_FIT = "de Pillis et al. 2013 Table 3: fit"
_HOMEO = "de Pillis et al. 2013 Table 3: solved from homeostasis"
_P09 = "de Pillis et al. 2013 Table 3, from de Pillis et al. 2009"
_KUZ = "de Pillis et al. 2013 Table 3, from Kuznetsov et al. 1994"

#: Body volume used by the paper to turn an oral dose into a concentration rate (L).
BODY_VOLUME_L = 59.71
#: Standard sunitinib, 50 mg/day, as a concentration input rate (mg/L/day): 50 / 59.71.
SUNITINIB_RATE_MG_PER_L_PER_DAY = 50.0 / BODY_VOLUME_L


@dataclass(frozen=True, slots=True)
class DePillis2013Parameters(ModelParameters):
    """Parameters of de Pillis et al. (2013), section 4 text values."""

    a: float = param(
        0.2065,
        unit="1/day",
        source=f"{_T4}; fit to RCC xenograft growth",
        description="tumour growth rate",
    )
    b: float = param(
        2.145e-10,
        unit="1/cell",
        source=f"{_T4}; endpoint volume 8.5e3 mm^3",
        description="reciprocal tumour carrying capacity",
    )
    c: float = param(
        8.68e-10, unit="L/(cell day)", source=f"{_FIT}", description="NK-cell kill of tumour"
    )
    lambda_T: float = param(
        1.590e-9, unit="L/cell", source=f"{_T4}; ad hoc", description="Treg inhibition of NK kill"
    )
    d: float = param(
        1.7,
        unit="1/day",
        source=f"{_P09}; patient range [1.7, 2.2]",
        description="maximal CD8+ T-cell kill rate",
    )
    l: float = param(  # noqa: E741 - the paper's symbol, required by the public parameter API
        1.7,
        unit="-",
        source=f"{_P09}; patient range [1.7, 2.2]",
        description="CD8+ kill exponent on the effector:tumour ratio",
    )
    s: float = param(
        3.5e-2,
        unit="-",
        source=_P09,
        description="CD8+ kill steepness (effector:tumour ratio scale)",
    )
    e_over_f: float = param(
        0.1168,
        unit="-",
        source=_P09,
        description="NK fraction of circulating lymphocytes at equilibrium",
    )
    f: float = param(
        1.25e-2,
        unit="1/day",
        source=f"{_T4}; metabolic scaling",
        description="NK-cell turnover rate",
    )
    p: float = param(
        6.682e-14,
        unit="1/(cell day)",
        source=f"{_T4}; high-tumour equilibrium",
        description="NK inactivation by tumour",
    )
    p_N: float = param(
        6.68e-2,
        unit="1/day",
        source=f"{_T4}; Meropol 1998",
        description="IL-2-driven NK proliferation",
    )
    g_N: float = param(
        2.5036e5,
        unit="IU/L",
        source=f"{_T4}; IL-2R beta-gamma binding",
        description="IL-2 half-saturation for NK proliferation",
    )
    m: float = param(
        9e-3, unit="1/day", source=f"{_T4}; ln2/77 d", description="CD8+ T-cell death rate"
    )
    q: float = param(
        3.422e-10, unit="1/(cell day)", source=_KUZ, description="CD8+ inactivation by tumour"
    )
    r1: float = param(
        8.68e-12,
        unit="1/(cell day)",
        source=f"{_TEXT}; = 0.01 c",
        description="CD8+ stimulation by NK-lysed tumour debris",
    )
    r2: float = param(
        1e-15,
        unit="1/(cell day)",
        source=f"{_T4}; chosen",
        description="CD8+ activation by lymphocyte-tumour encounters",
    )
    p_I: float = param(
        1.111, unit="1/day", source=_HOMEO, description="IL-2-driven CD8+ proliferation"
    )
    g_I: float = param(
        2.5036e3,
        unit="IU/L",
        source=f"{_T4}; IL-2R alpha-beta-gamma binding",
        description="IL-2 half-saturation for CD8+ proliferation",
    )
    z: float = param(
        2.3085e-13,
        unit="L^2/(cell^2 day)",
        source=_HOMEO,
        description="Treg suppression of CD8+ cells",
    )
    kappa: float = param(
        2.5036e3, unit="IU/L", source=_T4, description="IL-2 half-saturation of Treg suppression"
    )
    j: float = param(
        1.245e-1, unit="1/day", source=_KUZ, description="tumour-driven CD8+ recruitment"
    )
    k: float = param(
        2.019e7,
        unit="cells",
        source=_KUZ,
        description="tumour half-saturation for CD8+ recruitment",
    )
    w_over_u: float = param(
        1.22e-2,
        unit="-",
        source=_T4,
        description="Treg fraction of circulating lymphocytes (source)",
    )
    u: float = param(
        3.851e-2, unit="1/day", source=f"{_T4}; ln2/18 d", description="Treg turnover rate"
    )
    p_R: float = param(
        3.598e-2, unit="1/day", source=_HOMEO, description="IL-2-driven Treg proliferation"
    )
    g_R: float = param(
        11.027,
        unit="IU/L",
        source=_HOMEO,
        description="IL-2 half-saturation for Treg proliferation",
    )
    H_R: float = param(
        2.27e-2,
        unit="1/day",
        source=f"{_TEXT}; fit to Finke 2008 Treg data",
        description="maximal sunitinib depletion of Tregs",
    )
    lambda_R: float = param(
        50.02, unit="L/mg", source=_FIT, description="sunitinib potency on Tregs"
    )
    alpha_over_beta: float = param(
        2.14e9, unit="cells/L", source=_T4, description="circulating-lymphocyte equilibrium"
    )
    beta: float = param(
        6.3e-3, unit="1/day", source=_T4, description="circulating-lymphocyte turnover rate"
    )
    mu_I: float = param(
        11.7483,
        unit="1/day",
        source=f"{_TEXT}; IL-2 half-life ~85 min",
        description="IL-2 clearance rate",
    )
    omega: float = param(
        7.879e-2,
        unit="1/day",
        source=f"{_TEXT}; homeostasis solve",
        description="IL-2 production by activated CD8+ cells",
    )
    phi: float = param(
        2.5153e-7,
        unit="IU/(cell day)",
        source=f"{_TEXT}; homeostasis solve",
        description="IL-2 production by circulating lymphocytes",
    )
    zeta: float = param(
        2.5036e3,
        unit="IU/L",
        source=_T4,
        description="IL-2 half-saturation of its own CD8+-driven production",
    )
    eta: float = param(
        0.277,
        unit="1/day",
        source=f"{_T4}; sunitinib half-life 2.5 d",
        description="sunitinib elimination rate",
    )


_P = index_enum("_P", DePillis2013Parameters.names())
_X = index_enum("_X", ("T", "N", "L", "R", "C", "I", "S"))
_U = index_enum("_U", ("v_S",))


@njit(**JIT_FLAGS)
def rhs(t, y, p, u, dydt):  # noqa: ARG001 - autonomous model; t is part of the kernel ABI
    """Right-hand side of the de Pillis 2013 Treg-sunitinib model (section 4 values)."""
    tum = y[_X.T]
    nk = y[_X.N]
    cd8 = y[_X.L]
    treg = y[_X.R]
    circ = y[_X.C]
    il2 = y[_X.I]
    sun = y[_X.S]
    # Ratio-dependent CD8+ kill D*T = d T / (1 + s (T/L)^l), zero if either population is 0.
    tpos = max(tum, 0.0)
    lpos = max(cd8, 0.0)
    if tpos > 0.0 and lpos > 0.0:
        dt_kill = p[_P.d] * tum / (1.0 + p[_P.s] * (tpos / lpos) ** p[_P.l])
    else:
        dt_kill = 0.0
    f = p[_P.f]
    uu = p[_P.u]
    dydt[_X.T] = (
        p[_P.a] * tum * (1.0 - p[_P.b] * tum)
        - p[_P.c] * np.exp(-p[_P.lambda_T] * treg) * nk * tum
        - dt_kill
    )
    dydt[_X.N] = (
        f * (p[_P.e_over_f] * circ - nk)
        - p[_P.p] * nk * tum
        + p[_P.p_N] * nk * il2 / (p[_P.g_N] + il2)
    )
    dydt[_X.L] = (
        -p[_P.m] * cd8
        - p[_P.q] * cd8 * tum
        + (p[_P.r1] * nk + p[_P.r2] * circ) * tum
        + p[_P.p_I] * cd8 * il2 / (p[_P.g_I] + il2)
        - p[_P.z] * cd8 * cd8 * treg * il2 / (p[_P.kappa] + il2)
        + p[_P.j] * tum / (p[_P.k] + tum) * cd8
    )
    dydt[_X.R] = (
        uu * (p[_P.w_over_u] * circ - treg)
        + p[_P.p_R] * treg * il2 / (p[_P.g_R] + il2)
        - p[_P.H_R] * (1.0 - np.exp(-p[_P.lambda_R] * sun)) * treg
    )
    dydt[_X.C] = p[_P.beta] * (p[_P.alpha_over_beta] - circ)
    dydt[_X.I] = -p[_P.mu_I] * il2 + p[_P.phi] * circ + p[_P.omega] * cd8 * il2 / (p[_P.zeta] + il2)
    dydt[_X.S] = u[_U.v_S] - p[_P.eta] * sun


def sunitinib_schedule(
    cycles: int = 5, dose_factor: float = 1.0, start_day: float = 0.0
) -> list[tuple[float, float, dict[str, float]]]:
    """Standard sunitinib: 50 mg/day orally for 28 days, then 14 days off (6-week cycles).

    The paper gives the dose as "v_S = 23.4467 mg/L each cycle" (50 mg/day x 28 days /
    59.71 L); as an input rate that is 0.8374 mg/L/day on dosing days.

    Args:
        cycles: Number of 6-week cycles (the paper's average is 5).
        dose_factor: Multiple of the standard daily dose (2.0 for the paper's double dose).
        start_day: Day the first cycle starts.

    Returns:
        Infusions for `tme_env.simulate` (input ``v_S``).
    """
    rate = dose_factor * SUNITINIB_RATE_MG_PER_L_PER_DAY
    return [
        (start_day + 42.0 * k, start_day + 42.0 * k + 28.0, {"v_S": rate}) for k in range(cycles)
    ]


MODEL = Model(
    name="depillis2013",
    title="de Pillis et al. 2013 tumour-NK-CD8-Treg-IL-2 model with sunitinib (RCC)",
    states=(
        StateVar("T", "cells", "tumour cells", 1e8),
        StateVar("N", "cells/L", "NK cells", 2.5e8),
        StateVar("L", "cells/L", "activated CD8+ T cells", 2.4e4),
        StateVar("R", "cells/L", "regulatory T cells (Tregs)", 1.1e8),
        StateVar("C", "cells/L", "circulating lymphocytes", 2.14e9),
        StateVar("I", "IU/L", "interleukin-2", 48.9),
        StateVar("S", "mg/L", "sunitinib concentration", 0.0),
    ),
    inputs=(InputVar("v_S", "mg/L/day", "sunitinib input rate (50 mg/day = 0.8374)"),),
    parameter_class=DePillis2013Parameters,
    rhs=rhs,
    reference=(
        "de Pillis LG, Caldwell T, Sarapata E, Williams H. DCDS-B 18(4):915-943 (2013), "
        "section 4 parameter values. Default state: no-tumour homeostasis with T=1e8 cells."
    ),
)
