"""The benchmark runner: `run_benchmark`, behind ``tme benchmark``.

A *submission* is one policy trained with several seeds. `run_benchmark` runs the protocol's
virtual trial (test split, paired design, every standard regimen as a reference arm, one arm
per seed of every submission; `tme_env.trials.run_trial`), writes its report
(`tme_env.trials.write_report`), and per submission:

* the benchmark score of every seed (`tme_env.trials.report.benchmark_scores`: 0 = no
  treatment, 100 = the best standard regimen, on mean Q-TWiST);
* the interquartile mean (IQM) over seeds with its 95% stratified-bootstrap CI
  (`tme_env.benchmark.statistics.iqm_ci`);
* the paired patient-level bootstrap CI of its Q-TWiST difference to the best standard regimen
  (`tme_env.benchmark.statistics.paired_bootstrap_ci`; per patient, the mean over seeds);
* the secondary endpoints (median OS and PFS, RMST, ORR, grade >= 3 neutropenia, irAEs, the
  fraction of time immune-hot), averaged over seeds;
* a leaderboard row (`tme_env.benchmark.leaderboard`).

**Training budget.** A model file's budget is read from its run folder (``config.yml``:
``train.timesteps``); for objects, pass ``training_steps``. A policy with ``oracle = True``
(`tme_env.benchmark.baselines.OracleMPC`: it reads the env's true state) is scored like any
other but its row says it is an oracle and does not meet the protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tme_env import regimens
from tme_env.agents.loader import recorded_train
from tme_env.benchmark.leaderboard import MARKDOWN_HEADER, leaderboard_row, markdown_row
from tme_env.benchmark.policies import (
    check_spaces,
    expand_spec,
    probe,
    resolve_policy,
    split_spec,
)
from tme_env.benchmark.protocol import (
    BENCHMARK_ENV_IDS,
    BOOTSTRAP_REPS,
    PROTOCOL_N_PATIENTS,
    PROTOCOL_SEED,
    PROTOCOL_SPLIT,
    PROTOCOL_VERSION,
    SUBMISSION_NAME,
)
from tme_env.benchmark.statistics import iqm_ci, paired_bootstrap_ci
from tme_env.clinical import DAYS_PER_MONTH
from tme_env.io import OutputFolder, atomic_write_json, atomic_write_text
from tme_env.trials import run_trial, summarise, write_report

__all__ = ["BenchmarkResult", "run_benchmark"]


@dataclass
class BenchmarkResult:
    """What `run_benchmark` computed.

    Attributes:
        trial: The trial (`tme_env.trials.TrialResult`), references and every seed's arm.
        summary: The rows of `tme_env.trials.summarise` (one per arm).
        rows: One leaderboard row per submission (`leaderboard_row`).
        seeds: Submission name -> the trial arm names of its seeds.
    """

    trial: Any
    summary: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    seeds: dict[str, list[str]] = field(default_factory=dict)

    def q_twist_months(self, name: str) -> np.ndarray:
        """Per test patient, the mean over submission ``name``'s seeds of its Q-TWiST (months)."""
        arms = self.seeds.get(name, [name])
        return np.mean([self.trial.arms[a].q_twist_days for a in arms], axis=0) / DAYS_PER_MONTH


def _group(
    policies: Sequence[str] | Mapping[str, Sequence[Any]], env_id: str, trusted: bool
) -> dict[str, list[tuple[str, Any]]]:
    """Submission name -> [(spec, policy), ...] in the given order."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    if isinstance(policies, Mapping):
        for name, items in policies.items():
            if not SUBMISSION_NAME.match(str(name)):
                raise ValueError(f"submission name {name!r}: use letters, digits and _.+-")
            if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
                items = [items]
            items = [s for item in items
                     for s in (expand_spec(item) if isinstance(item, str) else [item])]
            for item in items:
                if isinstance(item, str):
                    pair = (item, resolve_policy(item, env_id, trusted)[1])
                else:
                    spec = f"{name}=<{type(item).__name__}>"
                    check_spaces(spec, item, env_id)
                    probe(spec, item, env_id)
                    pair = (spec, item)
                groups.setdefault(str(name), []).append(pair)
    else:
        if isinstance(policies, str):
            policies = [policies]
        for spec in [s for given in policies for s in expand_spec(given)]:
            name, policy = resolve_policy(spec, env_id, trusted)
            groups.setdefault(name, []).append((spec, policy))
    if not groups or not all(groups.values()):
        raise ValueError("--policy: give at least one policy to score")
    return groups


def run_benchmark(
    policies: Sequence[str] | Mapping[str, Sequence[Any]],
    env_id: str = "tme/TumorImmuneClinical-v2",
    n_patients: int = PROTOCOL_N_PATIENTS,
    seed: int = PROTOCOL_SEED,
    out: str | Path | None = None,
    trusted: bool = False,
    overwrite: bool = False,
    reps: int = BOOTSTRAP_REPS,
    progress: bool = False,
    training_steps: Mapping[str, int] | None = None,
) -> BenchmarkResult:
    """Score submissions under the protocol (see the module docstring and ``BENCHMARK.md``).

    Args:
        policies: Policy specs (``[NAME=]SPEC``; equal names are the seeds of one
            submission), or submission name -> its seeds (specs or objects with
            ``predict``).
        env_id: The task (`BENCHMARK_ENV_IDS`).
        n_patients: Test patients per arm (the protocol: `PROTOCOL_N_PATIENTS`).
        seed: Measurement-noise seed of the trial (the protocol: `PROTOCOL_SEED`); it also
            seeds the bootstraps, so the same call gives the same rows.
        out: Folder for the report (``OUT/trial/``), ``scores.json``, ``leaderboard.json``
            and ``leaderboard.md``, written atomically; None writes nothing.
        trusted: Load model files fully with SB3, which unpickles them (runs any code in
            them); without it only their weights and JSON fields are read.
        overwrite: Replace an earlier benchmark output in ``out``.
        reps: Bootstrap resamples of every CI.
        progress: Show a progress bar over the arms.
        training_steps: Submission name -> training budget per seed (environment steps), for
            policies given as objects (a model file's is read from its run folder).

    Raises:
        ValueError: On an unknown task, a bad count, a policy that cannot be built or does not
            match the task, a submission named like a standard regimen it is not, or an
            ``out`` that cannot take the output (each message names the bad value).
    """
    if env_id not in BENCHMARK_ENV_IDS:
        raise ValueError(f"--env: {env_id!r} is not a benchmark task; valid: "
                         f"{', '.join(BENCHMARK_ENV_IDS)}")  # fmt: skip
    if isinstance(n_patients, bool) or not isinstance(n_patients, (int, np.integer)) \
            or n_patients < 2:  # fmt: skip
        raise ValueError(f"--n-patients must be an integer >= 2, got {n_patients!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"--seed must be an integer >= 0, got {seed!r}")
    folder = None
    if out is not None:
        folder = OutputFolder(out, what="--out", overwrite=overwrite, kind="benchmark").check()
    try:
        result = _run(policies, env_id, int(n_patients), int(seed), trusted, reps, progress,
                      dict(training_steps or {}))  # fmt: skip
        if folder is not None:
            _write(result, folder)
    except BaseException:
        if folder is not None:
            folder.abort()
        raise
    return result


def _recorded_steps(items: list[tuple[str, Any]]) -> int | None:
    """The smallest training budget the seeds' model files record (None if any is unknown).

    The budget is in simulated weekly env steps: a per-cycle model's decisions times its
    ``cycle_weeks`` (`tme_env.agents.cycle`).
    """
    steps = []
    for spec, _policy in items:
        target = split_spec(spec)[1]
        train = recorded_train(target) if target.endswith(".zip") else {}
        recorded, cycle = train.get("timesteps"), train.get("cycle_weeks") or 1
        if not isinstance(recorded, int) or not isinstance(cycle, int):
            return None
        steps.append(recorded * cycle)
    return min(steps) if steps else None


def _learned(items: list[tuple[str, Any]], name: str) -> bool:
    """Whether a submission is learned, so that the seed count applies.

    Not learned: a standard regimen, or an object that declares ``learned = False`` (a fixed
    schedule, a rule, an oracle).
    """
    if not items:  # a standard regimen submitted by name
        return name not in regimens.available()
    return any(getattr(p, "learned", True) for _spec, p in items)


def _run(policies: Any, env_id: str, n_patients: int, seed: int, trusted: bool, reps: int,
         progress: bool, training_steps: dict[str, int]) -> BenchmarkResult:  # fmt: skip
    groups = _group(policies, env_id, trusted)
    observation = BENCHMARK_ENV_IDS[env_id]
    arms: dict[str, Any] = {n: regimens.get(n, observation=observation)
                            for n in regimens.available()}  # fmt: skip
    seeds: dict[str, list[str]] = {}
    for name, items in groups.items():
        if name in arms:
            if any(split_spec(spec)[1] != name for spec, _ in items):
                raise ValueError(f"--policy: submission {name!r} is named like a standard "
                                 "regimen but is not it; name it NAME=SPEC")  # fmt: skip
            seeds[name] = [name]  # the reference arm itself (deterministic)
            continue
        names = [name] if len(items) == 1 else [f"{name}-s{k}" for k in range(len(items))]
        for arm, (_spec, policy) in zip(names, items, strict=True):
            if arm in arms:
                raise ValueError(f"--policy: seed arm {arm!r} clashes with another arm")
            arms[arm] = policy
        seeds[name] = names
    trial = run_trial(arms, env_id=env_id, split=PROTOCOL_SPLIT, n_patients=n_patients,
                      seed=seed, progress=progress)  # fmt: skip
    summary = summarise(trial, reference="mtd-chemo")
    by_arm = {r["arm"]: r for r in summary}
    standard = [n for n in regimens.available() if n != "no-treatment"]
    best = max(standard, key=lambda n: by_arm[n]["q_twist_months"])
    result = BenchmarkResult(trial, summary, [], seeds)
    for name, arm_names in seeds.items():
        per_seed = [by_arm[a]["benchmark_score"] for a in arm_names]
        point, low, high = iqm_ci(per_seed, reps=reps, seed=seed)
        delta = paired_bootstrap_ci(result.q_twist_months(name), result.q_twist_months(best),
                                    reps=reps, seed=seed)  # fmt: skip
        steps = training_steps.get(name, _recorded_steps(groups.get(name, [])))
        oracle = any(getattr(trial_arm_policy, "oracle", False)
                     for _spec, trial_arm_policy in groups.get(name, []))  # fmt: skip
        result.rows.append(leaderboard_row(
            name, env_id, n_patients, seed, [by_arm[a] for a in arm_names], (point, low, high),
            best, delta, trained=_learned(groups.get(name, []), name),
            training_steps=steps, oracle=oracle,
        ))  # fmt: skip
    return result


def _write(result: BenchmarkResult, folder: Any) -> None:
    """Report, scores and leaderboard into one atomically committed folder."""
    stage = folder.staging()
    write_report(result.trial, OutputFolder(stage / "trial", kind="trial report"),
                 reference="mtd-chemo")  # fmt: skip
    by_arm = {r["arm"]: r for r in result.summary}
    atomic_write_json(stage / "scores.json", {
        "protocol": PROTOCOL_VERSION,
        "env_id": result.trial.env_id,
        "submissions": {
            name: {"seeds": {a: by_arm[a]["benchmark_score"] for a in arms}}
            for name, arms in result.seeds.items()
        },
        "references": {n: by_arm[n]["benchmark_score"] for n in by_arm
                       if not any(n in arms for arms in result.seeds.values())},
    })  # fmt: skip
    atomic_write_json(stage / "leaderboard.json", result.rows)
    lines = [MARKDOWN_HEADER, *(markdown_row(r) for r in result.rows), ""]
    atomic_write_text(stage / "leaderboard.md", "\n".join(lines))
    folder.commit()
