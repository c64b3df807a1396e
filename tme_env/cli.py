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
* ``tme dataset``: log a clinician-like behaviour policy into a Minari offline-RL dataset
  (`tme_env.offline`; needs the ``offline`` extra).
* ``tme benchmark``: score policies (regimen, SB3 ``model.zip``, ``module:attr``; repeated
  names are seeds) under the protocol of ``BENCHMARK.md`` and write a leaderboard row
  (`tme_env.benchmark`).
* ``tme sweep CONFIG.yml``: algorithm x seed x budget sweep of ``tme train`` + evaluation on
  Ray Tune (`tme_env.sweep`); ``tme trial --backend ray`` runs a trial's shards on Ray.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["main"]


def _parse_assignments(items: Sequence[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        for part in item.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"{what} {part!r} must look like NAME=VALUE")
            try:
                out[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"{what} {part!r}: {value!r} is not a number") from None
    return out


def _parse_infusion(text: str) -> tuple[float, float, dict[str, float]]:
    try:
        start, end, rates = text.split(":", 2)
        return float(start), float(end), _parse_assignments([rates], "--infusion rate")
    except ValueError:
        raise ValueError(
            f"--infusion {text!r} must look like START:END:INPUT=RATE[,INPUT=RATE]"
        ) from None


def _parse_bolus(text: str) -> tuple[float, dict[str, float]]:
    try:
        day, amounts = text.split(":", 1)
        return float(day), _parse_assignments([amounts], "--bolus amount")
    except ValueError:
        raise ValueError(f"--bolus {text!r} must look like DAY:STATE=AMOUNT") from None


def _int_at_least(least: int):  # noqa: ANN202 - an argparse type
    """An argparse type: an integer >= ``least`` (argparse names the flag in its error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            msg = f"must be an integer >= {least}, got {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be an integer >= {least}, got {value}")
        return value

    return parse


def _finite_float(text: str) -> float:
    """An argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


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
    from tme_env import models
    from tme_env.io import atomic_write_text, check_output_file

    if args.model not in models.available():
        raise ValueError(f"unknown model {args.model!r}; valid: {', '.join(models.available())}")
    if args.days < args.start:
        raise ValueError(f"--days {args.days:g} is before --start {args.start:g}")
    if args.days == args.start and args.points != 1:
        raise ValueError(f"--days equals --start ({args.days:g}): give --points 1")
    if args.out is not None:
        check_output_file(args.out, "--out")
    t_eval = np.linspace(args.start, args.days, args.points)
    res = tme_env.simulate(
        args.model,
        t_eval=t_eval,
        initial_state=_parse_assignments(args.state, "--state") or None,
        params=_parse_assignments(args.param, "--param") or None,
        infusions=[_parse_infusion(x) for x in args.infusion],
        boluses=[_parse_bolus(x) for x in args.bolus],
        rtol=args.rtol,
        atol=args.atol,
    )
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["t_days", *res.state_names])
    for j, t in enumerate(res.t):
        writer.writerow([f"{t:.10g}", *(f"{v:.10g}" for v in res.y[:, j])])
    if args.out is None:
        sys.stdout.write(buf.getvalue())
    else:
        atomic_write_text(args.out, buf.getvalue())
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


def _check_trial(args: argparse.Namespace) -> tuple[list[str], dict[str, str], Any]:
    """Check every trial setting before any work; returns (regimens, model arms, out folder).

    The model arms map an arm name (the model's algorithm: ``ppo``, ``ppo-2``, ...) to the
    model file. Raises ValueError naming the flag.
    """
    from tme_env import regimens
    from tme_env.agents.loader import model_info
    from tme_env.envs import ENV_IDS
    from tme_env.io import OutputFolder
    from tme_env.patients import SPLITS
    from tme_env.trials.run import TRIAL_ENV_IDS

    if args.env not in TRIAL_ENV_IDS:
        valid_envs = ", ".join(TRIAL_ENV_IDS)
        raise ValueError(f"--env: unknown trial env {args.env!r}; valid: {valid_envs}")
    if args.split not in SPLITS:
        raise ValueError(f"--split: unknown split {args.split!r}; valid: {', '.join(SPLITS)}")
    valid = regimens.available()
    names = valid if args.policies == "all" else [n.strip() for n in args.policies.split(",")]
    for name in names:
        if name not in valid:
            known = ", ".join(valid)
            raise ValueError(f"--policies: unknown regimen {name!r}; valid: {known}, all")
    if len(set(names)) != len(names):
        raise ValueError(f"--policies: a regimen is listed twice: {args.policies!r}")
    obs_shape = (len(_observation_fields(args.env)),)
    models: dict[str, str] = {}
    for path in args.model:
        try:
            info = model_info(path)
        except ValueError as exc:
            raise ValueError(f"--model {exc}") from None
        if info["observation_shape"] not in (None, obs_shape):
            trained = info["env_id"] or "another env"
            raise ValueError(
                f"--model {path!r} was trained on {trained} (observations of shape "
                f"{info['observation_shape']}); {args.env} has shape {obs_shape}: pass the --env "
                "it was trained on"
            )
        if info["env_id"] is not None and info["env_id"] not in ENV_IDS:
            raise ValueError(f"--model {path!r}: trained on an unknown env {info['env_id']!r}")
        arm, k = info["algo"], 1
        while arm in models or arm in valid:
            k += 1
            arm = f"{info['algo']}-{k}"
        models[arm] = path
    reference = args.reference
    arms = [*names, *models]
    if reference is not None and reference not in arms:
        listed = ", ".join(arms)
        raise ValueError(f"--reference {reference!r} is not an arm of this trial: {listed}")
    out = OutputFolder(args.out, what="--out", overwrite=args.overwrite, kind="trial report")
    return names, models, out.check()


def _observation_fields(env_id: str) -> tuple[str, ...]:
    from tme_env.envs import ENV_IDS
    from tme_env.envs.core import CLINICAL_OBSERVATION, FULL_OBSERVATION

    clinical = ENV_IDS[env_id].get("observation", "full") == "clinical"
    return CLINICAL_OBSERVATION if clinical else FULL_OBSERVATION


def _cmd_trial(args: argparse.Namespace) -> int:
    from gymnasium import spaces

    from tme_env import regimens
    from tme_env.envs import ENV_IDS
    from tme_env.io import format_number
    from tme_env.trials import run_trial, write_report
    from tme_env.trials.report import SCORE_NEEDS

    names, models, out = _check_trial(args)
    try:
        observation = ENV_IDS[args.env].get("observation", "full")
        policies = {name: regimens.get(name, observation=observation) for name in names}
        for arm, path in models.items():
            from tme_env.agents.callbacks import DiscreteDoses
            from tme_env.agents.loader import load_sb3_model

            model = load_sb3_model(path, trusted=args.trust_model)
            discrete = isinstance(model.action_space, spaces.Discrete)
            policies[arm] = DiscreteDoses(model) if discrete else model
        reference = args.reference or (
            "mtd-chemo" if "mtd-chemo" in policies else next(iter(policies))
        )
        scale = {"backend": getattr(args, "backend", "local"),
                 "shard_size": getattr(args, "shard_size", None),
                 "address": getattr(args, "address", None)}  # fmt: skip
        if getattr(args, "stream", False):
            from tme_env.trials.streaming import stream_trial

            rows = stream_trial(policies, out, env_id=args.env, split=args.split,
                                n_patients=args.n_patients, seed=args.seed, reference=reference,
                                progress=True, **scale)  # fmt: skip
        else:
            result = run_trial(policies, env_id=args.env, split=args.split,
                               n_patients=args.n_patients, seed=args.seed, progress=True,
                               **scale)  # fmt: skip
            rows = write_report(result, out, reference=reference)
    except BaseException:
        out.abort()
        raise
    print(f"\n{'arm':<24}{'median OS mo':>13}{'RMST mo':>9}{'ORR':>6}{'HR OS':>7}{'score':>7}")
    for r in rows:
        print(f"{r['arm']:<24}{format_number(r['median_os_months'], '.1f'):>13}"
              f"{format_number(r['rmst_os_months'], '.1f'):>9}"
              f"{r['objective_response_rate']:>6.0%}{format_number(r['hazard_ratio_os'], '.2f'):>7}"
              f"{format_number(r['benchmark_score'], '.0f'):>7}")  # fmt: skip
    if not all(math.isfinite(r["benchmark_score"]) for r in rows):
        print(f"score n/a: {SCORE_NEEDS}")
    print(f"\nwrote {args.out}/report.md (reference arm {reference})")
    return 0


def _cmd_benchmark(args: argparse.Namespace) -> int:
    from tme_env.benchmark import MARKDOWN_HEADER, markdown_row, run_benchmark

    result = run_benchmark(args.policy, env_id=args.env, n_patients=args.n_patients,
                           seed=args.seed, out=args.out, trusted=args.trust_model,
                           overwrite=args.overwrite, progress=True)  # fmt: skip
    print(f"\n{MARKDOWN_HEADER}")
    for row in result.rows:
        print(markdown_row(row))
    for row in result.rows:
        if not row["meets_protocol"]:
            print(f"{row['submission']}: not a protocol result ({'; '.join(row['deviations'])})")
    print(f"\nwrote {args.out}/leaderboard.md, leaderboard.json, scores.json, trial/report.md")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from tme_env.sweep import load_sweep_config, run_sweep

    cfg = load_sweep_config(args.config)
    text, _rows = run_sweep(cfg, address=args.address)
    print(f"\n{text}\nwrote {cfg.experiment_dir / 'leaderboard.md'}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from tme_env.agents.train import TrainConfig, train
    from tme_env.io import format_number

    cfg = TrainConfig(
        algo=args.algo or "ppo", env_id=args.env or "tme/TumorImmune-v1",
        timesteps=args.timesteps, seed=0 if args.seed is None else args.seed,
        config_file=args.config, out=args.out or "runs", eval_every=args.eval_every,
        eval_patients=args.eval_patients, resume=args.resume, blind=_blind_fields(args.blind),
    )  # fmt: skip
    if args.resume is not None:
        _resume_defaults(args, cfg)
    run = train(cfg, trusted=args.trust_model)
    ev = json.loads((run / "evaluation.json").read_text())
    print(f"\nrun folder: {run}")
    print(
        f"validation ({ev['patients']} patients): "
        f"median OS {format_number(ev['median_os_months'])} mo, "
        f"RMST {format_number(ev['rmst_os_months'])} mo, "
        f"benchmark score {format_number(ev['benchmark_score'], '.0f')}"
    )
    print(f"TensorBoard: tensorboard --logdir {run.parent}")
    return 0


def _blind_fields(values: list[str] | None) -> tuple[str, ...]:
    """``--blind`` values as field names (``monitoring`` expands to `MONITORING`)."""
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
    from pathlib import Path

    from tme_env.agents.loader import model_algo

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
        import yaml

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


def _cmd_evaluate(args: argparse.Namespace) -> int:
    args.policies = "all"
    args.reference = None
    return _cmd_trial(args)


def _cmd_dataset(args: argparse.Namespace) -> int:
    try:
        import minari  # noqa: F401 - only to report a missing extra clearly
    except ImportError:
        raise SystemExit('tme dataset needs the offline extra: pip install -e ".[offline]"'
                         ) from None  # fmt: skip
    from tme_env.offline.dataset import write_dataset

    dataset_id = args.dataset_id or f"tme/{args.observation}/{args.behaviour}-{args.split}-v0"
    ds = write_dataset(dataset_id, args.behaviour, args.observation, args.split,
                       args.n_patients, seed=args.seed, first_patient=args.first_patient,
                       root=args.out, progress=True)  # fmt: skip
    meta = ds.storage.metadata["tme_env"]
    print(f"wrote {ds.total_episodes} episodes ({ds.total_steps} steps) of {meta['env_id']} "
          f"to {os.path.join(args.out, dataset_id)}")
    print(f"load: MINARI_DATASETS_PATH={args.out} python -c \"import minari; "
          f"print(minari.load_dataset('{dataset_id}'))\"")  # fmt: skip
    return 0


def _cmd_quickstart(args: argparse.Namespace) -> int:
    from tme_env.agents.train import TrainConfig, train
    from tme_env.io import OutputFolder

    trial_out = os.path.join(args.out, "trial")
    # The trial's folder is checked before training: a refusal comes before the work.
    OutputFolder(trial_out, what="--out", overwrite=args.overwrite).check().abort()
    print(f"1/2 training PPO on tme/TumorImmune-v1 for {args.timesteps:,} steps ...")
    run = train(TrainConfig(algo="ppo", timesteps=args.timesteps, seed=args.seed,
                            out=os.path.join(args.out, "runs"), eval_patients=200))  # fmt: skip
    print("2/2 virtual trial on the test split: PPO vs every standard regimen ...")
    trial = argparse.Namespace(env="tme/TumorImmune-v1", policies="all",
                               model=[str(run / "model.zip")], split="test",
                               n_patients=args.n_patients, seed=args.seed, reference=None,
                               out=trial_out, overwrite=args.overwrite,
                               trust_model=True)  # fmt: skip
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
    p_trial.add_argument("--env", default="tme/TumorImmune-v1", help="environment id")
    p_trial.add_argument("--policies", default="all", help="comma-separated regimens, or all")
    p_trial.add_argument("--model", action="append", default=[],
                         help="trained SB3 model .zip (arm named after its algorithm)")  # fmt: skip
    p_trial.add_argument("--split", default="test", help="cohort split (train/validation/test)")
    p_trial.add_argument("--n-patients", type=_int_at_least(1), default=500,
                         help="patients per arm")  # fmt: skip
    p_trial.add_argument("--seed", type=_int_at_least(0), default=0, help="measurement-noise seed")
    p_trial.add_argument("--reference", default=None, help="reference arm (default mtd-chemo)")
    p_trial.add_argument("--out", default="trial", help="output folder (new or empty)")
    p_trial.add_argument("--overwrite", action="store_true", help="replace an earlier report")
    p_trial.add_argument("--trust-model", action="store_true",
                         help="skip the warning before unpickling --model files")  # fmt: skip
    p_trial.add_argument("--backend", choices=("local", "ray"), default="local",
                         help="run patient shards here or as Ray tasks ([ray] extra)")  # fmt: skip
    p_trial.add_argument("--shard-size", type=_int_at_least(1), default=None,
                         help="patients per shard (default: one batch per arm locally, "
                         "1024 on Ray)")  # fmt: skip
    p_trial.add_argument("--address", default=None,
                         help="Ray cluster (auto, ray://HOST:10001); default: local")  # fmt: skip
    p_trial.add_argument("--stream", action="store_true",
                         help="flat memory for 10^5+ patients: per-patient outcomes to "
                         "OUT/patients.parquet, summary from tallies, no dose plot")  # fmt: skip
    p_trial.set_defaults(func=_cmd_trial)

    p_bench = sub.add_parser("benchmark", help="score policies under the benchmark protocol")
    p_bench.add_argument("--policy", action="append", required=True,
                         help="[NAME=]regimen, model .zip or module:attr; a repeated NAME "
                         "is another seed of one submission")  # fmt: skip
    p_bench.add_argument("--env", "--task", dest="env", default="tme/TumorImmuneClinical-v1",
                         help="task id (BENCHMARK.md): the clinical or full v1 env")  # fmt: skip
    p_bench.add_argument("--n-patients", type=_int_at_least(2), default=500,
                         help="test patients per arm (protocol: 500)")  # fmt: skip
    p_bench.add_argument("--seed", type=_int_at_least(0), default=0,
                         help="trial seed (protocol: 0)")  # fmt: skip
    p_bench.add_argument("--out", default="benchmark", help="output folder (new or empty)")
    p_bench.add_argument("--overwrite", action="store_true", help="replace an earlier output")
    p_bench.add_argument("--trust-model", action="store_true",
                         help="skip the warning before unpickling model files")  # fmt: skip
    p_bench.set_defaults(func=_cmd_benchmark)

    p_sweep = sub.add_parser("sweep", help="algorithm x seed x budget sweep on Ray Tune")
    p_sweep.add_argument("config", help="sweep YAML (see tme_env/sweep.py)")
    p_sweep.add_argument("--address", default=None, help="Ray cluster to join (default: local)")
    p_sweep.set_defaults(func=_cmd_sweep)

    p_train = sub.add_parser("train", help="train an SB3 agent (run folder, TensorBoard)")
    p_train.add_argument("--algo", default=None,
                         help="ppo (default), a2c, sac, td3, dqn, recurrentppo")  # fmt: skip
    p_train.add_argument("--env", default=None, help="environment id (tme/TumorImmune-v1)")
    p_train.add_argument("--timesteps", type=_int_at_least(1), default=200_000,
                         help="training timesteps")  # fmt: skip
    p_train.add_argument("--seed", type=_int_at_least(0), default=None, help="seed (0)")
    p_train.add_argument("--config", default=None, help="YAML overriding the hyperparameters")
    p_train.add_argument("--out", default=None, help="parent folder of the run folder (runs)")
    p_train.add_argument("--eval-every", type=_int_at_least(1), default=None,
                         help="steps between evaluations (a quarter of --timesteps); a final "
                              "one always runs")  # fmt: skip
    p_train.add_argument("--eval-patients", type=_int_at_least(1), default=200,
                         help="validation patients")  # fmt: skip
    p_train.add_argument("--resume", default=None,
                         help="model .zip to continue from (keeps its algorithm, env, seed and "
                              "run folder unless given)")  # fmt: skip
    p_train.add_argument("--trust-model", action="store_true",
                         help="skip the warning before unpickling --resume")  # fmt: skip
    p_train.add_argument("--blind", action="append", default=None, metavar="FIELD",
                         help="a clinical observation field the agent never sees (repeat; "
                              "'monitoring' = the MDSC assay and the biopsy)")  # fmt: skip
    p_train.set_defaults(func=_cmd_train)

    p_eval = sub.add_parser("evaluate", help="virtual trial of a trained model vs the regimens")
    p_eval.add_argument("--model", action="append", required=True, help="trained model .zip")
    p_eval.add_argument("--env", default="tme/TumorImmune-v1", help="environment id")
    p_eval.add_argument("--split", default="test", help="cohort split")
    p_eval.add_argument("--n-patients", type=_int_at_least(1), default=500,
                        help="patients per arm")  # fmt: skip
    p_eval.add_argument("--seed", type=_int_at_least(0), default=0, help="measurement-noise seed")
    p_eval.add_argument("--out", default="evaluation", help="output folder (new or empty)")
    p_eval.add_argument("--overwrite", action="store_true", help="replace an earlier report")
    p_eval.add_argument("--trust-model", action="store_true",
                        help="skip the warning before unpickling --model files")  # fmt: skip
    p_eval.set_defaults(func=_cmd_evaluate)

    p_data = sub.add_parser("dataset", help="log a behaviour policy into a Minari dataset")
    p_data.add_argument("--behaviour", default="clinician-mixed",
                        help="clinician-mixed or clinician-expert (tme_env.offline.BEHAVIOURS)")
    p_data.add_argument("--observation", default="full", choices=("full", "clinical"),
                        help="observation mode of the env")
    p_data.add_argument("--split", default="train", help="cohort split (train/validation/test)")
    p_data.add_argument("--n-patients", type=_int_at_least(1), default=200,
                        help="episodes, one per patient")
    p_data.add_argument("--first-patient", type=_int_at_least(0), default=0,
                        help="cohort index of the first patient")
    p_data.add_argument("--seed", type=_int_at_least(0), default=0,
                        help="env reset seed base and behaviour seed")
    p_data.add_argument("--dataset-id", default=None,
                        help="Minari id (default tme/OBSERVATION/BEHAVIOUR-SPLIT-v0)")
    p_data.add_argument("--out", default="datasets",
                        help="Minari datasets folder (MINARI_DATASETS_PATH)")
    p_data.set_defaults(func=_cmd_dataset)

    p_quick = sub.add_parser("quickstart", help="train PPO briefly, then the virtual trial")
    p_quick.add_argument("--out", default="quickstart", help="output folder")
    p_quick.add_argument("--timesteps", type=_int_at_least(1), default=300_000,
                         help="PPO timesteps")  # fmt: skip
    p_quick.add_argument("--n-patients", type=_int_at_least(1), default=500,
                         help="test patients per arm")  # fmt: skip
    p_quick.add_argument("--seed", type=_int_at_least(0), default=0, help="seed")
    p_quick.add_argument("--overwrite", action="store_true",
                         help="replace the earlier trial report in OUT/trial")  # fmt: skip
    p_quick.set_defaults(func=_cmd_quickstart)

    p_sim = sub.add_parser("simulate", help="integrate a model and print/save CSV")
    p_sim.add_argument("model", help="registered model name (see `tme models`)")
    p_sim.add_argument("--days", type=_finite_float, default=150.0, help="last output day")
    p_sim.add_argument("--start", type=_finite_float, default=0.0, help="first output day")
    p_sim.add_argument("--points", type=_int_at_least(1), default=151,
                       help="number of output times")  # fmt: skip
    p_sim.add_argument("--state", action="append", default=[], help="initial state NAME=VALUE")
    p_sim.add_argument("--param", action="append", default=[], help="parameter NAME=VALUE")
    p_sim.add_argument(
        "--infusion", action="append", default=[], help="START:END:INPUT=RATE (repeatable)"
    )
    p_sim.add_argument("--bolus", action="append", default=[], help="DAY:STATE=AMOUNT")
    p_sim.add_argument("--rtol", type=_positive_float, default=None, help="relative tolerance")
    p_sim.add_argument("--atol", type=_positive_float, default=None, help="absolute tolerance")
    p_sim.add_argument("--out", default=None, help="CSV file to write (default: stdout)")
    p_sim.set_defaults(func=_cmd_simulate)
    return parser


#: Exit status of every user error (a bad flag, value, file or folder), as argparse's own.
USAGE_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tme`` console script.

    A user error (`ValueError`, a failed simulation, a file that cannot be written) prints
    one line ``tme: error: ...`` naming the bad value and exits with `USAGE_ERROR` (2), as
    argparse does for a malformed command line. Warnings of ``tme_env`` print as one line
    ``tme: warning: ...``.
    """
    from tme_env.simulator import SimulationError

    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return int(args.func(args))
        except (ValueError, SimulationError, OSError) as exc:
            text = str(exc) if not isinstance(exc, OSError) or not exc.filename else (
                f"{exc.filename}: {exc.strerror}"
            )  # fmt: skip
            print(f"tme: error: {text}", file=sys.stderr)
            return USAGE_ERROR


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """One line per warning of tme_env; others as Python shows them."""
    from tme_env.agents.loader import ModelTrustWarning

    if issubclass(category, ModelTrustWarning) or filename.startswith(os.path.dirname(__file__)):
        print(f"tme: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
