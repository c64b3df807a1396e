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
    I    suppressor-inhibitor (a CXCR2 antagonist, navarixin-like)  daily-dose units
    G    corticosteroid effect (irAE management)                    prednisone 1 mg/kg/day
    P, T1, T2, T3, ANC   Friberg neutrophil model (proliferating, 3 transit, circulating)
                                                                    1e9 cells/L

Inputs (infusion rates, dose units/day): ``chemo``, ``anti_pd1``, ``inhibitor``, ``steroid``;
a rate of 1 for 1 day is one full dose of an infused drug, a rate of 1 is the labelled daily
dose of the inhibitor, and of prednisone 1 mg/kg/day for the steroid (given by the clinic to
manage immune-related adverse events, not chosen by a policy). How a decision's dose
fractions become these rates is `tme_env.dosing`.

Equations (N = S + R; f_N = N / (N + K_ex); Bk = A / (A + A50) is the PD-1 occupancy, which
saturates at the label dose; Ih = I / (I + I50) the inhibitor effect; Me = M (1 - inh_function
Ih) the functional MDSCs; sup_rec = 1 / (1 + Me / M50_recruit), sup_kill = 1 / (1 + Me /
M50_kill), sup_exh = 1 + pi_X Me / (Me + M50_kill) (MDSC suppression of T cells: recruitment,
killing, exhaustion); St = s_G G / (G + G50) the steroid suppression of effectors;
kill_C(x) = x C / (C + C50) the saturating chemotherapy kill)::

    growth   = g_S (1 + pi_M Me/(Me + M50_growth)) ln(K / N)  (Gompertz, both clones; MDSC
                                                                growth promotion pi_M = 0
                                                                by default: no source)
    Dk       = (1 - St) d_E r^l / (s_E + r^l),  r = sup_kill E / N   (ratio-dependent kill)
    chemo_S  = kill_C(k_chemo) S,   chemo_R = kill_C(k_chemo eps_R) R
    dS/dt = growth S - chemo_S - Dk S - mu (1 + mu_C kill_C(1)) S
    dR/dt = growth g_R/g_S R - chemo_R - iota_R Dk R + mu (1 + mu_C kill_C(1)) S
    dE/dt = (1 - St) sup_rec [rho_E N/(k_E + N) + rho_ICD D/(K_D + D)] - delta_E E
            - q_E f_N E - x_E sup_exh (1 - phi Bk) f_N E + reinv phi Bk X
            - kill_C(k_chemo_E) E
    dX/dt = x_E sup_exh (1 - phi Bk) f_N E - reinv phi Bk X - delta_X X
    dM/dt = (1 - inh_recruit Ih) [alpha_N N/(q_N + N) + alpha_D D/(K_D + D)] - delta_M M
    dD/dt = (chemo_S + chemo_R) / 1e9 - delta_D D
    dC/dt = u_chemo - k_el_C C;  dA/dt = u_aPD1 - k_el_A A;  dI/dt = u_inh - k_el_I I
    dG/dt = u_steroid - k_el_G G
    Friberg: dP/dt = k_tr P ((1 - C/(C + C50_N)) (1 - e_I Ih) (ANC0/ANC)^gamma - 1)
             dT1/dt = k_tr (P - T1), dT2/dt = k_tr (T1 - T2), dT3/dt = k_tr (T2 - T3)
             dANC/dt = k_tr (T3 - ANC)

Model v2 (the first-line trial panel; `tme_env.validation`) adds three things:

* **PD-L1**: the patient's tumour proportion score ``TPS`` sets the share of PD-1 exhaustion
  that anti-PD-1 blocks, ``phi = phi_0 + (1 - phi_0) TPS / (TPS + tps50)``
  (`pd1_blockable_share`): tumour PD-L1 is the ligand the antibody displaces. TPS also tilts
  the immune phenotype of the cohort (inflamed tumours are PD-L1-high;
  `tme_env.patients.population.PHENOTYPE_GIVEN_TPS`).
* **Both sides of chemotherapy's immune effect**: the damage signal of chemo-killed cells
  primes effector T cells (immunogenic cell death, ``rho_ICD``: antigen release; Galluzzi et
  al., Nat Rev Immunol 2017) and recruits MDSCs (``alpha_D``, the immune shift); their
  balance differs between patients (the cohort spreads ``alpha_D`` widely, and the blood MDSC
  assay reveals it).
* **A burden-linked death hazard** ``h = h_ref frailty (N / N_ref)^beta`` (`death_hazard`):
  a patient dies when it, integrated from day 0, reaches his ``death_threshold`` (a
  unit-exponential draw of the cohort), or at the lethal burden. Deaths then start in the
  first months, as in the trials, instead of only at 1e12 cells.

Exhaustion depends on the antigen load through ``f_N = N / (N + K_ex)`` (chronic antigen
stimulation drives T-cell exhaustion; Wherry, Nat Immunol 2011 [M]): after a deep response
the small residual tumour no longer exhausts the effectors, which is how immune control can
outlast the anti-PD-1 course (KEYNOTE-189's completers of 35 cycles: 71.9% alive 3 years
later; Garassino et al., JCO 2023). ``K_ex`` is calibrated to the panel.

``iota_R`` (1: resistant cells are as visible to T cells as sensitive ones) is a knockout
switch: relapse after a response is the resistant clone escaping immune control once MDSCs
suppress it, which ``iota_R = 0`` removes. The inhibitor is a CXCR2 antagonist (navarixin,
SX-682): it blocks the chemokine-driven recruitment of granulocytic MDSCs and, as in its
trials, lowers blood neutrophils (``e_I``), adding to chemotherapy's neutropenia.

Numerical guards (no effect on physical trajectories): populations and drug levels are read
as ``max(x, 0)`` so that round-off undershoots of a vanishing state give no NaN, except the
exhausted cells X, which enter only linearly (a small undershoot decays back towards 0 and
cannot produce a NaN); the ANC in the feedback term is floored at 1e-6.

Immune hotness ``H = Dk / d_E`` in [0, 1] (`hotness`): the per-cell immune kill rate as a
fraction of its maximum. It falls with fewer active effectors per tumour cell (an excluded or
desert tumour, PD-1 exhaustion), with MDSC suppression of killing and with steroids: a tumour
is *hot* when H >= 0.5, i.e. when immunity kills at more than half its full capacity.

Every parameter carries value, unit and source (a paper and table from
``shared/reference/models.md``, or "calibrated: <target>"). Parameters marked "calibrated: the
model-v2 trial panel" are set by ``experiments/calibrate_tme.py`` (a real optimiser over the
cohort's population medians, on train patients); the values here are its output
(``experiments/calibration/tme_calibration.json``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tme_env.jit import JIT_FLAGS
from tme_env.models.base import InputVar, Model, StateVar, index_enum
from tme_env.models.tme_parameters import TMEParameters

__all__ = [
    "DEATH_BURDEN_CELLS",
    "DETECTION_LIMIT_CELLS",
    "HOT_THRESHOLD",
    "INPUT",
    "INPUT_NAMES",
    "MODEL",
    "PARAM",
    "STATE",
    "STATE_NAMES",
    "TMEParameters",
    "hotness",
    "hotness_of_state",
    "death_hazard",
    "immune_kill",
    "pd1_blockable_share",
    "quasi_steady_state",
]

#: Lethal tumour burden (cells): ~1 kg of tumour tissue (1e9 cells per cm^3).
DEATH_BURDEN_CELLS = 1e12
#: Imaging detection limit (cells): ~1 cm^3 of tumour.
DETECTION_LIMIT_CELLS = 1e9
#: Hotness index at or above which a tumour counts as immune-hot.
HOT_THRESHOLD = 0.5


#: Kernel index of each parameter, by name (``p[PARAM.growth_rate]``).
PARAM = index_enum("PARAM", TMEParameters.names())
STATE_NAMES = ("S", "R", "E", "X", "M", "D", "C", "A", "I", "G", "P", "T1", "T2", "T3", "ANC")
INPUT_NAMES = ("chemo", "anti_pd1", "inhibitor", "steroid")
#: Kernel index of each state, by name (``y[STATE.ANC]``).
STATE = index_enum("STATE", STATE_NAMES)
#: Kernel index of each input, by name (``u[INPUT.chemo]``).
INPUT = index_enum("INPUT", INPUT_NAMES)


@njit(**JIT_FLAGS)
def _suppression(y, p):  # pragma: no cover - compiled
    """``(functional MDSCs, sup_rec, sup_kill, sup_exh, steroid suppression)`` at state y."""
    inh = max(y[STATE.I], 0.0)
    inh_eff = inh / (inh + p[PARAM.inhibitor_ec50])
    m_func = max(y[STATE.M], 0.0) * (1.0 - p[PARAM.inhibitor_function_block] * inh_eff)
    sup_rec = 1.0 / (1.0 + m_func / p[PARAM.mdsc_half_suppression_recruit])
    sup_kill = 1.0 / (1.0 + m_func / p[PARAM.mdsc_half_suppression_kill])
    sup_exh = 1.0 + p[PARAM.mdsc_exhaustion_promotion] * m_func / (
        m_func + p[PARAM.mdsc_half_suppression_kill]
    )
    ster = max(y[STATE.G], 0.0)
    steroid = p[PARAM.steroid_suppression] * ster / (ster + p[PARAM.steroid_ec50])
    return m_func, sup_rec, sup_kill, sup_exh, steroid


@njit(**JIT_FLAGS)
def immune_kill(y, p):  # pragma: no cover - compiled
    """Per-cell immune kill rate ``Dk`` (1/day) of the sensitive clone at state ``y``."""
    n_cells = max(y[STATE.S], 0.0) + max(y[STATE.R], 0.0)
    if n_cells <= 0.0:
        return 0.0
    _, _, sup_kill, _, steroid = _suppression(y, p)
    ratio = sup_kill * max(y[STATE.E], 0.0) / n_cells
    expo = p[PARAM.effector_kill_exponent]
    rl = ratio if expo == 1.0 else ratio**expo
    kill_max = (1.0 - steroid) * p[PARAM.effector_kill_rate]
    return kill_max * rl / (p[PARAM.effector_kill_steepness] + rl)


@njit(**JIT_FLAGS)
def pd1_blockable_share(p):  # pragma: no cover - compiled
    """Share ``phi`` of PD-1 exhaustion that anti-PD-1 blocks: ``phi_0 + (1 - phi_0) f(TPS)``.

    ``f(TPS) = TPS / (TPS + tps50)``: tumour PD-L1 is the ligand the antibody's blockade
    displaces, so a PD-L1-negative tumour (TPS 0) responds only through ``phi_0``.
    """
    tps = p[PARAM.pdl1_tps]
    floor = p[PARAM.pd1_blockable_floor]
    return floor + (1.0 - floor) * tps / (tps + p[PARAM.pd1_tps_half_sat])


@njit(**JIT_FLAGS)
def death_hazard(y, p):  # pragma: no cover - compiled
    """Burden-linked death hazard (1/day): ``h_ref frailty (N / N_ref)^beta``.

    Death in metastatic disease comes long before the lethal burden for many patients
    (organ failure, infection, thrombosis, brain metastases): the hazard rises with the
    burden, as the tumour-size/OS models of NSCLC trials find. A patient dies when the
    hazard integrated from day 0 reaches his ``death_threshold`` (or at the lethal burden).
    """
    n_cells = max(y[STATE.S], 0.0) + max(y[STATE.R], 0.0)
    if n_cells <= 0.0:
        return 0.0
    rel = n_cells / p[PARAM.death_hazard_burden_ref]
    expo = p[PARAM.death_hazard_exponent]
    scale = rel if expo == 1.0 else rel**expo
    return p[PARAM.death_hazard_rate] * p[PARAM.death_frailty] * scale


@njit(**JIT_FLAGS)
def rhs(t, y, p, u, dydt):  # noqa: ARG001 - autonomous model; t is part of the kernel ABI
    """Right-hand side of the immune-shift model (see the module docstring)."""
    s_cells = max(y[STATE.S], 0.0)
    r_cells = max(y[STATE.R], 0.0)
    eff = max(y[STATE.E], 0.0)
    exh = y[STATE.X]
    mdsc = max(y[STATE.M], 0.0)
    dmg = max(y[STATE.D], 0.0)
    chemo = max(y[STATE.C], 0.0)
    apd1 = max(y[STATE.A], 0.0)
    inh = max(y[STATE.I], 0.0)
    n_cells = s_cells + r_cells

    # Drug effects.
    c_eff = chemo / (chemo + p[PARAM.chemo_ec50])
    blockade = apd1 / (apd1 + p[PARAM.anti_pd1_ec50])
    inh_eff = inh / (inh + p[PARAM.inhibitor_ec50])
    m_func, sup_rec, sup_kill, sup_exh, steroid = _suppression(y, p)

    # Tumour growth (Gompertz, shared niche) and kills.
    if n_cells > 0.0:
        promote = 1.0 + p[PARAM.mdsc_growth_promotion] * m_func / (
            m_func + p[PARAM.mdsc_growth_half_sat]
        )
        growth = p[PARAM.growth_rate] * promote * np.log(p[PARAM.carrying_capacity] / n_cells)
        immune = immune_kill(y, p)
    else:
        growth = 0.0
        immune = 0.0
    chemo_s = p[PARAM.chemo_kill_rate] * c_eff * s_cells
    chemo_r = p[PARAM.chemo_kill_rate] * p[PARAM.chemo_resistant_kill_fraction] * c_eff * r_cells
    switch = p[PARAM.switching_rate] * (1.0 + p[PARAM.chemo_induced_switching] * c_eff) * s_cells
    dydt[STATE.S] = growth * s_cells - chemo_s - immune * s_cells - switch
    dydt[STATE.R] = (
        growth * p[PARAM.resistant_growth_factor] * r_cells
        - chemo_r
        - p[PARAM.resistant_immune_visibility] * immune * r_cells
        + switch
    )

    # Effector T cells: recruitment (antigen, immunogenic death) suppressed by MDSCs; death,
    # inactivation, PD-1 exhaustion (blocked by anti-PD-1), reinvigoration, chemo kill.
    f_n = n_cells / (n_cells + p[PARAM.exhaustion_half_sat])
    recruit = (1.0 - steroid) * sup_rec * (
        p[PARAM.effector_recruitment] * n_cells / (p[PARAM.effector_recruitment_half_sat] + n_cells)
        + p[PARAM.icd_recruitment] * dmg / (p[PARAM.damage_half_sat] + dmg)
    )
    blockable = pd1_blockable_share(p)
    exhaust = p[PARAM.exhaustion_rate] * sup_exh * (1.0 - blockable * blockade) * f_n * eff
    reinvig = p[PARAM.reinvigoration_rate] * blockable * blockade * exh
    dydt[STATE.E] = (
        recruit
        - p[PARAM.effector_death_rate] * eff
        - p[PARAM.effector_inactivation_rate] * f_n * eff
        - exhaust
        + reinvig
        - p[PARAM.chemo_effector_kill_rate] * c_eff * eff
    )
    dydt[STATE.X] = exhaust - reinvig - p[PARAM.exhausted_death_rate] * exh

    # MDSCs: recruited by tumour burden and by the damage signal; the inhibitor blocks it.
    block = 1.0 - p[PARAM.inhibitor_recruitment_block] * inh_eff
    dydt[STATE.M] = (
        block
        * (
            p[PARAM.mdsc_tumour_recruitment] * n_cells / (p[PARAM.mdsc_tumour_half_sat] + n_cells)
            + p[PARAM.mdsc_damage_recruitment] * dmg / (p[PARAM.damage_half_sat] + dmg)
        )
        - p[PARAM.mdsc_death_rate] * mdsc
    )
    dydt[STATE.D] = (chemo_s + chemo_r) * 1e-9 - p[PARAM.damage_decay_rate] * y[STATE.D]

    # Drugs (one-compartment, first-order elimination).
    dydt[STATE.C] = u[INPUT.chemo] - p[PARAM.chemo_elimination_rate] * y[STATE.C]
    dydt[STATE.A] = u[INPUT.anti_pd1] - p[PARAM.anti_pd1_elimination_rate] * y[STATE.A]
    dydt[STATE.I] = u[INPUT.inhibitor] - p[PARAM.inhibitor_elimination_rate] * y[STATE.I]
    dydt[STATE.G] = u[INPUT.steroid] - p[PARAM.steroid_elimination_rate] * y[STATE.G]

    # Friberg neutrophil model.
    ktr = 4.0 / p[PARAM.neutrophil_mean_transit_time]
    anc = max(y[STATE.ANC], 1e-6)
    prol = y[STATE.P]
    drug = chemo / (chemo + p[PARAM.neutrophil_drug_ec50])
    marrow = (1.0 - drug) * (1.0 - p[PARAM.inhibitor_neutrophil_effect] * inh_eff)
    feedback = (p[PARAM.neutrophil_baseline] / anc) ** p[PARAM.neutrophil_feedback]
    dydt[STATE.P] = ktr * prol * (marrow * feedback - 1.0)
    dydt[STATE.T1] = ktr * (prol - y[STATE.T1])
    dydt[STATE.T2] = ktr * (y[STATE.T1] - y[STATE.T2])
    dydt[STATE.T3] = ktr * (y[STATE.T2] - y[STATE.T3])
    dydt[STATE.ANC] = ktr * (y[STATE.T3] - y[STATE.ANC])


@njit(**JIT_FLAGS)
def hotness_of_state(y, p):  # pragma: no cover - compiled
    """Immune hotness ``H = Dk / d_E`` in [0, 1] of one state (see the module docstring)."""
    return immune_kill(y, p) / p[PARAM.effector_kill_rate]


def hotness(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Immune hotness ``H = Dk / d_E`` of states ``y`` with parameters ``p`` (kernel order).

    Args:
        y: States, ``(n_states,)``, ``(n_patients, n_states)`` or ``(n_patients, n_states,
            n_times)``.
        p: Parameter arrays, ``(n_parameters,)`` or ``(n_patients, n_parameters)``.

    Returns:
        H with the shape of ``y`` without its state axis.
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.ndim == 1:
        return np.float64(hotness_of_state(np.ascontiguousarray(y), np.ascontiguousarray(p)))
    y3 = y if y.ndim == 3 else y[:, :, None]
    p2 = np.broadcast_to(p, (y3.shape[0], p.shape[-1]))
    out = np.empty((y3.shape[0], y3.shape[2]))
    _hotness_batch(np.ascontiguousarray(y3), np.ascontiguousarray(p2), out)
    return out if y.ndim == 3 else out[:, 0]


@njit(**JIT_FLAGS)
def _hotness_batch(y, p, out):  # pragma: no cover - compiled
    col = np.empty(y.shape[1])
    for i in range(y.shape[0]):
        for k in range(y.shape[2]):
            for j in range(y.shape[1]):
                col[j] = y[i, j, k]
            out[i, k] = hotness_of_state(col, p[i])


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
    sup_exh = 1.0 + p.mdsc_exhaustion_promotion * mdsc / (mdsc + p.mdsc_half_suppression_kill)
    exhaustion = p.exhaustion_rate * sup_exh
    eff = recruit / (p.effector_death_rate + (p.effector_inactivation_rate + exhaustion) * f_n)
    exh = exhaustion * f_n * eff / p.exhausted_death_rate
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
        "G": 0.0,
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
        "G": ("prednisone mg/kg/day", "corticosteroid effect level (irAE management)"),
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
        InputVar("steroid", "mg/kg/day", "prednisone-equivalent steroid (given by the clinic)"),
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
