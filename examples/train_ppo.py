"""Train PPO on the batched environment and test it against standard regimens.

A short run to see the whole path (training on the ``train`` cohort, a virtual trial on the
held-out ``test`` split, the benchmark score); ``tme train`` and ``tme quickstart`` are the
full pipeline (run folders, TensorBoard, checkpoints, clinical evaluations).

Usage::

    python examples/train_ppo.py [--timesteps 20000] [--n-patients 100] [--out model.zip]
"""

from __future__ import annotations

import argparse

import torch
from stable_baselines3 import PPO

from tme_env import regimens
from tme_env.agents import make_sb3_vec_env
from tme_env.agents.callbacks import TqdmCallback
from tme_env.trials import run_trial, summarise
from tme_env.trials.report import score_note

#: The environment trained and tested on (the ids are listed in `tme_env.envs.REGISTRY`).
ENV_ID = "tme/TumorImmune-v2"


def main(argv: list[str] | None = None) -> int:
    """Train, save the model, run the trial and print each arm's RMST and score."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timesteps", type=int, default=20_000)
    ap.add_argument("--n-patients", type=int, default=100, help="test patients per arm")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="PyTorch threads (1 is fastest for this small MLP on a few cores)",
    )
    ap.add_argument("--out", default=None, help="save the trained model here (a .zip)")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.torch_threads)
    venv = make_sb3_vec_env(ENV_ID, n_envs=64, seed=args.seed)
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=1024, seed=args.seed, device="cpu")
    model.learn(total_timesteps=args.timesteps, callback=TqdmCallback(args.timesteps))
    if args.out:
        model.save(args.out)
        print(f"saved {args.out}")

    arms = {
        "ppo": model,
        **{n: regimens.get(n) for n in ("no-treatment", "mtd-chemo", "chemo-ici-inhibitor")},
    }
    result = run_trial(
        arms, env_id=ENV_ID, split="test", n_patients=args.n_patients, seed=args.seed
    )
    rows = summarise(result, reference="mtd-chemo")
    for r in rows:
        print(
            f"{r['arm']:<22} RMST {r['rmst_os_months']:5.1f} mo   score "
            f"{r['benchmark_score']:5.0f}   G>=3 neutropenia "
            f"{r['grade3plus_neutropenia_rate']:.0%}"
        )
    print(score_note(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
