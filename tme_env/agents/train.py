"""Train SB3 agents on the tme environments: config, run folder, TensorBoard, evaluation.

One function, `train`, does everything `tme train` does:

* hyperparameters from ``tme_env/agents/hyperparams/<algo>.yml`` (a ``default`` block plus
  a block per environment id), overridden by a user YAML file (``config_file``, e.g. a tuned
  one of the repository's ``agents/hyperparams/tuned/``); every key is checked against the
  algorithm's constructor before anything runs (unknown key, wrong type or out of bounds:
  ``ValueError`` naming it; `tme_env.agents.algos.load_hyperparams`);
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
* **Ctrl-C** (KeyboardInterrupt) during training saves ``model.zip`` and a checkpoint of the
  current step, then raises `TrainingInterrupted` (a KeyboardInterrupt that says where they
  are and how many steps were left; ``tme train`` prints the ``--resume`` command and exits
  130);
* resume from a checkpoint or a run folder's latest one (the step count continues; the
  algorithm must be the one the checkpoint was trained with; ``n_envs`` is the run's unless
  a config file is given). Resumed in its own run folder, the run is first cut back to the
  checkpoint's step (`tme_env.agents.resume.truncate_run`: later evaluations, checkpoints
  and models move to ``RUN/abandoned/``), and its TensorBoard events continue in the same
  ``tb_N`` folder with a purge step just after the checkpoint's, so that TensorBoard hides
  the abandoned steps and the curves never go back.

`TrainConfig.validate` checks every setting, the hyperparameters and the resume file before
anything runs or any folder is made (`ValueError` naming the setting).

PPO, A2C and RecurrentPPO train on `tme_env.agents.make_sb3_vec_env` (the batched kernel); SAC and
TD3 too (off-policy, 8 envs); DQN on ``tme/TumorImmuneDiscrete-v2``. Resuming loads the
whole model with SB3, which unpickles the file and runs any code inside it: it needs
``trusted=True`` (``--trust-model``; `tme_env.agents.loader.require_trust`).
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch
import yaml
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat
from stable_baselines3.common.vec_env import VecNormalize
from torch.utils.tensorboard import SummaryWriter

from tme_env import __version__
from tme_env.agents.algos import algo_class, policy_name
from tme_env.agents.blind import BlindObservation, blind_columns
from tme_env.agents.callbacks import AtomicCheckpointCallback, ClinicalEvalCallback, TqdmCallback
from tme_env.agents.config import TrainConfig
from tme_env.agents.loader import require_trust
from tme_env.agents.normalize import (
    normalize_settings,
    read_normalization,
    restore_vec_normalize,
    save_model,
)
from tme_env.agents.resume import (
    checkpoint_path,
    record_missing_checksums,
    recorded_config,
    resolve_resume,
    truncate_run,
)
from tme_env.agents.vec_env import make_sb3_vec_env
from tme_env.io import atomic_write_json, atomic_write_text, deferred_signals

__all__ = ["TrainConfig", "TrainingInterrupted", "train"]


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C); the model and a checkpoint were saved first.

    Attributes:
        run: The run folder (its ``model.zip`` is the interrupted policy).
        checkpoint: The checkpoint of the step reached (resume from it).
        steps: The step count reached.
        remaining: Steps left of the run's budget (``--timesteps`` of the resume command).
    """

    def __init__(self, run: Path, checkpoint: Path, steps: int, remaining: int) -> None:
        """See the class docstring."""
        super().__init__(f"training interrupted at step {steps}; saved {checkpoint}")
        self.run = run
        self.checkpoint = checkpoint
        self.steps = steps
        self.remaining = remaining


class _TensorBoard(TensorBoardOutputFormat):
    """SB3's TensorBoard output with a purge step (a resumed run hides the abandoned steps).

    TensorBoard discards the events of the same folder at or after ``purge_step`` that were
    written before this writer's (`torch.utils.tensorboard.SummaryWriter`'s ``purge_step``).
    """

    def __init__(self, folder: str, purge_step: int | None = None) -> None:  # noqa: D107
        self.writer = SummaryWriter(log_dir=folder, purge_step=purge_step)
        self._is_closed = False


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
        trusted: Trust ``cfg.resume``: resuming needs SB3's full load (optimiser state and
            all), which unpickles the file and runs any code inside it.

    Raises:
        ValueError: On any bad setting, before a folder is made or a step is taken.
        UntrustedModelError: If ``cfg.resume`` is given without ``trusted``.
        TrainingInterrupted: On Ctrl-C during training, once ``model.zip`` and a checkpoint
            are saved.
    """
    hyper = cfg.validate()
    resume = resolve_resume(cfg.resume) if cfg.resume else None
    if resume is not None:
        require_trust(resume, trusted, "resuming training")
    n_envs = int(hyper.pop("n_envs", 8))
    if resume is not None and cfg.config_file is None:  # the run's own number of envs
        recorded = recorded_config(resume).get("hyperparameters") or {}
        n_envs = int(recorded.get("n_envs", n_envs))
    norm = normalize_settings(hyper.pop("normalize", None), _gamma(cfg.algo, hyper))
    torch.set_num_threads(cfg.torch_threads)
    venv = make_sb3_vec_env(cfg.env_id, n_envs=n_envs, seed=cfg.seed,
                            cycle_weeks=cfg.cycle_weeks)  # fmt: skip
    if cfg.blind:
        venv = BlindObservation(venv, blind_columns(cfg.env_id, cfg.blind))
    saved = read_normalization(resume) if resume is not None else None
    if saved is not None and norm is None:  # a resumed model keeps its own normalisation
        norm = {"norm_obs": saved.norm_obs, "norm_reward": saved.norm_reward,
                "clip_obs": saved.clip_obs, "clip_reward": saved.clip_reward,
                "gamma": saved.gamma}  # fmt: skip
    if norm is not None:  # outside the blinding: a blinded column is a constant 0
        venv = VecNormalize(venv, **norm)
        if saved is not None:
            restore_vec_normalize(venv, saved)
    cls = algo_class(cfg.algo)
    policy = policy_name(cfg.algo)
    if resume is not None:
        model = cls.load(resume, env=venv, device="cpu")
    else:
        try:
            model = cls(policy, venv, seed=cfg.seed, device="cpu", **hyper)
        except (AssertionError, ValueError, TypeError) as exc:
            where = f" (after {cfg.config_file})" if cfg.config_file else ""
            raise ValueError(f"{cfg.algo} rejects the hyperparameters{where}: {exc}") from None
    run, fresh = _run_folder(cfg, hyper, n_envs, norm)
    start = int(model.num_timesteps)
    if resume is not None and not fresh:
        _cut_back(run, start)
    try:
        model.tensorboard_log = str(run)
        tb = str(_tb_folder(run))
        purge = start + 1 if resume is not None else None  # the checkpoint's own step stays
        model.set_logger(Logger(tb, [_TensorBoard(tb, purge_step=purge)]))
        atomic_write_text(run / "command.txt", _command_log(run, fresh))
        if fresh:
            meta = {"tme_env_version": __version__, "git_commit": _git_commit(),
                    "started": run.name.split("__")[-1]}  # fmt: skip
            atomic_write_json(run / "meta.json", meta)
        evaluator = ClinicalEvalCallback(cfg.env_id, run, cfg.eval_interval, cfg.eval_patients,
                                         cfg.seed, blind=cfg.blind,
                                         cycle_weeks=cfg.cycle_weeks)  # fmt: skip
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
    try:
        model.learn(total_timesteps=cfg.timesteps, callback=CallbackList(callbacks),
                    reset_num_timesteps=resume is None, tb_log_name="tb")  # fmt: skip
    except KeyboardInterrupt:
        for cb in callbacks:
            if isinstance(cb, TqdmCallback):
                cb.close()
        raise _save_interrupted(model, run) from None
    save_model(model, run / "model.zip", run)
    final = evaluator.final_evaluation(model)
    atomic_write_json(run / "evaluation.json", final)
    return run


def _save_interrupted(model: Any, run: Path) -> TrainingInterrupted:
    """Save ``model.zip`` and a checkpoint of an interrupted run; the exception to raise.

    A second Ctrl-C while saving waits for the save (a second or two), then is dropped: the
    run is stopping anyway.
    """
    steps = int(model.num_timesteps)
    checkpoint = checkpoint_path(run, steps)
    try:
        with deferred_signals():
            save_model(model, checkpoint, run)
            save_model(model, run / "model.zip", run)
    except KeyboardInterrupt:
        pass  # the held Ctrl-C, delivered once both files and their entries were written
    remaining = max(int(getattr(model, "_total_timesteps", steps)) - steps, 0)
    return TrainingInterrupted(run, checkpoint, steps, remaining)


def _cut_back(run: Path, steps: int) -> None:
    """A run resumed in its own folder: move the abandoned steps aside, fill lost checksums."""
    moved = truncate_run(run, steps)
    if moved is not None:
        warnings.warn(f"resuming {run} at step {steps}: what it wrote after that step moved to "
                      f"{moved}", stacklevel=3)  # fmt: skip
    for path in record_missing_checksums(run):
        warnings.warn(f"{path} had no entry in {run / 'SHA256SUMS'} (the run was killed while "
                      "saving it); its SHA-256 is recorded now", stacklevel=3)  # fmt: skip


def _tb_folder(run: Path) -> Path:
    """The run's TensorBoard folder: its latest ``tb_N`` (a resumed run continues there)."""
    numbered = [int(p.name[3:]) for p in run.glob("tb_*") if p.name[3:].isdigit()]
    return run / f"tb_{max(numbered, default=1)}"


def _gamma(algo: str, hyper: dict[str, Any]) -> float:
    """The run's discount: the hyperparameter, or the algorithm's own default."""
    if "gamma" in hyper:
        return float(hyper["gamma"])
    return float(inspect.signature(algo_class(algo).__init__).parameters["gamma"].default)


def _run_folder(cfg: TrainConfig, hyper: dict[str, Any], n_envs: int,
                norm: dict[str, Any] | None = None) -> tuple[Path, bool]:  # fmt: skip
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
         "hyperparameters": {**hyper, "n_envs": n_envs,
                             **({"normalize": {k: v for k, v in norm.items() if k != "gamma"}}
                                if norm else {})}}, sort_keys=False
    ))  # fmt: skip
    return run, True


def _command_log(run: Path, fresh: bool) -> str:
    """``command.txt``: this command, after the earlier ones of a resumed run."""
    old = run / "command.txt"
    before = old.read_text() if not fresh and old.exists() else ""
    return before + " ".join(sys.argv) + "\n"
