"""Survival statistics against hand-computed Kaplan-Meier cases, and the Cox CI at its limits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tme_env.trials import cox_hazard_ratio, hazard_ratio, km_median, survival_at
from tme_env.trials.survival import km_median_ci, logrank_p, rmst

# Deaths at 30, 60, 90, 120 days: KM 1, .75, .5, .25 on each 30-day stretch.
DAYS = np.array([30.0, 60.0, 90.0, 120.0])
DIED = np.ones(4, dtype=bool)


def test_kaplan_meier_median_survival_and_rmst_by_hand():
    assert km_median(DAYS, DIED) == pytest.approx(60.0)
    assert survival_at(DAYS, DIED, 45.0) == pytest.approx(0.75)
    assert survival_at(DAYS, DIED, 100.0) == pytest.approx(0.25)
    assert rmst(DAYS, DIED, 120.0) == pytest.approx(30.0 * (1 + 0.75 + 0.5 + 0.25))
    # One death at 60, three censored at 120: the curve stops at .75, the median is never reached.
    censored = np.array([True, False, False, False])
    assert np.isinf(km_median(np.array([60.0, 120, 120, 120]), censored))
    median, low, high = km_median_ci(DAYS, DIED)
    assert median == pytest.approx(60.0) and low <= median <= high


def test_logrank_and_cox_order_the_arms():
    rng = np.random.default_rng(0)
    short, long = rng.exponential(100.0, 200), rng.exponential(300.0, 200)
    events = np.ones(200, dtype=bool)
    hr, low, high = cox_hazard_ratio(long, events, short, events)
    assert low < hr < high < 1.0  # the long-lived arm has the lower hazard (true HR 1/3)
    assert hr == pytest.approx(1.0 / 3.0, rel=0.25)
    assert hazard_ratio(long, events, short, events) == hr
    assert logrank_p(long, events, short, events) < 1e-6
    assert logrank_p(short, events, short, events) == pytest.approx(1.0)


def test_cox_ci_without_events_in_one_arm_is_unbounded_without_overflow():
    # No deaths in arm a: the log hazard ratio diverges and its CI is unbounded above; exp()
    # of the bound used to overflow (RuntimeWarning) and now reads as inf.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hr, low, high = cox_hazard_ratio(DAYS, np.zeros(4, dtype=bool), DAYS, DIED)
    # (lifelines' own ConvergenceWarning about the separation is expected and kept.)
    overflow = [w for w in caught if "overflow" in str(w.message)]
    assert not overflow, [str(w.message) for w in overflow]
    assert 0.0 <= low <= hr < 1e-3
    assert high == np.inf
