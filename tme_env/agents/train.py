"""Train SB3 agents on the tme environments: config, run folder, TensorBoard, evaluation.

One function, `train`, does everything `tme train` does:

* hyperparameters from ``tme_env/agents/hyperparams/<algo>.yml`` (a ``default`` block plus
  a block per environment id), overridden by a user YAML file; every key is checked against
  the algorithm's constructor before anything runs (unknown key or wrong type: ``ValueError``
  naming it);
* a run folder ``runs/<env>__<algo>__<seed>__<time>/`` with the resolved config
  (``config.yml``: the `TrainConfig` under ``train``, whose ``algo`` is the algorithm
  `tme_env.agents.loader.load_sb3_model` loads the run's models with, and the
  hyperparameters under ``hyperparameters``), the command (``command.txt``), package version
  and git commit (``meta.json``), TensorBoard events, checkpoints, ``best_model.zip``,
  ``model.zip`` and the final evaluation (``evaluation.json``);
* periodic clinical evaluation on the ``validation`` split (`ClinicalEvalCallback`): median
  OS, RMST, response rate, grade >= 3 neutropenia, time immune-hot and the benchmark score,
  logged under ``clinical/`` in TensorBoard;
* resume from a checkpoint (the step count continues).

PPO, A2C and RecurrentPPO train on `tme_env.make_sb3_vec_env` (the batched kernel); SAC and
TD3 too (off-policy, 8 envs); DQN on ``tme/TumorImmuneDiscrete-v0``. Loading a model file
runs pickle: load only files you trust.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tme_env.io import atomic_write_json

__all__ = ["ALGOS", "TrainConfig", "algo_class", "load_hyperparams", "train"]

HYPERPARAMS = Path(__file__).parent / "hyperparams"
#: Algorithms and the environments they can train on.
ALGOS = ("ppo", "a2c", "sac", "td3", "dqn", "recurrentppo")
_DISCRETE = ("dqn",)
#: Keys of the YAML blocks that are not constructor arguments.
_EXTRA_KEYS = {"n_envs": int}


def algo_class(algo: str) -> type:
    """The SB3 (or sb3-contrib) class of ``algo``, one of `ALGOS` (imports SB3)."""
    if algo == "recurrentppo":
        from sb3_contrib import RecurrentPPO

        return RecurrentPPO
    import stable_baselines3 as sb3

    return getattr(sb3, algo.upper())


def load_hyperparams(algo: str, env_id: str, config_file: str | None = None) -> dict[str, Any]:
    """Resolve hyperparameters: ``default`` < the env id's block < the user's file.

    Raises:
        ValueError: On an unknown algorithm, an unknown key or a value of the wrong type (the
            message names the key and the file).
    """
    if algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; available: {', '.join(ALGOS)}")
    sources = [HYPERPARAMS / f"{algo}.yml"] + ([Path(config_file)] if config_file else [])
    resolved: dict[str, Any] = {}
    cls = algo_class(algo)
    sig = inspect.signature(cls.__init__).parameters
    for path in sources:
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"cannot read config {str(path)!r}: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of env id to hyperparameters")
        from tme_env.envs import ENV_IDS

        for top in data:
            if top != "default" and top not in ENV_IDS:
                raise ValueError(
                    f"{path}: unknown block {top!r}; blocks are 'default' or an env id "
                    f"({', '.join(ENV_IDS)})"
                )
        blocks = [data.get("default") or {}, data.get(env_id) or {}]
        for block in blocks:
            if not isinstance(block, dict):
                raise ValueError(f"{path}: a block must be a mapping, got {block!r}")
            for key, value in block.items():
                _check_key(algo, sig, key, value, path)
                resolved[key] = value
    return resolved


def _check_key(algo: str, sig: dict, key: str, value: Any, path: Path) -> None:
    if key in _EXTRA_KEYS:
        expected: type | None = _EXTRA_KEYS[key]
    elif key in sig and key not in ("self", "policy", "env"):
        default = sig[key].default
        expected = type(default) if default not in (inspect.Parameter.empty, None) else None
    else:
        valid = sorted(k for k in sig if k not in ("self", "policy", "env")) + list(_EXTRA_KEYS)
        raise ValueError(
            f"{path}: unknown {algo} hyperparameter {key!r}; valid: {', '.join(valid)}"
        )
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if (
        expected is not None
        and expected in (int, float, bool, str)
        and not isinstance(value, expected)
    ):
        raise ValueError(
            f"{path}: hyperparameter {key!r} must be {expected.__name__}, got {value!r}"
        )


@dataclass
class TrainConfig:
    """Settings of one training run (see `train`)."""

    algo: str = "ppo"
    env_id: str = "tme/TumorImmune-v0"
    timesteps: int = 200_000
    seed: int = 0
    config_file: str | None = None
    out: str = "runs"
    eval_every: int = 50_000
    eval_patients: int = 200
    checkpoint_every: int = 100_000
    resume: str | None = None
    progress: bool = True


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).parent).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None


def train(cfg: TrainConfig) -> Path:
    """Train one agent; return its run folder (see the module docstring)."""
    from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback

    import tme_env
    from tme_env.agents.callbacks import ClinicalEvalCallback, TqdmCallback

    hyper = load_hyperparams(cfg.algo, cfg.env_id, cfg.config_file)
    if cfg.algo in _DISCRETE and "Discrete" not in cfg.env_id:
        raise ValueError(f"{cfg.algo} needs a discrete env, e.g. tme/TumorImmuneDiscrete-v0")
    if cfg.algo not in _DISCRETE and "Discrete" in cfg.env_id:
        raise ValueError(f"{cfg.algo} needs a continuous env, e.g. tme/TumorImmune-v0")
    n_envs = int(hyper.pop("n_envs", 8))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(cfg.out) / f"{cfg.env_id.replace('/', '_')}__{cfg.algo}__{cfg.seed}__{stamp}"
    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    run, k = base, 1
    while True:  # two runs started in the same second get distinct folders
        try:
            run.mkdir()
            break
        except FileExistsError:
            k += 1
            run = base.with_name(f"{base.name}-{k}")
    (run / "config.yml").write_text(yaml.safe_dump(
        {"train": cfg.__dict__, "hyperparameters": {**hyper, "n_envs": n_envs}}, sort_keys=False
    ))  # fmt: skip
    (run / "command.txt").write_text(" ".join(sys.argv) + "\n")
    atomic_write_json(run / "meta.json", {"tme_env_version": tme_env.__version__,
                                    "git_commit": _git_commit(), "started": stamp})  # fmt: skip
    venv = tme_env.make_sb3_vec_env(cfg.env_id, n_envs=n_envs, seed=cfg.seed)
    cls = algo_class(cfg.algo)
    policy = "MlpLstmPolicy" if cfg.algo == "recurrentppo" else "MlpPolicy"
    if cfg.resume:
        model = cls.load(cfg.resume, env=venv, device="cpu", tensorboard_log=str(run))
    else:
        model = cls(policy, venv, seed=cfg.seed, device="cpu", tensorboard_log=str(run), **hyper)
    evaluator = ClinicalEvalCallback(cfg.env_id, run, cfg.eval_every, cfg.eval_patients,
                                     cfg.seed)  # fmt: skip
    callbacks = [
        evaluator,
        CheckpointCallback(
            max(cfg.checkpoint_every // n_envs, 1), str(run / "checkpoints"), name_prefix="model"
        ),  # fmt: skip
    ]
    if cfg.progress:
        callbacks.append(TqdmCallback(cfg.timesteps))
    model.learn(total_timesteps=cfg.timesteps, callback=CallbackList(callbacks),
                reset_num_timesteps=not cfg.resume, tb_log_name="tb")  # fmt: skip
    model.save(run / "model.zip")
    final = evaluator.evaluate(model)
    final["timesteps"] = int(model.num_timesteps)
    atomic_write_json(run / "evaluation.json", final)
    return run
