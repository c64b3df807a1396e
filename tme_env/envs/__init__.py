"""Gymnasium environments (registered under the ``tme/`` namespace on ``import tme_env``).

One module per concern (see `tme_env.envs.core` for how a step composes them): `config`
(settings, reward weights), `observation` (fields, bounds, units, measurement), `reward`
(reward terms, termination, the info record), `state` (`EnvState`), `label` (label rules,
irAE management), `actions` (action checking, discrete levels), `core` (the compiled step),
`tumor_immune` and `vector` (the Gymnasium envs), `depillis` (the de Pillis 2003 env).
"""

from __future__ import annotations

import copy
import functools
import math
from typing import Any

import gymnasium as gym

from tme_env.dosing import ACTION_NAMES
from tme_env.envs.actions import DISCRETE_LEVELS
from tme_env.envs.config import EnvConfig, RewardWeights
from tme_env.envs.core import TumorImmuneCore
from tme_env.envs.observation import (
    CLINICAL_OBSERVATION,
    FULL_OBSERVATION,
    observation_bounds,
    observation_fields,
)
from tme_env.envs.reward import CURE_CELLS, INFO_KEYS
from tme_env.envs.tumor_immune import TumorImmuneEnv
from tme_env.envs.vector import TumorImmuneVectorEnv

__all__ = [
    "ACTION_NAMES",
    "CLINICAL_ENV_ID",
    "CLINICAL_OBSERVATION",
    "CURE_CELLS",
    "DEFAULT_ENV_ID",
    "DISCRETE_ENV_ID",
    "DISCRETE_LEVELS",
    "ENV_IDS",
    "FULL_OBSERVATION",
    "INFO_KEYS",
    "REGISTRY",
    "EnvConfig",
    "RewardWeights",
    "TumorImmuneCore",
    "TumorImmuneEnv",
    "TumorImmuneVectorEnv",
    "observation_bounds",
    "observation_fields",
    "register_envs",
    "spaces_of",
]

#: Weekly steps of the 5-year horizon (`EnvConfig.horizon_days`).
_WEEKS = math.ceil(EnvConfig().horizon_days / EnvConfig().decision_interval_days)
_TME = ("tme_env.envs.tumor_immune:TumorImmuneEnv", "tme_env.envs.vector:TumorImmuneVectorEnv")
_DEPILLIS = (
    "tme_env.envs.depillis:DePillis2003ChemoEnv",
    "tme_env.envs.vector:DePillis2003ChemoVectorEnv",
)

#: Registered ids: (entry point, vector entry point, max_episode_steps, JSON-serialisable kwargs).
REGISTRY: dict[str, tuple[str, str, int, dict]] = {
    "tme/TumorImmune-v2": (*_TME, _WEEKS, {"observation": "full"}),
    "tme/TumorImmuneClinical-v2": (*_TME, _WEEKS, {"observation": "clinical"}),
    "tme/TumorImmuneDiscrete-v2": (*_TME, _WEEKS, {"observation": "full", "discrete": True}),
    "tme/DePillis2003Chemo-v0": (*_DEPILLIS, 600, {}),
}
#: Registered ids and their keyword arguments.
ENV_IDS: dict[str, dict] = {k: v[3] for k, v in REGISTRY.items()}
#: The main ids, named once for the rest of the package (trials, agents, docs).
DEFAULT_ENV_ID = "tme/TumorImmune-v2"
CLINICAL_ENV_ID = "tme/TumorImmuneClinical-v2"
DISCRETE_ENV_ID = "tme/TumorImmuneDiscrete-v2"


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


def spaces_of(env_id: str) -> tuple[Any, Any]:
    """``(observation_space, action_space)`` of a registered id: copies, the caller's own.

    The env is built once per id (cached); every call returns fresh copies of its spaces, so
    no caller's seeding or sampling changes what another caller sees.
    """
    return copy.deepcopy(_spaces(env_id))


@functools.cache
def _spaces(env_id: str) -> tuple[Any, Any]:
    env = gym.make(env_id)
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()
