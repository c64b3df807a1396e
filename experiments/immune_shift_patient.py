"""One patient under chemotherapy alone vs chemotherapy + suppressor-inhibitor: the immune shift.

Plots, for both schedules side by side: tumour burden (sensitive, resistant, total, with the
detection and lethal limits), the resistant fraction, effector T cells (active, exhausted),
MDSCs (intratumoural and the blood assay), the hotness index with the hot/cold threshold, the
absolute neutrophil count with the CTCAE grade-3 line, and the doses given.

Usage::

    python experiments/immune_shift_patient.py [--patient validation-0003]
        [--out experiments/figures/immune_shift_patient.png] [--days 540] [--quick]

By default the first strong chemo-induced MDSC responder of the validation split whose tumour
is immune-hot at presentation is shown. The model runs on past a patient's death (the day the
burden reaches the lethal limit): each column marks that day, greys what follows, and its
title says so.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import quick  # noqa: E402 - experiments/quick.py: the --quick flag

import tme_env  # noqa: E402
from tme_env import clinical  # noqa: E402
from tme_env.io import atomic_savefig  # noqa: E402
from tme_env.patients import cohort  # noqa: E402
from tme_env.regimens import schedules  # noqa: E402


def _dose_trace(schedule, t: np.ndarray, name: str) -> np.ndarray:
    out = np.zeros_like(t)
    for start, end, rates in schedule:
        if name in rates:
            out[(t >= start) & (t < end)] += rates[name]
    return out


def _fate(os_day: float, died: bool, days: float) -> str:
    """The panel title's outcome: the day of death and that the curves go on past it."""
    if not died:
        return f"alive at day {days:.0f}"
    return f"death (lethal burden) on day {os_day:.0f}; grey: the model runs on past it"


def main(argv: list[str] | None = None) -> int:
    """Simulate the two schedules for one patient and write the figure."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patient", default=None, help="patient id, e.g. validation-0003")
    ap.add_argument("--days", type=float, default=540.0, help="days to plot")
    ap.add_argument("--out", default="experiments/figures/immune_shift_patient.png")
    args = quick.parse_args(ap, argv, __file__, sizes={"days": 84.0},
                            outputs={"out": "immune_shift_patient.png"})  # fmt: skip

    c = cohort("validation", 100)
    if args.patient is None:
        patient = next(
            p for p in c
            if p.phenotype["mdsc_responder"] == "strong" and p.phenotype["immune_status"] == "hot"
        )  # fmt: skip
    else:
        matches = [p for p in c if p.patient_id == args.patient]
        if not matches:
            raise SystemExit(f"unknown patient {args.patient!r}; try validation-0000..0099")
        patient = matches[0]

    t = np.arange(0.0, args.days + 0.25, 0.25)
    arms = {
        "chemotherapy alone": schedules.chemo_q3w(args.days),
        "chemotherapy + suppressor-inhibitor": schedules.chemo_with_inhibitor(args.days),
    }
    fig, axes = plt.subplots(7, 2, figsize=(13, 17), sharex=True, sharey="row")
    for col, (title, sched) in enumerate(arms.items()):
        res = tme_env.simulate("tme", t_eval=t, initial_state=patient.initial_state,
                               params=patient.parameters, infusions=sched)  # fmt: skip
        burden = res["S"] + res["R"]
        os_day, died = clinical.survival_time(t, burden)
        ax = axes[0, col]
        ax.semilogy(t, burden, "k", label="total")
        ax.semilogy(t, np.maximum(res["S"], 1.0), "tab:blue", label="sensitive")
        ax.semilogy(t, np.maximum(res["R"], 1.0), "tab:red", label="resistant")
        ax.axhline(clinical.DEATH_BURDEN_CELLS, color="k", ls=":", lw=1, label="lethal")
        ax.axhline(clinical.DETECTION_LIMIT_CELLS, color="gray", ls="--", lw=1, label="detectable")
        ax.set_ylim(1e7, 3e12)
        ax.set_title(f"{title}\n{patient.patient_id} ({patient.phenotype['mdsc_responder']} "
                     f"MDSC responder)\n{_fate(os_day[0], died[0], args.days)}",
                     fontsize=10)  # fmt: skip
        if died[0]:  # the model runs on past death: mark it, and grey what follows
            for row in axes[:, col]:
                row.axvline(os_day[0], color="k", lw=1, alpha=0.6)
                row.axvspan(os_day[0], args.days, color="0.5", alpha=0.12, lw=0)
        ax.set_ylabel("tumour cells")
        ax.legend(fontsize=7, loc="lower left", ncol=3)
        axes[1, col].semilogy(t, res["R"] / burden, "tab:red")
        axes[1, col].set_ylabel("resistant fraction")
        axes[2, col].semilogy(t, np.maximum(res["E"], 1.0), "tab:green", label="active CD8+")
        axes[2, col].semilogy(t, np.maximum(res["X"], 1.0), "tab:olive", label="exhausted")
        axes[2, col].set_ylabel("T cells")
        axes[2, col].legend(fontsize=7)
        axes[3, col].plot(t, clinical.blood_mdsc_per_ul(res["M"]), "tab:purple")
        axes[3, col].set_ylabel("blood MDSC /uL")
        hot = clinical.hotness(res.y[None], patient.parameters.to_array()[None])[0]
        axes[4, col].plot(t, hot, "tab:orange")
        axes[4, col].axhline(clinical.HOT_THRESHOLD, color="k", ls="--", lw=1)
        axes[4, col].fill_between(t, 0, 1, where=hot < clinical.HOT_THRESHOLD, color="tab:blue",
                                  alpha=0.08, label="cold")  # fmt: skip
        axes[4, col].set_ylim(0, 1)
        axes[4, col].set_ylabel("hotness index")
        axes[4, col].legend(fontsize=7)
        axes[5, col].plot(t, res["ANC"], "tab:brown")
        axes[5, col].axhline(1.0, color="r", ls="--", lw=1, label="grade 3")
        axes[5, col].set_ylabel("ANC (1e9/L)")
        axes[5, col].legend(fontsize=7)
        for name, color in (("chemo", "tab:blue"), ("inhibitor", "tab:purple"),
                            ("anti_pd1", "tab:green")):  # fmt: skip
            axes[6, col].plot(t, _dose_trace(sched, t, name), color=color, label=name)
        axes[6, col].set_ylabel("dose rate")
        axes[6, col].set_xlabel("days")
        axes[6, col].legend(fontsize=7)
    fig.suptitle("The immune shift: chemotherapy recruits MDSCs, the tumour turns cold, the "
                 "resistant clone regrows", fontsize=12)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 0.985))  # room for the suptitle above the column titles
    atomic_savefig(fig, args.out)
    print(f"wrote {args.out} ({patient.patient_id})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
