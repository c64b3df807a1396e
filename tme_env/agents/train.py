"""Train SB3 agents on the tme environments: config, run folder, TensorBoard, evaluation.

One function, `train`, does everything `tme train` does:

* hyperparameters from ``tme_env/agents/hyperparams/<algo>.yml`` (a ``default`` block plus
  a block per environment id), overridden by a user YAML file (``config_file``, e.g. a tuned
  one of the repository's ``agents/hyperparams/tuned/``); every key is checked against the
  algorithm's constructor before anything runs (unknown key or wrong type: ``ValueError``
  naming it; `tme_env.agents.algos.load_hyperparams`);
* a run folder ``runs/<env>__<algo>__<seed>__<time>/`` with the resolved config
  (``config.yml``: the `TrainConfig` under ``train``, whose ``algo`` is the algorithm
  `tme_env.agents.loader.load_sb3_model` loads the run's models with, and the
  hyperparameters under ``hyperparameters``), the command (``command.txt``), package version
  and git commit (``meta.json``), TensorBoard events, checkpoints, ``best_model.zip``,
  ``model.zip`` and the final evaluation (``evaluation.json``);
* periodic clinical evaluation on the ``validation`` split (`ClinicalEvalCallback`): median
  OS, RMST, response rate, grade >= 3 neutropenia, time immune-hot and the benchmark score,
  logged under ``clinical/`` in TensorBoard;
* a final evaluation at the end of every run, logged under the same ``clinical/`` tags and
  written to ``evaluation.json`` (the periodic ones, every ``eval_every`` steps, default a
  quarter of the run, go to ``evaluations.json``);
* every model written atomically (`tme_env.io.atomic_save_model`: a run killed while saving
  keeps the previous complete file) with its SHA-256 in the run folder's ``SHA256SUMS``;
* resume from a checkpoint (the step count continues; the algorithm must be the one the
  checkpoint was trained with).

`TrainConfig.validate` checks every setting, the hyperparameters and the resume file before
anything runs or any folder is made (`ValueError` naming the setting).

PPO, A2C and RecurrentPPO train on `tme_env.agents.make_sb3_vec_env` (the batched kernel); SAC and
TD3 too (off-policy, 8 envs); DQN on ``tme/TumorImmuneDiscrete-v1``. Loading a model file
runs pickle: load only files you trust.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from stable_baselines3.common.callbacks import CallbackList

from tme_env import __version__
from tme_env.agents.algos import ALGOS, DISCRETE_ALGOS, algo_class, load_hyperparams, policy_name
from tme_env.agents.blind import BlindObservation, blind_columns
from tme_env.agents.callbacks import AtomicCheckpointCallback, ClinicalEvalCallback, TqdmCallback
from tme_env.agents.loader import model_algo, warn_before_loading
from tme_env.agents.vec_env import make_sb3_vec_env
from tme_env.envs import ENV_IDS
from tme_env.io import atomic_save_model, atomic_write_json, atomic_write_text

__all__ = ["TrainConfig", "train"]


@dataclass
class TrainConfig:
    """Settings of one training run (see `train`).

    Attributes:
        algo: One of `ALGOS`.
        env_id: A registered ``tme/`` id.
        timesteps: Environment steps to train for (>= 1).
        seed: Seed of the model and the environments (>= 0).
        config_file: A YAML file overriding the hyperparameters.
        out: Parent folder of the run folder.
        eval_every: Steps between validation evaluations; None: a quarter of ``timesteps``.
            A final evaluation always runs at the end.
        eval_patients: Validation patients per evaluation (>= 1).
        checkpoint_every: Steps between checkpoints.
        resume: A model ``.zip`` to continue training from.
        run_dir: Continue in this existing run folder instead of making a new one (resume).
        progress: Show a progress bar.
        blind: Clinical observation fields the agent never sees (they read 0 in training
            and in every evaluation; `tme_env.agents.blind`), e.g. ``MONITORING`` for the
            value-of-information ablation. Recorded in ``config.yml``.
    """

    algo: str = "ppo"
    env_id: str = "tme/TumorImmune-v1"
    timesteps: int = 200_000
    seed: int = 0
    config_file: str | None = None
    out: str = "runs"
    eval_every: int | None = None
    eval_patients: int = 200
    checkpoint_every: int = 100_000
    resume: str | None = None
    run_dir: str | None = None
    progress: bool = True
    blind: tuple[str, ...] = ()

    @property
    def eval_interval(self) -> int:
        """Steps between periodic evaluations (``eval_every``, or a quarter of the run)."""
        if self.eval_every is not None:
            return int(self.eval_every)
        return max(1, math.ceil(self.timesteps / 4))

    def validate(self) -> dict[str, Any]:
        """Check every setting before anything runs; return the resolved hyperparameters.

        Raises:
            ValueError: Naming the setting and the bad value (an unknown algorithm or env,
                a count below its minimum, an unreadable or wrong config, a missing resume
                file or one trained with another algorithm, an unwritable ``out``).
        """
        if self.algo not in ALGOS:
            raise ValueError(
                f"algo: unknown algorithm {self.algo!r}; available: {', '.join(ALGOS)}"
            )
        if self.env_id not in ENV_IDS:
            raise ValueError(f"env_id: unknown env {self.env_id!r}; valid: {', '.join(ENV_IDS)}")
        for name, least in (("timesteps", 1), ("seed", 0), ("eval_every", 1),
                            ("eval_patients", 1), ("checkpoint_every", 1)):  # fmt: skip
            v = getattr(self, name)
            if v is None and name == "eval_every":
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")
        if self.algo in DISCRETE_ALGOS and "Discrete" not in self.env_id:
            raise ValueError(f"{self.algo} needs a discrete env, e.g. tme/TumorImmuneDiscrete-v1")
        if self.algo not in DISCRETE_ALGOS and "Discrete" in self.env_id:
            raise ValueError(f"{self.algo} needs a continuous env, e.g. tme/TumorImmune-v1")
        if self.config_file is not None and not Path(self.config_file).is_file():
            raise ValueError(f"config_file {self.config_file!r}: file not found"
                             f"{_published_hint(self.config_file)}")  # fmt: skip
        blind_columns(self.env_id, self.blind)  # raises on a bad field or a non-clinical env
        hyper = load_hyperparams(self.algo, self.env_id, self.config_file)
        if self.resume is not None:
            self._check_resume()
        if self.run_dir is not None and not (Path(self.run_dir) / "config.yml").is_file():
            raise ValueError(f"run_dir {self.run_dir!r} is not a run folder (no config.yml)")
        out = Path(self.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"out {self.out!r} is a file, not a folder")
        existing = next((p for p in (out, *out.parents) if p.exists()), Path("."))
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"out {self.out!r}: no permission to write in {str(existing)!r}")
        return hyper

    def _check_resume(self) -> None:
        path = Path(self.resume)
        if not path.is_file():
            raise ValueError(f"resume {self.resume!r}: file not found")
        algo = model_algo(path)
        if algo != self.algo:
            raise ValueError(
                f"resume {self.resume!r} is a {algo} model; it cannot continue as {self.algo} "
                f"(pass algo {algo!r})"
            )


def _published_hint(path: str) -> str:
    """For a missing ``agents/...`` file: where the published hyperparameters live."""
    if Path(path).parts[:1] != ("agents",):
        return ""
    return (f" in {str(Path.cwd())!r}; the tuned and rl_zoo3 hyperparameters are published in "
            "the repository's top-level agents/ folder, not installed with the package: run "
            "from a checkout's root or give the file's full path")  # fmt: skip


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).parent).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None


def train(cfg: TrainConfig, trusted: bool = False) -> Path:
    """Train one agent; return its run folder (see the module docstring).

    Args:
        cfg: The settings (checked first: `TrainConfig.validate`).
        trusted: Skip the warning before loading ``cfg.resume`` (pickle runs its code).

    Raises:
        ValueError: On any bad setting, before a folder is made or a step is taken.
    """
    hyper = cfg.validate()
    n_envs = int(hyper.pop("n_envs", 8))
    venv = make_sb3_vec_env(cfg.env_id, n_envs=n_envs, seed=cfg.seed)
    if cfg.blind:
        venv = BlindObservation(venv, blind_columns(cfg.env_id, cfg.blind))
    cls = algo_class(cfg.algo)
    policy = policy_name(cfg.algo)
    if cfg.resume:
        warn_before_loading(cfg.resume, trusted)
        model = cls.load(cfg.resume, env=venv, device="cpu")
    else:
        try:
            model = cls(policy, venv, seed=cfg.seed, device="cpu", **hyper)
        except (AssertionError, ValueError, TypeError) as exc:
            where = f" (after {cfg.config_file})" if cfg.config_file else ""
            raise ValueError(f"{cfg.algo} rejects the hyperparameters{where}: {exc}") from None
    run, fresh = _run_folder(cfg, hyper, n_envs)
    try:
        model.tensorboard_log = str(run)
        atomic_write_text(run / "command.txt", _command_log(run, fresh))
        if fresh:
            meta = {"tme_env_version": __version__, "git_commit": _git_commit(),
                    "started": run.name.split("__")[-1]}  # fmt: skip
            atomic_write_json(run / "meta.json", meta)
        evaluator = ClinicalEvalCallback(cfg.env_id, run, cfg.eval_interval, cfg.eval_patients,
                                         cfg.seed, blind=cfg.blind)  # fmt: skip
        callbacks = [
            evaluator,
            AtomicCheckpointCallback(max(cfg.checkpoint_every // n_envs, 1), run),
        ]
        if cfg.progress:
            callbacks.append(TqdmCallback(cfg.timesteps))
    except BaseException:
        if fresh:
            shutil.rmtree(run, ignore_errors=True)  # nothing trained yet: no run to keep
        raise
    model.learn(total_timesteps=cfg.timesteps, callback=CallbackList(callbacks),
                reset_num_timesteps=not cfg.resume, tb_log_name="tb")  # fmt: skip
    atomic_save_model(model, run / "model.zip", run)
    final = evaluator.final_evaluation(model)
    atomic_write_json(run / "evaluation.json", final)
    return run


def _run_folder(cfg: TrainConfig, hyper: dict[str, Any], n_envs: int) -> tuple[Path, bool]:
    """The run folder (a new one, or ``cfg.run_dir``) and whether it is new."""
    if cfg.run_dir is not None:
        return Path(cfg.run_dir), False
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
    atomic_write_text(run / "config.yml", yaml.safe_dump(
        {"train": {**cfg.__dict__, "blind": list(cfg.blind)},
         "hyperparameters": {**hyper, "n_envs": n_envs}}, sort_keys=False
    ))  # fmt: skip
    return run, True


def _command_log(run: Path, fresh: bool) -> str:
    """``command.txt``: this command, after the earlier ones of a resumed run."""
    old = run / "command.txt"
    before = old.read_text() if not fresh and old.exists() else ""
    return before + " ".join(sys.argv) + "\n"
