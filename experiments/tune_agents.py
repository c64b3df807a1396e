"""A small, documented hyperparameter search for the leaderboard's RL baselines (optuna).

For each tuned setting (`SETTINGS`: PPO and A2C on the full observation, DQN on the discrete
variant, PPO on the clinical observation) optuna's TPE sampler (seed 0) proposes
``--trials`` hyperparameter sets (the committed run: 10 for PPO and A2C on the full
observation, 6 for DQN and the clinical PPO, to fit the machine's time); the first trial is
the package default (``tme_env/agents/hyperparams/<algo>.yml``), so the tuned set can only
win on validation.
Each trial trains one seed (seed 0) for ``--steps`` environment steps (a fifth of the
protocol's budget) and is scored by the benchmark score of its final model on 100 patients of
the **validation** split (`tme_env.agents.callbacks.ClinicalEvalCallback`; the test split is
never used). The best set is written to the repository's ``agents/hyperparams/tuned/<name>.yml``
(a `tme train --config` file, published beside the trained agents; `agents/README.md`) and
every trial to ``experiments/figures/tuning.md``. Nothing is written into the package.

SAC, TD3 and RecurrentPPO are not tuned: one of their trials costs 5-25x a PPO trial on this
2-core machine; they train with the package defaults, and the leaderboard says so.

The search is resumable: optuna's journal file under ``experiments/results/tuning/`` keeps the
finished trials.

Usage::

    python experiments/tune_agents.py [--trials 10] [--steps 200000] [--only ppo-full]
        [--eval-patients 100] [--root DIR] [--tuned DIR] [--report FILE] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import quick  # experiments/quick.py: the --quick flag
import yaml

from tme_env.agents.algos import load_hyperparams
from tme_env.io import atomic_write_text

ROOT = Path(__file__).resolve().parent
#: Where the selected sets go: the repository's top-level agents/ folder (not the package).
TUNED = ROOT.parent / "agents" / "hyperparams" / "tuned"
GAMMAS = [0.98, 0.99, 0.995, 0.999]


def _ppo(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 2e-3, log=True),
        "gamma": trial.suggest_categorical("gamma", GAMMAS),
        "n_steps": trial.suggest_categorical("n_steps", [32, 64, 128]),
        "batch_size": trial.suggest_categorical("batch_size", [512, 1024, 2048]),
        "n_epochs": trial.suggest_categorical("n_epochs", [3, 5, 10]),
        "ent_coef": trial.suggest_categorical("ent_coef", [0.0, 0.001, 0.01]),
        "gae_lambda": trial.suggest_categorical("gae_lambda", [0.9, 0.95, 0.98]),
    }


def _a2c(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        "gamma": trial.suggest_categorical("gamma", GAMMAS),
        "n_steps": trial.suggest_categorical("n_steps", [5, 8, 16, 32]),
        "ent_coef": trial.suggest_categorical("ent_coef", [0.0, 0.001, 0.01]),
        "gae_lambda": trial.suggest_categorical("gae_lambda", [0.9, 0.95, 1.0]),
    }


def _dqn(trial: Any) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 2e-3, log=True),
        "gamma": trial.suggest_categorical("gamma", GAMMAS),
        "exploration_fraction": trial.suggest_categorical("exploration_fraction",
                                                          [0.1, 0.3, 0.5]),  # fmt: skip
        "target_update_interval": trial.suggest_categorical("target_update_interval",
                                                            [500, 2000, 8000]),  # fmt: skip
        "batch_size": trial.suggest_categorical("batch_size", [64, 256]),
        "train_freq": trial.suggest_categorical("train_freq", [4, 8, 16]),
    }


#: name -> (algorithm, training env, sampler of the search space)
SETTINGS = {
    "ppo-full": ("ppo", "tme/TumorImmune-v2", _ppo),
    "a2c-full": ("a2c", "tme/TumorImmune-v2", _a2c),
    "dqn-discrete": ("dqn", "tme/TumorImmuneDiscrete-v2", _dqn),
    "ppo-clinical": ("ppo", "tme/TumorImmuneClinical-v2", _ppo),
}


#: The searched keys, with SB3's default for those the package YAML leaves unset.
SB3_DEFAULTS = {
    "ppo": {"learning_rate": 3e-4, "gamma": 0.99, "n_steps": 2048, "batch_size": 64,
            "n_epochs": 10, "ent_coef": 0.0, "gae_lambda": 0.95},
    "a2c": {"learning_rate": 7e-4, "gamma": 0.99, "n_steps": 5, "ent_coef": 0.0,
            "gae_lambda": 1.0},
    "dqn": {"learning_rate": 1e-4, "gamma": 0.99, "exploration_fraction": 0.1,
            "target_update_interval": 10_000, "batch_size": 32, "train_freq": 4},
}  # fmt: skip


def _defaults(algo: str, env_id: str, keys: list[str]) -> dict[str, Any]:
    """The package's hyperparameters of ``keys`` (trial 0 of the search)."""
    hyper = load_hyperparams(algo, env_id)
    return {k: hyper.get(k, SB3_DEFAULTS[algo][k]) for k in keys}


def tune(name: str, trials: int, steps: int, root: Path, tuned: Path = TUNED,
         eval_patients: int = 100) -> dict[str, Any]:  # fmt: skip
    """Run (or resume) one setting's search; return its summary.

    The best set goes to ``tuned/<name>.yml``; each trial is scored on ``eval_patients``
    validation patients.
    """
    import optuna  # deferred: optional ([search] extra)
    from optuna.storages import JournalStorage  # deferred: optional ([search] extra)
    from optuna.storages.journal import JournalFileBackend  # deferred: optional ([search] extra)

    from tme_env.agents.train import TrainConfig, train  # deferred: imports SB3 and torch

    algo, env_id, space = SETTINGS[name]
    root.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(root / f"{name}.journal")))
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=0),
                                load_if_exists=True)  # fmt: skip
    keys = list(SB3_DEFAULTS[algo])
    if not study.trials:
        study.enqueue_trial(_defaults(algo, env_id, keys))

    def objective(trial: Any) -> float:
        hyper = space(trial)
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=root) as f:
            yaml.safe_dump({"default": hyper}, f)
        run = train(TrainConfig(algo=algo, env_id=env_id, timesteps=steps, seed=0,
                                config_file=f.name, out=str(root / "runs"), eval_every=10**12,
                                eval_patients=eval_patients, checkpoint_every=10**9,
                                progress=False))  # fmt: skip
        Path(f.name).unlink()
        score = json.loads((run / "evaluation.json").read_text())["benchmark_score"]
        print(f"[tune] {name} trial {trial.number}: validation score {score:.1f} {hyper}",
              flush=True)  # fmt: skip
        return float(score)

    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    if done < trials:
        study.optimize(objective, n_trials=trials - done)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = max(complete, key=lambda t: (t.value, -t.number))
    tuned.mkdir(parents=True, exist_ok=True)
    header = (f"# {algo} on {env_id}: best of {len(complete)} optuna TPE trials (seed 0), each "
              f"{steps:,} steps, scored on {eval_patients} validation patients\n"
              f"# (experiments/tune_agents.py; validation score {best.value:.1f}, trial "
              f"{best.number}; trial 0 = the package default)\n")  # fmt: skip
    atomic_write_text(tuned / f"{name}.yml", header + yaml.safe_dump({"default": best.params}))
    return {"name": name, "algo": algo, "env_id": env_id, "steps": steps,
            "trials": [{"number": t.number, "value": t.value, "params": t.params}
                       for t in complete],
            "best": best.number}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Tune every setting (or ``--only`` one) and write ``figures/tuning.md``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10,
                    help="trials per setting, the default included (0: report only)")
    ap.add_argument("--steps", type=int, default=200_000, help="training steps per trial")
    ap.add_argument("--only", choices=sorted(SETTINGS), default=None)
    ap.add_argument("--root", default=str(ROOT / "results" / "tuning"),
                    help="optuna journals and trial runs")
    ap.add_argument("--eval-patients", type=int, default=100,
                    help="validation patients scoring each trial")
    ap.add_argument("--tuned", default=str(TUNED), help="folder of the selected <name>.yml")
    ap.add_argument("--report", default=str(ROOT / "figures" / "tuning.md"),
                    help="the markdown table of every trial")
    sizes = {"trials": 1, "steps": 64, "eval_patients": 2}
    outputs = {"root": "results", "tuned": "tuned", "report": "tuning.md"}
    args = quick.parse_args(ap, argv, __file__, sizes, outputs)
    for flag, value, least in (("--trials", args.trials, 0), ("--steps", args.steps, 1),
                               ("--eval-patients", args.eval_patients, 1)):  # fmt: skip
        if value < least:
            raise SystemExit(f"{flag}: expected an integer >= {least}, got {value}")
    names = [args.only] if args.only else list(SETTINGS)
    kw = {"tuned": Path(args.tuned), "eval_patients": args.eval_patients}
    for n in names:
        tune(n, args.trials, args.steps, Path(args.root), **kw)
    # The report covers every setting searched so far (``--trials 0`` trains nothing more).
    summaries = [tune(n, 0, args.steps, Path(args.root), **kw) for n in SETTINGS
                 if (Path(args.root) / f"{n}.journal").exists()]  # fmt: skip
    lines = ["# Hyperparameter tuning (`python experiments/tune_agents.py`)", "",
             "Validation benchmark score of the final model of one seed (seed 0) per trial; "
             "trial 0 is the package default. The test split is never used.", ""]  # fmt: skip
    for s in summaries:
        lines += [f"## {s['name']}: {s['algo']} on {s['env_id']}, {s['steps']:,} steps per "
                  f"trial", "", "| trial | validation score | hyperparameters |", "|---|---|---|"]
        for t in sorted(s["trials"], key=lambda t: -t["value"]):
            mark = " (selected)" if t["number"] == s["best"] else ""
            lines.append(f"| {t['number']}{mark} | {t['value']:.1f} | "
                         f"{json.dumps(t['params'], sort_keys=True)} |")  # fmt: skip
        lines.append("")
    atomic_write_text(args.report, "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
