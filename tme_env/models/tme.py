"""The immune-shift model ``tme``: chemotherapy that can backfire through suppressor cells.

Chemotherapy kills dividing tumour cells; the dying cells release a damage/inflammatory signal
that recruits myeloid-derived suppressor cells (MDSCs) into the tumour; MDSCs suppress the
recruitment and the killing of cytotoxic CD8+ T cells, so the tumour turns immune-cold and the
chemo-resistant clone it selected regrows. A policy has three levers: chemotherapy,
anti-PD-1 immunotherapy and a suppressor-inhibitor.

Units: cells and days. Drug states are in dose units (below). Neutrophils in 1e9 cells/L.

States (kernel order)::

    S    chemo-sensitive tumour cells                               cells
    R    chemo-resistant tumour cells                               cells
    E    active tumour-infiltrating CD8+ effector T cells           cells
    X    PD-1-exhausted CD8+ T cells in the tumour                  cells
    M    intratumoural MDSCs                                        cells
    D    damage/inflammatory signal from chemo-killed tumour cells  damage units (produced
                                                                    at 1 unit/day per 1e9
                                                                    cells killed per day)
    C    chemotherapy exposure                                      full-dose units
    A    anti-PD-1 antibody                                         standard-dose units
    I    suppressor-inhibitor                                       daily-dose units
    P, T1, T2, T3, ANC   Friberg neutrophil model (proliferating, 3 transit, circulating)
                                                                    1e9 cells/L

Inputs (infusion rates, dose units/day): ``chemo``, ``anti_pd1``, ``inhibitor``; a rate of 1
for 1 day is one full dose of an infused drug, a rate of 1 is the labelled daily dose of the
inhibitor. How a decision's dose fractions become these rates is `tme_env.dosing`.

Equations (N = S + R; f_N = N / (N + K_ex); Bk = A / (A + A50) is the PD-1 blockade;
Ih = I / (I + I50) the inhibitor effect; Me = M (1 - inh_function Ih) the functional MDSCs;
sup_rec = 1 / (1 + Me / M50_recruit), sup_kill = 1 / (1 + Me / M50_kill);
kill_C(x) = x C / (C + C50) the saturating chemotherapy kill)::

    growth   = g_S (1 + pi_M Me/(Me + M50_growth)) ln(K / N)  (Gompertz, both clones;
                                                                MDSCs promote growth)
    Dk       = d_E r^l / (s_E + r^l),  r = sup_kill E / N     (de Pillis ratio-dependent kill)
    chemo_S  = kill_C(k_chemo) S,   chemo_R = kill_C(k_chemo eps_R) R
    dS/dt = growth S - chemo_S - Dk S - mu (1 + mu_C kill_C(1)) S
    dR/dt = growth g_R/g_S R - chemo_R - Dk R + mu (1 + mu_C kill_C(1)) S
    dE/dt = sup_rec [rho_E N/(k_E + N) + rho_ICD D/(K_D + D)] - delta_E E
            - q_E f_N E - x_E (1 - Bk) f_N E + reinv Bk X - kill_C(k_chemo_E) E
    dX/dt = x_E (1 - Bk) f_N E - reinv Bk X - delta_X X
    dM/dt = (1 - inh_recruit Ih) [alpha_N N/(q_N + N) + alpha_D D/(K_D + D)] - delta_M M
    dD/dt = (chemo_S + chemo_R) / 1e9 - delta_D D
    dC/dt = u_chemo - k_el_C C;  dA/dt = u_aPD1 - k_el_A A;  dI/dt = u_inh - k_el_I I
    Friberg: dP/dt = k_tr P ((1 - C/(C + C50_N)) (ANC0/ANC)^gamma - 1)
             dT1/dt = k_tr (P - T1), dT2/dt = k_tr (T1 - T2), dT3/dt = k_tr (T2 - T3)
             dANC/dt = k_tr (T3 - ANC)

Numerical guards (no effect on physical trajectories): populations and drug levels are read
as ``max(x, 0)`` so that round-off undershoots of a vanishing state give no NaN, except the
exhausted cells X, which enter only linearly (a small undershoot decays back towards 0 and
cannot produce a NaN); the ANC in the feedback term is floored at 1e-6.

Immune hotness index ``H = E / (E + theta_hot M)`` in [0, 1] (`hotness`); a tumour is *hot*
when H >= 0.5, i.e. when active CD8+ cells outnumber MDSCs by at least ``theta_hot``.

Every parameter carries value, unit and source (a paper and table from
``shared/reference/models.md``, or "calibrated: <target>"). Parameters marked "calibrated:
KEYNOTE-189" are set by ``experiments/calibrate_tme.py`` (a real optimiser over the cohort's
population parameters); the values here are its output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from tme_env.jit import JIT_FLAGS
from tme_env.models.base import InputVar, Model, ModelParameters, StateVar, index_enum, param

__all__ = [
    "DEATH_BURDEN_CELLS",
    "DETECTION_LIMIT_CELLS",
    "HOT_THRESHOLD",
    "MODEL",
    "TMEParameters",
    "hotness",
    "quasi_steady_state",
]

#: Lethal tumour burden (cells): ~1 kg of tumour tissue (1e9 cells per cm^3).
DEATH_BURDEN_CELLS = 1e12
#: Imaging detection limit (cells): ~1 cm^3 of tumour.
DETECTION_LIMIT_CELLS = 1e9
#: Hotness index at or above which a tumour counts as immune-hot.
HOT_THRESHOLD = 0.5

_PI = (
    "calibrated: KEYNOTE-189 (Gandhi et al. NEJM 2018; models.md §8) by "
    "experiments/calibrate_tme.py"
)
_P1 = "calibrated: P1 untreated median OS 3-9 months"
_P3 = "calibrated: P3 chemo doubles MDSCs after cycle 1 (Diaz-Montero 2009, models.md §3d)"
_P5 = (
    "calibrated: P5 inhibitor halves the MDSC peak (jointly with KEYNOTE-189 by "
    "experiments/calibrate_tme.py; at the optimiser's upper bound 0.99)"
)
_TOX = "calibrated: grade >= 3 neutropenia in ~15% over 4 platinum-doublet cycles [M]"
_DP06 = "de Pillis, Gu & Radunskaya 2006 (models.md §2)"
_DP13 = "de Pillis et al. 2013 (models.md §3a)"
_AND = "Anderson et al. GBM-T cell-MDSC model, code nominal values (models.md §3c)"
_FRI = "Friberg et al. 2002 docetaxel myelosuppression model (models.md §5)"


@dataclass(frozen=True, slots=True)
class TMEParameters(ModelParameters):
    """Parameters of the immune-shift model (one virtual patient)."""

    # --- tumour -------------------------------------------------------------------------
    growth_rate: float = param(
        0.00463303, unit="1/day", source=_PI,
        description="Gompertz growth rate g_S of the chemo-sensitive clone",
    )  # fmt: skip
    carrying_capacity: float = param(
        3e12, unit="cells", source="assumed: above the lethal burden 1e12 (Norton-Simon-type fits)",
        description="Gompertz carrying capacity K",
    )  # fmt: skip
    resistant_growth_factor: float = param(
        1.0, unit="-", source="assumed: no fitness cost of resistance (Strobl 2021 cost=0, §4a)",
        description="growth rate of the resistant clone relative to the sensitive one",
    )  # fmt: skip
    switching_rate: float = param(
        1e-6, unit="1/day", source="Monro & Gaffney 2009 t1 = 1e-6 (models.md §4d)",
        description="spontaneous sensitive-to-resistant switching rate mu",
    )  # fmt: skip
    chemo_induced_switching: float = param(
        10.0, unit="-",
        source=(
            "assumed: drug-induced resistance (Greene 2019, alpha/eps >> 1, §4c)"
        ),
        description="fold increase of switching under saturating chemotherapy mu_C",
    )  # fmt: skip
    # --- chemotherapy ---------------------------------------------------------------------
    chemo_kill_rate: float = param(
        0.692017, unit="1/day", source=_PI,
        description="maximal chemotherapy kill rate of sensitive tumour cells k_chemo",
    )  # fmt: skip
    chemo_resistant_kill_fraction: float = param(
        0.05, unit="-", source="assumed: resistant cells are killed 20x less",
        description="kill of resistant relative to sensitive cells eps_R", upper=1.0,
    )  # fmt: skip
    chemo_ec50: float = param(
        0.25, unit="full-dose units", source="assumed: near-saturating kill at full dose",
        description="exposure giving half-maximal kill C50",
    )  # fmt: skip
    chemo_elimination_rate: float = param(
        1.386, unit="1/day",
        source=(
            "assumed: effective exposure half-life 12 h (platinum/pemetrexed t1/2 3-6 h "
            "plus intracellular retention)"
        ),
        description="chemotherapy elimination rate k_el_C",
    )  # fmt: skip
    chemo_effector_kill_rate: float = param(
        0.6, unit="1/day", source=f"{_DP06} K_L = 0.6",
        description="maximal chemotherapy kill rate of dividing effector T cells",
    )  # fmt: skip
    # --- effector T cells -----------------------------------------------------------------
    effector_kill_rate: float = param(
        0.0496006, unit="1/day", source=_PI,
        description="maximal CD8+ kill rate d_E of the ratio-dependent law",
    )  # fmt: skip
    effector_kill_exponent: float = param(
        1.0, unit="-",
        source=(
            "calibrated: l = 1 (de Pillis fits l in [1.7, 2.2] on RCC xenografts; l ~ 2 "
            "makes the immune response eradicate multi-log metastatic disease after every"
            " debulking, contradicting KEYNOTE-189 survival)"
        ),
        description="exponent l of the effector:tumour ratio",
    )  # fmt: skip
    effector_kill_steepness: float = param(
        0.035, unit="-", source=f"{_DP13} s = 3.5e-2",
        description="ratio scale s_E of the kill law",
    )  # fmt: skip
    effector_recruitment: float = param(
        4.13181e+09, unit="cells/day", source=_PI,
        description="maximal antigen-driven effector recruitment rho_E",
    )  # fmt: skip
    effector_recruitment_half_sat: float = param(
        1e11, unit="cells",
        source=(
            "calibrated: effector influx proportional to tumour antigen in the clinical "
            "range (1e9-1e11 cells)"
        ),
        description="tumour size of half-maximal effector recruitment k_E",
    )  # fmt: skip
    icd_recruitment: float = param(
        1e8, unit="cells/day",
        source=(
            "assumed: immunogenic cell death recruits up to ~70% of baseline influx"
        ),
        description="maximal effector recruitment by the damage signal rho_ICD",
    )  # fmt: skip
    effector_death_rate: float = param(
        0.204, unit="1/day", source=f"{_DP06} m = 0.204",
        description="death rate delta_E of active effector T cells",
    )  # fmt: skip
    effector_inactivation_rate: float = param(
        0.02, unit="1/day", source="assumed: tumour-induced inactivation at high burden",
        description="maximal irreversible inactivation q_E of effectors by tumour",
    )  # fmt: skip
    exhaustion_rate: float = param(
        1.80676, unit="1/day", source=_PI,
        description="maximal PD-1-mediated exhaustion rate x_E of active effectors",
    )  # fmt: skip
    exhaustion_half_sat: float = param(
        1e9, unit="cells", source="assumed: chronic antigen stimulation saturates at ~1 cm^3",
        description="tumour size of half-maximal exhaustion/inactivation K_ex",
    )  # fmt: skip
    reinvigoration_rate: float = param(
        0.0597031, unit="1/day", source=_PI,
        description="rate at which PD-1 blockade reinvigorates exhausted cells",
    )  # fmt: skip
    exhausted_death_rate: float = param(
        0.2, unit="1/day",
        source=(
            "assumed: exhausted cells turn over like active ones (de Pillis 2006 m)"
        ),
        description="death rate delta_X of exhausted T cells",
    )  # fmt: skip
    # --- MDSCs and the immune shift -------------------------------------------------------
    mdsc_tumour_recruitment: float = param(
        3.6e8, unit="cells/day", source=f"{_AND} alpha = 3.60e8",
        description="maximal tumour-driven MDSC recruitment alpha_N",
    )  # fmt: skip
    mdsc_tumour_half_sat: float = param(
        3.51e10, unit="cells", source=f"{_AND} q = 3.51e10",
        description="tumour size of half-maximal MDSC recruitment q_N",
    )  # fmt: skip
    mdsc_damage_recruitment: float = param(
        6e8, unit="cells/day", source=_P3,
        description="maximal MDSC recruitment by the damage signal alpha_D (patient-specific)",
    )  # fmt: skip
    damage_half_sat: float = param(
        1.0, unit="damage units",
        source=(
            "assumed: half-saturation at D = 1 (a sustained kill of 1e8 cells/day at "
            "delta_D = 0.1/day)"
        ),
        description="damage signal of half-maximal recruitment K_D",
    )  # fmt: skip
    damage_decay_rate: float = param(
        0.1, unit="1/day",
        source=(
            "calibrated: circulating MDSCs stay raised until the next q3w cycle and rise "
            "cycle on cycle (Diaz-Montero 2009, models.md §3d); t1/2 ~7 days"
        ),
        description="decay rate delta_D of the damage signal",
    )  # fmt: skip
    mdsc_death_rate: float = param(
        0.251, unit="1/day", source=f"{_AND} d_M = 0.251",
        description="MDSC death/egress rate delta_M",
    )  # fmt: skip
    mdsc_growth_promotion: float = param(
        1.83487, unit="-",
        source=(
            "structure: Bruchard 2013 (chemo-activated MDSCs release IL-1beta -> IL-17, "
            "promoting tumour growth; models.md §3d); magnitude calibrated: P7 jointly with "
            "KEYNOTE-189 by experiments/calibrate_tme.py"
        ),
        description="maximal fractional increase of tumour growth by functional MDSCs pi_M",
    )  # fmt: skip
    mdsc_growth_half_sat: float = param(
        1.5e9, unit="cells", source="assumed: same scale as MDSC suppression of effectors",
        description="functional MDSCs giving half the maximal growth promotion M50_growth",
    )  # fmt: skip
    mdsc_half_suppression_recruit: float = param(
        1.5e9, unit="cells", source="calibrated: P3 (chemo turns most tumours cold)",
        description="functional MDSCs halving effector recruitment M50_recruit",
    )  # fmt: skip
    mdsc_half_suppression_kill: float = param(
        1.5e9, unit="cells", source="calibrated: P3 (chemo turns most tumours cold)",
        description="functional MDSCs halving effector killing M50_kill",
    )  # fmt: skip
    # --- anti-PD-1 ------------------------------------------------------------------------
    anti_pd1_elimination_rate: float = param(
        math.log(2.0) / 22.0, unit="1/day",
        source=(
            "pembrolizumab label: terminal half-life 22 days"
        ),
        description="anti-PD-1 elimination rate k_el_A",
    )  # fmt: skip
    anti_pd1_ec50: float = param(
        0.05, unit="standard-dose units",
        source=(
            "assumed: full PD-1 occupancy at 2 mg/kg q3w (pembrolizumab label)"
        ),
        description="anti-PD-1 level giving half-maximal blockade A50",
    )  # fmt: skip
    # --- suppressor-inhibitor -------------------------------------------------------------
    inhibitor_elimination_rate: float = param(
        0.277, unit="1/day", source=f"{_DP13} eta (sunitinib t1/2 2.5 d)",
        description="inhibitor elimination rate k_el_I",
    )  # fmt: skip
    inhibitor_ec50: float = param(
        1.0, unit="daily-dose units",
        source=(
            "assumed: labelled dose gives ~80% of maximal effect at steady state"
        ),
        description="inhibitor level of half-maximal effect I50",
    )  # fmt: skip
    inhibitor_recruitment_block: float = param(
        0.99, unit="-", source=_P5, upper=1.0,
        description="maximal fractional block of MDSC recruitment",
    )  # fmt: skip
    inhibitor_function_block: float = param(
        0.5, unit="-", source=_P5, upper=1.0,
        description="maximal fractional block of MDSC suppressive function",
    )  # fmt: skip
    # --- neutrophils (Friberg) ------------------------------------------------------------
    neutrophil_baseline: float = param(
        5.05, unit="1e9 cells/L", source=f"{_FRI} Circ0 = 5.05e9/L",
        description="baseline absolute neutrophil count ANC0",
    )  # fmt: skip
    neutrophil_mean_transit_time: float = param(
        3.7, unit="days", source=f"{_FRI} MTT 89 h",
        description="mean transit time MTT (k_tr = 4 / MTT)",
    )  # fmt: skip
    neutrophil_feedback: float = param(
        0.161, unit="-", source=f"{_FRI} gamma = 0.161",
        description="feedback exponent gamma",
    )  # fmt: skip
    neutrophil_drug_ec50: float = param(
        0.190297,
        unit="full-dose units",
        source=(
            "Friberg 2002 structure with an Emax drug effect C/(C + C50_N) in place of the "
            "linear slope (keeps progenitor kill below 100%, smooth for the integrator); "
            + _TOX
        ),
        description="chemotherapy exposure halving progenitor proliferation C50_N",
    )  # fmt: skip
    # --- readout ----------------------------------------------------------------------------
    hot_ratio: float = param(
        1.0, unit="-", source="assumed: hot when active CD8+ cells >= MDSCs (CD8:MDSC ratio 1)",
        description="CD8:MDSC ratio theta_hot at which the hotness index is 0.5",
    )  # fmt: skip

    @property
    def transit_rate(self) -> float:
        """Friberg transit rate k_tr = 4 / MTT (1/day)."""
        return 4.0 / self.neutrophil_mean_transit_time


_P = index_enum("_P", TMEParameters.names())
STATE_NAMES = ("S", "R", "E", "X", "M", "D", "C", "A", "I", "P", "T1", "T2", "T3", "ANC")
_X = index_enum("_X", STATE_NAMES)
_U = index_enum("_U", ("chemo", "anti_pd1", "inhibitor"))


@njit(**JIT_FLAGS)
def rhs(t, y, p, u, dydt):  # noqa: ARG001 - autonomous model; t is part of the kernel ABI
    """Right-hand side of the immune-shift model (see the module docstring)."""
    s_cells = max(y[_X.S], 0.0)
    r_cells = max(y[_X.R], 0.0)
    eff = max(y[_X.E], 0.0)
    exh = y[_X.X]
    mdsc = max(y[_X.M], 0.0)
    dmg = max(y[_X.D], 0.0)
    chemo = max(y[_X.C], 0.0)
    apd1 = max(y[_X.A], 0.0)
    inh = max(y[_X.I], 0.0)
    n_cells = s_cells + r_cells

    # Drug effects.
    c_eff = chemo / (chemo + p[_P.chemo_ec50])
    blockade = apd1 / (apd1 + p[_P.anti_pd1_ec50])
    inh_eff = inh / (inh + p[_P.inhibitor_ec50])
    m_func = mdsc * (1.0 - p[_P.inhibitor_function_block] * inh_eff)
    sup_rec = 1.0 / (1.0 + m_func / p[_P.mdsc_half_suppression_recruit])
    sup_kill = 1.0 / (1.0 + m_func / p[_P.mdsc_half_suppression_kill])

    # Tumour growth (Gompertz, shared niche) and kills.
    if n_cells > 0.0:
        promote = 1.0 + p[_P.mdsc_growth_promotion] * m_func / (m_func + p[_P.mdsc_growth_half_sat])
        growth = p[_P.growth_rate] * promote * np.log(p[_P.carrying_capacity] / n_cells)
        ratio = sup_kill * eff / n_cells
        expo = p[_P.effector_kill_exponent]
        rl = ratio if expo == 1.0 else ratio**expo
        immune = p[_P.effector_kill_rate] * rl / (p[_P.effector_kill_steepness] + rl)
    else:
        growth = 0.0
        immune = 0.0
    chemo_s = p[_P.chemo_kill_rate] * c_eff * s_cells
    chemo_r = p[_P.chemo_kill_rate] * p[_P.chemo_resistant_kill_fraction] * c_eff * r_cells
    switch = p[_P.switching_rate] * (1.0 + p[_P.chemo_induced_switching] * c_eff) * s_cells
    dydt[_X.S] = growth * s_cells - chemo_s - immune * s_cells - switch
    dydt[_X.R] = (
        growth * p[_P.resistant_growth_factor] * r_cells - chemo_r - immune * r_cells + switch
    )

    # Effector T cells: recruitment (antigen, immunogenic death) suppressed by MDSCs; death,
    # inactivation, PD-1 exhaustion (blocked by anti-PD-1), reinvigoration, chemo kill.
    f_n = n_cells / (n_cells + p[_P.exhaustion_half_sat])
    recruit = sup_rec * (
        p[_P.effector_recruitment] * n_cells / (p[_P.effector_recruitment_half_sat] + n_cells)
        + p[_P.icd_recruitment] * dmg / (p[_P.damage_half_sat] + dmg)
    )
    exhaust = p[_P.exhaustion_rate] * (1.0 - blockade) * f_n * eff
    reinvig = p[_P.reinvigoration_rate] * blockade * exh
    dydt[_X.E] = (
        recruit
        - p[_P.effector_death_rate] * eff
        - p[_P.effector_inactivation_rate] * f_n * eff
        - exhaust
        + reinvig
        - p[_P.chemo_effector_kill_rate] * c_eff * eff
    )
    dydt[_X.X] = exhaust - reinvig - p[_P.exhausted_death_rate] * exh

    # MDSCs: recruited by tumour burden and by the damage signal; the inhibitor blocks it.
    block = 1.0 - p[_P.inhibitor_recruitment_block] * inh_eff
    dydt[_X.M] = (
        block
        * (
            p[_P.mdsc_tumour_recruitment] * n_cells / (p[_P.mdsc_tumour_half_sat] + n_cells)
            + p[_P.mdsc_damage_recruitment] * dmg / (p[_P.damage_half_sat] + dmg)
        )
        - p[_P.mdsc_death_rate] * mdsc
    )
    dydt[_X.D] = (chemo_s + chemo_r) * 1e-9 - p[_P.damage_decay_rate] * y[_X.D]

    # Drugs (one-compartment, first-order elimination).
    dydt[_X.C] = u[_U.chemo] - p[_P.chemo_elimination_rate] * y[_X.C]
    dydt[_X.A] = u[_U.anti_pd1] - p[_P.anti_pd1_elimination_rate] * y[_X.A]
    dydt[_X.I] = u[_U.inhibitor] - p[_P.inhibitor_elimination_rate] * y[_X.I]

    # Friberg neutrophil model.
    ktr = 4.0 / p[_P.neutrophil_mean_transit_time]
    anc = max(y[_X.ANC], 1e-6)
    prol = y[_X.P]
    drug = chemo / (chemo + p[_P.neutrophil_drug_ec50])
    feedback = (p[_P.neutrophil_baseline] / anc) ** p[_P.neutrophil_feedback]
    dydt[_X.P] = ktr * prol * ((1.0 - drug) * feedback - 1.0)
    dydt[_X.T1] = ktr * (prol - y[_X.T1])
    dydt[_X.T2] = ktr * (y[_X.T1] - y[_X.T2])
    dydt[_X.T3] = ktr * (y[_X.T2] - y[_X.T3])
    dydt[_X.ANC] = ktr * (y[_X.T3] - y[_X.ANC])


def hotness(effectors: np.ndarray, mdscs: np.ndarray, hot_ratio: float | np.ndarray = 1.0):
    """Immune hotness index ``H = E / (E + hot_ratio * M)`` in [0, 1]; hot if ``H >= 0.5``."""
    e = np.maximum(np.asarray(effectors, dtype=float), 0.0)
    m = np.maximum(np.asarray(mdscs, dtype=float), 0.0)
    denom = e + np.asarray(hot_ratio) * m
    return np.divide(e, denom, out=np.zeros(np.broadcast(e, denom).shape), where=denom > 0)


def quasi_steady_state(p: TMEParameters, tumour_cells: float, resistant_fraction: float) -> dict:
    """Untreated immune equilibrium for a tumour of fixed size (the presentation state).

    The tumour changes slowly (weeks) next to T cells and MDSCs (days), so patients present
    with E, X and M at their quasi-steady state for the current burden, no damage signal, no
    drug, and neutrophils at baseline.
    """
    n = float(tumour_cells)
    f_n = n / (n + p.exhaustion_half_sat)
    mdsc = p.mdsc_tumour_recruitment * n / (p.mdsc_tumour_half_sat + n) / p.mdsc_death_rate
    sup_rec = 1.0 / (1.0 + mdsc / p.mdsc_half_suppression_recruit)
    recruit = sup_rec * p.effector_recruitment * n / (p.effector_recruitment_half_sat + n)
    eff = recruit / (
        p.effector_death_rate + (p.effector_inactivation_rate + p.exhaustion_rate) * f_n
    )
    exh = p.exhaustion_rate * f_n * eff / p.exhausted_death_rate
    anc = p.neutrophil_baseline
    return {
        "S": n * (1.0 - resistant_fraction),
        "R": n * resistant_fraction,
        "E": eff,
        "X": exh,
        "M": mdsc,
        "D": 0.0,
        "C": 0.0,
        "A": 0.0,
        "I": 0.0,
        "P": anc,
        "T1": anc,
        "T2": anc,
        "T3": anc,
        "ANC": anc,
    }


def _default_states() -> tuple[StateVar, ...]:
    y0 = quasi_steady_state(TMEParameters(), 3e10, 1e-3)
    info = {
        "S": ("cells", "chemo-sensitive tumour cells"),
        "R": ("cells", "chemo-resistant tumour cells"),
        "E": ("cells", "active tumour-infiltrating CD8+ T cells"),
        "X": ("cells", "PD-1-exhausted CD8+ T cells"),
        "M": ("cells", "intratumoural MDSCs"),
        "D": ("damage units", "damage/inflammatory signal of chemo-killed cells"),
        "C": ("full-dose units", "chemotherapy exposure"),
        "A": ("standard-dose units", "anti-PD-1 antibody (1 = one 200 mg pembrolizumab dose)"),
        "I": ("daily-dose units", "suppressor-inhibitor (1 = one labelled daily dose)"),
        "P": ("1e9 cells/L", "proliferating neutrophil progenitors"),
        "T1": ("1e9 cells/L", "neutrophil transit compartment 1"),
        "T2": ("1e9 cells/L", "neutrophil transit compartment 2"),
        "T3": ("1e9 cells/L", "neutrophil transit compartment 3"),
        "ANC": ("1e9 cells/L", "absolute neutrophil count"),
    }
    return tuple(StateVar(n, info[n][0], info[n][1], y0[n]) for n in STATE_NAMES)


MODEL = Model(
    name="tme",
    title=(
        "tme_env immune-shift model: chemo-induced MDSC recruitment, resistance, anti-PD-1, "
        "inhibitor"
    ),
    states=_default_states(),
    inputs=(
        InputVar("chemo", "full doses/day", "chemotherapy (rate 1 for 1 day = one full dose)"),
        InputVar("anti_pd1", "standard doses/day", "anti-PD-1 (rate 1 for 1 day = 200 mg)"),
        InputVar("inhibitor", "daily doses/day", "suppressor-inhibitor (rate 1 = labelled dose)"),
    ),
    parameter_class=TMEParameters,
    rhs=rhs,
    reference=(
        "tme_env immune-shift model (this package). Terms from de Pillis et al. 2006/2013, "
        "Anderson et al. (GBM-MDSC), Friberg et al. 2002; calibration in experiments/."
        " Default state: a 3e10-cell tumour, 0.1% resistant, immune quasi-steady state."
    ),
    default_atol=1e-6,
)
