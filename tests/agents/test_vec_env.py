"""The SB3 VecEnv adapter (`tme_env.agents.vec_env`) and short training smoke runs."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.vec_env import VecEnv

from tme_env.agents import make_sb3_vec_env


def test_sb3_vec_env_protocol():
    venv = make_sb3_vec_env("tme/TumorImmune-v2", n_envs=4, seed=0, cohort_size=16,
                            max_episode_steps=5)  # fmt: skip
    assert isinstance(venv, VecEnv)
    obs = venv.reset()
    assert obs.shape == (4, 23) and obs.dtype == np.float32
    for _ in range(5):
        venv.step_async(np.full((4, 3), 0.5, dtype=np.float32))
        obs, rewards, dones, infos = venv.step_wait()
    # Every env is truncated at the 5th step and reset in the same step (SB3 semantics).
    assert dones.all()
    for info in infos:
        assert info["TimeLimit.truncated"] is True
        assert info["terminal_observation"].shape == (23,)
        assert info["episode"]["l"] == 5
    assert not np.array_equal(obs[0], infos[0]["terminal_observation"])  # reset obs returned
    assert (venv.venv.elapsed == 0).all()  # the new episodes start at step 0
    with pytest.raises(ValueError, match="unknown env id"):
        make_sb3_vec_env("CartPole-v1", n_envs=2)


@pytest.mark.parametrize(
    "env_id", ["tme/TumorImmune-v2", "tme/TumorImmuneClinical-v2", "tme/DePillis2003Chemo-v0"]
)
def test_ppo_smoke_run(env_id):
    kwargs = {"cohort_size": 32} if env_id.startswith("tme/TumorImmune") else {}
    venv = make_sb3_vec_env(env_id, n_envs=16, seed=0, **kwargs)
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=256, n_epochs=2, seed=0, device="cpu")
    model.learn(total_timesteps=20_000)
    assert model.num_timesteps >= 20_000
    action, _ = model.predict(venv.reset(), deterministic=True)
    assert action.shape == (16, venv.action_space.shape[0])


def test_dqn_smoke_run():
    venv = make_sb3_vec_env("tme/TumorImmuneDiscrete-v2", n_envs=8, seed=0,
                            cohort_size=32)  # fmt: skip
    model = DQN("MlpPolicy", venv, learning_starts=500, train_freq=8, seed=0, device="cpu")
    model.learn(total_timesteps=20_000)
    assert model.num_timesteps >= 20_000
