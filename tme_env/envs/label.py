"""The label rules and the irAE management the ``tme`` envs enforce: the one home of both.

Label rules (pembrolizumab label; KEYNOTE-189, Gandhi et al. NEJM 2018): at most
`MAX_ANTI_PD1_DOSES` anti-PD-1 doses and `MAX_ANTI_PD1_DAYS` from the first; platinum doublets
stop after `MAX_PLATINUM_CYCLES` cycles, later chemotherapy doses are capped at pemetrexed
maintenance (`MAINTENANCE_DOSE`). The regimens (`tme_env.regimens`) plan with the same
constants.

Chemotherapy cycle length (v2; the platinum doublet and pemetrexed maintenance are given q3w,
KEYNOTE-189): **two chemotherapy doses less than `CHEMO_CYCLE_DAYS` (21) days apart must both
be metronomic**, i.e. at or below `METRONOMIC_DOSE` (a quarter of a full dose, the weekly
metronomic schedule). So a dose above the metronomic level is refused within 21 days of any
earlier chemotherapy dose, and a metronomic dose is refused within 21 days of a dose above
that level; metronomic doses may follow each other weekly. This closes the loophole of
weekly maintenance-size doses (issue 29 item 6) without touching the metronomic regimen. A
refused dose is not given at all (``info["chemo_refused"]`` is 1 for that step).

irAE management (label; ASCO/NCCN guidance [M]): grade 2 -> hold anti-PD-1 `HOLD_DAYS_GRADE2`;
grade 3 -> hold and prednisone 1 mg/kg/day tapered over `STEROID_DAYS` (half at 1, half at
0.5); grade 4 or a second grade 3 -> discontinue permanently (with the steroid course);
grade 5 -> death. P(grade 4 | grade 3-4) is assumed `GRADE4_SHARE`.

The compiled functions take an `tme_env.envs.state.EnvState` of views (``s``) and a slot.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tme_env.dosing import ACTION
from tme_env.envs.state import CHART, state_views
from tme_env.jit import JIT_FLAGS
from tme_env.models.base import index_enum
from tme_env.models.tme import PARAM, STATE

__all__ = [
    "GRADE4_SHARE",
    "HOLD_DAYS_GRADE2",
    "CHEMO_CYCLE_DAYS",
    "MAINTENANCE_DOSE",
    "MAX_ANTI_PD1_DAYS",
    "MAX_ANTI_PD1_DOSES",
    "MAX_PLATINUM_CYCLES",
    "METRONOMIC_DOSE",
    "STEROID_DAYS",
    "UNIFORM",
    "apply_rules",
    "blocked_flags",
    "chemo_too_soon",
    "count_doses",
    "irae_grade",
    "irae_hazard",
    "manage_irae",
    "pd1_blocked",
]

#: Anti-PD-1 doses allowed (pembrolizumab label: 35 doses).
MAX_ANTI_PD1_DOSES = 35
#: Days of anti-PD-1 allowed from the first dose (label: 24 months).
MAX_ANTI_PD1_DAYS = 730.0
#: Platinum-doublet cycles allowed (KEYNOTE-189: 4 cycles; the env allows up to 6).
MAX_PLATINUM_CYCLES = 6
#: Pemetrexed maintenance as a dose fraction: the cap after the platinum cycles, and a dose
#: above it counts as a platinum cycle.
MAINTENANCE_DOSE = 0.5
#: Metronomic chemotherapy: a quarter of the full dose every week (cyclophosphamide 50 mg/day
#: orally in the clinic; Colleoni et al., Ann Oncol 2002). Doses at or below it may be weekly.
METRONOMIC_DOSE = 0.25
#: Shortest interval between two chemotherapy doses of which one is above `METRONOMIC_DOSE`
#: (the q3w cycle of the platinum doublet and of pemetrexed maintenance).
CHEMO_CYCLE_DAYS = 21.0
#: Days anti-PD-1 is held after a grade 1-2 irAE.
HOLD_DAYS_GRADE2 = 14.0
#: Days of the steroid course after a grade 3-4 irAE (held for as long).
STEROID_DAYS = 28.0
#: P(grade 4 | grade 3-4) of an irAE [M].
GRADE4_SHARE = 0.25
#: The uniforms each treated slot draws per step for its irAE, in draw order (columns of the
#: core's uniforms): whether an irAE begins, and its grade.
UNIFORM = index_enum("UNIFORM", ("irae_event", "irae_grade"))


@njit(**JIT_FLAGS)
def pd1_blocked(s, i, day):  # pragma: no cover - compiled
    """Whether anti-PD-1 is refused to slot ``i`` at ``day`` (label and irAE rules)."""
    capped = s.pd1_doses[i] >= MAX_ANTI_PD1_DOSES or (
        s.pd1_first_day[i] >= 0.0 and day - s.pd1_first_day[i] >= MAX_ANTI_PD1_DAYS
    )
    return s.pd1_hold_days[i] > 0.0 or s.pd1_stopped[i] > 0 or capped


@njit(**JIT_FLAGS)
def blocked_flags(dt, *state):  # pragma: no cover - compiled
    """1.0 for every slot whose anti-PD-1 is refused at its next decision (`pd1_blocked`).

    ``*state`` are the five `tme_env.envs.state.state_arrays` (called from Python).
    """
    s = state_views(*state)
    out = np.empty(s.steps.shape[0])
    for i in range(out.shape[0]):
        out[i] = 1.0 if pd1_blocked(s, i, s.steps[i] * dt) else 0.0
    return out


@njit(**JIT_FLAGS)
def chemo_too_soon(s, i, dose, day):  # pragma: no cover - compiled
    """Whether a chemotherapy ``dose`` > 0 at ``day`` breaks the cycle length (see above)."""
    since_any = day - s.chart[CHART.chemo_last_day, i]
    since_cycle = day - s.chart[CHART.chemo_cycle_day, i]
    soon = CHEMO_CYCLE_DAYS - 1e-9
    if dose > METRONOMIC_DOSE:
        return s.chart[CHART.chemo_last_day, i] >= 0.0 and since_any < soon
    return s.chart[CHART.chemo_cycle_day, i] >= 0.0 and since_cycle < soon


@njit(**JIT_FLAGS)
def apply_rules(doses, dt, s, given, steroid, active):  # pragma: no cover - compiled
    """The doses actually given (label caps, irAE holds) and the steroid rate per slot.

    Args:
        doses: The doses asked for, ``(n, 3)`` (columns `tme_env.dosing.ACTION`).
        dt: Days per decision interval.
        s: The env state (`tme_env.envs.state.EnvState`).
        given: The doses given (written).
        steroid: Prednisone-equivalent mg/kg/day over the interval (written).
        active: Slots that step (only theirs record a refused chemotherapy dose).
    """
    for i in range(doses.shape[0]):
        chemo = doses[i, ACTION.chemo]
        if s.platinum_cycles[i] >= MAX_PLATINUM_CYCLES and chemo > MAINTENANCE_DOSE:
            chemo = MAINTENANCE_DOSE
        refused = chemo > 0.0 and chemo_too_soon(s, i, chemo, s.steps[i] * dt)
        if refused:
            chemo = 0.0
        if active[i]:
            s.chart[CHART.chemo_refused, i] = 1.0 if refused else 0.0
        given[i, ACTION.chemo] = chemo
        blocked = pd1_blocked(s, i, s.steps[i] * dt)
        given[i, ACTION.anti_pd1] = 0.0 if blocked else doses[i, ACTION.anti_pd1]
        given[i, ACTION.inhibitor] = doses[i, ACTION.inhibitor]
        left = s.steroid_days[i]
        steroid[i] = 1.0 if left > 0.5 * STEROID_DAYS else (0.5 if left > 0.0 else 0.0)


@njit(**JIT_FLAGS)
def count_doses(s, i, given, day):  # pragma: no cover - compiled
    """Slot ``i``'s label counters after the interval's doses ``given`` (from ``day``)."""
    if given[i, ACTION.anti_pd1] > 0.0:
        s.pd1_doses[i] += 1
        s.chart[CHART.pd1_last_day, i] = day
        if s.pd1_first_day[i] < 0.0:
            s.pd1_first_day[i] = day
    chemo = given[i, ACTION.chemo]
    if chemo > 0.0:
        s.chart[CHART.chemo_last_day, i] = day
        if chemo > METRONOMIC_DOSE:
            s.chart[CHART.chemo_cycle_day, i] = day
    if chemo > MAINTENANCE_DOSE:
        s.platinum_cycles[i] += 1
    if given[i, ACTION.inhibitor] > 0.0:
        s.chart[CHART.inhibitor_last_day, i] = day


@njit(**JIT_FLAGS)
def irae_hazard(y_out, p, e_ref, dt):  # pragma: no cover - compiled
    """Cumulative irAE hazard of one slot over the interval (trapezoid on the outputs)."""
    last = y_out.shape[1] - 1
    h = dt / last
    total = 0.0
    prev = 0.0
    for k in range(last + 1):
        a = max(y_out[STATE.A, k], 0.0)
        act = min(max(y_out[STATE.E, k], 0.0) / e_ref, 3.0)
        lam = p[PARAM.irae_rate] * p[PARAM.irae_susceptibility] * act * a / (
            a + p[PARAM.irae_exposure_half_sat]
        )
        if k > 0:
            total += 0.5 * (prev + lam) * h
        prev = lam
    return total


@njit(**JIT_FLAGS)
def irae_grade(hazard, u_event, u_grade, p):  # pragma: no cover - compiled
    """Grade of the irAE that begins in the interval (0: none; 2 stands for grades 1-2)."""
    if u_event >= 1.0 - np.exp(-hazard):
        return 0.0
    if u_grade < p[PARAM.irae_fatal_fraction]:
        return 5.0
    if u_grade < p[PARAM.irae_severe_fraction]:
        severe = p[PARAM.irae_severe_fraction] - p[PARAM.irae_fatal_fraction]
        return 4.0 if u_grade < p[PARAM.irae_fatal_fraction] + GRADE4_SHARE * severe else 3.0
    return 2.0


@njit(**JIT_FLAGS)
def manage_irae(s, i, grade):  # pragma: no cover - compiled
    """The label's management of slot ``i``'s new irAE of ``grade`` (0: none)."""
    if grade > 0.0:
        s.irae_count[i] += 1
        if grade == 2.0:
            s.pd1_hold_days[i] = max(s.pd1_hold_days[i], HOLD_DAYS_GRADE2)
        elif grade < 5.0:
            if grade == 4.0 or s.irae_severe[i] > 0:
                s.pd1_stopped[i] = 1
            s.irae_severe[i] += 1
            s.steroid_days[i] = STEROID_DAYS
            s.pd1_hold_days[i] = max(s.pd1_hold_days[i], STEROID_DAYS)
