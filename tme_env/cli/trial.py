"""``tme trial`` and ``tme evaluate``: virtual trials of regimens and trained SB3 models."""

from __future__ import annotations

import argparse
from typing import Any

from tme_env import regimens
from tme_env.agents.agent import model_path
from tme_env.agents.loader import model_info
from tme_env.cli.args import ONE_BATCH, int_at_least, int_in_range
from tme_env.envs import ENV_IDS
from tme_env.envs.config import MAX_COHORT_SIZE
from tme_env.envs.observation import CLINICAL_OBSERVATION, FULL_OBSERVATION
from tme_env.io import OutputFolder, format_number
from tme_env.patients import SPLITS
from tme_env.trials import run_trial, write_report
from tme_env.trials.report import score_note
from tme_env.trials.run import TRIAL_ENV_IDS
from tme_env.trials.streaming import stream_trial

__all__ = ["TRUST_HELP", "add_evaluate_parser", "add_trial_parser", "cmd_evaluate", "cmd_trial"]

#: ``--trust-model``'s help (``tme trial``, ``tme evaluate``, ``tme benchmark``).
TRUST_HELP = (
    "trust the model files: load them fully with SB3, which unpickles them and runs any code "
    "inside them (default: only their weights and JSON fields are read, nothing is unpickled; "
    "a file that cannot be rebuilt that way is refused)"
)


def add_trial_parser(sub: Any) -> None:
    """Add ``tme trial`` to the sub-parsers ``sub``."""
    p_trial = sub.add_parser("trial", help="run a virtual trial of regimens / trained policies")
    p_trial.add_argument("--env", default="tme/TumorImmune-v2", help="environment id")
    p_trial.add_argument("--policies", default="all", help="comma-separated regimens, or all")
    p_trial.add_argument("--model", action="append", default=[],
                         help="trained SB3 model .zip or agent folder (arm named after its "
                              "algorithm)")  # fmt: skip
    p_trial.add_argument("--split", default="test", help="cohort split (train/validation/test)")
    p_trial.add_argument("--n-patients", type=int_at_least(1), default=500,
                         help="patients per arm")  # fmt: skip
    p_trial.add_argument("--seed", type=int_at_least(0), default=0, help="measurement-noise seed")
    p_trial.add_argument("--reference", default=None, help="reference arm (default mtd-chemo)")
    p_trial.add_argument("--out", default="trial", help="output folder (new or empty)")
    p_trial.add_argument("--overwrite", action="store_true", help="replace an earlier report")
    p_trial.add_argument("--trust-model", action="store_true", help=TRUST_HELP)
    p_trial.add_argument("--backend", choices=("local", "ray"), default="local",
                         help="run patient shards here or as Ray tasks ([ray] extra)")  # fmt: skip
    p_trial.add_argument("--shard-size", type=int_in_range(1, MAX_COHORT_SIZE), default=None,
                         help="patients per shard (default: one batch per arm locally, "
                         "1024 on Ray)")  # fmt: skip
    p_trial.add_argument("--address", default=None,
                         help="Ray cluster (auto, ray://HOST:10001); default: local")  # fmt: skip
    p_trial.add_argument("--stream", action="store_true",
                         help="flat memory for 10^5+ patients: per-patient outcomes to "
                         "OUT/patients.parquet, summary from tallies, no dose plot")  # fmt: skip
    p_trial.set_defaults(func=cmd_trial)


def add_evaluate_parser(sub: Any) -> None:
    """Add ``tme evaluate`` to the sub-parsers ``sub``."""
    p_eval = sub.add_parser("evaluate", help="virtual trial of a trained model vs the regimens")
    p_eval.add_argument("--model", action="append", required=True,
                        help="trained model .zip, or an agent folder (agents/NAME: its first "
                             "seed; agents/NAME/seed_K: seed K)")  # fmt: skip
    p_eval.add_argument("--env", default="tme/TumorImmune-v2", help="environment id")
    p_eval.add_argument("--split", default="test", help="cohort split")
    p_eval.add_argument("--n-patients", type=int_in_range(1, MAX_COHORT_SIZE, ONE_BATCH),
                        default=500, help="patients per arm")  # fmt: skip
    p_eval.add_argument("--seed", type=int_at_least(0), default=0, help="measurement-noise seed")
    p_eval.add_argument("--out", default="evaluation", help="output folder (new or empty)")
    p_eval.add_argument("--overwrite", action="store_true", help="replace an earlier report")
    p_eval.add_argument("--trust-model", action="store_true", help=TRUST_HELP)
    p_eval.set_defaults(func=cmd_evaluate)


def _check_trial(args: argparse.Namespace) -> tuple[list[str], dict[str, str], Any]:
    """Check every trial setting before any work; returns (regimens, model arms, out folder).

    The model arms map an arm name (the model's algorithm: ``ppo``, ``ppo-2``, ...) to the
    model file. Raises ValueError naming the flag.
    """
    if args.env not in TRIAL_ENV_IDS:
        valid_envs = ", ".join(TRIAL_ENV_IDS)
        raise ValueError(f"--env: unknown trial env {args.env!r}; valid: {valid_envs}")
    if args.split not in SPLITS:
        raise ValueError(f"--split: unknown split {args.split!r}; valid: {', '.join(SPLITS)}")
    one_batch = (getattr(args, "backend", "local") == "local" and not getattr(args, "stream", False)
                 and getattr(args, "shard_size", None) is None)  # fmt: skip
    if one_batch and args.n_patients > MAX_COHORT_SIZE:
        raise ValueError(
            f"--n-patients {args.n_patients:,}: at most {MAX_COHORT_SIZE:,} without "
            f"--shard-size ({ONE_BATCH}); pass --shard-size (e.g. 10000) or --stream"
        )
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
    for given in args.model:
        path = str(model_path(given))  # an agent folder: its first seed
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
    clinical = ENV_IDS[env_id].get("observation", "full") == "clinical"
    return CLINICAL_OBSERVATION if clinical else FULL_OBSERVATION


def cmd_trial(args: argparse.Namespace) -> int:
    """Run the virtual trial of ``args`` (regimens and model arms) and write its report."""
    names, models, out = _check_trial(args)
    try:
        observation = ENV_IDS[args.env].get("observation", "full")
        policies = {name: regimens.get(name, observation=observation) for name in names}
        for arm, path in models.items():
            # deferred: imports stable-baselines3 and torch (seconds; tme --help stays fast)
            from tme_env.agents.agent import load_policy

            policies[arm] = load_policy(path, trusted=args.trust_model, task=args.env)
        reference = args.reference or (
            "mtd-chemo" if "mtd-chemo" in policies else next(iter(policies))
        )
        scale = {"backend": getattr(args, "backend", "local"),
                 "shard_size": getattr(args, "shard_size", None),
                 "address": getattr(args, "address", None)}  # fmt: skip
        if getattr(args, "stream", False):
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
    print(score_note(rows))
    print(f"\nwrote {args.out}/report.md (reference arm {reference})")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``tme evaluate``: ``tme trial`` of the models against every standard regimen."""
    args.policies = "all"
    args.reference = None
    return cmd_trial(args)
