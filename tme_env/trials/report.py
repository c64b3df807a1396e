"""Trial reports: per-arm statistics (`summarise`) and the written report (`write_report`).

`summarise` computes, per arm, Kaplan-Meier medians with 95% CIs, the restricted mean survival
time, response, cure, toxicity and dose figures, and the log-rank test and Cox hazard ratio
against a reference arm (`tme_env.trials.survival`). The statistics are computed once, in
`summarise_arms`, from each arm's `ArmFigures`: `summarise` gives it per-patient survival
times, a streamed trial (`tme_env.trials.streaming.summarise_tallies`) its tallies of them as
frequency weights.

**Benchmark score** (the leaderboard metric), per policy, on the same patients::

    score = 100 * (Q_policy - Q_no-treatment) / (Q_best-standard - Q_no-treatment)

with Q the mean quality-adjusted survival over the horizon in the Q-TWiST sense
(`tme_env.clinical.q_twist_days`: time with grade >= 3 toxicity and time after progression
count at utility 0.5) and "best standard" the standard regimen (`tme_env.regimens`,
excluding no-treatment) with the largest Q *in this trial* (`score_reference`; each row's
``score_reference``). 0 means no better than no treatment, 100 as good as that regimen on these
patients: the reference depends on the arms and patients of the trial (a trial without
chemo-ici-inhibitor scores another regimen 100), so reports name it (`score_note`). RMST, OS,
PFS, response and toxicity rates stay in the report.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from tme_env.clinical import DAYS_PER_MONTH
from tme_env.io import OutputFolder, format_number, json_safe
from tme_env.patients import cohort
from tme_env.regimens import REGIMENS
from tme_env.trials.outcomes import ArmOutcomes, TrialResult
from tme_env.trials.plots import plot_dose_timeline, plot_km, save_figure
from tme_env.trials.survival import (
    cox_hazard_ratio,
    hazard_ratio,
    km_median,
    km_median_ci,
    logrank_p,
    rmst,
)

__all__ = [
    "ArmFigures",
    "benchmark_scores",
    "score_note",
    "score_reference",
    "summarise",
    "summarise_arms",
    "summary_table",
    "write_report",
]

#: Why a trial's benchmark score can be n/a (shown in the report and by ``tme trial``).
SCORE_NEEDS = (
    "the benchmark score needs the no-treatment arm and at least one standard regimen in the "
    "trial (e.g. --policies all, or add no-treatment,mtd-chemo)"
)


#: The benchmark score's formula, as the reports state it.
SCORE_DEFINITION = (
    "Benchmark score: 100 x (Q - Q no-treatment) / (Q best standard - Q no-treatment), Q the "
    "mean Q-TWiST (grade >= 3 toxicity and time after progression at utility 0.5)."
)


@dataclass(frozen=True)
class ArmFigures:
    """What `summarise_arms` needs of one arm.

    Attributes:
        patients: Patients in the arm.
        os_days: OS times (days): one per patient, or the distinct ones with ``weights``.
        os_event: Death observed, matching ``os_days``.
        os_weights: Patients per ``(os_days, os_event)`` row; None: one patient per row.
        pfs_days: PFS times (days), as ``os_days``.
        pfs_event: Progression or death observed, matching ``pfs_days``.
        pfs_weights: Patients per ``(pfs_days, pfs_event)`` row; None: one patient per row.
        q_twist_days: Mean Q-TWiST of the arm (days).
        rates: The arm's per-patient means, in report order (``objective_response_rate``
            to ``anti_pd1_discontinued_rate``).
    """

    patients: int
    os_days: np.ndarray
    os_event: np.ndarray
    os_weights: np.ndarray | None
    pfs_days: np.ndarray
    pfs_event: np.ndarray
    pfs_weights: np.ndarray | None
    q_twist_days: float
    rates: dict[str, float]


def _arm_figures(arm: ArmOutcomes) -> ArmFigures:
    """The `ArmFigures` of an arm's per-patient outcomes."""
    irae = arm.irae_worst_grade if arm.irae_worst_grade is not None else arm.worst_grade * 0
    stopped = arm.anti_pd1_discontinued
    rates = {
        "objective_response_rate": arm.objective_response_rate,
        "cure_rate": float(arm.cured.mean()),
        "grade3plus_neutropenia_rate": float((arm.worst_grade >= 3).mean()),
        "mean_chemo_doses": float(arm.dose_chemo.mean()),
        "mean_anti_pd1_doses": float(arm.dose_anti_pd1.mean()),
        "mean_inhibitor_dose_days": float(arm.dose_inhibitor.mean()),
        "fraction_time_hot": float(arm.fraction_hot.mean()),
        "irae_rate": float((irae > 0).mean()),
        "irae_grade3plus_rate": float((irae >= 3).mean()),
        "irae_death_rate": float((irae >= 5).mean()),
        "anti_pd1_discontinued_rate": float(stopped.mean()) if stopped is not None else 0.0,
    }
    return ArmFigures(len(arm.os_days), arm.os_days, arm.os_event, None, arm.pfs_days,
                      arm.pfs_event, None, float(arm.q_twist_days.mean()), rates)  # fmt: skip


def summarise(result: TrialResult, reference: str | None = None) -> list[dict[str, Any]]:
    """One row of statistics per arm (see the module docstring for the benchmark score).

    Args:
        result: The trial.
        reference: Arm the hazard ratios and log-rank tests compare against (default: the first).

    Raises:
        ValueError: If ``reference`` is not an arm of the trial.
    """
    figures = {name: _arm_figures(arm) for name, arm in result.arms.items()}
    return summarise_arms(figures, result.horizon_days, reference)


def summarise_arms(
    arms: dict[str, ArmFigures], horizon_days: float, reference: str | None = None
) -> list[dict[str, Any]]:
    """One row of statistics per arm, from each arm's `ArmFigures` (see `summarise`).

    Args:
        arms: Arm name -> figures, in report order.
        horizon_days: Restriction time of the RMST.
        reference: Arm the hazard ratios and log-rank tests compare against (default: the first).

    Raises:
        ValueError: If ``reference`` is not an arm.
    """
    q_days = {}
    rows = []
    for name, a in arms.items():
        row: dict[str, Any] = {"arm": name, "patients": a.patients}
        for label, days, event, weights in (("os", a.os_days, a.os_event, a.os_weights),
                                            ("pfs", a.pfs_days, a.pfs_event,
                                             a.pfs_weights)):  # fmt: skip
            median, low, high = km_median_ci(days, event, weights)
            row[f"median_{label}_months"] = median / DAYS_PER_MONTH
            row[f"median_{label}_ci_low"] = low / DAYS_PER_MONTH
            row[f"median_{label}_ci_high"] = high / DAYS_PER_MONTH
            if label == "os":
                row["rmst_os_months"] = rmst(days, event, horizon_days, weights) / DAYS_PER_MONTH
        q_days[name] = a.q_twist_days
        row["q_twist_months"] = q_days[name] / DAYS_PER_MONTH
        row.update(a.rates)
        rows.append(row)
    ref = reference if reference is not None else next(iter(arms))
    if ref not in arms:
        raise ValueError(f"reference arm {ref!r} is not in the trial: {list(arms)}")
    r = arms[ref]
    for row in rows:
        a = arms[row["arm"]]
        if row["arm"] == ref:
            row.update(hazard_ratio_os=1.0, hr_ci_low=1.0, hr_ci_high=1.0, logrank_p=1.0)
            continue
        p = logrank_p(a.os_days, a.os_event, r.os_days, r.os_event, a.os_weights, r.os_weights)
        hr, low, high = cox_hazard_ratio(a.os_days, a.os_event, r.os_days, r.os_event,
                                         a.os_weights, r.os_weights)  # fmt: skip
        row.update(hazard_ratio_os=hr, hr_ci_low=low, hr_ci_high=high, logrank_p=p)
    scores = benchmark_scores(q_days)
    best = score_reference(q_days)
    for row in rows:
        row["benchmark_score"] = scores[row["arm"]]
        row["score_reference"] = best
    return rows


def score_reference(q_days: dict[str, float]) -> str | None:
    """The arm that scores 100: the standard regimen with the largest mean Q-TWiST.

    Standard regimens are those of `tme_env.regimens` other than no-treatment; the first of
    equal ones wins. None unless the trial has the no-treatment arm and a standard regimen.
    """
    standard = [n for n in q_days if n in REGIMENS and n != "no-treatment"]
    if "no-treatment" not in q_days or not standard:
        return None
    return max(standard, key=lambda n: q_days[n])


def benchmark_scores(q_days: dict[str, float]) -> dict[str, float]:
    """The benchmark score of every arm from its mean Q-TWiST (see the module docstring).

    NaN for every arm unless the trial has the no-treatment arm and a standard regimen.
    """
    best = score_reference(q_days)
    if best is None:
        return {name: float("nan") for name in q_days}
    base = q_days["no-treatment"]
    return {name: 100.0 * (q - base) / (q_days[best] - base) for name, q in q_days.items()}


def score_note(rows: list[dict[str, Any]]) -> str:
    """One sentence that says what the scores of ``rows`` (`summarise`) are relative to.

    It names the arm that scores 100 in this trial, or says why the score is n/a.
    """
    best = rows[0].get("score_reference") if rows else None
    if best is None:
        return f"Score n/a: {SCORE_NEEDS}."
    return (f"Score: 0 = no-treatment, 100 = {best}, the best standard regimen in this trial "
            "(by mean Q-TWiST); another set of arms or patients can have another reference.")


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
    import matplotlib  # deferred: a heavy optional import, needed only to draw the figures

    matplotlib.use("Agg")
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
        strata = patient_strata(result)
        with open(os.path.join(tmp, "patients.csv"), "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["arm", "patient", "pdl1_stratum", "os_days", "os_event", "pfs_days",
                        "pfs_event", "best_response", "cured", "worst_neutropenia_grade",
                        "chemo_doses", "anti_pd1_doses", "inhibitor_dose_days",
                        "fraction_time_hot"])  # fmt: skip
            for name, arm in result.arms.items():
                for i, pid in enumerate(arm.patient_ids):
                    w.writerow([
                        name, pid, "" if strata is None else strata[i],
                        f"{arm.os_days[i]:.2f}", int(arm.os_event[i]),
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
                 *summary_table(rows)]  # fmt: skip
        lines += stratum_table(result, reference or rows[0]["arm"])
        lines += ["", f"Reference arm for HR and log-rank: {reference or rows[0]['arm']}.",
                  SCORE_DEFINITION, "", score_note(rows),
                  "", "![OS](km_os.png)", "", "![PFS](km_pfs.png)", "",
                  "![doses](dose_timeline.png)", ""]  # fmt: skip
        with open(os.path.join(tmp, "report.md"), "w") as fh:
            fh.write("\n".join(lines))
        folder.commit()
    except BaseException:
        folder.abort()
        raise
    return rows


def patient_strata(result: TrialResult) -> np.ndarray | None:
    """Each patient's PD-L1 TPS stratum (cohort order), or None if the ids are not a split's.

    The patients of a trial on a named split are the split's first ``n_patients``
    (`tme_env.patients.cohort`); they are rebuilt to read their stratum.
    """
    arm = next(iter(result.arms.values()))
    try:
        patients = cohort(result.split, result.n_patients)
    except ValueError:
        return None
    if patients.ids != list(arm.patient_ids):
        return None
    return patients.phenotype("pdl1_stratum")


def stratum_table(result: TrialResult, reference: str) -> list[str]:
    """Markdown lines: median OS and the OS hazard ratio against ``reference`` by TPS stratum."""
    strata = patient_strata(result)
    if strata is None or reference not in result.arms:
        return []
    names = [s for s in ("<1%", "1-49%", ">=50%") if (strata == s).any()]
    lines = ["", "## By PD-L1 tumour proportion score", "",
             f"Median OS in months (OS hazard ratio against {reference}); patients per stratum: "
             + ", ".join(f"{s} {int((strata == s).sum())}" for s in names) + ".", "",
             "| arm | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]  # fmt: skip
    ref = result.arms[reference]
    for name, arm in result.arms.items():
        cells = []
        for s in names:
            m = strata == s
            med = km_median(arm.os_days[m], arm.os_event[m]) / DAYS_PER_MONTH
            hr = hazard_ratio(arm.os_days[m], arm.os_event[m], ref.os_days[m], ref.os_event[m])
            text = f"{med:.1f}" if np.isfinite(med) else "not reached"
            cells.append(text if name == reference else f"{text} ({hr:.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def summary_table(rows: list[dict[str, Any]]) -> list[str]:
    """The markdown table of a report: one line per `summarise` row, after a header.

    Shared by `write_report` and the streamed report (`tme_env.trials.streaming`), so both
    have the same columns; a survival time not reached reads "not reached", a score that
    cannot be computed "n/a" (`tme_env.io.format_number`).
    """
    lines = ["| arm | median OS (95% CI), mo | median PFS, mo | RMST, mo | Q-TWiST, mo | "
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
    return lines


def _months(value: float) -> str:
    """A survival time in months for the text report ("not reached" for an infinite one)."""
    return format_number(value, ".1f")
