"""Plug the environment into your own code: a Gymnasium loop, your policy, the benchmark.

1. A plain Gymnasium loop on ``gym.make`` with the symmetric action box SB3 recommends
   (Gymnasium's ``RescaleAction``: the agent acts in ``[-1, 1]``, the env doses in
   ``[0, 1]``).
2. Your own policy as an object with SB3's ``predict`` (here a hand-written rule reading the
   observation by field name), scored in a virtual trial against the standard regimens with
   the benchmark score (100 = as good as the best standard regimen of the trial, named).

Usage::

    python examples/plug_in.py [--n-patients 100]
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import RescaleAction

import tme_env  # noqa: F401 - registers the tme/ ids
from tme_env import regimens
from tme_env.envs import observation_fields
from tme_env.trials import run_trial, summarise
from tme_env.trials.report import score_note

#: The environment (the ids are listed in `tme_env.envs.REGISTRY`).
ENV_ID = "tme/TumorImmune-v2"


class ImmuneFirstPolicy:
    """Anti-PD-1 every 3 weeks and the inhibitor throughout; chemo q3w for 4 cycles if ANC allows.

    Any object with this ``predict`` runs in `tme_env.trials.run_trial`, like an SB3 model.
    """

    def __init__(self) -> None:
        """Read the observation by name."""
        self.fields = observation_fields("full")

    def predict(self, observation, state=None, episode_start=None, deterministic=True):  # noqa: ANN001, ANN201
        """Doses for a batch of observations; ``state`` counts each patient's weeks."""
        obs = np.atleast_2d(observation)
        weeks = np.zeros(len(obs), dtype=int) if state is None else state
        if episode_start is not None:
            weeks = np.where(episode_start, 0, weeks)
        due = weeks % 3 == 0
        chemo = due & (weeks < 12) & (obs[:, self.fields.anc] >= 1.5)
        action = np.column_stack([chemo, due, np.ones(len(obs))]).astype(np.float32)
        return action, weeks + 1


def gymnasium_loop(seed: int = 0) -> float:
    """One episode of random symmetric actions through ``RescaleAction``; returns the return."""
    # float32 bounds, the dtype of the env's action box: Python floats (float64) would make
    # Gymnasium warn that it lowers their precision.
    env = RescaleAction(gym.make(ENV_ID), min_action=np.float32(-1.0),
                        max_action=np.float32(1.0))  # fmt: skip
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        total += float(reward)
        done = terminated or truncated
    print(f"random policy in [-1, 1]: return {total:.1f} over {info['day']:.0f} days")
    return total


def main(argv: list[str] | None = None) -> int:
    """Run the loop, then the trial of the hand-written policy against three regimens."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-patients", type=int, default=100, help="test patients per arm")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    gymnasium_loop(args.seed)
    arms = {
        "immune-first (mine)": ImmuneFirstPolicy(),
        **{n: regimens.get(n) for n in ("no-treatment", "mtd-chemo", "chemo-ici-inhibitor")},
    }
    result = run_trial(
        arms, env_id=ENV_ID, split="test", n_patients=args.n_patients, seed=args.seed
    )
    rows = summarise(result, reference="mtd-chemo")
    for r in rows:
        print(
            f"{r['arm']:<22} RMST {r['rmst_os_months']:5.1f} mo   score {r['benchmark_score']:5.0f}"
        )
    print(score_note(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
