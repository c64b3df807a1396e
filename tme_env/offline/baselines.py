"""Offline RL baselines with d3rlpy, wrapped as SB3-style policies for the trial code.

`train_baseline` fits one of `ALGORITHMS` on logged episodes; the result, a `D3rlpyPolicy`,
has SB3's ``predict`` and so runs in `tme_env.trials.run_trial` and
`tme_env.offline.rollout.policy_returns` like any regimen or agent. The discrete method
(``discrete-cql``) learns over the `DOSE_LEVELS` indices the behaviour logged and doses with
the level it picks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tme_env.offline.behaviour import DOSE_LEVELS
from tme_env.offline.dataset import to_mdp_dataset
from tme_env.offline.rollout import Episode

__all__ = ["ALGORITHMS", "GAMMA", "D3rlpyPolicy", "make_algorithm", "quiet", "train_baseline"]

#: Discount factor of the learners, FQE and the simulated truth (a weekly step: 0.95 weighs
#: the next ~20 weeks; the episode lasts up to the horizon).
GAMMA = 0.95
#: The baselines: name -> (d3rlpy config class name, discrete actions).
ALGORITHMS: dict[str, tuple[str, bool]] = {
    "bc": ("BCConfig", False),
    "cql": ("CQLConfig", False),
    "iql": ("IQLConfig", False),
    "discrete-cql": ("DiscreteCQLConfig", True),
}


def make_algorithm(name: str, batch_size: int = 256, gamma: float = GAMMA) -> Any:
    """A fresh d3rlpy algorithm (observations standardised on the dataset; CPU).

    Raises:
        ValueError: On an unknown name (the message lists the valid ones).
    """
    import d3rlpy

    if name not in ALGORITHMS:
        raise ValueError(f"unknown offline algorithm {name!r}; valid: {', '.join(ALGORITHMS)}")
    config_name, _ = ALGORITHMS[name]
    quiet()
    kwargs: dict[str, Any] = {
        "batch_size": batch_size,
        "observation_scaler": d3rlpy.preprocessing.StandardObservationScaler(),
    }
    # Small networks (2 x 64 units): the budgets are CPU minutes, the inputs 21 numbers.
    encoder = d3rlpy.models.VectorEncoderFactory(hidden_units=[64, 64])
    if name in ("bc", "discrete-cql"):
        kwargs["encoder_factory"] = encoder
    else:
        kwargs["actor_encoder_factory"] = encoder
        kwargs["critic_encoder_factory"] = encoder
    if name == "iql":
        kwargs["value_encoder_factory"] = encoder
    if name == "cql":
        kwargs["n_action_samples"] = 4
    if name != "bc":
        kwargs["gamma"] = gamma
    return getattr(d3rlpy.algos, config_name)(**kwargs).create(device="cpu:0")


def quiet() -> None:
    """Silence d3rlpy's info/debug log lines (warnings still show); use one torch thread.

    The learners are small: more threads only contend on a shared CPU.
    """
    import logging

    import structlog
    import torch

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    torch.set_num_threads(1)


def train_baseline(
    name: str,
    episodes: Sequence[Episode],
    n_steps: int = 3000,
    seed: int = 0,
    batch_size: int = 256,
    gamma: float = GAMMA,
) -> D3rlpyPolicy:
    """Fit a baseline on logged episodes (quietly: no log files, no progress output).

    Args:
        name: One of `ALGORITHMS`.
        episodes: The training episodes.
        n_steps: Gradient steps.
        seed: Seed of d3rlpy (torch and numpy).
        batch_size: Mini-batch size.
        gamma: Discount factor (not used by BC).
    """
    import d3rlpy

    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    d3rlpy.seed(seed)
    discrete = ALGORITHMS[name][1] if name in ALGORITHMS else False
    algo = make_algorithm(name, batch_size, gamma)
    dataset = to_mdp_dataset(episodes, discrete=discrete)
    algo.fit(dataset, n_steps=n_steps, n_steps_per_epoch=n_steps, show_progress=False,
             save_interval=n_steps + 1,
             logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip
    return D3rlpyPolicy(algo, discrete, name)


class D3rlpyPolicy:
    """A trained d3rlpy algorithm with SB3's ``predict`` (greedy; Markov in the observation).

    Args:
        algo: The d3rlpy algorithm.
        discrete: Its actions are `DOSE_LEVELS` indices.
        name: Display name.
    """

    def __init__(self, algo: Any, discrete: bool, name: str = "d3rlpy") -> None:
        """See the class docstring."""
        self.algo = algo
        self.discrete = discrete
        self.name = name

    def __repr__(self) -> str:
        """The policy's name."""
        return f"D3rlpyPolicy({self.name!r})"

    def levels(self, observations: np.ndarray) -> np.ndarray:
        """The chosen `DOSE_LEVELS` index of each observation (discrete policies only)."""
        if not self.discrete:
            raise ValueError(f"{self.name} has continuous actions, not dose-level indices")
        return np.asarray(self.algo.predict(np.asarray(observations, np.float32)), np.int64)

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,  # noqa: ARG002 - Markov policy
        deterministic: bool = True,  # noqa: ARG002 - always greedy
    ) -> tuple[np.ndarray, Any]:
        """Doses ``(n, 3)`` (or ``(3,)``) in [0, 1] for the observations."""
        obs = np.atleast_2d(np.asarray(observation, dtype=np.float32))
        if self.discrete:
            doses = DOSE_LEVELS[self.levels(obs)]
        else:
            doses = np.clip(self.algo.predict(obs), 0.0, 1.0)
        doses = doses.astype(np.float32)
        return (doses[0] if np.ndim(observation) == 1 else doses), state
