"""Callbacks: clinical evaluation on the validation split (TensorBoard ``clinical/``), progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from tme_env.io import atomic_write_json

__all__ = ["ClinicalEvalCallback", "DiscreteDoses", "TqdmCallback"]


class DiscreteDoses:
    """Wrap a discrete-action model so that it outputs dose fractions (for the trial env)."""

    def __init__(self, model: Any) -> None:
        """Wrap ``model`` (e.g. a DQN trained on ``tme/TumorImmuneDiscrete-v0``)."""
        self.model = model

    def predict(self, observation, state=None, episode_start=None, deterministic=True):  # noqa: ANN001, ANN201
        """Doses of the model's discrete action (`tme_env.envs.DISCRETE_LEVELS`)."""
        from tme_env.envs import DISCRETE_LEVELS

        action, state = self.model.predict(observation, state=state, episode_start=episode_start,
                                           deterministic=deterministic)  # fmt: skip
        return DISCRETE_LEVELS[np.asarray(action, dtype=np.int64)].astype(np.float32), state


class ClinicalEvalCallback(BaseCallback):
    """Every ``eval_every`` steps: a virtual trial of the policy on the validation split.

    The standard regimens are run once (same patients, same seed) and cached; each evaluation
    adds the current policy as an arm and logs, under ``clinical/``: median OS, RMST,
    objective response rate, grade >= 3 neutropenia, fraction of time hot and the benchmark
    score. The best policy by benchmark score is saved as ``best_model.zip``.
    """

    def __init__(self, env_id: str, run_dir: Path, eval_every: int, n_patients: int,
                 seed: int) -> None:  # fmt: skip
        """See the class docstring."""
        super().__init__()
        self.trial_env = (
            "tme/TumorImmuneClinical-v0" if "Clinical" in env_id else "tme/TumorImmune-v0"
        )
        self.discrete = "Discrete" in env_id
        self.run_dir = Path(run_dir)
        self.eval_every = int(eval_every)
        self.n_patients = int(n_patients)
        self.seed = int(seed)
        self._next = self.eval_every
        self._reference = None
        self.best_score = -np.inf
        self.history: list[dict[str, Any]] = []

    def _regimen_arms(self) -> dict:
        if self._reference is None:
            from tme_env import regimens
            from tme_env.trials import run_trial

            obs = "clinical" if "Clinical" in self.trial_env else "full"
            policies = {n: regimens.get(n, observation=obs) for n in regimens.available()}
            self._reference = run_trial(policies, env_id=self.trial_env, split="validation",
                                        n_patients=self.n_patients, seed=self.seed)  # fmt: skip
        return self._reference

    def evaluate(self, model: Any) -> dict[str, Any]:
        """Run the trial arm of ``model`` and return its row of statistics."""
        from tme_env.trials import TrialResult, run_trial, summarise

        ref = self._regimen_arms()
        policy = DiscreteDoses(model) if self.discrete else model
        agent = run_trial({"agent": policy}, env_id=self.trial_env, split="validation",
                          n_patients=self.n_patients, seed=self.seed)  # fmt: skip
        both = TrialResult(ref.env_id, ref.split, ref.n_patients, ref.seed, ref.horizon_days,
                           {**ref.arms, "agent": agent.arms["agent"]})  # fmt: skip
        rows = {r["arm"]: r for r in summarise(both, reference="mtd-chemo")}
        return rows["agent"]

    def _on_step(self) -> bool:
        if self.num_timesteps < self._next:
            return True
        self._next += self.eval_every
        row = self.evaluate(self.model)
        for key, tag in (("median_os_months", "median_os_months"),
                         ("rmst_os_months", "rmst_os_months"),
                         ("objective_response_rate", "response_rate"),
                         ("grade3plus_neutropenia_rate", "grade3_neutropenia_rate"),
                         ("fraction_time_hot", "fraction_time_hot"),
                         ("benchmark_score", "benchmark_score")):  # fmt: skip
            value = row[key]
            if np.isfinite(value):
                self.logger.record(f"clinical/{tag}", float(value))
        self.logger.dump(self.num_timesteps)
        self.history.append({"timesteps": int(self.num_timesteps), **row})
        atomic_write_json(self.run_dir / "evaluations.json", self.history)
        if row["benchmark_score"] > self.best_score:
            self.best_score = row["benchmark_score"]
            self.model.save(self.run_dir / "best_model.zip")
        return True


class TqdmCallback(BaseCallback):
    """A tqdm progress bar over the training timesteps."""

    def __init__(self, total: int) -> None:
        """Bar over ``total`` timesteps."""
        super().__init__()
        self.total = int(total)
        self._bar = None
        self._start = 0

    def _on_training_start(self) -> None:
        from tqdm import tqdm

        self._start = self.num_timesteps  # the model's count when this learn() call began
        self._bar = tqdm(total=self.total, unit="step", desc="training")

    def _on_step(self) -> bool:
        self._bar.n = min(self.num_timesteps - self._start, self.total)
        self._bar.refresh()
        return True

    def _on_training_end(self) -> None:
        self._bar.close()
