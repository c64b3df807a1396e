"""Clinical readouts of ``tme`` trajectories, in one place (used by envs, trials, experiments).

All functions take arrays whose last axis is time (one patient ``(n_times,)`` or a batch
``(n_patients, n_times)``) and the matching output days.

Conventions (documented here once):

* Tumour burden = sensitive + resistant cells. Imaging sees it only above the detection limit
  (`DETECTION_LIMIT_CELLS`, ~1 cm^3; `detectable`: a reading at the limit is not seen).
* RECIST-style measure: the sum of lesion diameters is modelled as the diameter of a sphere
  holding the whole burden at 1e9 cells/cm^3, ``d = 10 (6 V / pi)^(1/3)`` mm (12.4 mm at
  1e9 cells), so diameter ∝ burden^(1/3). Partial response: a >= 30% decrease from baseline;
  progression: a >= 20% increase over the nadir (RECIST 1.1; the 5 mm absolute rule is
  ignored); complete response: burden below the detection limit.
* Neutropenia grade (CTCAE v5, ANC in 1e9/L): G1 < 2.0 (LLN), G2 < 1.5, G3 < 1.0, G4 < 0.5.
* Blood MDSCs: the circulating pool is taken proportional to the intratumoural one,
  ``BLOOD_MDSC_PER_UL_PER_CELL`` cells/uL per intratumoural MDSC (scaled so that a typical
  presentation shows ~10 MDSC/uL); fold-changes are what the biomarkers use.
* Death: burden >= `DEATH_BURDEN_CELLS` (1e12 cells), or the burden-linked death hazard
  (`tme_env.models.tme.death_hazard`) integrated from day 0 reaching the patient's
  ``death_threshold`` (`hazard_death_time`); survival and progression times are
  linearly interpolated in log-burden between output times, censored at the last output.
"""

from __future__ import annotations

import numpy as np

from tme_env.models.tme import (
    DEATH_BURDEN_CELLS,
    DETECTION_LIMIT_CELLS,
    HOT_THRESHOLD,
    PARAM,
    STATE,
    hotness,
)

__all__ = [
    "BLOOD_MDSC_PER_UL_PER_CELL",
    "DEATH_BURDEN_CELLS",
    "DAYS_PER_MONTH",
    "DETECTION_LIMIT_CELLS",
    "HORIZON_DAYS",
    "HOT_THRESHOLD",
    "KEYNOTE189_IMAGING_DAYS",
    "QTWIST_UTILITY_REL",
    "QTWIST_UTILITY_TOX",
    "best_overall_response",
    "blood_mdsc_per_ul",
    "detectable",
    "diameter_mm",
    "hazard_death_time",
    "hotness",
    "neutropenia_grade",
    "progression_time",
    "q_twist_days",
    "survival_time",
    "tumour_burden",
]

BLOOD_MDSC_PER_UL_PER_CELL = 1.5e-8
#: Q-TWiST utilities (Glasziou, Simes & Gelber, Stat Med 1990; Gelber & Goldhirsch): time
#: with grade >= 3 toxicity (TOX) and time after progression (REL) count at these weights;
#: 0.5 is the usual base case, with threshold analyses over 0-1 [M]. The one place the
#: quality weights live: the trial score and the env reward (`tme_env.envs.RewardWeights`)
#: both use them.
QTWIST_UTILITY_TOX = 0.5
QTWIST_UTILITY_REL = 0.5
#: RECIST thresholds (fractions of the baseline / nadir sum of diameters).
PARTIAL_RESPONSE_DECREASE = 0.30
PROGRESSION_INCREASE = 0.20
#: Days per month (365.25 / 12): every month figure of the package and the experiments.
DAYS_PER_MONTH = 30.4375
#: The benchmark's horizon: 5 years of follow-up (days, rounded up from 5 x 365.25), the env
#: default, the regimens' and the trials' default, and every experiment's.
HORIZON_DAYS = 1827.0
#: KEYNOTE-189 imaging: every 6 weeks to week 18, every 9 weeks to week 45, then every 12
#: weeks (models.md §8, [M]); days after randomisation.
KEYNOTE189_IMAGING_DAYS = tuple(
    [42.0 * k for k in range(1, 4)]
    + [126.0 + 63.0 * k for k in range(1, 5)]
    + [378.0 + 84.0 * k for k in range(1, 40)]
)


def tumour_burden(states: np.ndarray, state_names: tuple[str, ...]) -> np.ndarray:
    """Sensitive + resistant tumour cells from a state array ``(..., n_states, n_times)``."""
    return states[..., state_names.index("S"), :] + states[..., state_names.index("R"), :]


def diameter_mm(burden: np.ndarray) -> np.ndarray:
    """RECIST sum-of-diameters proxy (mm): the diameter of a sphere of ``burden`` cells."""
    volume_cm3 = np.maximum(np.asarray(burden, dtype=float), 0.0) / 1e9
    return 10.0 * np.cbrt(6.0 * volume_cm3 / np.pi)


def neutropenia_grade(anc: np.ndarray) -> np.ndarray:
    """CTCAE v5 'neutrophil count decreased' grade (0-4) of an ANC in 1e9 cells/L."""
    anc = np.asarray(anc, dtype=float)
    # Each threshold crossed adds one grade (NaN crosses none and reads as grade 0).
    return (anc < 2.0).astype(np.int64) + (anc < 1.5) + (anc < 1.0) + (anc < 0.5)


def blood_mdsc_per_ul(mdsc_cells: np.ndarray) -> np.ndarray:
    """Blood MDSC assay (cells/uL) from the intratumoural MDSC pool."""
    return BLOOD_MDSC_PER_UL_PER_CELL * np.asarray(mdsc_cells, dtype=float)


def _first_crossing(t: np.ndarray, x: np.ndarray, level: float) -> np.ndarray:
    """First time ``x >= level`` (interpolated in log x); ``inf`` if never."""
    x = np.atleast_2d(x)
    out = np.full(x.shape[0], np.inf)
    above = x >= level
    hit = above.any(axis=1)
    idx = np.argmax(above, axis=1)
    for i in np.flatnonzero(hit):
        j = idx[i]
        if j == 0:
            out[i] = t[0]
            continue
        lo, hi = np.log(max(x[i, j - 1], 1e-300)), np.log(x[i, j])
        frac = (np.log(level) - lo) / (hi - lo) if hi > lo else 1.0
        out[i] = t[j - 1] + frac * (t[j] - t[j - 1])
    return out


def survival_time(t: np.ndarray, burden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Overall survival: (time in days, event flag); censored at ``t[-1]`` if alive."""
    death = _first_crossing(np.asarray(t, float), burden, DEATH_BURDEN_CELLS)
    event = np.isfinite(death)
    return np.where(event, death, float(t[-1])), event


def hazard_death_time(t: np.ndarray, y: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Day the integrated death hazard reaches each patient's threshold; ``inf`` if never.

    The hazard ``h_ref frailty (N / N_ref)^beta`` (`tme_env.models.tme.death_hazard`) is
    integrated with the trapezoid rule on the outputs (as the env does on its daily outputs)
    and the crossing is interpolated linearly between outputs.

    Args:
        t: Output days, ``(n_times,)``.
        y: States, ``(n_patients, n_states, n_times)`` (kernel order).
        params: Parameters, ``(n_patients, n_parameters)`` (kernel order).
    """
    t = np.asarray(t, dtype=float)
    n = np.maximum(y[:, STATE.S], 0.0) + np.maximum(y[:, STATE.R], 0.0)
    p = np.asarray(params, dtype=float)
    rel = n / p[:, PARAM.death_hazard_burden_ref, None]
    h = (p[:, PARAM.death_hazard_rate] * p[:, PARAM.death_frailty])[:, None] * rel ** p[
        :, PARAM.death_hazard_exponent, None
    ]
    steps = np.cumsum(0.5 * (h[:, 1:] + h[:, :-1]) * np.diff(t), axis=1)
    cum = np.concatenate([np.zeros((h.shape[0], 1)), steps], axis=1)
    thr = p[:, PARAM.death_threshold]
    out = np.full(h.shape[0], np.inf)
    for i in np.flatnonzero(cum[:, -1] >= thr):
        j = int(np.argmax(cum[i] >= thr[i]))
        if j == 0:
            out[i] = t[0]
            continue
        frac = (thr[i] - cum[i, j - 1]) / (cum[i, j] - cum[i, j - 1])
        out[i] = t[j - 1] + frac * (t[j] - t[j - 1])
    return out


def _at_days(t: np.ndarray, x: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Values of ``x`` (last axis = time) at ``days`` (log-linear interpolation).

    Exact where it can be: a day on an output time reads that output, and a day between two
    equal outputs reads their value, not ``exp(log(x))`` (which can land an ulp below a
    threshold such as the detection limit, differently on different machines). The env's
    running RECIST (`tme_env.envs.progression`) reads its scans the same way.
    """
    x = np.maximum(np.atleast_2d(x), 1e-300)
    out = np.exp(np.stack([np.interp(days, t, row) for row in np.log(x)]))
    last = t.size - 1
    on = np.clip(np.searchsorted(t, days), 0, last)
    grid = t[on] == days
    out[:, grid] = x[:, on[grid]]
    left = np.clip(np.searchsorted(t, days, side="right") - 1, 0, max(last - 1, 0))
    right = np.minimum(left + 1, last)
    flat = (x[:, left] == x[:, right]) & ~grid[None, :]
    out[flat] = x[:, left][flat]
    return out


def detectable(burden: np.ndarray | float) -> np.ndarray:
    """Whether imaging sees a burden: above `DETECTION_LIMIT_CELLS`.

    A reading floored at the limit, as the clinical env reports an undetectable tumour, is
    not seen.
    """
    return np.asarray(burden) > DETECTION_LIMIT_CELLS


def progression_time(
    t: np.ndarray,
    burden: np.ndarray,
    imaging_days: np.ndarray | tuple[float, ...] = KEYNOTE189_IMAGING_DAYS,
) -> tuple[np.ndarray, np.ndarray]:
    """RECIST-style progression-free survival from scheduled imaging.

    Progression is the first scan whose diameter is >= 20% above the smallest diameter seen
    so far (baseline included), or a detectable lesion after a complete response; death
    (burden >= 1e12) counts as an event. Returns (time in days, event flag); censored at the
    last output time.
    """
    t = np.asarray(t, dtype=float)
    burden = np.atleast_2d(burden)
    days = np.asarray([d for d in imaging_days if d <= t[-1]], dtype=float)
    death, died = survival_time(t, burden)
    pfs = np.where(died, death, t[-1])
    event = died.copy()
    if days.size == 0:
        return pfs, event
    seen = _at_days(t, burden, days)
    seen_it = detectable(seen)
    diam = np.where(seen_it, diameter_mm(seen), 0.0)
    base = diameter_mm(burden[:, 0])
    nadir = np.minimum.accumulate(np.concatenate([base[:, None], diam], axis=1), axis=1)[:, :-1]
    prog = seen_it & ((diam >= (1.0 + PROGRESSION_INCREASE) * nadir) | (nadir == 0.0))
    for i in np.flatnonzero(prog.any(axis=1)):
        day = days[np.argmax(prog[i])]
        if day < pfs[i]:
            pfs[i] = day
            event[i] = True
    return pfs, event


def best_overall_response(
    t: np.ndarray,
    burden: np.ndarray,
    imaging_days: np.ndarray | tuple[float, ...] = KEYNOTE189_IMAGING_DAYS,
) -> np.ndarray:
    """Best overall response per patient: ``"CR"``, ``"PR"``, ``"SD"`` or ``"PD"``.

    Assessed on the scheduled scans before progression; CR = not detectable, PR = a >= 30%
    diameter decrease from baseline, PD = progression at the first scan, SD otherwise.
    """
    t = np.asarray(t, dtype=float)
    burden = np.atleast_2d(burden)
    days = np.asarray([d for d in imaging_days if d <= t[-1]], dtype=float)
    pfs, prog = progression_time(t, burden, days)
    out = np.full(burden.shape[0], "SD", dtype=object)
    if days.size == 0:
        return out
    seen = _at_days(t, burden, days)
    base = diameter_mm(burden[:, 0])
    for i in range(burden.shape[0]):
        before = days < pfs[i] if prog[i] else np.ones(days.size, dtype=bool)
        if not before.any():
            out[i] = "PD" if prog[i] else "SD"
            continue
        vals = seen[i, before]
        if (~detectable(vals)).any():
            out[i] = "CR"
        elif (diameter_mm(vals) <= (1.0 - PARTIAL_RESPONSE_DECREASE) * base[i]).any():
            out[i] = "PR"
    return out


def q_twist_days(
    os_days: np.ndarray,
    pfs_days: np.ndarray,
    tox_days: np.ndarray,
    u_tox: float = QTWIST_UTILITY_TOX,
    u_rel: float = QTWIST_UTILITY_REL,
) -> np.ndarray:
    """Quality-adjusted survival per patient (days): ``u_tox TOX + TWiST + u_rel REL``.

    ``REL = OS - PFS`` (time after progression), ``TOX`` the time with grade >= 3 toxicity
    before progression (v2: callers count toxic time before progression only, as the env's
    reward does; toxicity after progression is REL time. The clip to ``[0, PFS]`` is a
    guard), ``TWiST`` the rest. With survival restricted to the
    horizon and no other censoring, the mean over patients is the quality-adjusted RMST.
    """
    os_days = np.asarray(os_days, dtype=float)
    pfs = np.minimum(np.asarray(pfs_days, dtype=float), os_days)
    rel = os_days - pfs
    tox = np.clip(np.asarray(tox_days, dtype=float), 0.0, pfs)
    return u_tox * tox + (pfs - tox) + u_rel * rel
