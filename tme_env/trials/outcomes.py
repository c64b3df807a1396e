"""Per-patient outcomes of trial arms: the one result type and how it is derived.

Both runners (`tme_env.trials.run`) fill `ArmOutcomes`: `run_trial` from the policies' episodes
in the env (weekly decisions), `run_schedule` from an open-loop fixed schedule (daily outputs).
The clinical endpoints come from the same function, `survival_outcomes`, on the tumour burden
that imaging sees: RECIST-style progression and best response at the scheduled scans
(`tme_env.clinical`), with death an event of both OS and PFS and PFS never past OS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tme_env import clinical
from tme_env.dosing import ACTION_NAMES
from tme_env.envs.reward import CURE_CELLS
from tme_env.simulator.simulate import state_index

__all__ = [
    "ArmOutcomes",
    "TrialResult",
    "carry_last_burden",
    "schedule_doses",
    "survival_outcomes",
    "toxic_days_before",
    "trajectory_outcomes",
]

#: Days per row of `ArmOutcomes.weekly_doses` for an open-loop arm (the env's default interval).
WEEK_DAYS = 7.0


@dataclass(frozen=True)
class ArmOutcomes:
    """Per-patient outcomes of one arm (arrays over patients, in cohort order).

    An *env arm* (`tme_env.trials.run_trial`) is a policy treating each patient through the
    env, one decision per week; an *open-loop arm* (`tme_env.trials.run_schedule`) is a fixed
    dosing schedule simulated on every patient with daily outputs, and keeps its trajectories.

    Attributes:
        name: Arm name.
        patient_ids: Patient ids.
        os_days: Overall survival (days). Env arm: the day of the step at which the env
            reported death (lethal burden or fatal neutropenia). Open-loop arm: the lethal
            burden crossing, interpolated between daily outputs; a fixed schedule does not
            model toxic death. Censored at the horizon.
        os_event: Death observed.
        pfs_days: Progression-free survival (days): the first scan showing RECIST-style
            progression, or death; never after ``os_days``.
        pfs_event: Progression or death observed.
        best_response: ``"CR"``, ``"PR"``, ``"SD"`` or ``"PD"`` (object array).
        cured: Tumour below one cell (`tme_env.envs.CURE_CELLS`) while alive. The env ends
            the episode there; an open-loop trajectory goes on and the simulated tumour may
            regrow, so an open-loop patient can be both cured and dead.
        worst_grade: Worst CTCAE neutropenia grade (0-4) while alive, from daily ANC values.
        dose_chemo: Full chemotherapy doses given while alive.
        dose_anti_pd1: Anti-PD-1 doses given while alive.
        dose_inhibitor: Suppressor-inhibitor dose-days (labelled daily doses x days) while alive.
        fraction_hot: Fraction of time immune-hot while alive (env arm: of the decision times
            after the first; open-loop arm: of the daily outputs after day 0).
        weekly_doses: Doses per week, shape ``(n_patients, n_weeks, 3)`` (chemo doses,
            anti-PD-1 doses, mean inhibitor fraction of the daily dose), zero after death; for
            the dose-timeline plot. Env arm: one row per decision interval (a week by
            default), the env's doses of that step.
        t: Output days of an open-loop arm; ``None`` for an env arm (the env keeps no
            trajectory).
        y: States of an open-loop arm, shape ``(n_patients, n_states, len(t))``; ``None`` for an
            env arm.
        state_names: Names of axis 1 of ``y``; ``None`` for an env arm.
        tox_days: Days with grade >= 3 toxicity before progression (env arm: weeks with
            grade >= 3 neutropenia on the worst day, or a grade >= 3 irAE and its steroid
            course; open-loop arm: days with ANC < 1.0e9/L), `toxic_days_before`. The TOX
            part of Q-TWiST: toxic time after progression is REL time (one definition, the
            env's reward's too).
        irae_worst_grade: Worst irAE grade (0 none, 2 for grades 1-2, 3, 4, 5); env arms only
            (an open-loop arm has no irAEs: zeros).
        anti_pd1_discontinued: Anti-PD-1 stopped for good after an irAE; env arms only.
    """

    name: str
    patient_ids: list[str]
    os_days: np.ndarray
    os_event: np.ndarray
    pfs_days: np.ndarray
    pfs_event: np.ndarray
    best_response: np.ndarray
    cured: np.ndarray
    worst_grade: np.ndarray
    dose_chemo: np.ndarray
    dose_anti_pd1: np.ndarray
    dose_inhibitor: np.ndarray
    fraction_hot: np.ndarray
    weekly_doses: np.ndarray
    t: np.ndarray | None = None
    y: np.ndarray | None = None
    state_names: tuple[str, ...] | None = None
    tox_days: np.ndarray | None = None
    irae_worst_grade: np.ndarray | None = None
    anti_pd1_discontinued: np.ndarray | None = None

    @property
    def q_twist_days(self) -> np.ndarray:
        """Quality-adjusted survival per patient (`tme_env.clinical.q_twist_days`)."""
        tox = np.zeros_like(self.os_days) if self.tox_days is None else self.tox_days
        return clinical.q_twist_days(self.os_days, self.pfs_days, tox)

    def state(self, name: str) -> np.ndarray:
        """One state for every patient, shape ``(n_patients, len(t))`` (open-loop arms only).

        Raises:
            ValueError: For an env arm, which keeps no trajectory.
        """
        return self._states()[:, state_index(self.state_names, name)]

    @property
    def burden(self) -> np.ndarray:
        """Tumour cells, shape ``(n_patients, len(t))`` (open-loop arms only; see `state`)."""
        return clinical.tumour_burden(self._states(), self.state_names)

    @property
    def objective_response_rate(self) -> float:
        """Fraction of patients with a complete or partial best response."""
        return float(np.isin(self.best_response, ("CR", "PR")).mean())

    def _states(self) -> np.ndarray:
        if self.y is None or self.state_names is None:
            raise ValueError(f"arm {self.name!r} ran through the env and keeps no trajectory")
        return self.y


@dataclass(frozen=True)
class TrialResult:
    """All arms of a trial and its settings."""

    env_id: str
    split: str
    n_patients: int
    seed: int
    horizon_days: float
    arms: dict[str, ArmOutcomes]


def carry_last_burden(burden: np.ndarray, cured: np.ndarray) -> np.ndarray:
    """The imaging burden with each row's end filled in (a new array).

    After the last recorded value (``NaN`` after death, cure or the end of a rollout) a
    patient's burden stays at its last value, or at 1 cell if ``cured``, so that imaging at
    later scans reads what the episode ended with.
    """
    filled = np.array(burden, dtype=float, copy=True)
    for i in range(filled.shape[0]):
        last = int(np.max(np.flatnonzero(~np.isnan(filled[i]))))
        filled[i, last + 1 :] = 1.0 if cured[i] else filled[i, last]
    return filled


def survival_outcomes(
    t: np.ndarray,
    imaging_burden: np.ndarray,
    imaging_days: np.ndarray | tuple[float, ...] = clinical.KEYNOTE189_IMAGING_DAYS,
    os_days: np.ndarray | None = None,
    os_event: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OS, PFS and best response of each patient from the burden imaging sees.

    Args:
        t: Output days, shape ``(n_times,)``.
        imaging_burden: Tumour cells as imaging reports them, shape ``(n_patients, n_times)``.
        imaging_days: Scheduled scans (days).
        os_days: Overall survival (days) when known from elsewhere (the env's death reports);
            by default the lethal-burden crossing of ``imaging_burden``
            (`tme_env.clinical.survival_time`).
        os_event: Death flags matching ``os_days`` (given together with it).

    Returns:
        ``(os_days, os_event, pfs_days, pfs_event, best_response)``.
    """
    if os_days is None:
        os_days, os_event = clinical.survival_time(t, imaging_burden)
    pfs_days, pfs_event = clinical.progression_time(t, imaging_burden, imaging_days)
    pfs_days = np.where(os_event & (os_days < pfs_days), os_days, pfs_days)
    pfs_event = pfs_event | os_event
    best = clinical.best_overall_response(t, imaging_burden, imaging_days)
    return os_days, os_event, np.minimum(pfs_days, os_days), pfs_event, best


def toxic_days_before(t: np.ndarray, toxic: np.ndarray, pfs_days: np.ndarray) -> np.ndarray:
    """Days with grade >= 3 toxicity before progression: Q-TWiST's TOX.

    Args:
        t: Output days, shape ``(n_times,)``; interval ``k`` is ``(t[k], t[k + 1]]``.
        toxic: 1 where interval ``k`` had grade >= 3 toxicity, ``(n_patients, n_times - 1)``
            (0 after death).
        pfs_days: Progression-free survival (days); only the part of an interval before it
            counts.

    Returns:
        Toxic days per patient, at most ``pfs_days``.
    """
    t = np.asarray(t, dtype=float)
    pfs = np.asarray(pfs_days, dtype=float)[:, None]
    before = np.clip(np.minimum(t[None, 1:], pfs) - t[None, :-1], 0.0, None)
    return np.sum(np.asarray(toxic, dtype=float) * before, axis=1)


def schedule_doses(
    schedule: list, os_days: np.ndarray, n_weeks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Doses a fixed schedule gives each patient while alive.

    Args:
        schedule: ``[(start_day, end_day, {input: rate}), ...]``, inputs among
            `tme_env.dosing.ACTION_NAMES` (rates: full doses per day, as in
            `tme_env.regimens.schedules`).
        os_days: Overall survival of each patient (days): dosing stops there.
        n_weeks: Rows of the weekly table.

    Returns:
        ``(totals, weekly)``: doses per patient, shape ``(n_patients, 3)`` (chemo doses,
        anti-PD-1 doses, inhibitor dose-days), and per week, shape ``(n_patients, n_weeks, 3)``
        (the inhibitor as its mean fraction of the daily dose, like the env's action).
    """
    os_days = np.asarray(os_days, dtype=float)
    totals = np.zeros((os_days.size, 3))
    weekly = np.zeros((os_days.size, n_weeks, 3))
    for start, end, rates in schedule:
        stop = np.minimum(end, os_days)
        for name, rate in rates.items():
            j = ACTION_NAMES.index(name)
            totals[:, j] += rate * np.clip(stop - start, 0.0, None)
            first, last = int(start // WEEK_DAYS), min(int(np.ceil(end / WEEK_DAYS)), n_weeks)
            for k in range(first, last):
                lo = max(start, k * WEEK_DAYS)
                hi = np.minimum(min(end, (k + 1) * WEEK_DAYS), os_days)
                weekly[:, k, j] += rate * np.clip(hi - lo, 0.0, None)
    weekly[:, :, 2] /= WEEK_DAYS
    return totals, weekly


def trajectory_outcomes(
    t: np.ndarray,
    y: np.ndarray,
    state_names: tuple[str, ...],
    params: np.ndarray,
    os_days: np.ndarray,
    os_event: np.ndarray,
    pfs_days: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cure, worst neutropenia grade, fraction of time hot and toxic days of trajectories.

    Args:
        t: Output days.
        y: States, shape ``(n_patients, n_states, len(t))``.
        state_names: Names of axis 1 of ``y``.
        params: Each patient's parameters, ``(n_patients, n_parameters)`` (kernel order).
        os_days: Overall survival (days): only outputs before death count.
        os_event: Death flags.
        pfs_days: Progression-free survival (days): toxic days count before it only
            (`toxic_days_before`); None: until death.

    Returns:
        ``(cured, worst_grade, fraction_hot, tox_days)`` per patient (see `ArmOutcomes`).
    """
    alive = (t[None, :] < os_days[:, None]) | ~os_event[:, None]
    burden = clinical.tumour_burden(y, state_names)
    cured = (alive & (burden < CURE_CELLS)).any(axis=1)
    anc = y[:, state_index(state_names, "ANC")]
    worst = np.where(alive, clinical.neutropenia_grade(anc), 0).max(axis=1).astype(float)
    hot = clinical.hotness(y, params) >= clinical.HOT_THRESHOLD
    lived = alive[:, 1:]
    fraction_hot = (hot[:, 1:] & lived).sum(axis=1) / np.maximum(lived.sum(axis=1), 1)
    end = np.full(np.shape(os_days), np.inf) if pfs_days is None else pfs_days
    tox_days = toxic_days_before(t, ((anc < 1.0) & alive)[:, 1:], end)
    return cured, worst, fraction_hot, tox_days
