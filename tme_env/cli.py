"""The ``tme`` command line.

Sub-commands:

* ``tme models [NAME]``: list the registered models, or show one model's states, inputs and
  parameter table (value, unit, source).
* ``tme simulate MODEL``: integrate a model under a schedule and print or save the trajectory.
* ``tme regimens``: list the standard regimens with their schedules and sources.
* ``tme trial``: run a virtual trial of regimens (and trained SB3 models) and write a report.
* ``tme train``: train an SB3 agent (run folder, TensorBoard, clinical evaluation).
* ``tme evaluate``: a trained model against every standard regimen in a virtual trial.
* ``tme quickstart``: train PPO briefly, then the virtual trial against all regimens.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Sequence

import numpy as np

__all__ = ["main"]


def _parse_assignments(items: Sequence[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        for part in item.split(","):
            name, sep, value = part.partition("=")
            if not sep:
                raise SystemExit(f"tme: {what} {part!r} must look like NAME=VALUE")
            try:
                out[name.strip()] = float(value)
            except ValueError:
                raise SystemExit(f"tme: {what} {part!r}: {value!r} is not a number") from None
    return out


def _parse_infusion(text: str) -> tuple[float, float, dict[str, float]]:
    try:
        start, end, rates = text.split(":", 2)
        return float(start), float(end), _parse_assignments([rates], "infusion rate")
    except ValueError:
        raise SystemExit(
            f"tme: infusion {text!r} must look like START:END:INPUT=RATE[,INPUT=RATE]"
        ) from None


def _parse_bolus(text: str) -> tuple[float, dict[str, float]]:
    try:
        day, amounts = text.split(":", 1)
        return float(day), _parse_assignments([amounts], "bolus amount")
    except ValueError:
        raise SystemExit(f"tme: bolus {text!r} must look like DAY:STATE=AMOUNT") from None


def _cmd_models(args: argparse.Namespace) -> int:
    from tme_env import models

    if args.name is None:
        for name in models.available():
            m = models.get(name)
            print(f"{name:<14} {m.title}")
            states, inputs = ", ".join(m.state_names), ", ".join(m.input_names)
            print(f"{'':<14} states: {states}; inputs: {inputs}")
        return 0
    print(models.get(args.name).describe())
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    import tme_env

    t_eval = np.linspace(args.start, args.days, args.points)
    res = tme_env.simulate(
        args.model,
        t_eval=t_eval,
        initial_state=_parse_assignments(args.state, "state") or None,
        params=_parse_assignments(args.param, "parameter") or None,
        infusions=[_parse_infusion(x) for x in args.infusion],
        boluses=[_parse_bolus(x) for x in args.bolus],
        rtol=args.rtol,
        atol=args.atol,
    )
    buf = io.StringIO() if args.out is None else open(args.out, "w", newline="")  # noqa: SIM115
    with buf:
        writer = csv.writer(buf)
        writer.writerow(["t_days", *res.state_names])
        for j, t in enumerate(res.t):
            writer.writerow([f"{t:.10g}", *(f"{v:.10g}" for v in res.y[:, j])])
        if args.out is None:
            sys.stdout.write(buf.getvalue())
    if args.out is not None:
        print(f"wrote {len(res.t)} rows to {args.out} ({res.n_steps} integration steps)")
    return 0


def _cmd_regimens(args: argparse.Namespace) -> int:  # noqa: ARG001 - uniform signature
    from tme_env.regimens import REGIMENS

    for spec in REGIMENS.values():
        print(f"{spec.name:<22} {spec.description}")
        print(f"{'':<22} source: {spec.source}")
    print("\nAll regimens delay chemotherapy while ANC < 1.5e9/L and reduce it by 20% after "
          "grade-4 neutropenia (tme_env/regimens/policies.py).")  # fmt: skip
    return 0


def _cmd_trial(args: argparse.Namespace) -> int:
    from tme_env import regimens
    from tme_env.envs import ENV_IDS
    from tme_env.trials import run_trial, write_report

    if args.env not in ENV_IDS:
        raise ValueError(f"unknown env {args.env!r}; valid: {', '.join(ENV_IDS)}")
    observation = ENV_IDS[args.env].get("observation", "full")
    names = regimens.available() if args.policies == "all" else args.policies.split(",")
    policies = {name: regimens.get(name, observation=observation) for name in names}
    for path in args.model:
        from tme_env.agents.loader import load_sb3_model

        policies[os.path.splitext(os.path.basename(path))[0]] = load_sb3_model(path)
    result = run_trial(policies, env_id=args.env, split=args.split, n_patients=args.n_patients,
                       seed=args.seed, progress=True)  # fmt: skip
    reference = args.reference or ("mtd-chemo" if "mtd-chemo" in policies else names[0])
    rows = write_report(result, args.out, reference=reference)
    print(f"\n{'arm':<24}{'median OS mo':>13}{'RMST mo':>9}{'ORR':>6}{'HR OS':>7}{'score':>7}")
    for r in rows:
        print(f"{r['arm']:<24}{r['median_os_months']:>13.1f}{r['rmst_os_months']:>9.1f}"
              f"{r['objective_response_rate']:>6.0%}{r['hazard_ratio_os']:>7.2f}"
              f"{r['benchmark_score']:>7.0f}")  # fmt: skip
    print(f"\nwrote {args.out}/report.md (reference arm {reference})")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from tme_env.agents.train import TrainConfig, train

    cfg = TrainConfig(
        algo=args.algo, env_id=args.env, timesteps=args.timesteps, seed=args.seed,
        config_file=args.config, out=args.out, eval_every=args.eval_every,
        eval_patients=args.eval_patients, resume=args.resume,
    )  # fmt: skip
    run = train(cfg)
    ev = json.loads((run / "evaluation.json").read_text())
    print(f"\nrun folder: {run}")
    print(
        f"validation ({ev['patients']} patients): median OS {ev['median_os_months']:.1f} mo, "
        f"RMST {ev['rmst_os_months']:.1f} mo, benchmark score {ev['benchmark_score']:.0f}"
    )
    print(f"TensorBoard: tensorboard --logdir {args.out}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    args.policies = "all"
    args.reference = None
    return _cmd_trial(args)


def _cmd_quickstart(args: argparse.Namespace) -> int:
    from tme_env.agents.train import TrainConfig, train

    print(f"1/2 training PPO on tme/TumorImmune-v0 for {args.timesteps:,} steps ...")
    run = train(TrainConfig(algo="ppo", timesteps=args.timesteps, seed=args.seed,
                            out=os.path.join(args.out, "runs"), eval_every=args.timesteps // 4,
                            eval_patients=200))  # fmt: skip
    print("2/2 virtual trial on the test split: PPO vs every standard regimen ...")
    trial = argparse.Namespace(env="tme/TumorImmune-v0", policies="all",
                               model=[str(run / "model.zip")], split="test",
                               n_patients=args.n_patients, seed=args.seed, reference=None,
                               out=os.path.join(args.out, "trial"))  # fmt: skip
    return _cmd_trial(trial)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``tme`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="tme", description="tme_env: tumour-immune simulator and RL benchmark"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_models = sub.add_parser("models", help="list models or describe one")
    p_models.add_argument("name", nargs="?", help="model to describe")
    p_models.set_defaults(func=_cmd_models)

    p_reg = sub.add_parser("regimens", help="list the standard regimens and their schedules")
    p_reg.set_defaults(func=_cmd_regimens)

    p_trial = sub.add_parser("trial", help="run a virtual trial of regimens / trained policies")
    p_trial.add_argument("--env", default="tme/TumorImmune-v0", help="environment id")
    p_trial.add_argument("--policies", default="all", help="comma-separated regimens, or all")
    p_trial.add_argument("--model", action="append", default=[], help="trained SB3 model .zip")
    p_trial.add_argument("--split", default="test", help="cohort split (train/validation/test)")
    p_trial.add_argument("--n-patients", type=int, default=500, help="patients per arm")
    p_trial.add_argument("--seed", type=int, default=0, help="measurement-noise seed")
    p_trial.add_argument("--reference", default=None, help="reference arm (default mtd-chemo)")
    p_trial.add_argument("--out", default="trial", help="output folder")
    p_trial.set_defaults(func=_cmd_trial)

    p_train = sub.add_parser("train", help="train an SB3 agent (run folder, TensorBoard)")
    p_train.add_argument("--algo", default="ppo", help="ppo, a2c, sac, td3, dqn, recurrentppo")
    p_train.add_argument("--env", default="tme/TumorImmune-v0", help="environment id")
    p_train.add_argument("--timesteps", type=int, default=200_000, help="training timesteps")
    p_train.add_argument("--seed", type=int, default=0, help="seed")
    p_train.add_argument("--config", default=None, help="YAML overriding the hyperparameters")
    p_train.add_argument("--out", default="runs", help="parent folder of the run folder")
    p_train.add_argument("--eval-every", type=int, default=50_000, help="steps between evals")
    p_train.add_argument("--eval-patients", type=int, default=200, help="validation patients")
    p_train.add_argument("--resume", default=None, help="checkpoint .zip to continue from")
    p_train.set_defaults(func=_cmd_train)

    p_eval = sub.add_parser("evaluate", help="virtual trial of a trained model vs the regimens")
    p_eval.add_argument("--model", action="append", required=True, help="trained model .zip")
    p_eval.add_argument("--env", default="tme/TumorImmune-v0", help="environment id")
    p_eval.add_argument("--split", default="test", help="cohort split")
    p_eval.add_argument("--n-patients", type=int, default=500, help="patients per arm")
    p_eval.add_argument("--seed", type=int, default=0, help="measurement-noise seed")
    p_eval.add_argument("--out", default="evaluation", help="output folder")
    p_eval.set_defaults(func=_cmd_evaluate)

    p_quick = sub.add_parser("quickstart", help="train PPO briefly, then the virtual trial")
    p_quick.add_argument("--out", default="quickstart", help="output folder")
    p_quick.add_argument("--timesteps", type=int, default=300_000, help="PPO timesteps")
    p_quick.add_argument("--n-patients", type=int, default=500, help="test patients per arm")
    p_quick.add_argument("--seed", type=int, default=0, help="seed")
    p_quick.set_defaults(func=_cmd_quickstart)

    p_sim = sub.add_parser("simulate", help="integrate a model and print/save CSV")
    p_sim.add_argument("model", help="registered model name (see `tme models`)")
    p_sim.add_argument("--days", type=float, default=150.0, help="last output day")
    p_sim.add_argument("--start", type=float, default=0.0, help="first output day")
    p_sim.add_argument("--points", type=int, default=151, help="number of output times")
    p_sim.add_argument("--state", action="append", default=[], help="initial state NAME=VALUE")
    p_sim.add_argument("--param", action="append", default=[], help="parameter NAME=VALUE")
    p_sim.add_argument(
        "--infusion", action="append", default=[], help="START:END:INPUT=RATE (repeatable)"
    )
    p_sim.add_argument("--bolus", action="append", default=[], help="DAY:STATE=AMOUNT")
    p_sim.add_argument("--rtol", type=float, default=None, help="relative tolerance")
    p_sim.add_argument("--atol", type=float, default=None, help="absolute tolerance")
    p_sim.add_argument("--out", default=None, help="CSV file to write (default: stdout)")
    p_sim.set_defaults(func=_cmd_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tme`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:
        print(f"tme: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
