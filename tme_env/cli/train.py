"""``tme train``: train an SB3 agent (run folder, TensorBoard, clinical evaluation)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from tme_env.agents.config import TrainConfig
from tme_env.agents.loader import model_algo
from tme_env.cli.args import int_at_least
from tme_env.io import format_number

__all__ = ["add_train_parser", "cmd_train"]


def add_train_parser(sub: Any) -> None:
    """Add ``tme train`` to the sub-parsers ``sub``."""
    p_train = sub.add_parser("train", help="train an SB3 agent (run folder, TensorBoard)")
    p_train.add_argument("--algo", default=None,
                         help="ppo (default), a2c, sac, td3, dqn, recurrentppo")  # fmt: skip
    p_train.add_argument("--env", default=None, help="environment id (tme/TumorImmune-v1)")
    p_train.add_argument("--timesteps", type=int_at_least(1), default=200_000,
                         help="training timesteps")  # fmt: skip
    p_train.add_argument("--seed", type=int_at_least(0), default=None, help="seed (0)")
    p_train.add_argument("--config", default=None, help="YAML overriding the hyperparameters")
    p_train.add_argument("--out", default=None, help="parent folder of the run folder (runs)")
    p_train.add_argument("--eval-every", type=int_at_least(1), default=None,
                         help="steps between evaluations (a quarter of --timesteps); a final "
                              "one always runs")  # fmt: skip
    p_train.add_argument("--eval-patients", type=int_at_least(1), default=200,
                         help="validation patients")  # fmt: skip
    p_train.add_argument("--resume", default=None,
                         help="model .zip to continue from (keeps its algorithm, env, seed and "
                              "run folder unless given)")  # fmt: skip
    p_train.add_argument("--trust-model", action="store_true",
                         help="trust the --resume file: resuming loads it fully with SB3, "
                              "which unpickles it and runs any code inside it (required with "
                              "--resume)")  # fmt: skip
    p_train.add_argument("--blind", action="append", default=None, metavar="FIELD",
                         help="a clinical observation field the agent never sees (repeat; "
                              "'monitoring' = the MDSC assay and the biopsy)")  # fmt: skip
    p_train.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    """Train the agent of ``args`` and print its validation figures."""
    cfg = TrainConfig(
        algo=args.algo or "ppo", env_id=args.env or "tme/TumorImmune-v1",
        timesteps=args.timesteps, seed=0 if args.seed is None else args.seed,
        config_file=args.config, out=args.out or "runs", eval_every=args.eval_every,
        eval_patients=args.eval_patients, resume=args.resume, blind=_blind_fields(args.blind),
    )  # fmt: skip
    if args.resume is not None:
        _resume_defaults(args, cfg)
    from tme_env.agents.train import train  # deferred: imports stable_baselines3, torch

    run = train(cfg, trusted=args.trust_model)
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
    path = Path(args.resume)
    if not path.is_file():
        raise ValueError(f"--resume {args.resume!r}: file not found")
    try:
        algo = model_algo(path)
    except ValueError as exc:
        raise ValueError(f"--resume {exc}") from None
    if args.algo is not None and args.algo != algo:
        raise ValueError(
            f"--resume {args.resume!r} is a {algo} model; it cannot continue as --algo "
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
    if args.out is None:
        cfg.run_dir = str(run)
        cfg.out = str(run.parent)
