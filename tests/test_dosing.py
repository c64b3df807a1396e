"""The dosing vocabulary: decisions to input rates (env) and to infusion lists (schedules)."""

from __future__ import annotations

import numpy as np

from tme_env import dosing


def test_write_rates_infuses_on_day_one_and_gives_the_inhibitor_daily():
    doses = np.array([[1.0, 0.5, 0.25], [0.2, 0.0, 1.0]])
    seg_u = np.full((4, 4), np.nan)
    dosing.write_rates(doses, np.array([0.5, 1.0]), np.array([True, False]), seg_u)
    np.testing.assert_array_equal(seg_u[0], [1.0, 0.5, 0.25, 0.5])  # day 0-1: everything
    np.testing.assert_array_equal(seg_u[1], [0.0, 0.0, 0.25, 0.5])  # rest: the daily drugs
    np.testing.assert_array_equal(seg_u[2:], 0.0)  # inactive slot: no drug
    assert dosing.interval_breakpoints(7.0) == (0.0, 1.0, 7.0)
    assert dosing.ACTION_NAMES == ("chemo", "anti_pd1", "inhibitor")


def test_to_infusions_merges_daily_runs_and_cuts_at_the_horizon():
    doses = np.array([[1, 1, 1], [0, 0, 1], [0, 0, 0.5], [0, 0, 0], [0.5, 0, 1]], float)
    got = dosing.to_infusions(doses, 7.0, 30.0)
    assert sorted(got, key=lambda x: (x[0], sorted(x[2]))) == [
        (0.0, 1.0, {"anti_pd1": 1.0}),
        (0.0, 1.0, {"chemo": 1.0}),
        (0.0, 14.0, {"inhibitor": 1.0}),  # two weeks at the same rate: one infusion
        (14.0, 21.0, {"inhibitor": 0.5}),
        (28.0, 29.0, {"chemo": 0.5}),
        (28.0, 30.0, {"inhibitor": 1.0}),  # cut at the horizon
    ]
