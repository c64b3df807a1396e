"""Training throughput of PPO on the clinical task, and its split between env and learner.

One PPO run as the leaderboard trains it (`tme train`'s pipeline: `make_sb3_vec_env`, 64
envs, observation normalisation, the package's PPO hyperparameters, torch on 1 thread) is
timed end to end, with a callback that times every vector-env step from the inside; the rest
of ``learn()`` is the policy's forward passes in the rollout and the gradient updates. The
same for the per-cycle variant (one decision per 21-day cycle: each agent step simulates 3
weeks). In the same run, as references: the vector env alone under random actions.

Usage::

    python experiments/benchmarks/training.py [--steps 262144] [--quick]

Prints weeks/s (simulated patient-weeks per second) and the shares of the wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnvWrapper, VecNormalize

from tme_env.agents.algos import load_hyperparams
from tme_env.agents.normalize import normalize_settings
from tme_env.agents.vec_env import make_sb3_vec_env

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # experiments/
import quick  # noqa: E402 - experiments/quick.py: the --quick flag

ENV = "tme/TumorImmuneClinical-v2"


class _Timed(VecEnvWrapper):
    """Accumulates the wall time spent inside the wrapped VecEnv's ``step``."""

    def __init__(self, venv: Any) -> None:
        super().__init__(venv)
        self.seconds = 0.0

    def reset(self) -> np.ndarray:  # noqa: D102
        return self.venv.reset()

    def step_async(self, actions: np.ndarray) -> None:  # noqa: D102
        self._actions = actions

    def step_wait(self) -> Any:  # noqa: D102
        t0 = time.perf_counter()
        self.venv.step_async(self._actions)
        out = self.venv.step_wait()
        self.seconds += time.perf_counter() - t0
        return out


def ppo_run(steps: int, cycle: int | None) -> dict[str, float]:
    """Train PPO for ``steps`` agent steps; wall time, env time, weeks/s."""
    hyper = load_hyperparams("ppo", ENV)
    n_envs = int(hyper.pop("n_envs"))
    norm = normalize_settings(hyper.pop("normalize"), hyper["gamma"])  # as tme train does
    timed = _Timed(make_sb3_vec_env(ENV, n_envs=n_envs, seed=0, cycle_weeks=cycle))
    venv = VecNormalize(timed, **norm)
    model = PPO("MlpPolicy", venv, seed=0, device="cpu", verbose=0, **hyper)
    t0 = time.perf_counter()
    model.learn(steps)
    wall = time.perf_counter() - t0
    weeks = model.num_timesteps * (cycle or 1)
    return {"wall": wall, "env": timed.seconds, "weeks_per_s": weeks / wall}


def env_alone(steps: int) -> float:
    """Weeks/s of the 64-env SB3 VecEnv under random actions (no learner)."""
    venv = make_sb3_vec_env(ENV, n_envs=64, seed=0)
    venv.reset()
    rng = np.random.default_rng(0)
    actions = rng.random((steps // 64, 64, 3)).astype(np.float32)
    t0 = time.perf_counter()
    for a in actions:
        venv.step(a)
    return steps / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    """Print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=262_144, help="agent steps of each PPO run")
    args = quick.parse_args(ap, argv, __file__, sizes={"steps": 8_192})
    torch.set_num_threads(1)
    ref = env_alone(args.steps)
    print(f"vector env alone (64 envs, random actions): {ref:,.0f} weeks/s")
    for label, cycle in (("PPO weekly", None), ("PPO per cycle", 3)):
        r = ppo_run(args.steps if cycle is None else args.steps // 3, cycle)
        env_share = r["env"] / r["wall"]
        print(f"{label}: {r['weeks_per_s']:,.0f} weeks/s ({r['weeks_per_s'] / ref:.2f} of the "
              f"env alone); wall {r['wall']:.1f} s: env {env_share:.0%}, policy and learner "
              f"{1 - env_share:.0%}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
