"""Survival statistics of trial arms (lifelines): Kaplan-Meier, RMST, log-rank, Cox.

Every function takes per-patient arrays: ``times`` (days) and ``events`` (True for an
observed event, False for a censored time). Hazard ratios compare arm ``a`` against the
reference arm ``b`` (``HR < 1``: arm ``a`` has the lower hazard).

`kaplan_meier`, `km_median_ci`, `rmst`, `logrank_p` and `cox_hazard_ratio` also take
frequency ``weights`` (the number of patients with each ``(time, event)`` row, as a streamed
trial's tallies hold them; `tme_env.trials.streaming`), passed to lifelines as they are.
Without weights each row is one patient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "cox_hazard_ratio",
    "hazard_ratio",
    "kaplan_meier",
    "km_median",
    "km_median_ci",
    "logrank_p",
    "rmst",
    "survival_at",
]

#: The largest finite log of a float64: ``exp`` of anything above it is ``inf``.
_LOG_MAX = float(np.log(np.finfo(np.float64).max))


def kaplan_meier(
    times: np.ndarray,
    events: np.ndarray,
    weights: np.ndarray | None = None,
    label: str | None = None,
) -> Any:
    """A fitted lifelines ``KaplanMeierFitter`` (``label``: its curve's name in a plot)."""
    from lifelines import KaplanMeierFitter

    return KaplanMeierFitter().fit(times, events, weights=weights, label=label)


def km_median(times: np.ndarray, events: np.ndarray) -> float:
    """Kaplan-Meier median (days); ``inf`` if the curve never falls to 0.5."""
    return float(kaplan_meier(times, events).median_survival_time_)


def km_median_ci(
    times: np.ndarray, events: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, float, float]:
    """Kaplan-Meier median with its 95% confidence interval (lifelines' exponential Greenwood).

    Returns:
        ``(median, ci_low, ci_high)`` in days; a bound the curve's CI never reaches is ``inf``.
    """
    from lifelines.utils import median_survival_times

    km = kaplan_meier(times, events, weights)
    ci = median_survival_times(km.confidence_interval_)
    return float(km.median_survival_time_), float(ci.iloc[0, 0]), float(ci.iloc[0, 1])


def survival_at(times: np.ndarray, events: np.ndarray, day: float) -> float:
    """Kaplan-Meier survival probability at ``day``."""
    return float(kaplan_meier(times, events).survival_function_at_times(day).iloc[0])


def rmst(
    times: np.ndarray,
    events: np.ndarray,
    horizon_days: float,
    weights: np.ndarray | None = None,
) -> float:
    """Restricted mean survival time (days): the area under the Kaplan-Meier curve to a horizon."""
    from lifelines.utils import restricted_mean_survival_time

    return float(
        restricted_mean_survival_time(kaplan_meier(times, events, weights), t=horizon_days)
    )


def logrank_p(
    times_a: np.ndarray,
    events_a: np.ndarray,
    times_b: np.ndarray,
    events_b: np.ndarray,
    weights_a: np.ndarray | None = None,
    weights_b: np.ndarray | None = None,
) -> float:
    """Two-sided log-rank test p-value of arm ``a`` against arm ``b``."""
    from lifelines.statistics import logrank_test

    return float(logrank_test(times_a, times_b, events_a, events_b, weights_A=weights_a,
                              weights_B=weights_b).p_value)  # fmt: skip


def _exp_or_inf(log_values: np.ndarray) -> np.ndarray:
    """``exp`` of log-scale values, ``inf`` where it exceeds the float64 range (no overflow)."""
    x = np.asarray(log_values, dtype=float)
    return np.where(x > _LOG_MAX, np.inf, np.exp(np.minimum(x, _LOG_MAX)))


def cox_hazard_ratio(
    times_a: np.ndarray,
    events_a: np.ndarray,
    times_b: np.ndarray,
    events_b: np.ndarray,
    weights_a: np.ndarray | None = None,
    weights_b: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """Cox proportional-hazards ratio of arm ``a`` against reference arm ``b``, with its 95% CI.

    When the CI is unbounded (e.g. no events in one arm, so the log hazard ratio diverges) a
    bound beyond the float64 range is returned as ``inf`` or ``0``, not as an overflow.

    With frequency weights (both arms' or neither's), lifelines' Efron correction for tied
    times is not the one it applies to the same rows repeated: the ratio differs from the
    per-patient one by up to about 1% when many times tie.

    Returns:
        ``(hazard_ratio, ci_low, ci_high)``.
    """
    import pandas as pd
    from lifelines import CoxPHFitter

    columns = {
        "T": np.concatenate([times_a, times_b]),
        "E": np.concatenate([events_a, events_b]).astype(int),
        "arm": np.r_[np.ones(len(times_a)), np.zeros(len(times_b))],
    }
    weighted = weights_a is not None or weights_b is not None
    if weighted:
        if weights_a is None or weights_b is None:
            raise ValueError("give the weights of both arms or of neither")
        columns["w"] = np.concatenate([weights_a, weights_b])
    df = pd.DataFrame(columns)
    cph = CoxPHFitter().fit(df, duration_col="T", event_col="E",
                            weights_col="w" if weighted else None)  # fmt: skip
    low, high = _exp_or_inf(cph.confidence_intervals_.loc["arm"].to_numpy())
    return float(_exp_or_inf(cph.params_["arm"])), float(low), float(high)


def hazard_ratio(
    times_a: np.ndarray, events_a: np.ndarray, times_b: np.ndarray, events_b: np.ndarray
) -> float:
    """Cox proportional-hazards ratio of arm ``a`` against reference arm ``b``."""
    return cox_hazard_ratio(times_a, events_a, times_b, events_b)[0]
