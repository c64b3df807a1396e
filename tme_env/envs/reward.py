"""What a step is worth and when an episode ends: reward terms, termination, the info record.

`evaluate` (compiled) computes all three for every slot after an interval: termination by
lethal burden, fatal neutropenia or a grade 5 irAE (`terminal`), or cure; the weighted reward
terms (`reward_terms`, weights `tme_env.envs.config.RewardWeights`, read by `REWARD` name);
and the info row, whose columns `INFO` names (`INFO_KEYS`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from tme_env import clinical
from tme_env.dosing import ACTION, ACTION_NAMES
from tme_env.envs.config import CFG, N_REWARD, REWARD
from tme_env.envs.label import pd1_blocked
from tme_env.envs.state import state_views
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
    "reward_terms",
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
def reward_terms(w, died, cured, n_start, n_end, tox3, hot):  # pragma: no cover - compiled
    """The weighted reward terms, in `INFO_KEYS` order (``reward_survival`` first)."""
    return (
        w[REWARD.survival] * (not died),
        -w[REWARD.death] * died,
        w[REWARD.cure] * cured,
        -w[REWARD.tumour] * (np.log10(max(n_end, 1.0)) - np.log10(max(n_start, 1.0))),
        -w[REWARD.toxicity] * tox3,
        w[REWARD.hotness] * hot,
    )


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
    for i in range(s.y.shape[0]):
        y = s.y[i]
        n0 = y_prev[i, STATE.S] + y_prev[i, STATE.R]
        n1 = y[STATE.S] + y[STATE.R]
        low = s.anc_nadir[i]  # the lowest daily ANC of the interval (worst-day toxicity)
        hot = hotness_of_state(y, params[i])
        grade = neutropenia_grade(low)
        on = active[i]
        irae = s.irae_grade[i] if on else 0.0
        hazard_death = s.death_hazard[i] >= params[i, PARAM.death_threshold]
        dead, toxic, cured = terminal(n1, low, irae, hazard_death)
        died = dead or toxic
        steroid = s.steroid_days[i] > 0.0
        tox3 = 1.0 if (grade >= 3.0 or irae >= 3.0 or steroid) else 0.0
        parts = reward_terms(w, died, cured, n0, n1, tox3, hot)
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
        total = 0.0
        for k in range(N_REWARD):
            v = parts[k] if on else 0.0
            row[INFO.reward_survival + k] = v
            total += v
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
        reward[i] = total
        terminated[i] = on and (died or cured)
