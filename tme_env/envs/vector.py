"""Native batched vector environment: N patients advanced by one compiled call per step."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from tme_env.envs.config import reset_options
from tme_env.envs.depillis import DePillis2003ChemoEnv
from tme_env.envs.tumor_immune import TumorImmuneEnv
from tme_env.simulator import SimulationError

__all__ = ["BatchedVectorEnv", "DePillis2003ChemoVectorEnv", "TumorImmuneVectorEnv"]


class BatchedVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` copies of a single environment stepped together by the parallel kernel.

    ``env_class`` is the single environment; it provides ``make_core(n, parallel)`` (a batched
    core), ``draw_patient(rng)`` and ``batch_doses(actions, n)``.

    Sub-environment ``i`` behaves exactly like a single environment reset with seed
    ``seed + i`` (patient draw and measurement noise from its own generator, the same
    per-patient integrator code): tested transition for transition. Autoreset follows
    Gymnasium 1.x ``NEXT_STEP`` semantics: the step after an episode ends resets that
    sub-environment and returns its first observation with zero reward.

    Info is a dict of arrays (one value per sub-environment) with the same keys as the single
    env, plus Gymnasium's ``_key`` masks.

    A `SimulationError` in a step names the failing sub-environment (slot) and its patient
    id; the batch cannot continue (the failed interval has no result), so every later `step`
    raises a `RuntimeError` saying so until `reset` starts new episodes.

    Adapters with other autoreset semantics (the SB3 ``VecEnv`` of `tme_env.agents.vec_env`)
    drive ``core`` themselves through the public pieces of this class: `doses`, ``rngs``,
    ``elapsed``, ``max_episode_steps`` and `reset_slot`.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}
    env_class: type[gym.Env] = TumorImmuneEnv

    def __init__(
        self, num_envs: int = 8, max_episode_steps: int | None = None, **env_kwargs: Any
    ) -> None:
        """Create ``num_envs`` sub-environments (keyword arguments as ``env_class``)."""
        if isinstance(num_envs, (bool, np.bool_)) or not isinstance(num_envs, (int, np.integer)):
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        if num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs}")
        if max_episode_steps is not None and (
            isinstance(max_episode_steps, (bool, np.bool_))
            or not isinstance(max_episode_steps, (int, np.integer))
            or max_episode_steps < 1
        ):
            raise ValueError(
                f"max_episode_steps must be None or an integer >= 1, got {max_episode_steps!r}"
            )
        env_kwargs.pop("render_mode", None)
        self._template = self.env_class(**env_kwargs)
        self.config = getattr(self._template, "config", None)
        self.num_envs = int(num_envs)
        # The env's horizon ends an episode whatever limit is asked for (`gym.make_vec`
        # passes the id's 261 steps, also with a shorter horizon or a longer interval).
        horizon_steps = self._template.max_episode_steps
        self.max_episode_steps = (
            min(int(max_episode_steps), horizon_steps) if max_episode_steps is not None
            else horizon_steps
        )  # fmt: skip
        self.core = self._template.make_core(self.num_envs, parallel=True)
        self.single_observation_space = self._template.observation_space
        self.single_action_space = self._template.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        #: One generator per sub-environment (patient draws and measurement noise).
        self.rngs: list[np.random.Generator] = [
            np.random.default_rng() for _ in range(self.num_envs)
        ]
        #: Steps taken in each sub-environment's current episode.
        self.elapsed = np.zeros(self.num_envs, dtype=np.int64)
        #: The patient id in each sub-environment (for error messages).
        self.patient_ids: list[str] = [""] * self.num_envs
        self._needs_reset = np.ones(self.num_envs, dtype=bool)
        self._failed: SimulationError | None = None
        self._started = False  # `reset` seeds the episodes; `step` before it is refused

    def reset_slot(self, i: int, seed: int | None, patient: Any = None) -> None:
        """Start a new episode in sub-environment ``i`` (the others are untouched).

        Args:
            i: Index of the sub-environment.
            seed: Reseeds its generator as ``gymnasium.Env.reset(seed=...)`` does; None keeps
                the generator's current state.
            patient: The patient to treat; None draws one with the sub-environment's generator.
        """
        if seed is not None:
            self.rngs[i] = seeding.np_random(seed)[0]  # as gymnasium.Env.reset(seed=...)
        if patient is None:
            patient = self._template.draw_patient(self.rngs[i])
        self.patient_ids[i] = self._template.patient_id(patient)
        self.core.set_patient(i, patient, self.rngs)
        self.elapsed[i] = 0
        self._needs_reset[i] = False

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Reset every sub-environment; ``seed`` (int) seeds sub-env ``i`` with ``seed + i``."""
        patients = reset_options(options, ("patients",)).pop("patients", None)
        if isinstance(seed, (list, tuple)):
            if len(seed) != self.num_envs:
                raise ValueError(f"need {self.num_envs} seeds, got {len(seed)}")
            for i, s in enumerate(seed):
                _check_seed(s, f"seed[{i}]")
            seeds = list(seed)
        elif seed is None:
            seeds = [None] * self.num_envs
        else:
            _check_seed(seed, "seed")
            seeds = [int(seed) + i for i in range(self.num_envs)]
        if patients is not None:
            if isinstance(patients, (str, bytes, dict)) or not hasattr(patients, "__len__"):
                raise ValueError(
                    f"options['patients'] must be a sequence of {self.num_envs} patients, got "
                    f"{patients!r}"
                )
            if len(patients) != self.num_envs:
                raise ValueError(f"need {self.num_envs} patients, got {len(patients)}")
            patients = [
                None if p is None else self._template.resolve_patient(p, f"patients[{i}]")
                for i, p in enumerate(patients)
            ]
        self._failed = None
        for i in range(self.num_envs):
            self.reset_slot(i, seeds[i], None if patients is None else patients[i])
        self._started = True
        return self.core.observe(), self._vector_info(self.core.info())

    def doses(self, actions: Any) -> np.ndarray:
        """The batch of actions as doses, shape ``(num_envs, n_drugs)`` (checked and clipped).

        Args:
            actions: One action per sub-environment, as ``action_space`` describes.
        """
        return self._template.batch_doses(actions, self.num_envs)

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Step every sub-environment (resetting those whose episode ended last step)."""
        if not self._started:
            raise RuntimeError("call reset() before step(): no episode has started")
        if self._failed is not None:
            raise RuntimeError(
                f"the last step failed ({self._failed}); call reset() to start new episodes"
            )
        doses = self.doses(actions)
        resetting = self._needs_reset.copy()
        for i in np.flatnonzero(resetting):
            self.reset_slot(i, None)
        try:
            reward, terminated, info = self.core.step(doses, self.rngs, active=~resetting)
        except SimulationError as exc:
            slot = int(exc.patient)
            self._failed = exc.for_patient(self.patient_ids[slot], slot=slot)
            raise self._failed from None
        self.elapsed[~resetting] += 1
        truncated = ~terminated & (self.elapsed >= self.max_episode_steps) & ~resetting
        self._needs_reset = terminated | truncated
        return (
            self.core.observe(), reward, terminated, truncated, self._vector_info(info)
        )  # fmt: skip

    def _vector_info(self, info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        mask = np.ones(self.num_envs, dtype=bool)
        for k, v in info.items():
            out[k] = v
            out[f"_{k}"] = mask
        return out


def _check_seed(seed: Any, what: str) -> None:
    """A seed is None or a non-negative integer (never truncated from a float or a bool)."""
    if seed is None:
        return
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{what} must be None or an integer >= 0, got {seed!r}")


class TumorImmuneVectorEnv(BatchedVectorEnv):
    """Native vector env of `TumorImmuneEnv` (``gym.make_vec`` of the ``tme/TumorImmune*`` ids)."""

    env_class = TumorImmuneEnv


class DePillis2003ChemoVectorEnv(BatchedVectorEnv):
    """Native vector env of `DePillis2003ChemoEnv` (``tme/DePillis2003Chemo-v0``)."""

    env_class = DePillis2003ChemoEnv
