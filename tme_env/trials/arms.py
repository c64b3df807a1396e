"""Trial arms through the env: every arm on a range of patients of a split, as one batch each.

`run_arm` treats patients ``start .. start + n - 1`` of a split with one policy through the
vector env (`tme_env.envs.vector.TumorImmuneVectorEnv`) and derives their outcomes
(`tme_env.trials.outcomes`); `run_trial_shard` does it for every arm of a trial. Patient ``i``
of the split is built from its own seed (`tme_env.patients.cohort` with ``start``) and gets
measurement-noise seed ``seed + i``, so a patient's outcome is the same bit for bit whatever
range it is run in. `tme_env.trials.run.run_trial` runs each arm on all its patients at once;
`tme_env.trials.shards` runs the ranges (shards) in turn or on Ray.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from tme_env.envs import ENV_IDS
from tme_env.envs.vector import TumorImmuneVectorEnv
from tme_env.patients import Cohort, cohort
from tme_env.trials.outcomes import (
    ArmOutcomes,
    carry_last_burden,
    survival_outcomes,
    toxic_days_before,
)

__all__ = ["TRIAL_ENV_IDS", "run_arm", "run_trial_shard"]

#: The envs a trial can run on.
TRIAL_ENV_IDS = ("tme/TumorImmune-v2", "tme/TumorImmuneClinical-v2")


def run_arm(
    name: str,
    policy: Any,
    env_id: str,
    split: str,
    n: int,
    seed: int,
    start: int = 0,
    patients: Cohort | None = None,
) -> tuple[ArmOutcomes, float]:
    """One arm on patients ``start .. start + n - 1`` of ``split``, as one batch.

    Patient ``i`` of the split gets measurement-noise seed ``seed + i`` (see
    `run_trial_shard`).

    Args:
        name: Arm name.
        policy: The policy (SB3's ``predict``).
        env_id: A trial env id (`TRIAL_ENV_IDS`).
        split: Cohort split.
        n: Number of patients.
        seed: Measurement-noise seed of patient 0.
        start: Index in the split (or in ``patients``) of the first patient.
        patients: Treat these patients instead (``n`` of them, from ``start``; the model's
            calibration passes cohorts drawn around trial population medians).

    Returns:
        ``(arm, horizon_days)``: an env arm (no trajectories).
    """
    if patients is not None:
        venv = TumorImmuneVectorEnv(num_envs=n, **ENV_IDS[env_id], split=split, cohort_size=1)
        shard = patients[start : start + n]
        patients, ids = list(shard), shard.ids
    elif start == 0:  # the env's own cohort is the shard
        venv = TumorImmuneVectorEnv(num_envs=n, **ENV_IDS[env_id], split=split, cohort_size=n)
        patients: list[Any] = list(range(n))
        ids = venv.core.cohort.ids[:n]
    else:  # build only this shard's patients (the env's cohort is then one unused patient)
        venv = TumorImmuneVectorEnv(num_envs=n, **ENV_IDS[env_id], split=split, cohort_size=1)
        shard = cohort(split, n, start=start)
        patients, ids = list(shard), shard.ids  # type: ignore[assignment]
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
    toxic = np.zeros((n, horizon_steps))  # 1 for a step with grade >= 3 toxicity
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
        toxic[live, k] = info["grade3_toxicity"][live]
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
    tox_days = toxic_days_before(t, toxic, pfs_days)
    outcomes = ArmOutcomes(
        name, ids, os_days, os_event, pfs_days, pfs_event, best, cured,
        worst, doses[:, :, 0].sum(axis=1), doses[:, :, 1].sum(axis=1),
        doses[:, :, 2].sum(axis=1) * dt, hot_steps / np.maximum(steps_lived, 1), doses,
        tox_days=tox_days, irae_worst_grade=irae_worst,
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
        arm, horizon = run_arm(name, policy, env_id, split, stop - start, seed, start)
        if not keep_doses:
            arm = replace(arm, weekly_doses=arm.weekly_doses[:, :0])
        arms[name] = arm
    return arms, horizon
