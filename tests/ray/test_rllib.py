"""RLlib PPO (new API stack) on a tme env found through Gymnasium's registry only."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("ray.rllib")

from tme_env.sweep import DEFAULT_ENV_ID  # noqa: E402

pytestmark = pytest.mark.ray


def test_rllib_ppo_trains_a_few_iterations_by_env_id(ray_local):
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (
        PPOConfig()
        # "module:id": gymnasium imports tme_env (which registers the ids) in each env runner.
        .environment(f"tme_env:{DEFAULT_ENV_ID}")
        .env_runners(num_env_runners=1, num_envs_per_env_runner=1, rollout_fragment_length=128)
        .training(train_batch_size_per_learner=256, minibatch_size=64, num_epochs=1)
        .debugging(seed=0)
    )
    assert config.enable_rl_module_and_learner and config.enable_env_runner_and_connector_v2
    algo = config.build_algo()
    try:
        for _ in range(2):
            result = algo.train()
    finally:
        algo.stop()
    assert result["num_env_steps_sampled_lifetime"] >= 512
    learner = result["learners"]["default_policy"]
    assert math.isfinite(learner["total_loss"]) and math.isfinite(learner["vf_loss"])
    assert result["env_runners"]["num_episodes_lifetime"] >= 1  # 157-step episodes completed
