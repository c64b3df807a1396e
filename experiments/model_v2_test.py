"""The model-v2 claims on held-out test patients (issue 27's done-when), run once.

On the ``test`` split (never seen by the calibration, which fits ``train``, nor by the
validation report, on ``validation``), all-comers and by PD-L1 stratum, without crossover
(the regimens as a clinician would compare them):

* chemotherapy + pembrolizumab (`chemo-ici-concurrent`) against pembrolizumab alone: OS hazard
  ratio with its 95% CI, all-comers and by stratum;
* pembrolizumab alone against chemotherapy (`mtd-chemo`): OS hazard ratio by stratum (it
  should be < 1 at TPS >= 50%, and not below TPS 1%);
* the PD-L1-guided standard of care (`pdl1-guided`) against each.

Usage::

    python experiments/model_v2_test.py [--patients 900] [--out experiments/figures/model_v2_test]
        [--quick]

Writes ``<out>.md`` and ``<out>.json`` atomically.
"""

from __future__ import annotations

import argparse

import quick  # experiments/quick.py: the --quick flag

from tme_env import regimens
from tme_env.clinical import DAYS_PER_MONTH
from tme_env.envs import DEFAULT_ENV_ID
from tme_env.io import atomic_write_json, atomic_write_text
from tme_env.patients import cohort
from tme_env.trials import run_trial
from tme_env.trials.survival import cox_hazard_ratio, km_median
from tme_env.validation.run import stratum_mask

ARMS = ("mtd-chemo", "pembrolizumab", "chemo-ici-concurrent", "pdl1-guided")
CONTRASTS = (
    ("chemo-ici-concurrent", "pembrolizumab"),
    ("pembrolizumab", "mtd-chemo"),
    ("pdl1-guided", "chemo-ici-concurrent"),
    ("pdl1-guided", "pembrolizumab"),
)
STRATA = ("all", "<1%", "1-49%", ">=50%")


def main(argv: list[str] | None = None) -> int:
    """Run the four arms on test patients and write the contrasts."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=900, help="test patients per arm")
    ap.add_argument("--out", default="experiments/figures/model_v2_test")
    args = quick.parse_args(ap, argv, __file__, sizes={"patients": 12},
                            outputs={"out": "model_v2_test"})  # fmt: skip
    if args.patients < 1:
        ap.error(f"--patients must be >= 1, got {args.patients}")
    policies = {name: regimens.get(name) for name in ARMS}
    result = run_trial(policies, env_id=DEFAULT_ENV_ID, split="test", n_patients=args.patients,
                       seed=0, progress=True)  # fmt: skip
    strata = cohort("test", args.patients).phenotype("pdl1_stratum")
    rows = []
    for a, b in CONTRASTS:
        for s in STRATA:
            m = stratum_mask(strata, s)
            if not m.any():
                continue
            xa, xb = result.arms[a], result.arms[b]
            hr, lo, hi = cox_hazard_ratio(xa.os_days[m], xa.os_event[m], xb.os_days[m],
                                          xb.os_event[m])  # fmt: skip
            rows.append({
                "arm": a, "reference": b, "stratum": s, "n": int(m.sum()),
                "median_os_months": km_median(xa.os_days[m], xa.os_event[m]) / DAYS_PER_MONTH,
                "reference_median_os_months":
                    km_median(xb.os_days[m], xb.os_event[m]) / DAYS_PER_MONTH,
                "os_hr": hr, "os_hr_ci": [lo, hi],
            })  # fmt: skip
    lines = ["# Model v2 on test patients", "",
             f"`{DEFAULT_ENV_ID}`, test split, {args.patients} patients per arm (paired), no "
             "crossover. OS hazard ratio of the arm against the reference (Cox, 95% CI).", "",
             "| arm | reference | stratum | n | median OS (mo) | reference (mo) | OS HR (95% CI) |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lo, hi = r["os_hr_ci"]
        lines.append(f"| {r['arm']} | {r['reference']} | {r['stratum']} | {r['n']} | "
                     f"{r['median_os_months']:.1f} | {r['reference_median_os_months']:.1f} | "
                     f"{r['os_hr']:.2f} ({lo:.2f}-{hi:.2f}) |")  # fmt: skip
    lines.append("")
    atomic_write_json(args.out + ".json", {"split": "test", "patients": args.patients,
                                           "env_id": DEFAULT_ENV_ID, "rows": rows})  # fmt: skip
    atomic_write_text(args.out + ".md", "\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {args.out}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
