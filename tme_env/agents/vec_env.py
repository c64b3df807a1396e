"""Stable-Baselines3 ``VecEnv`` over the batched core: SB3 trains on the compiled batch directly.

SB3's vectorised-environment protocol differs from Gymnasium's: an environment whose episode
ends is reset *in the same step*, the returned observation is the new episode's first one,
and the final observation travels in ``info["terminal_observation"]`` (with
``info["TimeLimit.truncated"]`` for time-limit endings). Episode returns and lengths are
reported as `stable_baselines3.common.monitor.Monitor` does (``info["episode"]``), so SB3's
logger shows ``rollout/ep_rew_mean`` without a Monitor wrapper.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from gymnasium.envs.registration import load_env_creator
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

from tme_env.agents.cycle import CYCLE_WEEKS, within_cycle
from tme_env.envs import REGISTRY
from tme_env.envs.vector import BatchedVectorEnv, TumorImmuneVectorEnv

__all__ = ["CycleVecEnv", "TumorImmuneSB3VecEnv", "make_sb3_vec_env"]


def _indices(indices: VecEnvIndices, n: int) -> Iterable[int]:
    """The sub-environment indices SB3's ``indices`` argument names (None: all ``n``)."""
    if indices is None:
        return range(n)
    if isinstance(indices, int):
        return [indices]
    return indices


class TumorImmuneSB3VecEnv(VecEnv):
    """``n_envs`` tme patients as an SB3 ``VecEnv`` (one compiled call per step).

    Args:
        n_envs: Number of parallel environments.
        seed: Seed of the first reset (sub-env ``i`` gets ``seed + i``); None for entropy.
        max_episode_steps: Truncation limit (default: the horizon in steps).
        vector_class: The batched vector env to drive (`tme_env.envs.vector.BatchedVectorEnv`).
        **env_kwargs: As the single environment of ``vector_class`` (e.g.
            `tme_env.envs.TumorImmuneEnv`).
    """

    def __init__(
        self,
        n_envs: int,
        seed: int | None = None,
        max_episode_steps: int | None = None,
        vector_class: type[BatchedVectorEnv] = TumorImmuneVectorEnv,
        **env_kwargs: Any,
    ) -> None:
        """Create the batched environments."""
        self.venv = vector_class(num_envs=n_envs, max_episode_steps=max_episode_steps, **env_kwargs)
        super().__init__(n_envs, self.venv.single_observation_space, self.venv.single_action_space)
        self._next_seed = seed
        self._actions: np.ndarray | None = None
        self._returns = np.zeros(n_envs)
        self._lengths = np.zeros(n_envs, dtype=np.int64)
        self._t0 = time.time()

    def reset(self) -> np.ndarray:
        """Reset every environment (using the seed given to `seed` or the constructor)."""
        obs, _ = self.venv.reset(seed=self._next_seed)
        self._next_seed = None
        self._returns[:] = 0.0
        self._lengths[:] = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Store the actions for `step_wait`."""
        self._actions = actions

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        """Advance every environment one decision interval; reset the finished ones."""
        v = self.venv
        doses = v.doses(self._actions)
        reward, terminated, info = v.core.step(doses, v.rngs)
        v.elapsed += 1
        truncated = ~terminated & (v.elapsed >= v.max_episode_steps)
        dones = terminated | truncated
        obs = v.core.observe()
        self._returns += reward
        self._lengths += 1
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            infos[i] = self._final_info(i, obs, bool(truncated[i]), info,
                                        float(self._returns[i]), int(self._lengths[i]))  # fmt: skip
            v.reset_slot(i, None)
            self._returns[i] = 0.0
            self._lengths[i] = 0
        if dones.any():
            obs = v.core.observe()
        return obs, reward.astype(np.float32), dones, infos

    def _final_info(self, i: int, obs: np.ndarray, truncated: bool, info: dict[str, Any],
                    ret: float, length: int) -> dict[str, Any]:  # fmt: skip
        """The info of sub-env ``i``'s last step: SB3's final observation and Monitor keys."""
        return {
            "terminal_observation": obs[i].copy(),
            "TimeLimit.truncated": truncated,
            "episode": {"r": ret, "l": length, "t": round(time.time() - self._t0, 6)},
            **{k: float(info[k][i]) for k in ("dead", "cured", "day") if k in info},
        }

    def close(self) -> None:
        """Nothing to release."""

    def seed(self, seed: int | None = None) -> list[int | None]:
        """Seed the next reset: sub-env ``i`` gets ``seed + i``."""
        self._next_seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """An attribute of the (shared) environment configuration, once per index."""
        value = getattr(self.venv, attr_name)
        return [value for _ in _indices(indices, self.num_envs)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Not supported: the environments share one compiled batch."""
        raise NotImplementedError("set_attr is not supported by the batched tme VecEnv")

    def env_method(
        self, method_name: str, *args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list:
        """Not supported: the environments share one compiled batch."""
        raise NotImplementedError("env_method is not supported by the batched tme VecEnv")

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """No sub-environment is wrapped."""
        return [False for _ in _indices(indices, self.num_envs)]


class CycleVecEnv(TumorImmuneSB3VecEnv):
    """``n_envs`` weekly tme patients, stepped a cycle (`CYCLE_WEEKS` weeks) per agent step.

    The per-cycle training variant (`tme_env.agents.cycle`): the agent's action is given in
    the cycle's first week, `within_cycle` of it in the others, and the reward is the sum of
    the weekly rewards.

    An episode that ends inside a cycle (death) is reported at the end of that cycle with
    the reward it earned up to its end and its final observation (``terminal_observation``);
    its slot is reset at once, and again when the cycle ends, so that every episode starts
    at a cycle's first week. The 5-year horizon (261 weeks) is 87 whole cycles.

    Args:
        cycle_weeks: Weeks per decision (default `CYCLE_WEEKS`).
        **kwargs: As `TumorImmuneSB3VecEnv`.
    """

    def __init__(self, *args: Any, cycle_weeks: int = CYCLE_WEEKS, **kwargs: Any) -> None:
        """See the class docstring."""
        super().__init__(*args, **kwargs)
        if self.venv.max_episode_steps % cycle_weeks:
            raise ValueError(f"cycle_weeks={cycle_weeks} does not divide the horizon of "
                             f"{self.venv.max_episode_steps} weeks")  # fmt: skip
        self.cycle_weeks = int(cycle_weeks)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        """One cycle of every environment; reset the finished ones."""
        v = self.venv
        first = v.doses(self._actions)
        total = np.zeros(self.num_envs)
        done = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        for week in range(self.cycle_weeks):
            doses = first if week == 0 else within_cycle(first)
            reward, terminated, info = v.core.step(doses, v.rngs)
            v.elapsed += 1
            truncated = ~terminated & (v.elapsed >= v.max_episode_steps)
            live = ~done
            total[live] += reward[live]
            ended = live & (terminated | truncated)
            if ended.any():
                obs = v.core.observe()
                for i in np.flatnonzero(ended):
                    infos[i] = self._final_info(i, obs, bool(truncated[i]), info,
                                                float(self._returns[i] + total[i]),
                                                int(self._lengths[i]) + 1)  # fmt: skip
                    v.reset_slot(i, None)  # the cycle's remaining weeks run a discarded episode
                done |= ended
        for i in np.flatnonzero(done):
            v.reset_slot(i, None)  # every episode starts at a cycle's first week
        self._returns += total
        self._lengths += 1
        self._returns[done] = 0.0
        self._lengths[done] = 0
        return v.core.observe(), total.astype(np.float32), done, infos


def make_sb3_vec_env(
    env_id: str, n_envs: int, seed: int | None = None, cycle_weeks: int | None = None,
    **env_kwargs: Any,
) -> TumorImmuneSB3VecEnv:
    """Build the SB3 ``VecEnv`` of a registered ``tme/`` id over the batched kernel.

    ``cycle_weeks``: one agent step per this many weeks (`CycleVecEnv`, the per-cycle
    training variant); None steps weekly.

    >>> from tme_env.agents import make_sb3_vec_env
    >>> venv = make_sb3_vec_env("tme/TumorImmune-v2", n_envs=8, seed=0)
    >>> venv.reset().shape
    (8, 23)
    """
    if env_id not in REGISTRY:
        raise ValueError(f"unknown env id {env_id!r}; valid ids: {', '.join(REGISTRY)}")
    _entry, vector_entry, steps, id_kwargs = REGISTRY[env_id]
    kwargs = {**id_kwargs, **env_kwargs}
    kwargs.setdefault("max_episode_steps", steps)
    if cycle_weeks is not None:
        return CycleVecEnv(n_envs, seed=seed, vector_class=load_env_creator(vector_entry),
                           cycle_weeks=cycle_weeks, **kwargs)  # fmt: skip
    return TumorImmuneSB3VecEnv(
        n_envs, seed=seed, vector_class=load_env_creator(vector_entry), **kwargs
    )
