"""Callbacks: clinical evaluation (TensorBoard ``clinical/``), atomic checkpoints, progress."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from tme_env import regimens
from tme_env.agents.agent import DiscreteDoses, scoring_policy
from tme_env.agents.normalize import current_policy, save_model
from tme_env.clinical import DAYS_PER_MONTH
from tme_env.io import atomic_write_json
from tme_env.trials import TrialResult, run_trial, summarise, survival_at

__all__ = ["AtomicCheckpointCallback", "ClinicalEvalCallback", "DiscreteDoses", "TqdmCallback"]

#: Months at which TensorBoard logs the Kaplan-Meier overall survival (``clinical/os_at_12mo``
#: ...): defined whether or not the median is reached, unlike the median itself.
SURVIVAL_MONTHS = (6, 12, 24, 36)
#: The scalars logged under ``clinical/``: row key -> tag. A median not reached (infinite) is
#: not logged at that evaluation; the survival at fixed months always is.
CLINICAL_TAGS = {
    **{f"os_at_{m}mo": f"os_at_{m}mo" for m in SURVIVAL_MONTHS},
    "median_os_months": "median_os_months",
    "median_pfs_months": "median_pfs_months",
    "rmst_os_months": "rmst_os_months",
    "q_twist_months": "q_twist_months",
    "objective_response_rate": "response_rate",
    "grade3plus_neutropenia_rate": "grade3_neutropenia_rate",
    "irae_rate": "irae_rate",
    "irae_grade3plus_rate": "irae_grade3plus_rate",
    "fraction_time_hot": "fraction_time_hot",
    "benchmark_score": "benchmark_score",
}


class ClinicalEvalCallback(BaseCallback):
    """Every ``eval_every`` steps: a virtual trial of the policy on the validation split.

    The standard regimens are run once (same patients, same seed) and cached; each evaluation
    adds the current policy as an arm (named after its algorithm, e.g. ``ppo``) and logs,
    under ``clinical/`` (`CLINICAL_TAGS`): overall survival at 6, 12, 24 and 36 months, median
    OS and PFS (when reached), RMST, mean Q-TWiST (what the benchmark score is built on),
    objective response rate, grade >= 3 neutropenia, irAE rates (any grade and grade >= 3),
    fraction of time hot and the benchmark
    score. The best policy by benchmark score is saved as ``best_model.zip``. The periodic
    evaluations skip the run's last step: `final_evaluation` (called by `train` after
    ``learn``) evaluates and logs the final policy.

    In a resumed run folder the history of ``evaluations.json`` continues (`train` has cut it
    back to the checkpoint's step first), and so does the best score if ``best_model.zip`` is
    there; without it (it came from an abandoned step) the next evaluation saves a new one.
    """

    def __init__(self, env_id: str, run_dir: Path, eval_every: int, n_patients: int,
                 seed: int, blind: tuple[str, ...] = (),
                 cycle_weeks: int | None = None) -> None:  # fmt: skip
        """See the class docstring.

        ``blind``: fields the policy is shown as 0; ``cycle_weeks``: a per-cycle model,
        scored weekly (`tme_env.agents.cycle`).
        """
        super().__init__()
        self.blind = tuple(blind)
        self.cycle_weeks = cycle_weeks
        self.trial_env = (
            "tme/TumorImmuneClinical-v2" if "Clinical" in env_id else "tme/TumorImmune-v2"
        )
        self.run_dir = Path(run_dir)
        self.eval_every = int(eval_every)
        self.n_patients = int(n_patients)
        self.seed = int(seed)
        self._next = self.eval_every
        self._end = None
        self._reference = None
        self.best_score = -np.inf
        self.history: list[dict[str, Any]] = []
        previous = self.run_dir / "evaluations.json"
        if previous.exists():  # a resumed run continues its history and its best score
            self.history = json.loads(previous.read_text())
            scores = [h["benchmark_score"] for h in self.history if h.get("benchmark_score")
                      is not None]  # fmt: skip
            if (self.run_dir / "best_model.zip").exists():
                self.best_score = max(scores, default=-np.inf)

    def _on_training_start(self) -> None:
        self._next = self.num_timesteps + self.eval_every
        self._end = getattr(self.model, "_total_timesteps", None)

    def _regimen_arms(self) -> dict:
        if self._reference is None:
            obs = "clinical" if "Clinical" in self.trial_env else "full"
            policies = {n: regimens.get(n, observation=obs) for n in regimens.available()}
            self._reference = run_trial(policies, env_id=self.trial_env, split="validation",
                                        n_patients=self.n_patients, seed=self.seed)  # fmt: skip
        return self._reference

    def evaluate(self, model: Any) -> dict[str, Any]:
        """Run the trial arm of ``model`` and return its row of statistics.

        The row is `tme_env.trials.summarise`'s, plus ``os_at_<m>mo`` (Kaplan-Meier overall
        survival at ``m`` months, `SURVIVAL_MONTHS`).
        """
        ref = self._regimen_arms()
        name = type(model).__name__.lower()
        # the training statistics, a discrete model's levels, the cycle, the blinded fields
        policy = scoring_policy(current_policy(model), {"blind": self.blind,
                                "cycle_weeks": self.cycle_weeks}, self.trial_env)  # fmt: skip
        agent = run_trial({name: policy}, env_id=self.trial_env, split="validation",
                          n_patients=self.n_patients, seed=self.seed)  # fmt: skip
        arm = agent.arms[name]
        both = TrialResult(ref.env_id, ref.split, ref.n_patients, ref.seed, ref.horizon_days,
                           {**ref.arms, name: arm})  # fmt: skip
        row = {r["arm"]: r for r in summarise(both, reference="mtd-chemo")}[name]
        for m in SURVIVAL_MONTHS:
            row[f"os_at_{m}mo"] = survival_at(arm.os_days, arm.os_event, m * DAYS_PER_MONTH)
        return row

    def _log(self, model: Any, row: dict[str, Any]) -> None:
        for key, tag in CLINICAL_TAGS.items():
            value = row[key]
            if value is not None and np.isfinite(value):
                model.logger.record(f"clinical/{tag}", float(value))
        model.logger.dump(model.num_timesteps)

    def final_evaluation(self, model: Any) -> dict[str, Any]:
        """Evaluate the final policy, log it under ``clinical/`` and return its row.

        The row gets ``timesteps`` and ``patients``; it is also appended to
        ``evaluations.json``.
        """
        row = {"timesteps": int(model.num_timesteps), **self.evaluate(model)}
        self._log(model, row)
        self.history.append(row)
        atomic_write_json(self.run_dir / "evaluations.json", self.history)
        return row

    def _on_step(self) -> bool:
        if self.num_timesteps < self._next:
            return True
        self._next += self.eval_every
        if self._end is not None and self.num_timesteps >= self._end:
            return True  # the final evaluation follows learn()
        row = {"timesteps": int(self.num_timesteps), **self.evaluate(self.model)}
        self._log(self.model, row)
        self.history.append(row)
        atomic_write_json(self.run_dir / "evaluations.json", self.history)
        score = row["benchmark_score"]
        if np.isfinite(score) and score > self.best_score:
            self.best_score = score
            save_model(self.model, self.run_dir / "best_model.zip", self.run_dir)
        return True


class AtomicCheckpointCallback(BaseCallback):
    """Every ``save_freq`` calls, ``RUN/checkpoints/model_<steps>_steps.zip``, saved atomically.

    As SB3's ``CheckpointCallback`` (same names, so `train`'s resume finds them), but each
    file goes through `tme_env.io.atomic_save_model`: a run killed while saving keeps every
    earlier checkpoint complete and leaves no partial file; each SHA-256 is recorded in
    ``RUN/SHA256SUMS``.
    """

    def __init__(self, save_freq: int, run_dir: Path) -> None:
        """Save every ``save_freq`` callback calls (steps of the vectorised env)."""
        super().__init__()
        self.save_freq = int(save_freq)
        self.run_dir = Path(run_dir)

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq == 0:
            path = self.run_dir / "checkpoints" / f"model_{self.num_timesteps}_steps.zip"
            save_model(self.model, path, self.run_dir)
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
        self._start = self.num_timesteps  # the model's count when this learn() call began
        self._bar = tqdm(total=self.total, unit="step", desc="training")

    def _on_step(self) -> bool:
        self._bar.n = min(self.num_timesteps - self._start, self.total)
        self._bar.refresh()
        return True

    def _on_training_end(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the bar (also when training stops on an exception)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
