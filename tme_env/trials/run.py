"""Running trial arms: policies through the env (`run_trial`), fixed schedules (`run_schedule`).

Both return `tme_env.trials.ArmOutcomes` (`run_trial` inside a `TrialResult`), with the clinical
endpoints derived by `tme_env.trials.outcomes.survival_outcomes`.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np

from tme_env import clinical
from tme_env.clinical import HORIZON_DAYS
from tme_env.envs import ENV_IDS
from tme_env.envs.vector import TumorImmuneVectorEnv
from tme_env.patients import Cohort, cohort
from tme_env.simulator import simulate_batch
from tme_env.trials.outcomes import (
    WEEK_DAYS,
    ArmOutcomes,
    TrialResult,
    carry_last_burden,
    schedule_doses,
    survival_outcomes,
    trajectory_outcomes,
)

__all__ = ["concat_arms", "run_schedule", "run_trial", "run_trial_shard"]

#: The envs a trial can run on.
TRIAL_ENV_IDS = ("tme/TumorImmune-v1", "tme/TumorImmuneClinical-v1")


def _run_arm(
    name: str, policy: Any, env_id: str, split: str, n: int, seed: int, start: int = 0
) -> tuple[ArmOutcomes, float]:
    """Patients ``start .. start + n - 1`` of ``split``, one batch; see `run_trial_shard`."""
    if start == 0:  # the env's own cohort is the shard
        venv = TumorImmuneVectorEnv(num_envs=n, **ENV_IDS[env_id], split=split, cohort_size=n)
        patients: list[Any] = list(range(n))
        ids = venv.core.cohort.ids[:n]
    else:  # build only this shard's patients (the env's cohort is then one unused patient)
        venv = TumorImmuneVectorEnv(num_envs=n, **ENV_IDS[env_id], split=split, cohort_size=1)
        shard = cohort(split, n, start=start)
        patients, ids = list(shard), shard.ids
    # Patient ``i`` of the split always gets noise seed ``seed + i``, whatever the shard.
    seeds = [seed + start + j for j in range(n)]
    obs, info = venv.reset(seed=seeds, options={"patients": patients})
    bind = getattr(policy, "bind_env", None)
    if bind is not None:  # a reference that reads the env's true state (`OracleMPC`)
        bind(venv)
    horizon_steps = venv.max_episode_steps
    dt = venv.config.decision_interval_days
    alive = np.ones(n, dtype=bool)
    # What imaging sees (the env's `imaging_tumour_cells`): the exact burden in the full env;
    # in the clinical env the noisy measurement it reports (floored at the detection limit).
    burden = np.full((n, horizon_steps + 1), np.nan)
    burden[:, 0] = info["imaging_tumour_cells"]
    hot_steps = np.zeros(n)
    worst = np.asarray(info["neutropenia_grade"], dtype=float).copy()
    doses = np.zeros((n, horizon_steps, 3))
    cured = np.zeros(n, dtype=bool)
    tox_days = np.zeros(n)
    irae_worst = np.zeros(n)
    stopped = np.zeros(n, dtype=bool)
    death_day = np.full(n, np.nan)
    state, start = None, np.ones(n, dtype=bool)
    for k in range(horizon_steps):
        action, state = policy.predict(obs, state=state, episode_start=start, deterministic=True)
        start = np.zeros(n, dtype=bool)
        obs, _reward, terminated, truncated, info = venv.step(action)
        live = alive.copy()
        doses[live, k] = np.column_stack(
            [info["dose_chemo"], info["dose_anti_pd1"], info["dose_inhibitor"]]
        )[live]
        burden[live, k + 1] = info["imaging_tumour_cells"][live]
        hot_steps[live] += info["is_hot"][live]
        worst[live] = np.maximum(worst[live], info["neutropenia_grade"][live])
        tox_days[live] += dt * info["grade3_toxicity"][live]
        irae_worst[live] = np.maximum(irae_worst[live], info["irae_grade"][live])
        stopped[live] |= info["anti_pd1_stopped"][live] > 0
        died = live & ((info["dead"] > 0) | (info["toxic_death"] > 0))
        death_day[died] = info["day"][died]
        cured |= live & (info["cured"] > 0)
        alive &= ~(terminated | truncated)
        if not alive.any():
            break
    steps_lived = np.sum(~np.isnan(burden[:, 1:]), axis=1)
    t = np.arange(horizon_steps + 1) * dt
    # After death or cure the trajectory is over: carry the last burden forward for imaging.
    filled = carry_last_burden(burden, cured)
    horizon = horizon_steps * dt
    os_event = ~np.isnan(death_day)
    os_days = np.where(os_event, death_day, horizon)
    os_days, os_event, pfs_days, pfs_event, best = survival_outcomes(
        t, np.maximum(filled, 1.0), os_days=os_days, os_event=os_event
    )
    outcomes = ArmOutcomes(
        name, ids, os_days, os_event, pfs_days, pfs_event, best, cured,
        worst, doses[:, :, 0].sum(axis=1), doses[:, :, 1].sum(axis=1),
        doses[:, :, 2].sum(axis=1) * dt, hot_steps / np.maximum(steps_lived, 1), doses,
        tox_days=np.minimum(tox_days, os_days), irae_worst_grade=irae_worst,
        anti_pd1_discontinued=stopped,
    )  # fmt: skip
    return outcomes, horizon


def run_trial_shard(
    policies: dict[str, Any],
    env_id: str,
    split: str,
    start: int,
    stop: int,
    seed: int,
    keep_doses: bool = True,
) -> tuple[dict[str, ArmOutcomes], float]:
    """Every arm on the patients ``start .. stop - 1`` of ``split``, each arm one batch.

    Patient ``i`` of the split gets measurement-noise seed ``seed + i`` whatever the shard, so
    the shards of a trial, concatenated in order (`concat_arms`), are bit for bit the arms that
    `run_trial` gives on all the patients at once.

    Args:
        policies: Arm name -> policy (as `run_trial`).
        env_id: A trial env id (`TRIAL_ENV_IDS`).
        split: Cohort split.
        start: First patient (index in the split).
        stop: One past the last patient.
        seed: Seed of the measurement noise of patient 0.
        keep_doses: Keep the weekly dose table (``weekly_doses``); False leaves it empty,
            shape ``(n, 0, 3)``, for trials that keep only per-patient figures.

    Returns:
        ``(arms, horizon_days)``.

    Raises:
        ValueError: On an empty or negative range.
    """
    if not 0 <= start < stop:
        raise ValueError(f"need 0 <= start < stop, got start={start!r}, stop={stop!r}")
    arms, horizon = {}, 0.0
    for name, policy in policies.items():
        arm, horizon = _run_arm(name, policy, env_id, split, stop - start, seed, start)
        if not keep_doses:
            arm = replace(arm, weekly_doses=arm.weekly_doses[:, :0])
        arms[name] = arm
    return arms, horizon


def concat_arms(parts: list[ArmOutcomes]) -> ArmOutcomes:
    """One arm from its shards (in patient order); env arms only (no trajectories).

    Raises:
        ValueError: On no parts, parts of different arms or open-loop parts.
    """
    if not parts:
        raise ValueError("no shards to concatenate")
    names = {p.name for p in parts}
    if len(names) != 1 or any(p.y is not None for p in parts):
        raise ValueError(f"can only concatenate shards of one env arm, got arms {sorted(names)}")
    merged: dict[str, Any] = {"name": parts[0].name, "patient_ids": []}
    for p in parts:
        merged["patient_ids"] += list(p.patient_ids)
    for f in fields(ArmOutcomes):
        if f.name not in merged and f.name not in ("t", "y", "state_names"):
            values = [getattr(p, f.name) for p in parts]
            merged[f.name] = None if values[0] is None else np.concatenate(values)
    return ArmOutcomes(**merged)


def run_trial(
    policies: dict[str, Any],
    env_id: str = "tme/TumorImmune-v1",
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
            ``[ray]`` extra; see `tme_env.trials.distributed`).
        shard_size: Patients per shard; None runs each arm as one batch locally and uses
            `tme_env.trials.distributed.DEFAULT_SHARD_SIZE` on Ray.
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
        from tme_env.trials.distributed import sharded_trial

        return sharded_trial(policies, env_id, split, n_patients, seed, backend=backend,
                             shard_size=shard_size, address=address, progress=progress)  # fmt: skip
    names = list(policies)
    iterator = names
    if progress:
        from tqdm import tqdm

        iterator = tqdm(names, desc="arms", unit="arm")
    arms, horizon = {}, 0.0
    for name in iterator:
        arms[name], horizon = _run_arm(name, policies[name], env_id, split, n_patients, seed)
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
    trajectory (see `ArmOutcomes` for how they differ from an env arm's).

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
    os_days, os_event, pfs_days, pfs_event, best = survival_outcomes(t, burden, imaging_days)
    cured, worst, fraction_hot, tox_days = trajectory_outcomes(
        t, res.y, res.state_names, params, os_days, os_event
    )
    totals, weekly = schedule_doses(schedule, os_days, int(np.ceil(t[-1] / WEEK_DAYS)))
    return ArmOutcomes(
        name, cohort.ids, os_days, os_event, pfs_days, pfs_event, best, cured, worst,
        totals[:, 0], totals[:, 1], totals[:, 2], fraction_hot, weekly,
        t=t, y=res.y, state_names=res.state_names, tox_days=tox_days,
        irae_worst_grade=np.zeros(len(cohort)), anti_pd1_discontinued=np.zeros(len(cohort), bool),
    )  # fmt: skip
