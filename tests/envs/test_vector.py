"""The native vector env: make_vec, autoreset, and equivalence with single envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import tme_env  # noqa: F401 - registers the ids
from tme_env.envs import ENV_IDS, TumorImmuneVectorEnv
from tme_env.envs.vector import BatchedVectorEnv

KW = {"cohort_size": 16, "horizon_days": 70.0}  # 10 weekly steps: truncation happens


@pytest.mark.parametrize("env_id", list(ENV_IDS))
def test_make_vec_returns_the_native_vector_env(env_id):
    kwargs = {"cohort_size": 16} if env_id.startswith("tme/TumorImmune") else {}
    venv = gym.make_vec(env_id, num_envs=3, **kwargs)
    assert isinstance(venv.unwrapped, BatchedVectorEnv)
    obs, info = venv.reset(seed=0)
    assert obs.shape == (3, *venv.single_observation_space.shape)
    obs, reward, terminated, truncated, info = venv.step(venv.action_space.sample())
    assert reward.shape == terminated.shape == truncated.shape == (3,)
    key = next(iter(info))
    assert info[key].shape == (3,) and info[f"_{key}"].all()


@pytest.mark.parametrize("env_id", ["tme/TumorImmune-v2", "tme/TumorImmuneClinical-v2"])
def test_vector_env_equals_single_envs_with_the_same_seeds(env_id):
    n, steps, seed = 3, 25, 11
    rng = np.random.default_rng(0)
    actions = rng.uniform(0, 1, (steps, n, 3)).astype(np.float32)
    actions[:, 0, 0] = 0.0  # slot 0 untreated: it dies, exercising termination + autoreset
    venv = TumorImmuneVectorEnv(
        num_envs=n, max_episode_steps=10, observation=ENV_IDS[env_id]["observation"], **KW
    )
    singles = [gym.make(env_id, max_episode_steps=10, **KW) for _ in range(n)]
    v_obs, _ = venv.reset(seed=seed)
    s_obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(singles)]
    np.testing.assert_array_equal(v_obs, np.stack(s_obs))
    done = [False] * n
    n_done = 0
    for t in range(steps):
        v_obs, v_rew, v_term, v_trunc, _ = venv.step(actions[t])
        for i, env in enumerate(singles):
            if done[i]:  # NEXT_STEP autoreset: this step only resets the sub-env
                obs, _ = env.reset()
                rew, term, trunc = 0.0, False, False
                done[i] = False
            else:
                obs, rew, term, trunc, _ = env.step(actions[t, i])
                done[i] = term or trunc
                n_done += done[i]
            np.testing.assert_array_equal(v_obs[i], obs)
            assert v_rew[i] == rew and v_term[i] == term and v_trunc[i] == trunc
    assert n_done >= 3  # episodes ended (and were reset) during the comparison


def test_vector_env_rejects_bad_actions():
    venv = TumorImmuneVectorEnv(num_envs=2, cohort_size=16)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        venv.step(np.zeros(3))
    bad = np.zeros((2, 3))
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        venv.step(bad)
