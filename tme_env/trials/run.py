"""Running trial arms: policies through the env (`run_trial`), fixed schedules (`run_schedule`).

The front door of the trials: both return `tme_env.trials.ArmOutcomes` (`run_trial` inside a
`TrialResult`), with the clinical endpoints derived by
`tme_env.trials.outcomes.survival_outcomes`. `run_trial` runs each arm as one batch
(`tme_env.trials.arms`) or, given a shard size or the Ray backend, in patient shards
(`tme_env.trials.shards`); `tme_env.trials.streaming.stream_trial` is the same trial with
flat memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tme_env import clinical
from tme_env.clinical import HORIZON_DAYS
from tme_env.patients import Cohort
from tme_env.simulator import simulate_batch
from tme_env.trials.arms import TRIAL_ENV_IDS, run_arm
from tme_env.trials.outcomes import (
    WEEK_DAYS,
    ArmOutcomes,
    TrialResult,
    schedule_doses,
    survival_outcomes,
    trajectory_outcomes,
)
from tme_env.trials.shards import sharded_trial

__all__ = ["TRIAL_ENV_IDS", "run_schedule", "run_trial"]


def run_trial(
    policies: dict[str, Any],
    env_id: str = "tme/TumorImmune-v2",
    split: str = "test",
    n_patients: int = 500,
    seed: int = 0,
    progress: bool = False,
    backend: str = "local",
    shard_size: int | None = None,
    address: str | None = None,
) -> TrialResult:
    """Treat the same ``n_patients`` of ``split`` with every policy, through the vector env.

    Paired design: each arm sees the same patients and the same measurement-noise seeds. The
    arms are env arms (`ArmOutcomes` without trajectories). Patient ``i`` of the split gets
    noise seed ``seed + i``, so the outcomes are the same bit for bit whatever the backend,
    shard size or number of workers.

    Args:
        policies: Arm name -> object with SB3's ``predict(obs, state, episode_start,
            deterministic)`` (a regimen, a trained SB3 model, ...). A policy with a
            ``bind_env(venv)`` method (`tme_env.benchmark.baselines.OracleMPC`) is given the
            vector env of its arm after the reset, before its first step.
        env_id: A ``tme/TumorImmune*`` id (its observation mode is what the policies see).
        split: Cohort split.
        n_patients: Patients per arm (the same in every arm).
        seed: Seed of the measurement noise (the same in every arm).
        progress: Show a progress bar over the arms (over the shards when sharded).
        backend: ``"local"`` (this process) or ``"ray"`` (one Ray task per shard; needs the
            ``[ray]`` extra; see `tme_env.trials.shards`).
        shard_size: Patients per shard; None runs each arm as one batch locally and uses
            `tme_env.trials.shards.DEFAULT_SHARD_SIZE` on Ray.
        address: Ray cluster address (``"auto"``, ``"ray://host:10001"``); None starts a
            local Ray or joins the one this process already has.

    Raises:
        ValueError: On an unknown env id or backend, an empty policy set or a bad shard size.
    """
    if env_id not in TRIAL_ENV_IDS:
        raise ValueError(f"unknown trial env {env_id!r}; valid: {', '.join(TRIAL_ENV_IDS)}")
    if not policies:
        raise ValueError("give at least one policy")
    if backend != "local" or shard_size is not None:
        return sharded_trial(policies, env_id, split, n_patients, seed, backend=backend,
                             shard_size=shard_size, address=address, progress=progress)  # fmt: skip
    names = list(policies)
    iterator = names
    if progress:
        from tqdm import tqdm

        iterator = tqdm(names, desc="arms", unit="arm")
    arms, horizon = {}, 0.0
    for name in iterator:
        arms[name], horizon = run_arm(name, policies[name], env_id, split, n_patients, seed)
    return TrialResult(env_id, split, n_patients, seed, horizon, arms)


def run_schedule(
    cohort: Cohort,
    schedule: list,
    horizon_days: float = HORIZON_DAYS,
    dt_days: float = 1.0,
    imaging_days: np.ndarray | tuple[float, ...] = clinical.KEYNOTE189_IMAGING_DAYS,
    name: str = "schedule",
) -> ArmOutcomes:
    """Simulate one fixed schedule open-loop on every patient of ``cohort`` and derive outcomes.

    No clinical rule applies (no delay for neutropenia, no stop at progression) and the
    simulation runs to the horizon whatever happens; the outcomes are read from the
    trajectory (see `ArmOutcomes` for how they differ from an env arm's). Death is the
    lethal burden or the death hazard reaching the patient's threshold
    (`tme_env.clinical.hazard_death_time`), as in the env.

    Args:
        cohort: The patients.
        schedule: ``[(start_day, end_day, {input: rate}), ...]`` (`tme_env.regimens.schedules`).
        horizon_days: Last output day.
        dt_days: Spacing of the outputs (days); imaging and death times are read from them.
        imaging_days: Scheduled scans (days).
        name: Arm name.

    Returns:
        An open-loop arm: `ArmOutcomes` with ``t``, ``y`` and ``state_names``.
    """
    t = np.arange(0.0, horizon_days + 0.5 * dt_days, dt_days)
    params = cohort.parameters_array()
    res = simulate_batch(
        "tme",
        t_eval=t,
        initial_states=cohort.initial_states_array(),
        params=params,
        infusions=[schedule] * len(cohort),
    )
    burden = clinical.tumour_burden(res.y, res.state_names)
    os_days, os_event = clinical.survival_time(t, burden)
    hazard_day = clinical.hazard_death_time(t, res.y, params)
    os_event = os_event | np.isfinite(hazard_day)
    os_days = np.minimum(os_days, hazard_day)
    os_days, os_event, pfs_days, pfs_event, best = survival_outcomes(
        t, burden, imaging_days, os_days=os_days, os_event=os_event
    )
    cured, worst, fraction_hot, tox_days = trajectory_outcomes(
        t, res.y, res.state_names, params, os_days, os_event, pfs_days
    )
    totals, weekly = schedule_doses(schedule, os_days, int(np.ceil(t[-1] / WEEK_DAYS)))
    return ArmOutcomes(
        name, cohort.ids, os_days, os_event, pfs_days, pfs_event, best, cured, worst,
        totals[:, 0], totals[:, 1], totals[:, 2], fraction_hot, weekly,
        t=t, y=res.y, state_names=res.state_names, tox_days=tox_days,
        irae_worst_grade=np.zeros(len(cohort)), anti_pd1_discontinued=np.zeros(len(cohort), bool),
    )  # fmt: skip
