"""Literature comparison on ``tme/DePillis2003Chemo-v0`` (Ahn & Park 2011; DTR-Bench AhnChemoEnv).

The classic single-drug problem: de Pillis & Radunskaya (2003), start (0.9, 0.2, 0.005, 0),
decisions every 0.25 day for 150 days, DTR-Bench's reward ``N/N0 - T/T0 - v`` (-100 and the
end of the episode if N < 0.7 N0). Policies: no treatment, constant full dosing, constant
dosing for the first 10 days then none (the shape of Ahn & Park's NAC solution, "continuing
drug injection from the beginning until an appropriate time"), pulsed dosing (1 day in 7),
PPO trained on the environment, and DQN on a 3-level discretisation of the dose. Reported:
episode return, tumour and normal cells at day 150, the lowest normal-cell level, and whether
the N >= 0.7 N0 constraint held.

Usage::

    python experiments/depillis_literature.py [--timesteps 200000] [--seed 0] [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))

import quick  # noqa: E402 - experiments/quick.py: the --quick flag

import tme_env  # noqa: E402,F401 - registers the ids


def rollout(policy) -> dict:  # noqa: ANN001 - a callable obs -> action
    """One episode; returns the return and the clinical end points."""
    env = gym.make("tme/DePillis2003Chemo-v0")
    obs, info = env.reset(seed=0)
    total, lowest = 0.0, info["N"]
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs, info["day"]))
        total += reward
        lowest = min(lowest, info["N"])
        if terminated or truncated:
            break
    return {"return": total, "T_end": info["T"], "N_end": info["N"], "N_min": lowest,
            "feasible": not terminated, "day_end": info["day"]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Evaluate the fixed policies and a trained PPO policy; print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timesteps", type=int, default=200_000, help="PPO training budget")
    ap.add_argument("--dqn-timesteps", type=int, default=100_000, help="DQN training budget")
    ap.add_argument("--seed", type=int, default=0)
    # --quick: one PPO rollout (16 envs x 256 steps) and update, DQN just past learning_starts.
    args = quick.parse_args(ap, argv, __file__, sizes={"timesteps": 256, "dqn_timesteps": 2100})

    one, zero = np.ones(1, np.float32), np.zeros(1, np.float32)
    policies = {
        "no treatment": lambda obs, day: zero,
        "constant v = 1": lambda obs, day: one,
        "v = 1 for 10 days, then 0 (Ahn & Park shape)": lambda obs, day: one if day < 10 else zero,
        "pulsed: v = 1 one day in 7": lambda obs, day: one if (day % 7) < 1 else zero,
    }
    from stable_baselines3 import PPO

    from tme_env.agents import make_sb3_vec_env
    from tme_env.agents.callbacks import TqdmCallback

    print(f"training PPO ({args.timesteps:,} steps), then DQN ({args.dqn_timesteps:,} steps)",
          flush=True)  # fmt: skip
    venv = make_sb3_vec_env("tme/DePillis2003Chemo-v0", n_envs=16, seed=args.seed)
    model = PPO("MlpPolicy", venv, n_steps=256, batch_size=1024, seed=args.seed, device="cpu")
    model.learn(total_timesteps=args.timesteps, callback=TqdmCallback(args.timesteps))
    policies[f"PPO ({args.timesteps:,} steps)"] = lambda obs, day: model.predict(
        obs, deterministic=True
    )[0]
    # DQN on a discretised action (v in {0, 0.5, 1}) of the same environment.
    from stable_baselines3 import DQN

    levels = np.array([[0.0], [0.5], [1.0]], dtype=np.float32)

    class Discrete3(gym.ActionWrapper):
        def __init__(self, env: gym.Env) -> None:
            super().__init__(env)
            self.action_space = gym.spaces.Discrete(3)

        def action(self, act: int) -> np.ndarray:
            return levels[int(act)]

    dqn_env = Discrete3(gym.make("tme/DePillis2003Chemo-v0"))
    dqn = DQN("MlpPolicy", dqn_env, learning_starts=2000, train_freq=4, seed=args.seed,
              exploration_fraction=0.3, device="cpu")  # fmt: skip
    dqn.learn(total_timesteps=args.dqn_timesteps, callback=TqdmCallback(args.dqn_timesteps))
    policies[f"DQN, v in {{0, .5, 1}} ({args.dqn_timesteps:,} steps)"] = lambda obs, day: levels[
        int(dqn.predict(obs, deterministic=True)[0])
    ]
    print("| policy | return | T day 150 | N day 150 | min N | N >= 0.7 N0 |")
    print("|---|---|---|---|---|---|")
    for name, policy in policies.items():
        r = rollout(policy)
        held = "yes" if r["feasible"] else f"no (day {r['day_end']:.1f})"
        print(f"| {name} | {r['return']:.1f} | {r['T_end']:.3g} | {r['N_end']:.3f} | "
              f"{r['N_min']:.3f} | {held} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
