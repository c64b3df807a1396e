"""tme/DePillis2003Chemo-v0: dynamics equal simulate(), reward and constraint as documented."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import tme_env
from tme_env.envs.vector import DePillis2003ChemoVectorEnv


def test_steps_follow_the_model_and_the_dtr_bench_reward():
    env = gym.make("tme/DePillis2003Chemo-v0")
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(obs[:4], np.float32([0.9, 0.2, 0.005, 0.0]))
    for _ in range(40):  # v = 1 for 10 days, in 0.25-day steps
        obs, reward, terminated, truncated, info = env.step(np.ones(1, dtype=np.float32))
        assert not terminated
        assert reward == pytest.approx(info["N"] / 0.9 - info["T"] / 0.2 - 1.0)
    ref = tme_env.simulate("depillis2003", t_eval=[0.0, 10.0],
                           initial_state={"N": 0.9, "T": 0.2, "I": 0.005, "u": 0.0},
                           infusions=[(0.0, 10.0, {"v": 1.0})])  # fmt: skip
    np.testing.assert_allclose([info["N"], info["T"], info["I"], info["u"]], ref.y[:, -1],
                               rtol=2e-5, atol=1e-9)  # fmt: skip
    assert info["day"] == 10.0


def test_full_dosing_stays_feasible_and_a_violation_terminates_with_minus_100():
    env = gym.make("tme/DePillis2003Chemo-v0")
    env.reset(seed=0)
    lowest = 1.0
    for _ in range(600):
        _, reward, terminated, truncated, info = env.step(np.ones(1, dtype=np.float32))
        lowest = min(lowest, info["N"])
        if terminated or truncated:
            break
    # models.md §1: continuous v = 1 from (0.9, 0.2, 0.005) bottoms out at N = 0.708 > 0.7 N0.
    assert truncated and not terminated
    assert lowest == pytest.approx(0.708, abs=2e-3)
    # Normal cells below the floor: the next step is a violation.
    env.reset(seed=0)
    env.unwrapped.core.y[0, 0] = 0.5
    _, reward, terminated, _, info = env.step(np.zeros(1, dtype=np.float32))
    assert terminated and reward == -100.0 and info["violation"] == 1.0


def test_vector_env_equals_single_env():
    venv = DePillis2003ChemoVectorEnv(num_envs=3)
    env = gym.make("tme/DePillis2003Chemo-v0")
    v_obs, _ = venv.reset(seed=0)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(1)
    for _ in range(20):
        a = rng.uniform(0, 1, (3, 1)).astype(np.float32)
        v_obs, v_rew, *_ = venv.step(a)
        obs, rew, *_ = env.step(a[1])
        np.testing.assert_array_equal(v_obs[1], obs)
        assert v_rew[1] == rew
