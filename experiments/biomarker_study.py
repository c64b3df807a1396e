"""Biomarker study: which early measurements predict poor outcome under chemotherapy alone?

Chemotherapy alone (the KEYNOTE-189 control schedule) on the test split. Candidate early
biomarkers, all measurable in the clinic within the first cycles:

* cycle-1 blood MDSC fold-change (day 21 / day 0);
* neutrophil nadir in cycle 1 (lowest daily ANC, days 0-21);
* imaging response at the first scan (diameter change at day 42);
* biopsy CD8:MDSC ratio at day 21 (log10).

Poor outcome: overall survival below the cohort median. For each biomarker: the ROC curve and
its AUC (the orientation that predicts poor outcome; 0.5 = no information).

Usage::

    python experiments/biomarker_study.py [--patients 500]
        [--out experiments/figures/biomarker_roc.png] [--quick]
"""

from __future__ import annotations

import argparse

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
from tme_env.trials import run_schedule  # noqa: E402


def roc(score: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """ROC curve (FPR, TPR) of ``score`` for ``positive`` and its AUC (Mann-Whitney)."""
    order = np.argsort(-score, kind="stable")
    pos = positive[order]
    tpr = np.r_[0.0, np.cumsum(pos) / pos.sum()]
    fpr = np.r_[0.0, np.cumsum(~pos) / (~pos).sum()]
    ranks = np.argsort(np.argsort(score, kind="stable"), kind="stable") + 1.0
    n1, n0 = positive.sum(), (~positive).sum()
    auc = (ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    return fpr, tpr, float(auc)


def main(argv: list[str] | None = None) -> int:
    """Simulate the cohort, compute the biomarkers, write the ROC figure and print the AUCs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=500)
    ap.add_argument("--out", default="experiments/figures/biomarker_roc.png")
    args = quick.parse_args(ap, argv, __file__, sizes={"patients": 40},
                            outputs={"out": "biomarker_roc.png"})  # fmt: skip

    c = cohort("test", args.patients)
    arm = run_schedule(c, schedules.chemo_q3w(HORIZON_DAYS), HORIZON_DAYS)
    blood = clinical.blood_mdsc_per_ul(arm.state("M"))
    burden = arm.burden
    markers = {
        "blood MDSC fold-change, day 21": blood[:, 21] / blood[:, 0],
        "neutrophil nadir, cycle 1 (lower scored worse)": -arm.state("ANC")[:, :22].min(axis=1),
        "imaging diameter change, day 42": clinical.diameter_mm(burden[:, 42])
        / clinical.diameter_mm(burden[:, 0]),
        "biopsy CD8:MDSC, day 21 (lower scored worse)": -np.log10(
            (arm.state("E")[:, 21] + 1) / (arm.state("M")[:, 21] + 1)
        ),
    }
    poor = arm.os_days < np.median(arm.os_days)
    fig, ax = plt.subplots(figsize=(6.5, 6))
    print(f"poor outcome = OS below the median ({np.median(arm.os_days) / 30.44:.1f} months), "
          f"{poor.sum()} of {len(poor)} patients")  # fmt: skip
    for name, score in markers.items():
        fpr, tpr, auc = roc(score, poor)
        ax.plot(fpr, tpr, label=f"{name}: AUC {auc:.2f}")
        print(f"  {name:<45} AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"Early biomarkers of poor survival on chemo alone\n(test split, "
                 f"{args.patients} patients)")  # fmt: skip
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    atomic_savefig(fig, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
