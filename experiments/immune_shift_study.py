"""Immune-shift study: chemo alone vs blocking the shift, on the validation cohort.

Does chemotherapy turn tumours cold and breed resistance, and does blocking the shift
prevent it? (Fixed schedules.)

Arms: chemotherapy alone (KEYNOTE-189 control schedule), chemo + suppressor-inhibitor,
chemo then anti-PD-1 (sequential), and the concurrent triple (chemo + anti-PD-1 + inhibitor).
For each arm: median and inter-quartile band over patients of the blood MDSC level, the
hotness index and the resistant fraction over time (patients are dropped from the bands after
death), and Kaplan-Meier overall survival.

Usage::

    python experiments/immune_shift_study.py [--patients 300] [--days 540]
        [--out experiments/figures/immune_shift_study.png] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import quick  # noqa: E402 - experiments/quick.py: the --quick flag

from tme_env import clinical  # noqa: E402
from tme_env.clinical import HORIZON_DAYS  # noqa: E402
from tme_env.io import atomic_savefig  # noqa: E402
from tme_env.patients import cohort  # noqa: E402
from tme_env.regimens import schedules  # noqa: E402
from tme_env.trials import km_median, run_schedule  # noqa: E402

ARMS = {
    "chemo alone": schedules.chemo_q3w,
    "chemo + inhibitor": schedules.chemo_with_inhibitor,
    "chemo then anti-PD-1": schedules.chemo_then_anti_pd1,
    "chemo + anti-PD-1 + inhibitor": schedules.chemo_ici_inhibitor,
}


def main(argv: list[str] | None = None) -> int:
    """Run the four arms and write the figure and a CSV of summary figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=300)
    ap.add_argument("--days", type=float, default=540.0, help="days shown in the time courses")
    ap.add_argument("--out", default="experiments/figures/immune_shift_study.png")
    args = quick.parse_args(ap, argv, __file__, sizes={"patients": 12},
                            outputs={"out": "immune_shift_study.png"})  # fmt: skip

    c = cohort("validation", args.patients)
    horizon = HORIZON_DAYS
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    rows = []
    for (name, make), color in zip(ARMS.items(), plt.cm.tab10.colors, strict=False):
        arm = run_schedule(c, make(horizon), horizon)
        t = arm.t
        alive = t[None, :] < arm.os_days[:, None]
        show = t <= args.days
        series = {
            "blood MDSC (/uL)": clinical.blood_mdsc_per_ul(arm.state("M")),
            "hotness index": clinical.hotness(arm.y, c.parameters_array()),
            "resistant fraction": arm.state("R") / arm.burden,
        }
        for ax, (label, values) in zip(axes.flat[:3], series.items(), strict=True):
            v = np.where(alive, values, np.nan)[:, show]
            enough = np.sum(~np.isnan(v), axis=0) >= 10  # at least 10 patients alive
            q = np.nanpercentile(np.where(enough, v, 0.0), [25, 50, 75], axis=0)
            q[:, ~enough] = np.nan
            ax.plot(t[show], q[1], color=color, label=name)
            ax.fill_between(t[show], q[0], q[2], color=color, alpha=0.15)
            ax.set_title(label)
            ax.set_xlabel("days")
        from lifelines import KaplanMeierFitter

        km = KaplanMeierFitter().fit(arm.os_days / 30.44, arm.os_event, label=name)
        km.plot_survival_function(ax=axes[1, 1], ci_show=False, color=color)
        mdsc = arm.state("M")
        hot = clinical.hotness(arm.y, c.parameters_array()) >= clinical.HOT_THRESHOLD
        r_frac = arm.state("R") / arm.burden
        rows.append({
            "arm": name,
            "median_mdsc_peak_fold_cycle1": float(np.median(mdsc[:, 1:22].max(1) / mdsc[:, 0])),
            "cold_at_day_84": float(np.mean(~hot[:, 84][alive[:, 84]])),
            "median_resistant_fraction_day_180": float(np.nanmedian(
                np.where(alive[:, 180], r_frac[:, 180], np.nan))),
            "median_os_months": km_median(arm.os_days, arm.os_event) / 30.44,
        })  # fmt: skip
    axes[0, 1].axhline(clinical.HOT_THRESHOLD, color="k", ls="--", lw=1)
    axes[1, 0].set_yscale("log")
    axes[1, 1].set_title("overall survival")
    axes[1, 1].set_xlabel("months")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"Immune shift, validation cohort ({args.patients} patients): median and IQR")
    fig.tight_layout()
    atomic_savefig(fig, args.out)
    table = os.path.splitext(args.out)[0] + ".csv"
    with open(table + ".tmp", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.replace(table + ".tmp", table)
    for r in rows:
        print(
            f"{r['arm']:<32} MDSC peak {r['median_mdsc_peak_fold_cycle1']:.2f}x  cold@84d "
            f"{r['cold_at_day_84']:.0%}  resistant@180d "
            f"{r['median_resistant_fraction_day_180']:.3f}  median OS "
            f"{r['median_os_months']:.1f} mo"
        )
    print(f"wrote {args.out} and {table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
