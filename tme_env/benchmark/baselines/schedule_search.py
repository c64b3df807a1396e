"""The best fixed schedule: a black-box search over the fixed-schedule family.

The family is `tme_env.regimens.family.FixedSchedule` with its continuous settings free:

=================  ==============================================  ===========================
setting            values                                          when
=================  ==============================================  ===========================
``chemo_cycles``   0 .. 6 q3w platinum-doublet cycles              always
``chemo_dose``     0.25 .. 1.0 (step 0.05) of the full dose        ``chemo_cycles > 0``
``maintenance``    pemetrexed maintenance (0.5) q3w afterwards     ``chemo_cycles > 0``
``anti_pd1``       weekly / q3w / q6w / none                       always
``inhibitor``      continuous / chemo-weeks / none                 always
``inhibitor_dose`` 0.1 .. 1.0 (step 0.05)                          ``inhibitor != "none"``
=================  ==============================================  ===========================

The env's label rules still apply to every member (6 platinum cycles at most, 35 anti-PD-1
doses or 24 months, irAE holds and steroid courses).

`search_fixed_schedule` runs optuna's TPE sampler (seeded; the 36 members of the study grid
`FixedSchedule.grid` are evaluated first, so the search starts from the grid's best) with
the objective the benchmark scores: the mean Q-TWiST (`tme_env.clinical.q_twist_days`) of
``n_train`` patients of the **train** split in the task's env. The ``top_k`` best are then
re-evaluated on ``n_validation`` **validation** patients and the best there is selected; the
test split is never touched. Each evaluation is a paired trial arm (same patients and noise
seeds for every candidate), so the search is deterministic given its seed.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tme_env.benchmark.protocol import BENCHMARK_ENV_IDS
from tme_env.clinical import DAYS_PER_MONTH
from tme_env.io import atomic_write_json
from tme_env.regimens.family import FixedSchedule
from tme_env.trials import run_trial

__all__ = ["ScheduleSearchResult", "schedule_from_params", "search_fixed_schedule"]

_PD1 = ("weekly", "q3w", "q6w", "none")
_INHIBITOR = ("continuous", "chemo-weeks", "none")


def schedule_from_params(params: dict[str, Any], observation: str = "clinical") -> FixedSchedule:
    """The family member of a trial's parameters (absent conditional ones at their default)."""
    cycles = int(params["chemo_cycles"])
    return FixedSchedule(
        chemo_cycles=cycles,
        chemo_dose=float(params.get("chemo_dose", 1.0)) if cycles else 1.0,
        maintenance=bool(params.get("maintenance", True)) if cycles else False,
        anti_pd1=str(params["anti_pd1"]),
        inhibitor=str(params["inhibitor"]),
        inhibitor_dose=float(params.get("inhibitor_dose", 1.0))
        if params["inhibitor"] != "none" else 1.0,
        observation=observation,
    )  # fmt: skip


def _suggest(trial: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"chemo_cycles": trial.suggest_int("chemo_cycles", 0, 6)}
    if params["chemo_cycles"]:
        params["chemo_dose"] = trial.suggest_float("chemo_dose", 0.25, 1.0, step=0.05)
        params["maintenance"] = trial.suggest_categorical("maintenance", [True, False])
    params["anti_pd1"] = trial.suggest_categorical("anti_pd1", list(_PD1))
    params["inhibitor"] = trial.suggest_categorical("inhibitor", list(_INHIBITOR))
    if params["inhibitor"] != "none":
        params["inhibitor_dose"] = trial.suggest_float("inhibitor_dose", 0.1, 1.0, step=0.05)
    return params


def _grid_params() -> list[dict[str, Any]]:
    out = []
    for s in FixedSchedule.grid():
        p: dict[str, Any] = {"chemo_cycles": s.chemo_cycles}
        if s.chemo_cycles:
            p.update(chemo_dose=1.0, maintenance=True)
        p.update(anti_pd1=s.anti_pd1, inhibitor=s.inhibitor)
        if s.inhibitor != "none":
            p["inhibitor_dose"] = 1.0
        out.append(p)
    return out


@dataclass
class ScheduleSearchResult:
    """What `search_fixed_schedule` found.

    Attributes:
        task: The env id the schedules were evaluated in.
        best: The selected schedule (best on validation among the train top ``k``).
        train_q_twist_months: Its mean Q-TWiST on the train patients.
        validation_q_twist_months: Its mean Q-TWiST on the validation patients.
        top: The train top ``k``: parameters, name, train and validation Q-TWiST (months).
        trials: Every evaluated member: parameters, name and train Q-TWiST (months).
        n_train: Train patients per evaluation; ``n_validation``: validation patients.
        patient_episodes: Simulated patient-episodes of the whole search (train + validation).
        seed: Seed of the sampler and of the trials' measurement noise.
    """

    task: str
    best: FixedSchedule
    train_q_twist_months: float
    validation_q_twist_months: float
    top: list[dict[str, Any]]
    trials: list[dict[str, Any]]
    n_train: int
    n_validation: int
    patient_episodes: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable (the schedule as its fields)."""
        d = dataclasses.asdict(self)
        d["best"] = dataclasses.asdict(self.best)
        d["best_name"] = self.best.name
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScheduleSearchResult:
        """Inverse of `to_dict`."""
        d = dict(d)
        d.pop("best_name", None)
        d["best"] = FixedSchedule(**d["best"])
        return cls(**d)

    def save(self, path: str | Path) -> None:
        """Write `to_dict` as JSON, atomically."""
        atomic_write_json(Path(path), self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> ScheduleSearchResult:
        """Read a result written by `save`."""
        return cls.from_dict(json.loads(Path(path).read_text()))


def _mean_q(policies: dict[str, FixedSchedule], task: str, split: str, n: int,
            seed: int) -> dict[str, float]:  # fmt: skip
    trial = run_trial(policies, env_id=task, split=split, n_patients=n, seed=seed)
    return {k: float(np.mean(a.q_twist_days) / DAYS_PER_MONTH) for k, a in trial.arms.items()}


def search_fixed_schedule(
    task: str = "tme/TumorImmuneClinical-v2",
    n_trials: int = 150,
    n_train: int = 200,
    n_validation: int = 300,
    top_k: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> ScheduleSearchResult:
    """Search the family for the best fixed schedule (see the module docstring).

    Args:
        task: A benchmark env id (`tme_env.benchmark.BENCHMARK_ENV_IDS`).
        n_trials: Evaluations in all, the 36 grid members included (>= 36).
        n_train: Train patients per evaluation.
        n_validation: Validation patients for re-ranking the top ``top_k``.
        top_k: Train best re-ranked on validation.
        seed: Seed of the sampler and of the measurement noise.
        progress: Show optuna's progress bar.

    Raises:
        ValueError: On an unknown task or a bad count.
        ImportError: Without optuna (``pip install 'tme-env[search]'``).
    """
    if task not in BENCHMARK_ENV_IDS:
        raise ValueError(f"task {task!r} is not a benchmark task; valid: "
                         f"{', '.join(BENCHMARK_ENV_IDS)}")  # fmt: skip
    grid = _grid_params()
    for name, v, least in (("n_trials", n_trials, len(grid)), ("n_train", n_train, 2),
                           ("n_validation", n_validation, 2), ("top_k", top_k, 1),
                           ("seed", seed, 0)):  # fmt: skip
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")
    try:
        import optuna  # deferred: an optional extra ([search]), needed only by the search
    except ImportError as exc:  # pragma: no cover - optuna is in the dev and search extras
        raise ImportError("the schedule search needs optuna: pip install 'tme-env[search]'") \
            from exc  # fmt: skip
    observation = BENCHMARK_ENV_IDS[task]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))  # fmt: skip
    for p in grid:
        study.enqueue_trial(p)
    trials: list[dict[str, Any]] = []
    seen: dict[str, float] = {}

    def objective(trial: Any) -> float:
        params = _suggest(trial)
        sched = schedule_from_params(params, observation)
        if sched.name not in seen:  # TPE may propose a member twice: evaluate once
            seen[sched.name] = _mean_q({"s": sched}, task, "train", n_train, seed)["s"]
            trials.append({"params": params, "name": sched.name,
                           "train_q_twist_months": seen[sched.name]})  # fmt: skip
        return seen[sched.name]

    study.optimize(objective, n_trials=n_trials, show_progress_bar=progress)
    ranked = sorted(trials, key=lambda t: -t["train_q_twist_months"])[:top_k]
    candidates = {f"c{i}": schedule_from_params(t["params"], observation)
                  for i, t in enumerate(ranked)}  # fmt: skip
    val = _mean_q(candidates, task, "validation", n_validation, seed)
    for i, t in enumerate(ranked):
        t["validation_q_twist_months"] = val[f"c{i}"]
    pick = max(range(len(ranked)), key=lambda i: (val[f"c{i}"], -i))
    best = candidates[f"c{pick}"]
    return ScheduleSearchResult(
        task=task, best=best, train_q_twist_months=ranked[pick]["train_q_twist_months"],
        validation_q_twist_months=val[f"c{pick}"], top=ranked, trials=trials, n_train=n_train,
        n_validation=n_validation, patient_episodes=len(trials) * n_train
        + len(ranked) * n_validation, seed=seed,
    )  # fmt: skip
