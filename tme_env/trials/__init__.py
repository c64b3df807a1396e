"""Virtual clinical trials on cohorts of the ``tme`` model.

This first piece runs fixed dosing schedules (`tme_env.regimens.schedules`) on a cohort with
the batched simulator and derives each patient's clinical outcomes (`tme_env.clinical`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tme_env import clinical
from tme_env.patients import Cohort
from tme_env.simulator import simulate_batch
from tme_env.simulator.simulate import state_index

__all__ = [
    "ArmResult",
    "cox_hazard_ratio",
    "hazard_ratio",
    "km_median",
    "run_schedule",
    "survival_at",
]


@dataclass(frozen=True)
class ArmResult:
    """Per-patient outcomes of one arm (a schedule applied to every patient of a cohort).

    Attributes:
        t: Output days.
        y: States, shape ``(n_patients, n_states, len(t))``.
        state_names: Names of axis 1 of ``y``.
        os_days, os_event: Overall survival (days) and death flag.
        pfs_days, pfs_event: Progression-free survival (days) and event flag.
        best_response: ``"CR"``, ``"PR"``, ``"SD"`` or ``"PD"`` per patient.
    """

    t: np.ndarray
    y: np.ndarray
    state_names: tuple[str, ...]
    os_days: np.ndarray
    os_event: np.ndarray
    pfs_days: np.ndarray
    pfs_event: np.ndarray
    best_response: np.ndarray

    def state(self, name: str) -> np.ndarray:
        """One state for every patient, shape ``(n_patients, len(t))``."""
        return self.y[:, state_index(self.state_names, name)]

    @property
    def burden(self) -> np.ndarray:
        """Tumour cells, shape ``(n_patients, len(t))``."""
        return clinical.tumour_burden(self.y, self.state_names)

    @property
    def objective_response_rate(self) -> float:
        """Fraction of patients with a complete or partial best response."""
        return float(np.isin(self.best_response, ("CR", "PR")).mean())


def run_schedule(
    cohort: Cohort,
    schedule: list,
    horizon_days: float = 1095.0,
    dt_days: float = 1.0,
    imaging_days=clinical.KEYNOTE189_IMAGING_DAYS,
) -> ArmResult:
    """Simulate one fixed schedule on every patient of ``cohort`` and derive outcomes."""
    t = np.arange(0.0, horizon_days + 0.5 * dt_days, dt_days)
    res = simulate_batch(
        "tme",
        t_eval=t,
        initial_states=cohort.initial_states_array(),
        params=cohort.parameters_array(),
        infusions=[schedule] * len(cohort),
    )
    burden = clinical.tumour_burden(res.y, res.state_names)
    os_days, os_event = clinical.survival_time(t, burden)
    pfs_days, pfs_event = clinical.progression_time(t, burden, imaging_days)
    bor = clinical.best_overall_response(t, burden, imaging_days)
    return ArmResult(t, res.y, res.state_names, os_days, os_event, pfs_days, pfs_event, bor)


def km_median(times: np.ndarray, events: np.ndarray) -> float:
    """Kaplan-Meier median (days); ``inf`` if the curve never falls to 0.5."""
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter().fit(times, events)
    return float(km.median_survival_time_)


def survival_at(times: np.ndarray, events: np.ndarray, day: float) -> float:
    """Kaplan-Meier survival probability at ``day``."""
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter().fit(times, events)
    return float(km.survival_function_at_times(day).iloc[0])


def cox_hazard_ratio(
    times_a: np.ndarray, events_a: np.ndarray, times_b: np.ndarray, events_b: np.ndarray
) -> tuple[float, float, float]:
    """Cox proportional-hazards ratio of arm ``a`` against reference arm ``b``, with its 95% CI.

    Returns:
        ``(hazard_ratio, ci_low, ci_high)``.
    """
    import pandas as pd
    from lifelines import CoxPHFitter

    df = pd.DataFrame(
        {
            "T": np.concatenate([times_a, times_b]),
            "E": np.concatenate([events_a, events_b]).astype(int),
            "arm": np.r_[np.ones(len(times_a)), np.zeros(len(times_b))],
        }
    )
    cph = CoxPHFitter().fit(df, duration_col="T", event_col="E")
    low, high = np.exp(cph.confidence_intervals_.loc["arm"].to_numpy())
    return float(np.exp(cph.params_["arm"])), float(low), float(high)


def hazard_ratio(
    times_a: np.ndarray, events_a: np.ndarray, times_b: np.ndarray, events_b: np.ndarray
) -> float:
    """Cox proportional-hazards ratio of arm ``a`` against reference arm ``b``."""
    return cox_hazard_ratio(times_a, events_a, times_b, events_b)[0]
