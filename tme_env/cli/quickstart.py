"""``tme quickstart``: train PPO briefly, then the virtual trial against all regimens."""

from __future__ import annotations

import argparse
import os
from typing import Any

from tme_env.agents.config import TrainConfig
from tme_env.cli.args import ONE_BATCH, int_at_least, int_in_range
from tme_env.cli.trial import cmd_trial
from tme_env.envs.config import MAX_COHORT_SIZE
from tme_env.io import OutputFolder

__all__ = ["add_quickstart_parser", "cmd_quickstart"]


def add_quickstart_parser(sub: Any) -> None:
    """Add ``tme quickstart`` to the sub-parsers ``sub``."""
    p_quick = sub.add_parser("quickstart", help="train PPO briefly, then the virtual trial")
    p_quick.add_argument("--out", default="quickstart", help="output folder")
    p_quick.add_argument("--timesteps", type=int_at_least(1), default=300_000,
                         help="PPO timesteps")  # fmt: skip
    p_quick.add_argument("--n-patients", type=int_in_range(1, MAX_COHORT_SIZE, ONE_BATCH),
                         default=500, help="test patients per arm")  # fmt: skip
    p_quick.add_argument("--seed", type=int_at_least(0), default=0, help="seed")
    p_quick.add_argument("--overwrite", action="store_true",
                         help="replace the earlier trial report in OUT/trial")  # fmt: skip
    p_quick.set_defaults(func=cmd_quickstart)


def cmd_quickstart(args: argparse.Namespace) -> int:
    """Train PPO on the full env, then ``tme trial`` of it against every regimen."""
    trial_out = os.path.join(args.out, "trial")
    # The trial's folder is checked before training: a refusal comes before the work.
    OutputFolder(trial_out, what="--out", overwrite=args.overwrite).check().abort()
    print(f"1/2 training PPO on tme/TumorImmune-v2 for {args.timesteps:,} steps ...")
    from tme_env.agents.train import train  # deferred: imports stable_baselines3, torch

    run = train(TrainConfig(algo="ppo", timesteps=args.timesteps, seed=args.seed,
                            out=os.path.join(args.out, "runs"), eval_patients=200))  # fmt: skip
    print("2/2 virtual trial on the test split: PPO vs every standard regimen ...")
    trial = argparse.Namespace(env="tme/TumorImmune-v2", policies="all",
                               model=[str(run / "model.zip")], split="test",
                               n_patients=args.n_patients, seed=args.seed, reference=None,
                               out=trial_out, overwrite=args.overwrite,
                               trust_model=False)  # its own model: no need to unpickle it
    return cmd_trial(trial)
