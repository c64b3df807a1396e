"""Running trial arms: policies through the env (`run_trial`), fixed schedules (`run_schedule`).

Both return `tme_env.trials.ArmOutcomes` (`run_trial` inside a `TrialResult`), with the clinical
endpoints derived by `tme_env.trials.outcomes.survival_outcomes`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tme_env import clinical
from tme_env.envs import ENV_IDS
from tme_env.envs.vector import TumorImmuneVectorEnv
from tme_env.models import get as get_model
from tme_env.patients import Cohort
from tme_env.simulator import simulate_batch
from tme_env.trials.outcomes import (
    WEEK_DAYS,
    ArmOutcomes,
    TrialResult,
    schedule_doses,
    survival_outcomes,
    trajectory_outcomes,
)

__all__ = ["run_schedule", "run_trial"]

#: The envs a trial can run on.
TRIAL_ENV_IDS = ("tme/TumorImmune-v0", "tme/TumorImmuneClinical-v0")


def _run_arm(
    name: str, policy: Any, env_id: str, split: str, n: int, seed: int
) -> tuple[ArmOutcomes, float]:
    kwargs = {**ENV_IDS[env_id], "split": split, "cohort_size": n}
    venv = TumorImmuneVectorEnv(num_envs=n, **kwargs)
    obs, info = venv.reset(seed=seed, options={"patients": list(range(n))})
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
        died = live & ((info["dead"] > 0) | (info["toxic_death"] > 0))
        death_day[died] = info["day"][died]
        cured |= live & (info["cured"] > 0)
        alive &= ~(terminated | truncated)
        if not alive.any():
            break
    steps_lived = np.sum(~np.isnan(burden[:, 1:]), axis=1)
    t = np.arange(horizon_steps + 1) * dt
    # After death or cure the trajectory is over: carry the last burden forward for imaging.
    filled = burden.copy()
    for i in range(n):
        last = int(np.max(np.flatnonzero(~np.isnan(filled[i]))))
        filled[i, last + 1 :] = filled[i, last] if not cured[i] else 1.0
    horizon = horizon_steps * dt
    os_event = ~np.isnan(death_day)
    os_days = np.where(os_event, death_day, horizon)
    os_days, os_event, pfs_days, pfs_event, best = survival_outcomes(
        t, np.maximum(filled, 1.0), os_days=os_days, os_event=os_event
    )
    outcomes = ArmOutcomes(
        name, venv.core.cohort.ids[:n], os_days, os_event, pfs_days, pfs_event, best, cured,
        worst, doses[:, :, 0].sum(axis=1), doses[:, :, 1].sum(axis=1),
        doses[:, :, 2].sum(axis=1) * dt, hot_steps / np.maximum(steps_lived, 1), doses,
    )  # fmt: skip
    return outcomes, horizon


def run_trial(
    policies: dict[str, Any],
    env_id: str = "tme/TumorImmune-v0",
    split: str = "test",
    n_patients: int = 500,
    seed: int = 0,
    progress: bool = False,
) -> TrialResult:
    """Treat the same ``n_patients`` of ``split`` with every policy, through the vector env.

    Paired design: each arm sees the same patients and the same measurement-noise seeds. The
    arms are env arms (`ArmOutcomes` without trajectories).

    Args:
        policies: Arm name -> object with SB3's ``predict(obs, state, episode_start,
            deterministic)`` (a regimen, a trained SB3 model, ...).
        env_id: A ``tme/TumorImmune*`` id (its observation mode is what the policies see).
        split: Cohort split.
        n_patients: Patients per arm (the same in every arm).
        seed: Seed of the measurement noise (the same in every arm).
        progress: Show a progress bar over the arms.

    Raises:
        ValueError: On an unknown env id or an empty policy set.
    """
    if env_id not in TRIAL_ENV_IDS:
        raise ValueError(f"unknown trial env {env_id!r}; valid: {', '.join(TRIAL_ENV_IDS)}")
    if not policies:
        raise ValueError("give at least one policy")
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
    horizon_days: float = 1095.0,
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
    hot_ratio = params[:, get_model("tme").parameter_names.index("hot_ratio")]
    cured, worst, fraction_hot = trajectory_outcomes(
        t, res.y, res.state_names, hot_ratio, os_days, os_event
    )
    totals, weekly = schedule_doses(schedule, os_days, int(np.ceil(t[-1] / WEEK_DAYS)))
    return ArmOutcomes(
        name, cohort.ids, os_days, os_event, pfs_days, pfs_event, best, cured, worst,
        totals[:, 0], totals[:, 1], totals[:, 2], fraction_hot, weekly,
        t=t, y=res.y, state_names=res.state_names,
    )  # fmt: skip
