"""Virtual clinical trials: policies on the same patients, outcomes, survival statistics, report.

`run_trial` treats the first ``n_patients`` of a cohort split with every policy (paired
design: each arm sees the same patients and the same measurement-noise seeds) through the
native vector environment, derives each patient's outcomes, and `summarise` computes the
per-arm statistics with lifelines (Kaplan-Meier medians with 95% CIs, restricted mean
survival time, log-rank test and Cox hazard ratio against a reference arm).

**Benchmark score** (the leaderboard metric), per policy, on the same patients::

    score = 100 * (RMST_policy - RMST_no-treatment) / (RMST_best-standard - RMST_no-treatment)

with RMST the restricted mean overall survival over the horizon and "best standard" the
standard regimen (`tme_env.regimens`, excluding no-treatment) with the largest RMST. 0 means
no better than no treatment, 100 as good as the best standard regimen.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from tme_env import clinical
from tme_env.envs import ENV_IDS
from tme_env.envs.vector import TumorImmuneVectorEnv
from tme_env.trials import cox_hazard_ratio

__all__ = ["ArmOutcomes", "TrialResult", "run_trial", "summarise", "write_report"]

MONTH = 30.4375


@dataclass(frozen=True)
class ArmOutcomes:
    """Per-patient outcomes of one arm (arrays over patients, in cohort order)."""

    name: str
    patient_ids: list[str]
    os_days: np.ndarray
    os_event: np.ndarray
    pfs_days: np.ndarray
    pfs_event: np.ndarray
    best_response: np.ndarray
    cured: np.ndarray
    worst_grade: np.ndarray
    dose_chemo: np.ndarray
    dose_anti_pd1: np.ndarray
    dose_inhibitor: np.ndarray
    fraction_hot: np.ndarray
    weekly_doses: np.ndarray  # (patients, steps, 3), for the dose-timeline plot


@dataclass(frozen=True)
class TrialResult:
    """All arms of a trial and its settings."""

    env_id: str
    split: str
    n_patients: int
    seed: int
    horizon_days: float
    arms: dict[str, ArmOutcomes]


def _run_arm(
    name: str, policy: Any, env_id: str, split: str, n: int, seed: int
) -> tuple[ArmOutcomes, float]:
    kwargs = {**ENV_IDS[env_id], "split": split, "cohort_size": n}
    venv = TumorImmuneVectorEnv(num_envs=n, **kwargs)
    obs, info = venv.reset(seed=seed, options={"patients": list(range(n))})
    horizon_steps = venv.max_episode_steps
    dt = venv.config.decision_interval_days
    alive = np.ones(n, dtype=bool)
    burden = np.full((n, horizon_steps + 1), np.nan)
    # What imaging sees: the exact burden in the full env; in the clinical env the noisy
    # measurement it reports (floored at the detection limit), as a radiologist would.
    noisy = venv.config.observation == "clinical"

    def seen() -> np.ndarray:
        return 10.0 ** venv.core.measured[:, 0] if noisy else info["tumour_cells"]

    burden[:, 0] = seen()
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
        burden[live, k + 1] = seen()[live]
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
    filled = np.maximum(filled, 1.0)
    pfs_days, pfs_event = clinical.progression_time(t, filled)
    pfs_days = np.where(os_event & (death_day < pfs_days), death_day, pfs_days)
    pfs_event = pfs_event | os_event
    bor = clinical.best_overall_response(t, filled)
    ids = venv.core.cohort.ids[:n]
    outcomes = ArmOutcomes(
        name, ids, os_days, os_event, np.minimum(pfs_days, os_days), pfs_event, bor, cured,
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
    """Treat the same ``n_patients`` of ``split`` with every policy.

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
    valid = ("tme/TumorImmune-v0", "tme/TumorImmuneClinical-v0")
    if env_id not in valid:
        raise ValueError(f"unknown trial env {env_id!r}; valid: {', '.join(valid)}")
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


def summarise(result: TrialResult, reference: str | None = None) -> list[dict[str, Any]]:
    """One row of statistics per arm (see the module docstring for the benchmark score)."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test
    from lifelines.utils import median_survival_times, restricted_mean_survival_time

    from tme_env.regimens import REGIMENS

    horizon = result.horizon_days
    rmst = {}
    rows = []
    for name, arm in result.arms.items():
        row: dict[str, Any] = {"arm": name, "patients": len(arm.os_days)}
        for label, days, event in (("os", arm.os_days, arm.os_event),
                                   ("pfs", arm.pfs_days, arm.pfs_event)):  # fmt: skip
            km = KaplanMeierFitter().fit(days, event)
            ci = median_survival_times(km.confidence_interval_)
            row[f"median_{label}_months"] = float(km.median_survival_time_) / MONTH
            row[f"median_{label}_ci_low"] = float(ci.iloc[0, 0]) / MONTH
            row[f"median_{label}_ci_high"] = float(ci.iloc[0, 1]) / MONTH
            if label == "os":
                rmst[name] = float(restricted_mean_survival_time(km, t=horizon))
                row["rmst_os_months"] = rmst[name] / MONTH
        row["objective_response_rate"] = float(np.isin(arm.best_response, ("CR", "PR")).mean())
        row["cure_rate"] = float(arm.cured.mean())
        row["grade3plus_neutropenia_rate"] = float((arm.worst_grade >= 3).mean())
        row["mean_chemo_doses"] = float(arm.dose_chemo.mean())
        row["mean_anti_pd1_doses"] = float(arm.dose_anti_pd1.mean())
        row["mean_inhibitor_dose_days"] = float(arm.dose_inhibitor.mean())
        row["fraction_time_hot"] = float(arm.fraction_hot.mean())
        rows.append(row)
    ref = reference if reference is not None else next(iter(result.arms))
    if ref not in result.arms:
        raise ValueError(f"reference arm {ref!r} is not in the trial: {list(result.arms)}")
    ref_arm = result.arms[ref]
    for row in rows:
        arm = result.arms[row["arm"]]
        if row["arm"] == ref:
            row.update(hazard_ratio_os=1.0, hr_ci_low=1.0, hr_ci_high=1.0, logrank_p=1.0)
            continue
        test = logrank_test(arm.os_days, ref_arm.os_days, arm.os_event, ref_arm.os_event)
        hr, low, high = cox_hazard_ratio(arm.os_days, arm.os_event, ref_arm.os_days,
                                         ref_arm.os_event)  # fmt: skip
        row.update(hazard_ratio_os=hr, hr_ci_low=low, hr_ci_high=high,
                   logrank_p=float(test.p_value))  # fmt: skip
    standard = [n for n in rmst if n in REGIMENS and n != "no-treatment"]
    for row in rows:
        if "no-treatment" in rmst and standard:
            best = max(rmst[n] for n in standard)
            base = rmst["no-treatment"]
            row["benchmark_score"] = 100.0 * (rmst[row["arm"]] - base) / (best - base)
        else:
            row["benchmark_score"] = float("nan")
    return rows


def write_report(result: TrialResult, out_dir: str, reference: str | None = None) -> list[dict]:
    """Write summary.csv/json, patients.csv, KM plots, a dose timeline and report.md.

    Everything is written to a temporary folder next to ``out_dir`` and moved into place at
    the end, so an interrupted run never leaves a partial report under ``out_dir``.
    """
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from lifelines import KaplanMeierFitter

    rows = summarise(result, reference)
    parent = os.path.dirname(os.path.abspath(out_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".trial-", dir=parent)
    try:
        keys = list(rows[0])
        with open(os.path.join(tmp, "summary.csv"), "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)
        meta = {"env_id": result.env_id, "split": result.split, "n_patients": result.n_patients,
                "seed": result.seed, "horizon_days": result.horizon_days}  # fmt: skip
        with open(os.path.join(tmp, "summary.json"), "w") as fh:
            json.dump({"trial": meta, "arms": rows}, fh, indent=2)
        with open(os.path.join(tmp, "patients.csv"), "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["arm", "patient", "os_days", "os_event", "pfs_days", "pfs_event",
                        "best_response", "cured", "worst_neutropenia_grade", "chemo_doses",
                        "anti_pd1_doses", "inhibitor_dose_days", "fraction_time_hot"])  # fmt: skip
            for name, arm in result.arms.items():
                for i, pid in enumerate(arm.patient_ids):
                    w.writerow([
                        name, pid, f"{arm.os_days[i]:.2f}", int(arm.os_event[i]),
                        f"{arm.pfs_days[i]:.2f}", int(arm.pfs_event[i]), arm.best_response[i],
                        int(arm.cured[i]), int(arm.worst_grade[i]), f"{arm.dose_chemo[i]:.3f}",
                        f"{arm.dose_anti_pd1[i]:.3f}", f"{arm.dose_inhibitor[i]:.3f}",
                        f"{arm.fraction_hot[i]:.3f}",
                    ])  # fmt: skip
        for label in ("os", "pfs"):
            fig, ax = plt.subplots(figsize=(8, 5))
            for name, arm in result.arms.items():
                days = getattr(arm, f"{label}_days") / MONTH
                km = KaplanMeierFitter().fit(days, getattr(arm, f"{label}_event"), label=name)
                km.plot_survival_function(ax=ax, ci_show=False)
            ax.set_xlabel("months")
            ax.set_ylabel("overall survival" if label == "os" else "progression-free survival")
            ax.set_title(f"{result.env_id}, {result.split} split, {result.n_patients} patients/arm")
            fig.tight_layout()
            fig.savefig(os.path.join(tmp, f"km_{label}.png"), dpi=90)
            plt.close(fig)
        arms = list(result.arms.values())
        fig, axes = plt.subplots(len(arms), 1, figsize=(9, 1.2 + 1.1 * len(arms)), sharex=True)
        axes = np.atleast_1d(axes)
        for ax, arm in zip(axes, arms, strict=True):
            shown = arm.weekly_doses[:5]
            for p, pat in enumerate(shown):
                weeks = np.flatnonzero(pat.sum(axis=1) > 0)
                for j, color in enumerate(("tab:blue", "tab:green", "tab:purple")):
                    on = weeks[pat[weeks, j] > 0]
                    ax.scatter(on * 7 / MONTH, np.full(on.size, p + j * 0.25), s=6, color=color)
            ax.set_ylabel(arm.name, rotation=0, ha="right", fontsize=7)
            ax.set_yticks([])
        axes[-1].set_xlabel("months (blue chemo, green anti-PD-1, purple inhibitor; 5 patients)")
        fig.tight_layout()
        fig.savefig(os.path.join(tmp, "dose_timeline.png"), dpi=90)
        plt.close(fig)
        lines = [f"# Virtual trial: {result.env_id}", "",
                 f"{result.n_patients} patients per arm ({result.split} split, paired design), "
                 f"horizon {result.horizon_days:.0f} days, seed {result.seed}.", "",
                 "| arm | median OS (95% CI), mo | median PFS, mo | RMST, mo | ORR | cure | "
                 "G>=3 neutropenia | time hot | HR OS (95% CI) | log-rank p | score |",
                 "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in rows:
            lines.append(
                f"| {r['arm']} | {r['median_os_months']:.1f} ({r['median_os_ci_low']:.1f}-"
                f"{r['median_os_ci_high']:.1f}) | {r['median_pfs_months']:.1f} | "
                f"{r['rmst_os_months']:.1f} | {r['objective_response_rate']:.0%} | "
                f"{r['cure_rate']:.0%} | {r['grade3plus_neutropenia_rate']:.0%} | "
                f"{r['fraction_time_hot']:.0%} | {r['hazard_ratio_os']:.2f} "
                f"({r['hr_ci_low']:.2f}-{r['hr_ci_high']:.2f}) | {r['logrank_p']:.2g} | "
                f"{r['benchmark_score']:.0f} |"
            )
        lines += ["", f"Reference arm for HR and log-rank: {reference or rows[0]['arm']}.",
                  "Benchmark score: 100 x (RMST - RMST no-treatment) / (RMST best standard - "
                  "RMST no-treatment).", "", "![OS](km_os.png)", "", "![PFS](km_pfs.png)", "",
                  "![doses](dose_timeline.png)", ""]  # fmt: skip
        with open(os.path.join(tmp, "report.md"), "w") as fh:
            fh.write("\n".join(lines))
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return rows
