"""RECIST progression and best response, judged as the trial judges them, step by step.

The trial (`tme_env.trials.outcomes.survival_outcomes`, `tme_env.clinical.progression_time`
and `best_overall_response`) reads the imaging burden the env reports after each step
(``info["imaging_tumour_cells"]``, floored at 1 cell) on the step grid ``t_k = k dt`` and
judges it at the scheduled scans (`tme_env.clinical.KEYNOTE189_IMAGING_DAYS`, up to the
episode's end ``max_episode_steps x dt``):

* a scan reads the burden log-linearly interpolated between the two step ends around it
  (exactly the step end's reading on a step end, and the common value between two equal
  readings), and sees it above the detection limit only;
* progression: the first scan whose diameter is >= 20% above the nadir (the baseline's and
  earlier scans' smallest diameter; an unseen scan has diameter 0, and any later seen lesion
  progresses), or, if earlier, the time the imaging burden crosses the lethal burden
  (log-interpolated), which the trial counts as a PFS event;
* best response: over the scans before progression, CR (nothing seen), PR (diameter <= 70%
  of the baseline), SD, or PD when progression comes before any scan.

`start_imaging` sets a slot's baseline at reset, `read_scans` advances it over one step; both
are compiled and write into the `tme_env.envs.state.EnvState` rows ``img_*``, ``pfs_day``,
``best_response``, ``progressed`` and ``next_scan``. The reward (`tme_env.envs.reward`) splits
each step at the progression day.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tme_env import clinical
from tme_env.envs.state import CHART, CHART_INT
from tme_env.jit import JIT_FLAGS

__all__ = ["BEST_RESPONSE", "SCAN_DAYS", "diameter", "read_scans", "start_imaging"]

#: The scheduled scans (days), as an array compiled code reads.
SCAN_DAYS = np.asarray(clinical.KEYNOTE189_IMAGING_DAYS, dtype=np.float64)
#: The codes of ``info["best_response"]`` and the clinical observation's ``best_response``.
BEST_RESPONSE = {"PD": -1.0, "SD": 0.0, "PR": 1.0, "CR": 2.0}
_LIMIT = clinical.DETECTION_LIMIT_CELLS
_LETHAL = clinical.DEATH_BURDEN_CELLS
_PROGRESSION = 1.0 + clinical.PROGRESSION_INCREASE
_RESPONSE = 1.0 - clinical.PARTIAL_RESPONSE_DECREASE


@njit(**JIT_FLAGS)
def diameter(burden):  # pragma: no cover - compiled
    """`tme_env.clinical.diameter_mm` of one burden (the same operations)."""
    return 10.0 * np.cbrt(6.0 * (max(burden, 0.0) / 1e9) / np.pi)


@njit(**JIT_FLAGS)
def _progress(s, i, day, scans_before):  # pragma: no cover - compiled
    s.chart_int[CHART_INT.progressed, i] = 1
    s.chart[CHART.pfs_day, i] = day
    if scans_before == 0:
        s.chart[CHART.best_response, i] = -1.0


@njit(**JIT_FLAGS)
def start_imaging(s, i, reading):  # pragma: no cover - compiled
    """Slot ``i``'s RECIST baseline: the imaging ``reading`` at presentation (cells)."""
    b = max(reading, 1.0)
    s.chart[CHART.img_prev, i] = b
    s.chart[CHART.img_base, i] = b
    s.chart[CHART.img_nadir, i] = b
    s.chart_int[CHART_INT.next_scan, i] = 0
    s.chart[CHART.best_response, i] = 0.0
    s.chart_int[CHART_INT.progressed, i] = 0
    s.chart[CHART.pfs_day, i] = -1.0
    if b >= _LETHAL:
        _progress(s, i, 0.0, 0)


@njit(**JIT_FLAGS)
def read_scans(s, i, reading, t0, t1, end):  # pragma: no cover - compiled
    """Slot ``i``'s scans in ``(t0, t1]`` (days, at most ``end``), after a step's ``reading``.

    Returns:
        The day progression was judged in this step, or ``inf`` if not in this step.
    """
    b0 = s.chart[CHART.img_prev, i]
    b1 = max(reading, 1.0)
    s.chart[CHART.img_prev, i] = b1
    if s.chart_int[CHART_INT.progressed, i]:
        return np.inf
    lo, hi = math.log(b0), math.log(b1)
    crossing = np.inf
    if b1 >= _LETHAL:  # the trial's imaging "death": a PFS event, log-interpolated
        frac = (math.log(_LETHAL) - lo) / (hi - lo) if hi > lo else 1.0
        crossing = t0 + frac * (t1 - t0)
    slope = (hi - lo) / (t1 - t0)
    base = diameter(s.chart[CHART.img_base, i])
    k = s.chart_int[CHART_INT.next_scan, i]
    while k < SCAN_DAYS.shape[0] and SCAN_DAYS[k] <= t1 and SCAN_DAYS[k] <= end:
        d = SCAN_DAYS[k]
        if d >= crossing:
            break
        if d == t1:
            seen = b1
        elif b0 == b1:
            seen = b0
        else:
            seen = math.exp(slope * (d - t0) + lo)
        k += 1
        nadir = diameter(s.chart[CHART.img_nadir, i])
        if seen > _LIMIT:
            diam = diameter(seen)
            if diam >= _PROGRESSION * nadir or nadir == 0.0:
                s.chart_int[CHART_INT.next_scan, i] = k
                _progress(s, i, d, k - 1)
                return d
            s.chart[CHART.img_nadir, i] = min(s.chart[CHART.img_nadir, i], seen)
            if diam <= _RESPONSE * base:
                s.chart[CHART.best_response, i] = max(s.chart[CHART.best_response, i], 1.0)
        else:
            s.chart[CHART.img_nadir, i] = 0.0
            s.chart[CHART.best_response, i] = 2.0
    s.chart_int[CHART_INT.next_scan, i] = k
    if crossing < np.inf:
        _progress(s, i, crossing, k)
        return crossing
    return np.inf
