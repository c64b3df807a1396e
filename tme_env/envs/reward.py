"""What a step is worth and when an episode ends: reward terms, termination, the info record.

`evaluate` (compiled) computes all three for every slot after an interval: termination by
lethal burden, the death hazard, fatal neutropenia or a grade 5 irAE (`terminal`), or cure;
the weighted reward terms (weights `tme_env.envs.config.RewardWeights`, read by `REWARD`
name); and the info row, whose columns `INFO` names (`INFO_KEYS`).

**The reward is the score** (v2). The ``qtwist`` term is the step's Q-TWiST increment in
months (`tme_env.clinical.DAYS_PER_MONTH`), with the trial's utilities
(`tme_env.clinical.QTWIST_UTILITY_TOX`, ``QTWIST_UTILITY_REL``)::

    q = [days of the step before progression] x (u_TOX if grade >= 3 toxicity else 1)
        + [days of the step after progression] x u_REL
        (+ on cure: the days left to the episode's end, at 1, or u_REL if progressed)

for every step the patient is alive at its start (a patient who dies in a step lives to its
end, as in the trial). Progression is judged as the trial judges it, on the imaging the env
reports (`tme_env.envs.progression`). The trial counts a cured patient alive and
progression-free to the horizon; the env ends the episode at cure, so the cure step carries
that remaining time. An episode's undiscounted return is then the patient's Q-TWiST of
`tme_env.trials.run_trial` (months), to round-off.

The ``tumour`` and ``hotness`` terms (weight 0 by default) are potential-based shaping:
``w (Phi(s_end) - Phi(s_start))`` with ``Phi = -log10(burden)`` and ``Phi = hotness``, and
``Phi = 0`` at the episode's end (termination or the horizon). With gamma 1 they telescope to
``-w Phi(s_0)``, the same for every policy, so they cannot change which policy is optimal.

In the clinical env the imaging is measured after the compiled step, so `score_clinical`
adds the ``qtwist`` term once it is known; in the full env `evaluate` adds it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from tme_env import clinical
from tme_env.dosing import ACTION, ACTION_NAMES
from tme_env.envs.config import CFG, REWARD
from tme_env.envs.label import pd1_blocked
from tme_env.envs.progression import read_scans
from tme_env.envs.state import CHART, CHART_INT, state_views
from tme_env.jit import JIT_FLAGS
from tme_env.models.base import index_enum
from tme_env.models.tme import PARAM, STATE, death_hazard, hotness_of_state

__all__ = [
    "CURE_CELLS",
    "FATAL_ANC",
    "INFO",
    "INFO_KEYS",
    "evaluate",
    "info_record",
    "interval_death_hazard",
    "neutropenia_grade",
    "qtwist_days",
    "score_clinical",
    "terminal",
]

#: Lethal neutropenia: ANC below this (1e9/L) ends the episode as a toxic death (assumed: a
#: grade-4 nadir this deep carries a high risk of fatal neutropenic sepsis).
FATAL_ANC = 0.1
#: A tumour below one cell is extinct: cure.
CURE_CELLS = 1.0
_DEATH = clinical.DEATH_BURDEN_CELLS
_BLOOD = clinical.BLOOD_MDSC_PER_UL_PER_CELL
_HOT = clinical.HOT_THRESHOLD
_U_TOX = clinical.QTWIST_UTILITY_TOX
_U_REL = clinical.QTWIST_UTILITY_REL
_MONTH = clinical.DAYS_PER_MONTH

#: Keys of the info record, identical at reset and at every step (all numeric and finite).
INFO_KEYS = (
    "day",
    "tumour_cells",
    "log10_tumour_cells",
    "diameter_mm",
    "resistant_fraction",
    "anc",
    "anc_nadir",
    "neutropenia_grade",
    "blood_mdsc_per_ul",
    "hotness",
    "is_hot",
    *(f"dose_{a}" for a in ACTION_NAMES),
    *(f"reward_{term}" for term in REWARD.__members__),
    "dead",
    "toxic_death",
    "cured",
    "imaging_tumour_cells",
    "irae_grade",
    "irae_count",
    "irae_death",
    "on_steroids",
    "anti_pd1_doses",
    "anti_pd1_blocked",
    "anti_pd1_stopped",
    "platinum_cycles",
    "grade3_toxicity",
    "pdl1_tps",
    "progressed",
    "best_response",
    "chemo_refused",
)
#: Column of each info key (compile-time constants in the kernels).
INFO = index_enum("Info", INFO_KEYS)


def _info_record_builder(keys: tuple[str, ...]) -> Any:
    """A function ``(*values) -> dict`` with ``keys`` (written as literals) as a dict display.

    Generated once (as `collections.namedtuple` and `dataclasses` generate code): a dict
    display with constant keys builds the 33-key info record in ~1.5 us, against ~2 us for
    ``dict(zip(keys, values))``, and a single env builds one every step.
    """
    args = ", ".join(f"v{j}" for j in range(len(keys)))
    body = ", ".join(f"{k!r}: v{j}" for j, k in enumerate(keys))
    namespace: dict[str, Any] = {}
    exec(f"def info_record({args}):\n    return {{{body}}}\n", namespace)  # noqa: S102
    return namespace["info_record"]


info_record = _info_record_builder(INFO_KEYS)


@njit(**JIT_FLAGS)
def interval_death_hazard(y_out, p, dt):  # pragma: no cover - compiled
    """The death hazard integrated over one interval (trapezoid on the daily outputs)."""
    last = y_out.shape[1] - 1
    h = dt / last
    total = 0.0
    prev = death_hazard(y_out[:, 0], p)
    for k in range(1, last + 1):
        lam = death_hazard(y_out[:, k], p)
        total += 0.5 * (prev + lam) * h
        prev = lam
    return total


@njit(**JIT_FLAGS)
def terminal(burden, anc_low, irae_grade, hazard_death):  # pragma: no cover - compiled
    """``(dead, toxic_death, cured)``: death, toxic death, extinction.

    Death is the lethal burden or the death hazard (``hazard_death``); toxic death a fatal
    neutropenia or irAE.
    """
    dead = burden >= _DEATH or hazard_death
    toxic = anc_low < FATAL_ANC or irae_grade >= 5.0
    return dead, toxic, (burden < CURE_CELLS) and not dead and not toxic


@njit(**JIT_FLAGS)
def neutropenia_grade(anc):  # pragma: no cover - compiled
    """CTCAE neutropenia grade of an ANC (1e9/L), as `tme_env.clinical.neutropenia_grade`."""
    return float((anc < 2.0) + (anc < 1.5) + (anc < 1.0) + (anc < 0.5))


@njit(**JIT_FLAGS)
def qtwist_days(s, i, reading, tox3, cured, t0, t1, end):  # pragma: no cover - compiled
    """Slot ``i``'s Q-TWiST days of the step ``(t0, t1]``, after its imaging ``reading``.

    Reads the step's scans (`tme_env.envs.progression.read_scans`) and splits the step at
    the progression day; on cure adds the days left to ``end``.
    """
    was = s.chart_int[CHART_INT.progressed, i] > 0
    pfs = read_scans(s, i, reading, t0, t1, end)
    span = t1 - t0
    before = 0.0 if was else min(max(pfs - t0, 0.0), span)
    q = before * (_U_TOX if tox3 > 0.0 else 1.0) + (span - before) * _U_REL
    if cured > 0.0:
        q += (end - t1) * (_U_REL if s.chart_int[CHART_INT.progressed, i] > 0 else 1.0)
    return q


@njit(**JIT_FLAGS)
def _score(s, i, reading, row, cfg):  # pragma: no cover - compiled
    """The weighted ``qtwist`` term of slot ``i``'s step (written to its info ``row``)."""
    dt = cfg[CFG.days]
    t1 = s.steps[i] * dt
    t0 = (s.steps[i] - 1) * dt
    q = qtwist_days(s, i, reading, row[INFO.grade3_toxicity], row[INFO.cured], t0, t1,
                    cfg[CFG.episode_days])  # fmt: skip
    r = cfg[CFG.weights + REWARD.qtwist] * q / _MONTH
    row[INFO.reward_qtwist] = r
    row[INFO.progressed] = float(s.chart_int[CHART_INT.progressed, i])
    row[INFO.best_response] = s.chart[CHART.best_response, i]
    return r


@njit(**JIT_FLAGS)
def score_clinical(active, reward, info, cfg, *state):  # pragma: no cover - compiled
    """Clinical env: add each stepped slot's ``qtwist`` term once its imaging is measured.

    Reads the measured burden from ``info`` (``imaging_tumour_cells``, as the trial does).
    """
    s = state_views(*state)
    for i in range(s.y.shape[0]):
        if active[i]:
            row = info[i]
            reward[i] += _score(s, i, row[INFO.imaging_tumour_cells], row, cfg)


@njit(**JIT_FLAGS)
def evaluate(y_prev, params, active, cfg, info, reward, terminated, *state):  # pragma: no cover
    """Termination, reward and the info row of every slot after an interval.

    The clinical quantities repeat `tme_env.clinical` (diameter, CTCAE grade, blood MDSC) in
    scalar form and hotness is the model's own `hotness_of_state`; ``tests/envs`` checks the
    two against each other.
    """
    s = state_views(*state)
    w = cfg[CFG.weights :]
    dt = cfg[CFG.days]
    full = cfg[CFG.full] > 0.0
    end = cfg[CFG.episode_days]
    for i in range(s.y.shape[0]):
        y = s.y[i]
        n0 = y_prev[i, STATE.S] + y_prev[i, STATE.R]
        n1 = y[STATE.S] + y[STATE.R]
        low = s.anc_nadir[i]  # the lowest daily ANC of the interval (worst-day toxicity)
        hot = hotness_of_state(y, params[i])
        hot0 = hotness_of_state(y_prev[i], params[i])
        grade = neutropenia_grade(low)
        on = active[i]
        irae = s.irae_grade[i] if on else 0.0
        hazard_death = s.death_hazard[i] >= params[i, PARAM.death_threshold]
        dead, toxic, cured = terminal(n1, low, irae, hazard_death)
        died = dead or toxic
        steroid = s.steroid_days[i] > 0.0
        tox3 = 1.0 if (grade >= 3.0 or irae >= 3.0 or steroid) else 0.0
        # Potential-based shaping; the potential is 0 at the episode's end.
        ended = died or cured or s.steps[i] * dt >= end
        phi1 = 0.0 if ended else -np.log10(max(n1, 1.0))
        hot1 = 0.0 if ended else hot
        tumour = w[REWARD.tumour] * (phi1 + np.log10(max(n0, 1.0))) if on else 0.0
        hotness = w[REWARD.hotness] * (hot1 - hot0) if on else 0.0
        row = info[i]
        row[INFO.day] = s.steps[i] * dt
        row[INFO.tumour_cells] = n1
        row[INFO.log10_tumour_cells] = np.log10(max(n1, 1.0))
        row[INFO.diameter_mm] = 10.0 * np.cbrt(6.0 * max(n1, 0.0) / 1e9 / np.pi)
        row[INFO.resistant_fraction] = y[STATE.R] / n1 if n1 > 0.0 else 0.0
        row[INFO.anc] = y[STATE.ANC]
        row[INFO.anc_nadir] = low
        row[INFO.neutropenia_grade] = grade
        row[INFO.blood_mdsc_per_ul] = _BLOOD * y[STATE.M]
        row[INFO.hotness] = hot
        row[INFO.is_hot] = 1.0 if hot >= _HOT else 0.0
        row[INFO.dose_chemo] = s.last_doses[i, ACTION.chemo]
        row[INFO.dose_anti_pd1] = s.last_doses[i, ACTION.anti_pd1]
        row[INFO.dose_inhibitor] = s.last_doses[i, ACTION.inhibitor]
        row[INFO.reward_qtwist] = 0.0
        row[INFO.reward_tumour] = tumour
        row[INFO.reward_hotness] = hotness
        row[INFO.dead] = 1.0 if (dead and on) else 0.0
        row[INFO.toxic_death] = 1.0 if (toxic and on) else 0.0
        row[INFO.cured] = 1.0 if (cured and on) else 0.0
        row[INFO.imaging_tumour_cells] = n1  # the clinical mode overwrites it (measured)
        row[INFO.irae_grade] = irae
        row[INFO.irae_count] = s.irae_count[i]
        row[INFO.irae_death] = 1.0 if (irae >= 5.0 and on) else 0.0
        row[INFO.on_steroids] = 1.0 if steroid else 0.0
        row[INFO.anti_pd1_doses] = s.pd1_doses[i]
        row[INFO.anti_pd1_blocked] = 1.0 if pd1_blocked(s, i, s.steps[i] * dt) else 0.0
        row[INFO.anti_pd1_stopped] = float(s.pd1_stopped[i])
        row[INFO.platinum_cycles] = s.platinum_cycles[i]
        row[INFO.grade3_toxicity] = tox3 if on else 0.0
        row[INFO.pdl1_tps] = params[i, PARAM.pdl1_tps]
        row[INFO.progressed] = float(s.chart_int[CHART_INT.progressed, i])
        row[INFO.best_response] = s.chart[CHART.best_response, i]
        row[INFO.chemo_refused] = s.chart[CHART.chemo_refused, i] if on else 0.0
        total = tumour + hotness
        if on and full:  # the imaging is the true burden (clinical: `score_clinical`)
            total += _score(s, i, n1, row, cfg)
        reward[i] = total
        terminated[i] = on and (died or cured)
