"""Crossover to pembrolizumab at RECIST progression (the trials' control arms)."""

from __future__ import annotations

import numpy as np
import pytest

from tme_env import clinical, regimens
from tme_env.regimens.crossover import KEYNOTE024_CROSSOVER, KEYNOTE189_CROSSOVER, Crossover
from tme_env.trials.arms import run_arm

ENV = "tme/TumorImmune-v2"


def test_rates_are_the_papers():
    assert KEYNOTE189_CROSSOVER == pytest.approx(0.574, abs=5e-4)
    assert KEYNOTE024_CROSSOVER == pytest.approx(0.660, abs=5e-4)


@pytest.mark.parametrize("bad", [-0.1, 1.5, True, "x"])
def test_bad_rate_is_refused(bad):
    with pytest.raises(ValueError, match="crossover rate"):
        Crossover(regimens.get("mtd-chemo"), bad)


def test_crossover_starts_anti_pd1_at_the_trials_progression_day():
    arm, _ = run_arm("x", Crossover(regimens.get("mtd-chemo"), 1.0), ENV, "validation", 40, 0)
    plain, _ = run_arm("p", regimens.get("mtd-chemo"), ENV, "validation", 40, 0)
    got = arm.weekly_doses[:, :, 1]
    for i in range(40):
        given = np.flatnonzero(got[i] > 0)
        if not plain.pfs_event[i] or plain.os_days[i] <= plain.pfs_days[i]:
            continue  # died without a scan showing progression
        # Identical to the plain regimen until progression, then pembrolizumab from that day.
        day = plain.pfs_days[i]
        assert given.size and given[0] * 7.0 == pytest.approx(day), i
        first = int(day // 7)
        np.testing.assert_array_equal(arm.weekly_doses[i, :first], plain.weekly_doses[i, :first])
        assert (arm.weekly_doses[i, first:, 0] == 0).all()


def test_rate_zero_is_the_plain_regimen():
    arm, _ = run_arm("x", Crossover(regimens.get("mtd-chemo"), 0.0), ENV, "validation", 20, 0)
    plain, _ = run_arm("p", regimens.get("mtd-chemo"), ENV, "validation", 20, 0)
    np.testing.assert_array_equal(arm.os_days, plain.os_days)
    assert clinical.PROGRESSION_INCREASE == 0.2
