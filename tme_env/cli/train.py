"""``tme train``: train an SB3 agent (run folder, TensorBoard, clinical evaluation).

Ctrl-C saves the model and a checkpoint, prints the ``tme train --resume`` command that
continues the run, and exits with `INTERRUPTED` (130, as a shell reports SIGINT).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

from tme_env.agents.config import TrainConfig
from tme_env.agents.loader import model_algo
from tme_env.agents.resume import resolve_resume
from tme_env.cli.args import int_at_least
from tme_env.io import format_number

__all__ = ["INTERRUPTED", "add_train_parser", "cmd_train"]

#: Exit status of an interrupted run (128 + SIGINT, as a shell reports Ctrl-C).
INTERRUPTED = 130


def add_train_parser(sub: Any) -> None:
    """Add ``tme train`` to the sub-parsers ``sub``."""
    p_train = sub.add_parser("train", help="train an SB3 agent (run folder, TensorBoard)")
    p_train.add_argument("--algo", default=None,
                         help="ppo (default), a2c, sac, td3, dqn, recurrentppo, tqc, "
                              "qrdqn")  # fmt: skip
    p_train.add_argument("--env", default=None,
                         help="environment id, one of the tme/TumorImmune* envs "
                              "(tme/TumorImmune-v2)")  # fmt: skip
    p_train.add_argument("--timesteps", type=int_at_least(1), default=200_000,
                         help="training timesteps (with --resume: steps more)")  # fmt: skip
    p_train.add_argument("--seed", type=int_at_least(0), default=None, help="seed (0)")
    p_train.add_argument("--config", default=None, help="YAML overriding the hyperparameters")
    p_train.add_argument("--out", default=None, help="parent folder of the run folder (runs)")
    p_train.add_argument("--eval-every", type=int_at_least(1), default=None,
                         help="steps between evaluations (a quarter of --timesteps); a final "
                              "one always runs")  # fmt: skip
    p_train.add_argument("--eval-patients", type=int_at_least(1), default=200,
                         help="validation patients")  # fmt: skip
    p_train.add_argument("--checkpoint-every", type=int_at_least(1), default=100_000,
                         help="steps between checkpoints (RUN/checkpoints/); Ctrl-C also saves "
                              "one (100000)")  # fmt: skip
    p_train.add_argument("--resume", default=None, metavar="ZIP_OR_RUN",
                         help="model .zip, or run folder (its latest checkpoint), to continue "
                              "from; keeps its algorithm, env, seed and run folder unless given, "
                              "and moves what the folder holds from after that step to "
                              "RUN/abandoned/")  # fmt: skip
    p_train.add_argument("--trust-model", action="store_true",
                         help="trust the --resume file: resuming loads it fully with SB3, "
                              "which unpickles it and runs any code inside it (required with "
                              "--resume)")  # fmt: skip
    p_train.add_argument("--blind", action="append", default=None, metavar="FIELD",
                         help="a clinical observation field the agent never sees (repeat; "
                              "'monitoring' = the MDSC assay and the biopsy)")  # fmt: skip
    p_train.add_argument("--cycle-weeks", type=int_at_least(1), default=None, metavar="WEEKS",
                         help="the per-cycle variant: one decision per WEEKS weeks (3: the "
                              "21-day cycle), scored on the weekly task")  # fmt: skip
    p_train.add_argument("--torch-threads", type=int_at_least(1), default=1,
                         help="torch threads (1: fastest for the small MLPs)")  # fmt: skip
    p_train.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    """Train the agent of ``args`` and print its validation figures."""
    cfg = TrainConfig(
        algo=args.algo or "ppo", env_id=args.env or "tme/TumorImmune-v2",
        timesteps=args.timesteps, seed=0 if args.seed is None else args.seed,
        config_file=args.config, out=args.out or "runs", eval_every=args.eval_every,
        eval_patients=args.eval_patients, checkpoint_every=args.checkpoint_every,
        resume=args.resume, blind=_blind_fields(args.blind), cycle_weeks=args.cycle_weeks,
        torch_threads=args.torch_threads,
    )  # fmt: skip
    if args.resume is not None:
        _resume_defaults(args, cfg)
    from tme_env.agents.train import TrainingInterrupted, train  # deferred: stable_baselines3

    try:
        run = train(cfg, trusted=args.trust_model)
    except TrainingInterrupted as stop:
        print(f"\ninterrupted at step {stop.steps:,}: saved {stop.run / 'model.zip'} and "
              f"{stop.checkpoint}", file=sys.stderr)  # fmt: skip
        print(f"continue with: {_resume_command(cfg, stop.checkpoint, stop.remaining)}")
        return INTERRUPTED
    ev = json.loads((run / "evaluation.json").read_text())
    print(f"\nrun folder: {run}")
    print(
        f"validation ({ev['patients']} patients): "
        f"median OS {format_number(ev['median_os_months'])} mo, "
        f"RMST {format_number(ev['rmst_os_months'])} mo, "
        f"benchmark score {format_number(ev['benchmark_score'], '.0f')} "
        f"(100 = {ev.get('score_reference')}, the best standard regimen on these patients)"
    )
    print(f"TensorBoard: tensorboard --logdir {run.parent}")
    return 0


def _resume_command(cfg: TrainConfig, checkpoint: Path, remaining: int) -> str:
    """The ``tme train`` command that finishes an interrupted run from ``checkpoint``.

    The algorithm, env, seed, blinded fields and run folder come from the run folder; the
    other settings that differ from the defaults are repeated. ``--trust-model``: the
    checkpoint is the one this run has just written.
    """
    argv = ["tme", "train", "--resume", str(checkpoint), "--timesteps", str(max(remaining, 1))]
    defaults = TrainConfig()
    for flag, name in (("--eval-every", "eval_every"), ("--eval-patients", "eval_patients"),
                       ("--checkpoint-every", "checkpoint_every"), ("--config", "config_file")):
        value = getattr(cfg, name)
        if value is not None and value != getattr(defaults, name):
            argv += [flag, str(value)]
    return shlex.join([*argv, "--trust-model"])


def _blind_fields(values: list[str] | None) -> tuple[str, ...]:
    """``--blind`` values as field names (``monitoring`` expands to `MONITORING`)."""
    # deferred: tme_env.agents.blind imports stable-baselines3 and torch (tme --help stays fast)
    from tme_env.agents.blind import MONITORING

    out: list[str] = []
    for v in values or ():
        out.extend(MONITORING if v == "monitoring" else [v])
    return tuple(out)


def _resume_defaults(args: argparse.Namespace, cfg: Any) -> None:
    """A resumed run keeps the algorithm, env, seed and run folder its file records.

    Each is kept unless the command names it (``--algo``, ``--env``, ``--seed``; ``--out``
    makes a new run folder). Raises ValueError naming ``--resume``.
    """
    path = resolve_resume(args.resume, "--resume")
    try:
        algo = model_algo(path)
    except ValueError as exc:
        raise ValueError(f"--resume {exc}") from None
    if args.algo is not None and args.algo != algo:
        raise ValueError(
            f"--resume {str(path)!r} is a {algo} model; it cannot continue as --algo "
            f"{args.algo} (drop --algo, or pass --algo {algo})"
        )
    cfg.algo = algo
    folder = path.resolve().parent
    run = folder.parent if folder.name == "checkpoints" else folder
    try:
        recorded = yaml.safe_load((run / "config.yml").read_text())["train"]
    except (OSError, KeyError, TypeError, ValueError):
        return  # a bare zip: no run folder to continue
    if args.env is None and recorded.get("env_id"):
        cfg.env_id = recorded["env_id"]
    if args.seed is None and isinstance(recorded.get("seed"), int):
        cfg.seed = recorded["seed"]
    if not args.blind and recorded.get("blind"):
        cfg.blind = tuple(recorded["blind"])
    if args.cycle_weeks is None and recorded.get("cycle_weeks"):
        cfg.cycle_weeks = int(recorded["cycle_weeks"])
    if args.out is None:
        cfg.run_dir = str(run)
        cfg.out = str(run.parent)
