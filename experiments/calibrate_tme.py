"""Calibrate the ``tme`` model (v2) to the first-line trial panel, on train patients.

A real optimiser (Nelder-Mead on log-parameters, scipy) moves the population medians of
`FREE` so that the panel's arms (`tme_env.validation.run.PANEL_ARMS`, run through the env as
the trials ran them, crossover included) reproduce the panel's targets
(`tme_env.validation.panel.PANEL`: KEYNOTE-189 with its PD-L1 strata and 5-year data,
KEYNOTE-024, the FDA pooled chemo-IO vs IO analyses), together with the untreated course
(P1: median OS 6 months, the centre of 3-9). The loss is a weighted sum of squared misses in
band units: ``sum_k w_k ((model_k - published_k) / half_band_k)^2``, weights the trials' sizes
(patients randomised, relative to the largest).

The fit sees only train patients (>= 300 per arm and stratum: 900 patients by default); `tme
validate` reports the result on validation patients; test stays untouched.

Usage::

    python experiments/calibrate_tme.py [--patients 900] [--maxfev 300]
        [--out experiments/calibration/tme_calibration.json] [--init FILE] [--quick]

Resumable: every evaluation is appended to ``<out>.evals.jsonl``; a rerun replays them from
that cache (no re-simulation) and goes on. The report (start and fitted values, every figure
before and after) is written atomically; the fitted values then become the defaults of
`TMEParameters` and `tme_env.patients.population.RESISTANT_MEDIAN` (their sources say so).
The v1 calibration (KEYNOTE-189 only, open-loop arms) and its reports are in
``experiments/calibration/v1/`` and in the git history.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import quick  # experiments/quick.py: the --quick flag
from scipy.optimize import minimize

from tme_env.clinical import DAYS_PER_MONTH
from tme_env.io import atomic_write_json
from tme_env.models.tme import TMEParameters
from tme_env.patients import RESISTANT_MEDIAN, cohort
from tme_env.trials.survival import km_median
from tme_env.validation import PANEL, panel_rows, run_panel

#: (name, lower, upper) of the population medians the optimiser moves (log scale); the start
#: is the current default. ``resistant_median`` is the cohort's median resistant fraction.
FREE = (
    ("growth_rate", 0.003, 0.05),
    ("chemo_kill_rate", 0.2, 5.0),
    ("effector_kill_rate", 0.005, 0.5),
    ("effector_recruitment", 1e8, 3e10),
    ("exhaustion_rate", 0.005, 5.0),
    ("reinvigoration_rate", 0.005, 1.0),
    ("mdsc_half_suppression_kill", 1e7, 1e11),
    ("icd_recruitment", 1e6, 1e11),  # immunogenic cell death priming
    ("exhaustion_half_sat", 1e8, 1e11),  # antigen load that drives exhaustion
    ("pd1_blockable_floor", 0.02, 1.0),
    ("pd1_tps_half_sat", 0.005, 1.0),  # how steeply anti-PD-1's reach rises with TPS
    ("death_hazard_rate", 1e-5, 1e-2),
    ("resistant_median", 1e-5, 0.1),
)
#: P1, the untreated course: median OS 6 months (the centre of 3-9), weight of a small trial.
P1_MONTHS, P1_WEIGHT = 6.0, 0.25


def _start() -> dict[str, float]:
    base = TMEParameters()
    out = {name: getattr(base, name) for name, _, _ in FREE if name != "resistant_median"}
    out["resistant_median"] = RESISTANT_MEDIAN
    return out


def figures(values: dict[str, float], n: int, split: str = "train") -> tuple[list, float]:
    """Panel rows and the untreated median OS (months) for population medians ``values``."""
    v = dict(values)
    resistant = v.pop("resistant_median")
    patients = cohort(split, n, base=TMEParameters().replace(**v), resistant_median=resistant)
    arms, strata = run_panel(split, n, patients=patients)
    untreated = arms["no-treatment"]
    p1 = km_median(untreated.os_days, untreated.os_event) / DAYS_PER_MONTH
    return panel_rows(arms, strata), p1


def loss(rows: list, p1: float) -> float:
    """Weighted squared misses in band units (a NaN figure costs 3 half-bands)."""
    total = 0.0
    ref = max(t.weight for t in PANEL)
    for r in rows:
        lo, hi = r["band"]
        half = 0.5 * (hi - lo)
        miss = (r["model"] - r["published"]) / half if np.isfinite(r["model"]) else 3.0
        total += r["weight"] / ref * miss**2
    p1_miss = (p1 - P1_MONTHS) / 3.0 if np.isfinite(p1) else 3.0
    return total + P1_WEIGHT * p1_miss**2


def _values(x: np.ndarray) -> dict[str, float]:
    return {
        name: float(np.clip(np.exp(xi), lo, hi))
        for (name, lo, hi), xi in zip(FREE, x, strict=True)
    }


def main(argv: list[str] | None = None) -> int:
    """Run the calibration and write the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=900, help="train patients per arm")
    ap.add_argument("--maxfev", type=int, default=300, help="objective evaluations")
    ap.add_argument("--out", default="experiments/calibration/tme_calibration.json")
    ap.add_argument("--init", default=None,
                    help="warm start from a previous report or its .partial checkpoint")
    args = quick.parse_args(ap, argv, __file__, sizes={"patients": 12, "maxfev": 3},
                            outputs={"out": "tme_calibration.json"})  # fmt: skip
    if args.patients < 1 or args.maxfev < 0:
        ap.error(f"--patients must be >= 1 and --maxfev >= 0, got {args.patients}, "
                 f"{args.maxfev}")
    start = _start()
    init = dict(start)
    if args.init:
        with open(args.init) as fh:
            previous = json.load(fh)
        if "values" in previous:  # the .partial checkpoint of an interrupted search
            init.update({k: v for k, v in previous["values"].items() if k in init})
        else:
            init.update({k: v["fitted"] for k, v in previous["parameters"].items() if k in init})
    x0 = np.log([init[name] for name, _, _ in FREE])
    cache_path = args.out + ".evals.jsonl"
    cache: dict[str, float] = {}
    if os.path.exists(cache_path):
        with open(cache_path) as fh:
            for line in fh:
                rec = json.loads(line)
                cache[rec["x"]] = rec["loss"]
        print(f"replaying {len(cache)} cached evaluations from {cache_path}", flush=True)
    t0 = time.time()
    best: dict = {"loss": math.inf}
    count = [0]

    def objective(x: np.ndarray) -> float:
        key = ",".join(f"{xi:.10g}" for xi in x)
        count[0] += 1
        if key in cache:
            return cache[key]
        rows, p1 = figures(_values(x), args.patients)
        val = loss(rows, p1)
        cache[key] = val
        with open(cache_path, "a") as fh:
            fh.write(json.dumps({"x": key, "loss": val}) + "\n")
        if val < best["loss"]:
            best.update(loss=val, values=_values(x), within=sum(r["within"] for r in rows))
            atomic_write_json(args.out + ".partial", {"evaluations": count[0], **best})
        print(f"  eval {count[0]:4d}  loss {val:9.3f}  best {best['loss']:9.3f}  within "
              f"{best.get('within', 0)}/{len(rows)}  ({time.time() - t0:.0f} s)", flush=True)
        return val

    rows0, p10 = figures(init, args.patients)
    print(f"start loss {loss(rows0, p10):.2f}, {sum(r['within'] for r in rows0)}/{len(rows0)} "
          f"within band; optimising {len(FREE)} parameters", flush=True)  # fmt: skip
    x = x0
    if args.maxfev > 0:
        simplex = np.vstack([x0] + [x0 + 0.4 * row for row in np.eye(len(x0))])
        opts = {"maxfev": args.maxfev, "xatol": 1e-3, "fatol": 1e-3, "initial_simplex": simplex}
        x = minimize(objective, x0, method="Nelder-Mead", options=opts).x
    fitted = _values(x)
    rows1, p11 = figures(fitted, args.patients)
    report = {
        "method": "Nelder-Mead on log-parameters (scipy); loss in band units, trial-size weights",
        "split": "train",
        "patients_per_arm": args.patients,
        "evaluations": count[0],
        "loss_start": loss(rows0, p10),
        "loss_fitted": loss(rows1, p11),
        "within_band_fitted": f"{sum(r['within'] for r in rows1)} of {len(rows1)}",
        "untreated_median_os_months": {"start": p10, "fitted": p11, "target": P1_MONTHS},
        "parameters": {
            name: {"start": start[name], "fitted": fitted[name],
                   "fold": fitted[name] / start[name], "bounds": [lo, hi]}
            for name, lo, hi in FREE
        },
        "figures": [{**r1, "start": r0["model"]} for r0, r1 in zip(rows0, rows1, strict=True)],
        "seconds": round(time.time() - t0),
    }  # fmt: skip
    atomic_write_json(args.out, report)
    print(f"fitted loss {report['loss_fitted']:.2f}; {report['within_band_fitted']} within "
          f"band; wrote {args.out}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
