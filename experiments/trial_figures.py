"""The trial report's figures for the standard regimens, committed as examples of the plots.

Runs every standard regimen on the same ``test`` patients (`tme_env.trials.run_trial`) and
writes the three figures of `tme_env.trials.plots` that ``tme trial`` puts in its report:
Kaplan-Meier OS (numbers at risk, censoring ticks, medians), Kaplan-Meier PFS with 95%
confidence bands, and the dose timeline of the first five patients.

Usage::

    python experiments/trial_figures.py [--n-patients 500] [--out experiments/figures/trial]
        [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import quick  # noqa: E402 - experiments/quick.py: the --quick flag

from tme_env import regimens  # noqa: E402
from tme_env.trials import run_trial  # noqa: E402
from tme_env.trials.plots import plot_dose_timeline, plot_km, save_figure  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the trial and write ``<out>_km_os.png``, ``<out>_km_pfs.png``, ``<out>_doses.png``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-patients", type=int, default=500, help="test patients per arm")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="experiments/figures/trial", help="path prefix")
    args = quick.parse_args(ap, argv, __file__, sizes={"n_patients": 4},
                            outputs={"out": "trial"})  # fmt: skip
    policies = {name: regimens.get(name) for name in regimens.available()}
    result = run_trial(policies, split="test", n_patients=args.n_patients, seed=args.seed,
                       progress=True)  # fmt: skip
    figures = {
        "km_os": plot_km(result, "os"),
        "km_pfs": plot_km(result, "pfs", ci=True),
        "doses": plot_dose_timeline(result),
    }
    for name, fig in figures.items():
        path = f"{args.out}_{name}.png"
        save_figure(fig, path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
