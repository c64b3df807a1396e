"""The chemotherapy cycle length (issue 29 item 6): no weekly maintenance-size doses in v2."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import tme_env  # noqa: F401 - registers the ids
from tme_env import regimens
from tme_env.envs.label import (
    CHEMO_CYCLE_DAYS,
    MAINTENANCE_DOSE,
    MAX_PLATINUM_CYCLES,
    METRONOMIC_DOSE,
)
from tme_env.envs.vector import TumorImmuneVectorEnv


def _given(chemo_doses, patient=0):
    """Chemotherapy given and refused per weekly step for the asked doses."""
    env = gym.make("tme/TumorImmune-v2", cohort_size=4)
    env.reset(seed=0, options={"patient": patient})
    given, refused = [], []
    for c in chemo_doses:
        _, _, terminated, truncated, info = env.step(np.array([c, 0.0, 0.0], np.float32))
        given.append(info["dose_chemo"])
        refused.append(info["chemo_refused"])
        if terminated or truncated:
            break
    env.close()
    return np.array(given), np.array(refused)


def test_weekly_maintenance_doses_are_refused_after_the_first():
    """The loophole: weekly 0.5 doses. Only every third week's dose is given (q3w)."""
    given, refused = _given([MAINTENANCE_DOSE] * 9)
    assert CHEMO_CYCLE_DAYS == 21.0
    np.testing.assert_array_equal(given, [0.5, 0, 0, 0.5, 0, 0, 0.5, 0, 0])
    np.testing.assert_array_equal(refused, [0, 1, 1, 0, 1, 1, 0, 1, 1])


def test_metronomic_doses_may_be_weekly_but_not_within_a_cycle():
    """Weekly metronomic doses are given; none within 21 days of a larger one.

    And a larger dose is not given within 21 days of any dose.
    """
    m = METRONOMIC_DOSE
    given, refused = _given([m, m, m, 1.0, 1.0, 1.0, 1.0, m, m, m, m])
    np.testing.assert_array_equal(given, [m, m, m, 0, 0, 1.0, 0, 0, m, m, m])
    np.testing.assert_array_equal(refused, [0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0])


@pytest.mark.parametrize("name", regimens.available())
def test_every_standard_regimen_gets_exactly_its_doses(name):
    """No standard regimen (q3w cycles, weekly metronomic) ever has a dose refused."""
    n = 6
    venv = TumorImmuneVectorEnv(num_envs=n, observation="full", split="test", cohort_size=n)
    obs, info = venv.reset(seed=list(range(n)), options={"patients": list(range(n))})
    policy = regimens.get(name)
    alive = np.ones(n, dtype=bool)
    state, start = None, np.ones(n, dtype=bool)
    for _ in range(60):
        action, state = policy.predict(obs, state=state, episode_start=start, deterministic=True)
        start = np.zeros(n, dtype=bool)
        asked = np.asarray(action, dtype=float)[:, 0].copy()
        capped = info["platinum_cycles"] >= MAX_PLATINUM_CYCLES  # the maintenance cap (v1)
        asked = np.where(capped, np.minimum(asked, MAINTENANCE_DOSE), asked)
        obs, _, terminated, truncated, info = venv.step(action)
        assert not info["chemo_refused"][alive].any(), name
        np.testing.assert_allclose(info["dose_chemo"][alive], asked[alive], rtol=1e-6)
        alive &= ~(terminated | truncated)
    venv.close()
