"""Trial reports: per-arm statistics (`summarise`) and the written report (`write_report`).

`summarise` computes, per arm, Kaplan-Meier medians with 95% CIs, the restricted mean survival
time, response, cure, toxicity and dose figures, and the log-rank test and Cox hazard ratio
against a reference arm (`tme_env.trials.survival`).

**Benchmark score** (the leaderboard metric), per policy, on the same patients::

    score = 100 * (Q_policy - Q_no-treatment) / (Q_best-standard - Q_no-treatment)

with Q the mean quality-adjusted survival over the horizon in the Q-TWiST sense
(`tme_env.clinical.q_twist_days`: time with grade >= 3 toxicity and time after progression
count at utility 0.5) and "best standard" the standard regimen (`tme_env.regimens`,
excluding no-treatment) with the largest Q. 0 means no better than no treatment, 100 as good
as the best standard regimen. RMST, OS, PFS, response and toxicity rates stay in the report.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from tme_env.clinical import DAYS_PER_MONTH
from tme_env.io import OutputFolder, format_number, json_safe
from tme_env.trials.outcomes import TrialResult
from tme_env.trials.survival import cox_hazard_ratio, km_median_ci, logrank_p, rmst

__all__ = ["benchmark_scores", "summarise", "write_report"]

#: Why a trial's benchmark score can be n/a (shown in the report and by ``tme trial``).
SCORE_NEEDS = (
    "the benchmark score needs the no-treatment arm and at least one standard regimen in the "
    "trial (e.g. --policies all, or add no-treatment,mtd-chemo)"
)


def summarise(result: TrialResult, reference: str | None = None) -> list[dict[str, Any]]:
    """One row of statistics per arm (see the module docstring for the benchmark score).

    Args:
        result: The trial.
        reference: Arm the hazard ratios and log-rank tests compare against (default: the first).

    Raises:
        ValueError: If ``reference`` is not an arm of the trial.
    """
    horizon = result.horizon_days
    rmst_days = {}
    q_days = {}
    rows = []
    for name, arm in result.arms.items():
        row: dict[str, Any] = {"arm": name, "patients": len(arm.os_days)}
        for label, days, event in (("os", arm.os_days, arm.os_event),
                                   ("pfs", arm.pfs_days, arm.pfs_event)):  # fmt: skip
            median, low, high = km_median_ci(days, event)
            row[f"median_{label}_months"] = median / DAYS_PER_MONTH
            row[f"median_{label}_ci_low"] = low / DAYS_PER_MONTH
            row[f"median_{label}_ci_high"] = high / DAYS_PER_MONTH
            if label == "os":
                rmst_days[name] = rmst(days, event, horizon)
                row["rmst_os_months"] = rmst_days[name] / DAYS_PER_MONTH
        q_days[name] = float(arm.q_twist_days.mean())
        row["q_twist_months"] = q_days[name] / DAYS_PER_MONTH
        row["objective_response_rate"] = arm.objective_response_rate
        row["cure_rate"] = float(arm.cured.mean())
        row["grade3plus_neutropenia_rate"] = float((arm.worst_grade >= 3).mean())
        row["mean_chemo_doses"] = float(arm.dose_chemo.mean())
        row["mean_anti_pd1_doses"] = float(arm.dose_anti_pd1.mean())
        row["mean_inhibitor_dose_days"] = float(arm.dose_inhibitor.mean())
        row["fraction_time_hot"] = float(arm.fraction_hot.mean())
        irae = arm.irae_worst_grade if arm.irae_worst_grade is not None else arm.worst_grade * 0
        row["irae_rate"] = float((irae > 0).mean())
        row["irae_grade3plus_rate"] = float((irae >= 3).mean())
        row["irae_death_rate"] = float((irae >= 5).mean())
        stopped = arm.anti_pd1_discontinued
        row["anti_pd1_discontinued_rate"] = float(stopped.mean()) if stopped is not None else 0.0
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
    scores = benchmark_scores(q_days)
    for row in rows:
        row["benchmark_score"] = scores[row["arm"]]
    return rows


def benchmark_scores(q_days: dict[str, float]) -> dict[str, float]:
    """The benchmark score of every arm from its mean Q-TWiST (see the module docstring).

    NaN for every arm unless the trial has the no-treatment arm and a standard regimen.
    """
    from tme_env.regimens import REGIMENS

    standard = [n for n in q_days if n in REGIMENS and n != "no-treatment"]
    if "no-treatment" not in q_days or not standard:
        return {name: float("nan") for name in q_days}
    best = max(q_days[n] for n in standard)
    base = q_days["no-treatment"]
    return {name: 100.0 * (q - base) / (best - base) for name, q in q_days.items()}


def write_report(
    result: TrialResult,
    out_dir: str | OutputFolder,
    reference: str | None = None,
    km_ci: bool = False,
    overwrite: bool = False,
) -> list[dict]:
    """Write summary.csv/json, patients.csv, KM plots, a dose timeline and report.md.

    The figures are those of `tme_env.trials.plots`: ``km_os.png`` and ``km_pfs.png``
    (`plot_km`: numbers at risk, censoring ticks, medians) and ``dose_timeline.png``
    (`plot_dose_timeline`: the first 5 patients of every arm).

    The files appear all at once (`tme_env.io.OutputFolder`: written in a hidden folder
    next to ``out_dir``, then swapped into place atomically): an interrupted run leaves the
    old complete report or the new one. A folder holding files that tme did not write is
    refused, never deleted. Numbers that are not finite are ``null`` in JSON, empty in CSV
    and "not reached" (an infinite median or CI bound) or "n/a" in the text.

    Args:
        result: The trial.
        out_dir: Report folder (missing, empty, or an earlier report with ``overwrite``),
            or an `OutputFolder` already checked before the trial ran.
        reference: Reference arm of `summarise`.
        km_ci: Draw 95% confidence bands on the Kaplan-Meier plots.
        overwrite: Replace an earlier report in ``out_dir``.

    Raises:
        ValueError: If ``out_dir`` cannot take the report (the message names the path and
            the reason), or ``reference`` is not an arm.

    Returns:
        The rows of `summarise`.
    """
    import csv

    import matplotlib

    matplotlib.use("Agg")
    from tme_env.trials.plots import plot_dose_timeline, plot_km, save_figure

    rows = summarise(result, reference)
    folder = out_dir if isinstance(out_dir, OutputFolder) else OutputFolder(
        out_dir, what="out_dir", overwrite=overwrite, kind="trial report"
    )  # fmt: skip
    tmp = str(folder.check().staging())
    try:
        keys = list(rows[0])
        with open(os.path.join(tmp, "summary.csv"), "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(json_safe(rows))
        meta = {"env_id": result.env_id, "split": result.split, "n_patients": result.n_patients,
                "seed": result.seed, "horizon_days": result.horizon_days}  # fmt: skip
        with open(os.path.join(tmp, "summary.json"), "w") as fh:
            json.dump(json_safe({"trial": meta, "arms": rows}), fh, indent=2, allow_nan=False)
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
            save_figure(plot_km(result, label, ci=km_ci), os.path.join(tmp, f"km_{label}.png"))
        save_figure(plot_dose_timeline(result), os.path.join(tmp, "dose_timeline.png"))
        lines = [f"# Virtual trial: {result.env_id}", "",
                 f"{result.n_patients} patients per arm ({result.split} split, paired design), "
                 f"horizon {result.horizon_days:.0f} days, seed {result.seed}.", "",
                 "| arm | median OS (95% CI), mo | median PFS, mo | RMST, mo | Q-TWiST, mo | "
                 "ORR | cure | G>=3 neutropenia | irAE (G>=3) | time hot | HR OS (95% CI) | "
                 "log-rank p | score |",
                 "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in rows:
            f = {k: format_number(v, ".2f") for k, v in r.items() if isinstance(v, float)}
            lines.append(
                f"| {r['arm']} | {_months(r['median_os_months'])} "
                f"({_months(r['median_os_ci_low'])}-{_months(r['median_os_ci_high'])}) | "
                f"{_months(r['median_pfs_months'])} | {_months(r['rmst_os_months'])} | "
                f"{_months(r['q_twist_months'])} | {r['objective_response_rate']:.0%} | "
                f"{r['cure_rate']:.0%} | {r['grade3plus_neutropenia_rate']:.0%} | "
                f"{r['irae_rate']:.0%} ({r['irae_grade3plus_rate']:.0%}) | "
                f"{r['fraction_time_hot']:.0%} | {f['hazard_ratio_os']} "
                f"({f['hr_ci_low']}-{f['hr_ci_high']}) | "
                f"{format_number(r['logrank_p'], '.2g')} | "
                f"{format_number(r['benchmark_score'], '.0f')} |"
            )
        lines += ["", f"Reference arm for HR and log-rank: {reference or rows[0]['arm']}.",
                  "Benchmark score: 100 x (Q - Q no-treatment) / (Q best standard - "
                  "Q no-treatment), Q the mean Q-TWiST (grade >= 3 toxicity and time after "
                  "progression at utility 0.5).",
                  *([] if all(math.isfinite(r["benchmark_score"]) for r in rows) else
                    [f"Score n/a: {SCORE_NEEDS}."]),
                  "", "![OS](km_os.png)", "", "![PFS](km_pfs.png)", "",
                  "![doses](dose_timeline.png)", ""]  # fmt: skip
        with open(os.path.join(tmp, "report.md"), "w") as fh:
            fh.write("\n".join(lines))
        folder.commit()
    except BaseException:
        folder.abort()
        raise
    return rows


def _months(value: float) -> str:
    """A survival time in months for the text report ("not reached" for an infinite one)."""
    return format_number(value, ".1f")
