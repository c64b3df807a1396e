"""Gymnasium environments (registered under the ``tme/`` namespace on ``import tme_env``)."""

from __future__ import annotations

import math

import gymnasium as gym

from tme_env.envs.core import ACTION_NAMES, INFO_KEYS, EnvConfig, RewardWeights
from tme_env.envs.tumor_immune import DISCRETE_LEVELS, TumorImmuneEnv
from tme_env.envs.vector import TumorImmuneVectorEnv

__all__ = [
    "ACTION_NAMES",
    "DISCRETE_LEVELS",
    "ENV_IDS",
    "REGISTRY",
    "INFO_KEYS",
    "EnvConfig",
    "RewardWeights",
    "TumorImmuneEnv",
    "TumorImmuneVectorEnv",
    "make_sb3_vec_env",
    "register_envs",
]

_WEEKS_3Y = math.ceil(1095.0 / 7.0)
_TME = ("tme_env.envs.tumor_immune:TumorImmuneEnv", "tme_env.envs.vector:TumorImmuneVectorEnv")
_DEPILLIS = (
    "tme_env.envs.depillis:DePillis2003ChemoEnv",
    "tme_env.envs.vector:DePillis2003ChemoVectorEnv",
)

#: Registered ids: (entry point, vector entry point, max_episode_steps, JSON-serialisable kwargs).
REGISTRY: dict[str, tuple[str, str, int, dict]] = {
    "tme/TumorImmune-v0": (*_TME, _WEEKS_3Y, {"observation": "full"}),
    "tme/TumorImmuneClinical-v0": (*_TME, _WEEKS_3Y, {"observation": "clinical"}),
    "tme/TumorImmuneDiscrete-v0": (*_TME, _WEEKS_3Y, {"observation": "full", "discrete": True}),
    "tme/DePillis2003Chemo-v0": (*_DEPILLIS, 600, {}),
}
#: Registered ids and their keyword arguments.
ENV_IDS: dict[str, dict] = {k: v[3] for k, v in REGISTRY.items()}


def make_sb3_vec_env(env_id: str, n_envs: int, seed: int | None = None, **env_kwargs):  # noqa: ANN201
    """Build the SB3 ``VecEnv`` of a registered id (see `tme_env.envs.sb3.make_sb3_vec_env`).

    Imported lazily: stable-baselines3 (and torch) load only when this is called.
    """
    from tme_env.envs.sb3 import make_sb3_vec_env as _make

    return _make(env_id, n_envs, seed=seed, **env_kwargs)


def register_envs() -> None:
    """Register every id of `REGISTRY` with Gymnasium (idempotent)."""
    for env_id, (entry, vector_entry, steps, kwargs) in REGISTRY.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=entry,
            vector_entry_point=vector_entry,
            max_episode_steps=steps,
            kwargs=kwargs,
        )
