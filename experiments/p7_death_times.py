"""Why P7's median ratio misses while its hazard ratio holds: death times on chemo alone.

P7 (``tests/science/test_tme_phenomena.py``) asks strong chemo-induced MDSC responders to do
worse on chemotherapy alone than weak ones. In hazard terms they do (HR ~2.1, inside the range
of the NSCLC meta-analysis of circulating MDSCs); the stated median ratio (<= 0.75) misses
(~0.86). This script measures why, on the cohort and schedule of ``tests/science``
(``validation`` split, 300 patients, chemotherapy q3w with maintenance, 5-year horizon):

1. **Death times by responder group**: percentiles of the death times, Kaplan-Meier survival
   at 6 to 24 months, the median ratio and the Cox hazard ratio (95% CI).
2. **A what-if on pace heterogeneity**: the between-patient spread of the tumour growth rate
   (log-normal sigma 0.25 in `tme_env.patients.POPULATION`, "doubling times vary ~2x") is
   widened (``--sigmas``), every other draw of every patient unchanged: each patient keeps
   its z-score, so ``growth_rate = median * exp(sigma * z)``; the presentation state does not
   depend on the growth rate. It asks whether more spread in the pace of disease, which
   spreads death times as a real trial's curves are spread, lets the responder groups' medians
   part. P1 (untreated median OS, deaths by 2 years) is reported beside it, since the spread
   changes it too.
3. **A what-if on MDSC growth promotion** (``--promotions``): v1 switched off the term through
   which v0 met P7 (``mdsc_growth_promotion`` pi_M = 0: no source gives its size). Turned back
   on at the calibrated defaults, with P7 and the KEYNOTE-189 arms' median OS and ORR beside
   it (the same 300 patients per arm).

Nothing is fitted and no default changes.

Usage::

    python experiments/p7_death_times.py [--patients 300] [--sigmas 0.25 0.5 0.75]
        [--out experiments/calibration/p7_death_times.json]
        [--figure experiments/figures/p7_death_times.png] [--promotions 0 0.25 0.5 1] [--quick]

Writes the JSON atomically and one Kaplan-Meier panel per growth-rate spread (strong vs weak
responders, medians marked).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys

import numpy as np
import quick  # experiments/quick.py: the --quick flag
from tqdm.auto import tqdm

from tme_env.clinical import DAYS_PER_MONTH, HORIZON_DAYS
from tme_env.io import atomic_write_json
from tme_env.models.tme import TMEParameters
from tme_env.patients import POPULATION, Cohort, cohort
from tme_env.regimens import schedules
from tme_env.trials import ArmOutcomes, km_median, run_schedule, survival_at
from tme_env.trials.survival import cox_hazard_ratio

#: The cohort's growth-rate spread (log-normal sigma), from `tme_env.patients.POPULATION`.
SIGMA_DEFAULT = next(s.sigma for s in POPULATION if s.parameter == "growth_rate")
#: Months at which survival is read, and death-time percentiles reported.
MONTHS = (6, 9, 12, 18, 24)
PERCENTILES = (10, 25, 50, 75, 90)


def with_growth_spread(c: Cohort, sigma: float) -> Cohort:
    """The same patients with the growth rate's log-normal spread set to ``sigma``.

    Each patient keeps its growth-rate z-score (``phenotype["z"]``) and every other parameter,
    phenotype and its presentation state, which does not depend on the growth rate
    (`tme_env.models.tme.quasi_steady_state`).

    Raises:
        ValueError: If ``sigma`` is not a finite number >= 0.
    """
    if not (math.isfinite(sigma) and sigma >= 0.0):
        raise ValueError(f"growth-rate sigma must be a finite number >= 0, got {sigma!r}")
    patients = []
    for p in c.patients:
        z = p.phenotype["z"]["growth_rate"]
        rate = p.parameters.growth_rate * math.exp((sigma - SIGMA_DEFAULT) * z)
        patients.append(dataclasses.replace(p, parameters=p.parameters.replace(growth_rate=rate)))
    return Cohort(f"{c.name} (growth sigma {sigma:g})", tuple(patients))


def group_figures(days: np.ndarray, event: np.ndarray) -> dict:
    """Median, death-time percentiles and survival at `MONTHS` of one group (months)."""
    dead = days[event] / DAYS_PER_MONTH
    return {
        "patients": int(days.size),
        "censored": int((~event).sum()),
        "median_os_months": km_median(days, event) / DAYS_PER_MONTH,
        "death_time_percentiles_months": dict(zip(
            map(str, PERCENTILES), np.percentile(dead, PERCENTILES).tolist(), strict=True
        )) if dead.size else {},  # fmt: skip
        "survival": {f"{m}m": survival_at(days, event, m * DAYS_PER_MONTH) for m in MONTHS},
    }


def measure(c: Cohort) -> tuple[dict, ArmOutcomes]:
    """P7's groups under chemotherapy q3w (with maintenance) and P1 without treatment.

    Returns:
        The figures, and the chemotherapy arm (KEYNOTE-189's placebo arm: the same schedule).
    """
    chemo = run_schedule(c, schedules.chemo_q3w(HORIZON_DAYS), HORIZON_DAYS)
    none = run_schedule(c, schedules.no_treatment(HORIZON_DAYS), HORIZON_DAYS)
    resp = c.phenotype("mdsc_responder")
    strong, weak = resp == "strong", resp == "weak"
    hr, lo, hi = cox_hazard_ratio(chemo.os_days[strong], chemo.os_event[strong],
                                  chemo.os_days[weak], chemo.os_event[weak])  # fmt: skip
    masks = {"strong": strong, "weak": weak, "all": np.ones_like(strong)}
    groups = {g: group_figures(chemo.os_days[m], chemo.os_event[m]) for g, m in masks.items()}
    return {
        "groups": groups,
        "median_ratio_strong_weak": groups["strong"]["median_os_months"]
        / groups["weak"]["median_os_months"],
        "hazard_ratio_strong_weak": [hr, lo, hi],
        "untreated_median_os_months": km_median(none.os_days, none.os_event) / DAYS_PER_MONTH,
        "untreated_dead_2y": float(np.mean(none.os_event & (none.os_days <= 730.5))),
    }, chemo


def promotion_what_if(n: int, promotion: float) -> dict:
    """P7, P1 and the KEYNOTE-189 arms with MDSC growth promotion pi_M = ``promotion``."""
    c = cohort("validation", n, base=TMEParameters().replace(mdsc_growth_promotion=promotion))
    r, placebo = measure(c)
    pembro = run_schedule(c, schedules.keynote189("pembrolizumab", HORIZON_DAYS), HORIZON_DAYS)
    for arm, a in (("placebo", placebo), ("pembrolizumab", pembro)):
        median = km_median(a.os_days, a.os_event) / DAYS_PER_MONTH
        r[f"keynote189_{arm}"] = {"median_os_months": median,
                                  "orr": a.objective_response_rate}  # fmt: skip
    return r


def _figure(results: dict, arms: dict, base: Cohort, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from lifelines import KaplanMeierFitter

    from tme_env.trials.plots import save_figure

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.8), sharey=True,
                             squeeze=False)  # fmt: skip
    for ax, (sigma, r) in zip(axes[0], results.items(), strict=True):
        resp = base.phenotype("mdsc_responder")  # growth spread keeps every phenotype
        for g, colour in (("strong", "tab:red"), ("weak", "tab:blue")):
            days, event = arms[sigma].os_days[resp == g], arms[sigma].os_event[resp == g]
            km = KaplanMeierFitter().fit(days / DAYS_PER_MONTH, event, label=f"{g} responders")
            km.plot_survival_function(ax=ax, ci_show=False, color=colour, show_censors=True,
                                      censor_styles={"marker": "|", "ms": 5})  # fmt: skip
            med = r["groups"][g]["median_os_months"]
            if np.isfinite(med):
                ax.plot([med], [0.5], "o", color=colour, ms=4)
        hr = r["hazard_ratio_strong_weak"][0]
        default = " (the cohort's)" if sigma == SIGMA_DEFAULT else " (what-if)"
        ax.set_title(f"growth-rate sigma {sigma:g}{default}\nmedian ratio "
                     f"{r['median_ratio_strong_weak']:.2f}, HR {hr:.2f}", fontsize=9)  # fmt: skip
        ax.axhline(0.5, color="0.6", lw=0.8, ls="--", zorder=0)
        ax.set_xlim(0, 36)
        ax.set_xlabel("months on chemotherapy q3w")
        ax.legend(fontsize=8, frameon=False)
    axes[0][0].set_ylabel("overall survival")
    fig.suptitle("P7: strong vs weak chemo-induced MDSC responders (validation split)",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, and write the JSON and the figure."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=300, help="validation patients")
    ap.add_argument("--sigmas", type=float, nargs="+", default=[SIGMA_DEFAULT, 0.5, 0.75],
                    help="growth-rate log-normal spreads to compare")  # fmt: skip
    ap.add_argument("--out", default="experiments/calibration/p7_death_times.json")
    ap.add_argument("--figure", default="experiments/figures/p7_death_times.png")
    ap.add_argument("--promotions", type=float, nargs="*", default=[0.0, 0.25, 0.5, 1.0],
                    help="MDSC growth promotion pi_M values (none: skip that what-if)")
    args = quick.parse_args(ap, argv, __file__,
                            sizes={"patients": 16, "sigmas": [SIGMA_DEFAULT, 0.5],
                                   "promotions": [0.5]},
                            outputs={"out": "p7_death_times.json",
                                     "figure": "p7_death_times.png"})  # fmt: skip
    if args.patients < 8:
        raise SystemExit(f"--patients must be >= 8 (two responder quartiles), got {args.patients}")
    for flag, values in (("--sigmas", args.sigmas), ("--promotions", args.promotions)):
        for v in values:
            if not (math.isfinite(v) and v >= 0.0):
                raise SystemExit(f"{flag}: each must be a finite number >= 0, got {v!r}")
    base = cohort("validation", args.patients)
    results, arms = {}, {}
    for s in tqdm(args.sigmas, desc="sigma"):
        results[s], arms[s] = measure(with_growth_spread(base, s))
    for s, r in results.items():
        med = {g: r["groups"][g]["median_os_months"] for g in ("strong", "weak")}
        print(f"growth-rate sigma {s:g}: median OS strong {med['strong']:.1f}"
              f" vs weak {med['weak']:.1f} months (ratio "
              f"{r['median_ratio_strong_weak']:.2f}); HR {r['hazard_ratio_strong_weak'][0]:.2f} "
              f"({r['hazard_ratio_strong_weak'][1]:.2f}-{r['hazard_ratio_strong_weak'][2]:.2f}); "
              f"untreated median OS {r['untreated_median_os_months']:.1f}, dead by 2 years "
              f"{r['untreated_dead_2y']:.0%}")  # fmt: skip
        for g in ("strong", "weak", "all"):
            f = r["groups"][g]
            pct = " / ".join(f"{v:.1f}" for v in f["death_time_percentiles_months"].values())
            surv = " ".join(f"{k} {v:.0%}" for k, v in f["survival"].items())
            print(f"  {g:>6} ({f['patients']}, {f['censored']} alive at 5 y): death times "
                  f"p10/25/50/75/90 {pct} months; survival {surv}")  # fmt: skip
    promoted = {pi: promotion_what_if(args.patients, pi)
                for pi in tqdm(args.promotions, desc="pi_M")}  # fmt: skip
    for pi, r in promoted.items():
        kn = [r[f"keynote189_{a}"] for a in ("placebo", "pembrolizumab")]
        print(f"MDSC growth promotion pi_M {pi:g}: P7 median ratio "
              f"{r['median_ratio_strong_weak']:.2f}, HR {r['hazard_ratio_strong_weak'][0]:.2f}; "
              f"untreated median OS {r['untreated_median_os_months']:.1f}; KEYNOTE-189 median OS "
              f"{kn[0]['median_os_months']:.1f} vs {kn[1]['median_os_months']:.1f} months "
              f"(10.7 vs 22.0), ORR {kn[0]['orr']:.0%} vs {kn[1]['orr']:.0%} "
              "(18.9% vs 47.6%)")  # fmt: skip
    _figure(results, arms, base, args.figure)
    payload = {"split": "validation", "patients": args.patients, "schedule": "chemo_q3w",
               "sigma_default": SIGMA_DEFAULT,
               "results": {f"{s:g}": r for s, r in results.items()},
               "growth_promotion_what_if": {f"{p:g}": r for p, r in promoted.items()}}  # fmt: skip
    atomic_write_json(args.out, payload)
    print(f"wrote {args.out} and {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
