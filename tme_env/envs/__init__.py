"""Gymnasium environments (registered under the ``tme/`` namespace on ``import tme_env``)."""

from __future__ import annotations

import math

import gymnasium as gym

from tme_env.envs.core import ACTION_NAMES, INFO_KEYS, EnvConfig, RewardWeights
from tme_env.envs.sb3 import TumorImmuneSB3VecEnv, make_sb3_vec_env
from tme_env.envs.tumor_immune import DISCRETE_LEVELS, TumorImmuneEnv
from tme_env.envs.vector import TumorImmuneVectorEnv

__all__ = [
    "ACTION_NAMES",
    "DISCRETE_LEVELS",
    "ENV_IDS",
    "INFO_KEYS",
    "EnvConfig",
    "RewardWeights",
    "TumorImmuneEnv",
    "TumorImmuneSB3VecEnv",
    "TumorImmuneVectorEnv",
    "make_sb3_vec_env",
    "register_envs",
]

_WEEKS_3Y = math.ceil(1095.0 / 7.0)

#: Registered ids and their keyword arguments (JSON-serialisable).
ENV_IDS: dict[str, dict] = {
    "tme/TumorImmune-v0": {"observation": "full"},
    "tme/TumorImmuneClinical-v0": {"observation": "clinical"},
    "tme/TumorImmuneDiscrete-v0": {"observation": "full", "discrete": True},
}


def register_envs() -> None:
    """Register every id of `ENV_IDS` with Gymnasium (idempotent)."""
    for env_id, kwargs in ENV_IDS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="tme_env.envs.tumor_immune:TumorImmuneEnv",
            vector_entry_point="tme_env.envs.vector:TumorImmuneVectorEnv",
            max_episode_steps=_WEEKS_3Y,
            kwargs=kwargs,
        )
