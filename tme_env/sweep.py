"""Benchmark sweeps on Ray Tune: algorithm x seed x budget grids (or an optuna search).

Each Tune trial is one ``tme train`` run (`tme_env.agents.train.train`, the same run folder:
config, command, git commit, TensorBoard, checkpoints, ``model.zip``, ``evaluation.json``)
followed by the benchmark evaluation: a virtual trial of the trained policy against every
standard regimen on the ``test`` split (``RUN/trial/report.md``). The sweep writes
``STORAGE/NAME/leaderboard.md`` and ``leaderboard.csv``: per algorithm and budget, the mean and
s.d. over seeds of the benchmark score and RMST, under the standard regimens' rows.

Config (YAML; every key but ``algos`` optional)::

    name: leaderboard          # Tune experiment name (folder under storage)
    storage: sweeps            # parent folder of the experiment
    env: tme/TumorImmune-v2    # default: DEFAULT_ENV_ID
    algos: [ppo, a2c]
    seeds: [0, 1, 2, 3, 4]     # the benchmark protocol asks for 5+ seeds
    timesteps: [100000]        # budgets
    eval_every: 50000          # tme train's validation evaluation
    eval_patients: 100
    test_patients: 500         # patients per arm of the final test-split trial
    trial_seed: 0              # measurement-noise seed of that trial (the same for every run)
    cpus_per_trial: 1
    max_concurrent: 2
    hyperparameters: {}        # algo -> {key: value}, as tme train --config's default block
    search:                    # optional: optuna over hyperparameters instead of fixed ones
      num_samples: 8
      space: {learning_rate: {loguniform: [1.0e-4, 1.0e-3]}}   # or uniform / choice

The whole config is checked before Ray is imported or anything runs (`SweepConfig.validate`):
every key's type and range, the env (one ``tme train`` trains on) and each algorithm's fit to
it, every hyperparameter as ``tme train --config`` checks it (name, type, bounds such as
``gamma`` in (0, 1]), and every search dimension (a known hyperparameter of every algorithm,
``loguniform: [low, high]`` with 0 < low < high, ``uniform: [low, high]`` with low < high,
``choice: [values...]``, each value a valid setting). The messages name the file and the key.

The search maximises the test-split benchmark score. Running the same config again resumes
the experiment (`ray.tune.Tuner.restore`): finished trials are kept, unfinished and errored
ones are run again (a run interrupted mid-training starts a new run folder). Restoring
unpickles ``STORAGE/NAME/tuner.pkl`` (and Tune's other state there), which runs any code in
it: a sweep resumes only with ``trusted=True`` (``tme sweep --trust``), for a folder you wrote
(`check_resume_trusted`, before Ray is imported).

`tme sweep CONFIG.yml [--address ADDR] [--trust]` runs it; needs the ``[ray]`` extra.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tme_env import regimens
from tme_env.agents.algos import ALGOS, check_hyperparams, read_yaml
from tme_env.agents.config import TRAIN_ENV_IDS, check_algo_env
from tme_env.envs import ENV_IDS
from tme_env.envs.config import MAX_COHORT_SIZE
from tme_env.io import atomic_write_text
from tme_env.trials import run_trial, write_report
from tme_env.trials.run import TRIAL_ENV_IDS

__all__ = [
    "DEFAULT_ENV_ID",
    "TUNER_STATE",
    "SweepConfig",
    "check_resume_trusted",
    "leaderboard",
    "load_sweep_config",
    "run_sweep",
]

#: The file whose presence makes Ray Tune restore an experiment (it unpickles it).
TUNER_STATE = "tuner.pkl"
#: The env id sweeps and the RLlib example use by default (the trials' full-observation env).
DEFAULT_ENV_ID = TRIAL_ENV_IDS[0]
_SPACES = ("loguniform", "uniform", "choice")


@dataclass
class SweepConfig:
    """A sweep (see the module docstring for each key)."""

    algos: list[str]
    name: str = "sweep"
    storage: str = "sweeps"
    env: str = DEFAULT_ENV_ID
    seeds: list[int] = field(default_factory=lambda: [0])
    timesteps: list[int] = field(default_factory=lambda: [100_000])
    eval_every: int = 50_000
    eval_patients: int = 100
    test_patients: int = 500
    trial_seed: int = 0
    cpus_per_trial: int = 1
    max_concurrent: int = 2
    hyperparameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    search: dict[str, Any] | None = None

    @property
    def experiment_dir(self) -> Path:
        """``storage/name``, absolute."""
        return Path(self.storage).resolve() / self.name

    def validate(self, source: str = "sweep config") -> None:
        """Check every setting (see the module docstring) before anything runs.

        Args:
            source: How the messages name the config (its file).

        Raises:
            ValueError: Naming ``source``, the key and the bad value.
        """
        where = f"{source}: "
        for key in ("name", "storage"):
            v = getattr(self, key)
            if not isinstance(v, str) or not v.strip():
                raise ValueError(f"{where}{key} must be a non-empty string, got {v!r}")
        if self.name in (".", "..") or any(c in self.name for c in "/\\"):
            raise ValueError(f"{where}name must be a folder name (no '/' or '..'), got "
                             f"{self.name!r}")  # fmt: skip
        if not isinstance(self.env, str) or self.env not in TRAIN_ENV_IDS:
            raise ValueError(f"{where}unknown env {self.env!r}; valid: {', '.join(TRAIN_ENV_IDS)}")
        _int_list(self.algos, "algos", where, kind=str)
        for algo in self.algos:
            if algo not in ALGOS:
                raise ValueError(f"{where}unknown algorithm {algo!r}; valid: {', '.join(ALGOS)}")
            check_algo_env(algo, self.env, what=f"{where}algos: ")
        _int_list(self.seeds, "seeds", where, least=0)
        _int_list(self.timesteps, "timesteps", where, least=1)
        for key, least, most in (("eval_every", 1, None), ("eval_patients", 1, MAX_COHORT_SIZE),
                                 ("test_patients", 1, MAX_COHORT_SIZE), ("trial_seed", 0, None),
                                 ("cpus_per_trial", 1, None), ("max_concurrent", 1, None)):
            _check_int(getattr(self, key), key, where, least, most)  # fmt: skip
        if not isinstance(self.hyperparameters, dict):
            raise ValueError(f"{where}hyperparameters must be a mapping of algorithm to "
                             f"{{key: value}}, got {self.hyperparameters!r}")  # fmt: skip
        for algo, block in self.hyperparameters.items():
            if algo not in self.algos:
                raise ValueError(f"{where}hyperparameters for {algo!r}, which is not in algos")
            check_hyperparams(algo, block or {}, f"{source}: hyperparameters: {algo}")
        if self.search is not None:
            _check_search(self.search, self.algos, source)


def load_sweep_config(path: str | os.PathLike) -> SweepConfig:
    """Read and check a sweep YAML.

    Raises:
        ValueError: On an unreadable file, an unknown key, an unknown algorithm or env, or a
            bad search space (the message names the key and the file).
    """
    data = read_yaml(path, "sweep config")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of sweep settings")
    known = [f.name for f in fields(SweepConfig)]
    for key in data:
        if key not in known:
            raise ValueError(f"{path}: unknown key {key!r}; valid: {', '.join(known)}")
    if "algos" not in data:
        raise ValueError(f"{path}: 'algos' is required (a list among {', '.join(ALGOS)})")
    for key in ("algos", "seeds", "timesteps"):
        if key in data and not isinstance(data[key], list):
            data[key] = [data[key]]
    cfg = SweepConfig(**data)
    cfg.validate(str(path))
    return cfg


def _check_int(v: Any, key: str, where: str, least: int, most: int | None = None) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < least or (most and v > most):
        bound = f"from {least} to {most:,}" if most else f">= {least}"
        raise ValueError(f"{where}{key} must be an integer {bound}, got {v!r}")


def _int_list(values: Any, key: str, where: str, least: int = 0, kind: type = int) -> None:
    """A non-empty list without repeats of integers >= ``least`` (or of strings)."""
    what = "names" if kind is str else f"integers >= {least}"
    if not isinstance(values, list) or not values:
        raise ValueError(f"{where}{key} must be a non-empty list of {what}, got {values!r}")
    for v in values:
        if kind is str:
            if not isinstance(v, str):
                raise ValueError(f"{where}{key} must be a list of {what}, got {v!r}")
        else:
            _check_int(v, key, where, least)
    if len(set(values)) != len(values):
        raise ValueError(f"{where}{key} lists a value twice: {values!r}")


def _check_search(search: Any, algos: list[str], source: str) -> None:
    """``search``: ``num_samples`` and a ``space`` of known hyperparameters (module docstring)."""
    where = f"{source}: search"
    if not isinstance(search, dict):
        raise ValueError(f"{where} must be a mapping with 'space' (and 'num_samples'), got "
                         f"{search!r}")  # fmt: skip
    unknown = [k for k in search if k not in ("num_samples", "space")]
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; valid: num_samples, space")
    _check_int(search.get("num_samples", 8), "num_samples", f"{where}: ", 1)
    space = search.get("space")
    if not isinstance(space, dict) or not space:
        raise ValueError(f"{where}: space must be a non-empty mapping of hyperparameter to "
                         f"{{{', '.join(_SPACES)}: [...]}}, got {space!r}")  # fmt: skip
    for key, spec in space.items():
        if not (isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in _SPACES):
            raise ValueError(f"{where}: space {key!r} must be one of {{{', '.join(_SPACES)}: "
                             f"[...]}}, got {spec!r}")  # fmt: skip
        kind, values = next(iter(spec.items()))
        if kind == "choice":
            if not isinstance(values, list) or not values:
                raise ValueError(f"{where}: space {key!r}: choice needs a non-empty list, got "
                                 f"{values!r}")  # fmt: skip
        else:
            _check_range(kind, values, f"{where}: space {key!r}")
        for algo in algos:
            for value in values:
                check_hyperparams(algo, {key: value}, f"{where}: space ({algo})")


def _check_range(kind: str, values: Any, where: str) -> None:
    """``[low, high]`` of a uniform (low < high) or loguniform (0 < low < high) dimension."""
    numbers = isinstance(values, list) and len(values) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        for v in values
    )  # fmt: skip
    if not numbers or values[0] >= values[1] or (kind == "loguniform" and values[0] <= 0):
        need = "0 < low < high" if kind == "loguniform" else "low < high"
        raise ValueError(f"{where}: {kind} needs [low, high] with {need}, got {values!r}")


def _tune_space(cfg: SweepConfig) -> dict[str, Any]:
    from ray import tune  # deferred: ray is an optional extra ([ray])

    space: dict[str, Any] = {
        "algo": tune.grid_search(cfg.algos),
        "seed": tune.grid_search(cfg.seeds),
        "timesteps": tune.grid_search(cfg.timesteps),
    }
    if cfg.search is not None:
        for key, spec in (cfg.search.get("space") or {}).items():
            kind, values = next(iter(spec.items()))
            space[f"hp/{key}"] = (
                tune.choice(values) if kind == "choice" else getattr(tune, kind)(*values)
            )
    return space


def _trainable(config: dict[str, Any], sweep: dict[str, Any]) -> dict[str, Any]:
    """One Tune trial: ``tme train`` then the test-split trial against every regimen."""
    import torch  # deferred: heavy, and needed only in a Tune worker
    from ray import tune  # deferred: ray is an optional extra ([ray])

    from tme_env.agents.agent import load_policy  # deferred: imports SB3 and torch
    from tme_env.agents.train import TrainConfig, train  # deferred: imports SB3 and torch

    torch.set_num_threads(int(sweep["cpus_per_trial"]))
    algo = config["algo"]
    hyper = dict(sweep["hyperparameters"].get(algo) or {})
    hyper.update({k[3:]: v for k, v in config.items() if k.startswith("hp/")})
    config_file = None
    if hyper:
        config_file = os.path.join(tune.get_context().get_trial_dir(), "hyperparameters.yml")
        atomic_write_text(config_file, yaml.safe_dump({"default": hyper}, sort_keys=False))
    run = train(TrainConfig(
        algo=algo, env_id=sweep["env"], timesteps=int(config["timesteps"]),
        seed=int(config["seed"]), config_file=config_file, out=sweep["runs"],
        eval_every=int(sweep["eval_every"]), eval_patients=int(sweep["eval_patients"]),
        progress=False, torch_threads=int(sweep["cpus_per_trial"]),
    ))  # fmt: skip
    observation = ENV_IDS[sweep["env"]].get("observation", "full")
    policies = {name: regimens.get(name, observation=observation) for name in regimens.available()}
    # weights and JSON, nothing unpickled; its normalisation and dose levels applied
    policies[algo] = load_policy(run / "model.zip")
    # The trial env with the observation the policy was trained on (Discrete: the full one).
    trial_env = next(e for e in TRIAL_ENV_IDS
                     if ENV_IDS[e].get("observation", "full") == observation)  # fmt: skip
    n_test, trial_seed = int(sweep["test_patients"]), int(sweep["trial_seed"])
    result = run_trial(policies, env_id=trial_env, split="test", n_patients=n_test,
                       seed=trial_seed)  # fmt: skip
    rows = write_report(result, str(run / "trial"), reference="mtd-chemo")
    mine = next(r for r in rows if r["arm"] == algo)
    metrics = {
        "benchmark_score": float(mine["benchmark_score"]),
        "rmst_os_months": float(mine["rmst_os_months"]),
        "run_dir": str(run),
        "regimens": json.dumps({r["arm"]: [r["benchmark_score"], r["rmst_os_months"]]
                                for r in rows if r["arm"] != algo}),
    }  # fmt: skip
    tune.report(metrics)
    return metrics


def _sd(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")


def leaderboard(results: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Markdown table and rows: regimens, then mean +- s.d. over seeds per algorithm and budget.

    Args:
        results: One dict per finished Tune trial: ``algo``, ``timesteps``, ``seed``,
            ``benchmark_score``, ``rmst_os_months`` and ``regimens`` (JSON: arm -> [score,
            RMST]).
    """
    rows: list[dict[str, Any]] = []
    if results:
        for arm, (score, rmst_months) in json.loads(results[0]["regimens"]).items():
            rows.append({"policy": arm, "budget": "-", "seeds": "-", "score_mean": score,
                         "score_sd": float("nan"), "rmst_mean": rmst_months,
                         "rmst_sd": float("nan")})  # fmt: skip
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["algo"], int(r["timesteps"])), []).append(r)
    for (algo, budget), group in sorted(groups.items()):
        score = np.array([g["benchmark_score"] for g in group])
        rmst_months = np.array([g["rmst_os_months"] for g in group])
        rows.append({"policy": algo.upper(), "budget": budget, "seeds": len(group),
                     "score_mean": float(score.mean()), "score_sd": _sd(score),
                     "rmst_mean": float(rmst_months.mean()),
                     "rmst_sd": _sd(rmst_months)})  # fmt: skip

    def pm(mean: float, sd: float, fmt: str) -> str:
        return f"{mean:{fmt}}" if math.isnan(sd) else f"{mean:{fmt}} ± {sd:{fmt}}"

    lines = [
        "| policy | budget | seeds | benchmark score | RMST, months |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['policy']} | {r['budget']} | {r['seeds']} | "
                     f"{pm(r['score_mean'], r['score_sd'], '.1f')} | "
                     f"{pm(r['rmst_mean'], r['rmst_sd'], '.2f')} |")  # fmt: skip
    return "\n".join(lines) + "\n", rows


def check_resume_trusted(cfg: SweepConfig, trusted: bool) -> None:
    """Refuse to resume ``cfg``'s experiment unless ``trusted`` (Tune unpickles its state).

    Raises:
        ValueError: If ``STORAGE/NAME/tuner.pkl`` exists and not ``trusted`` (the message
            names the file and ``--trust``).
    """
    state = cfg.experiment_dir / TUNER_STATE
    if state.exists() and not trusted:
        raise ValueError(
            f"{str(state)!r} exists: resuming the sweep makes Ray Tune unpickle it (and the "
            "other state in its folder), which runs any code inside it; if you wrote that "
            "folder and trust it, pass --trust (Python: run_sweep(..., trusted=True)), or "
            "give the sweep another name or storage to start afresh"
        )


def run_sweep(
    config: SweepConfig | str | os.PathLike, address: str | None = None, trusted: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """Run (or resume) a sweep and write its leaderboard; returns `leaderboard`'s output.

    Args:
        config: A `SweepConfig` or the path of its YAML.
        address: Ray cluster address; None starts a local Ray (or uses this process's).
        trusted: Resume an existing experiment: Ray Tune unpickles its ``tuner.pkl``, which
            runs any code inside it (`check_resume_trusted`). Only for a folder you wrote.

    Raises:
        ValueError: On a bad config (see `load_sweep_config`), or an existing experiment
            without ``trusted`` (before Ray is imported).
        RuntimeError: If a Tune trial failed (the message lists them and their error files).
    """
    cfg = config if isinstance(config, SweepConfig) else load_sweep_config(config)
    cfg.validate()  # before Ray is imported
    check_resume_trusted(cfg, trusted)
    import ray  # deferred: ray is an optional extra ([ray])
    from ray import tune  # deferred: ray is an optional extra ([ray])

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    exp = cfg.experiment_dir
    keys = ("env", "eval_every", "eval_patients", "test_patients", "trial_seed",
            "cpus_per_trial", "hyperparameters")  # fmt: skip
    sweep = {k: getattr(cfg, k) for k in keys}
    sweep["runs"] = str(exp / "runs")
    trainable = tune.with_resources(tune.with_parameters(_trainable, sweep=sweep),
                                    {"cpu": cfg.cpus_per_trial})  # fmt: skip
    if tune.Tuner.can_restore(str(exp)):  # tuner.pkl exists: trusted, checked above
        tuner = tune.Tuner.restore(str(exp), trainable, resume_unfinished=True,
                                   resume_errored=True)  # fmt: skip
    else:
        search_alg, num_samples = None, 1
        if cfg.search is not None:
            from ray.tune.search.optuna import OptunaSearch  # deferred: optional ray, optuna

            search_alg = OptunaSearch(seed=0)
            num_samples = int(cfg.search.get("num_samples", 8))
        tuner = tune.Tuner(
            trainable,
            param_space=_tune_space(cfg),
            tune_config=tune.TuneConfig(
                metric="benchmark_score", mode="max", search_alg=search_alg,
                num_samples=num_samples, max_concurrent_trials=cfg.max_concurrent,
            ),
            run_config=tune.RunConfig(name=cfg.name, storage_path=str(exp.parent), verbose=1),
        )  # fmt: skip
    grid = tuner.fit()
    failed = [(r.path, str(r.error)) for r in grid if r.error is not None]
    if failed:
        raise RuntimeError(f"{len(failed)} sweep trial(s) failed: {failed}")
    results = [{**r.config, **r.metrics} for r in grid]
    text, rows = leaderboard(results)
    atomic_write_text(exp / "leaderboard.md", text)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["policy"])
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(exp / "leaderboard.csv", buf.getvalue())
    return text, rows
