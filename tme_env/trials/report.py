"""Trial reports: per-arm statistics (`summarise`) and the written report (`write_report`).

`summarise` computes, per arm, Kaplan-Meier medians with 95% CIs, the restricted mean survival
time, response, cure, toxicity and dose figures, and the log-rank test and Cox hazard ratio
against a reference arm (`tme_env.trials.survival`).

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
from typing import Any

import numpy as np

from tme_env.trials.outcomes import TrialResult
from tme_env.trials.survival import cox_hazard_ratio, km_median_ci, logrank_p, rmst

__all__ = ["MONTH", "summarise", "write_report"]

#: Days per month (365.25 / 12).
MONTH = 30.4375


def summarise(result: TrialResult, reference: str | None = None) -> list[dict[str, Any]]:
    """One row of statistics per arm (see the module docstring for the benchmark score).

    Args:
        result: The trial.
        reference: Arm the hazard ratios and log-rank tests compare against (default: the first).

    Raises:
        ValueError: If ``reference`` is not an arm of the trial.
    """
    from tme_env.regimens import REGIMENS

    horizon = result.horizon_days
    rmst_days = {}
    rows = []
    for name, arm in result.arms.items():
        row: dict[str, Any] = {"arm": name, "patients": len(arm.os_days)}
        for label, days, event in (("os", arm.os_days, arm.os_event),
                                   ("pfs", arm.pfs_days, arm.pfs_event)):  # fmt: skip
            median, low, high = km_median_ci(days, event)
            row[f"median_{label}_months"] = median / MONTH
            row[f"median_{label}_ci_low"] = low / MONTH
            row[f"median_{label}_ci_high"] = high / MONTH
            if label == "os":
                rmst_days[name] = rmst(days, event, horizon)
                row["rmst_os_months"] = rmst_days[name] / MONTH
        row["objective_response_rate"] = arm.objective_response_rate
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
        p = logrank_p(arm.os_days, arm.os_event, ref_arm.os_days, ref_arm.os_event)
        hr, low, high = cox_hazard_ratio(arm.os_days, arm.os_event, ref_arm.os_days,
                                         ref_arm.os_event)  # fmt: skip
        row.update(hazard_ratio_os=hr, hr_ci_low=low, hr_ci_high=high, logrank_p=p)
    standard = [n for n in rmst_days if n in REGIMENS and n != "no-treatment"]
    for row in rows:
        if "no-treatment" in rmst_days and standard:
            best = max(rmst_days[n] for n in standard)
            base = rmst_days["no-treatment"]
            row["benchmark_score"] = 100.0 * (rmst_days[row["arm"]] - base) / (best - base)
        else:
            row["benchmark_score"] = float("nan")
    return rows


def write_report(result: TrialResult, out_dir: str, reference: str | None = None) -> list[dict]:
    """Write summary.csv/json, patients.csv, KM plots, a dose timeline and report.md.

    Everything is written to a temporary folder next to ``out_dir`` and moved into place at
    the end, so an interrupted run never leaves a partial report under ``out_dir``.

    Args:
        result: The trial.
        out_dir: Report folder (replaced if it exists).
        reference: Reference arm of `summarise`.

    Returns:
        The rows of `summarise`.
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
