"""``tme validate``: run the model-v2 trial panel and write the validation report."""

from __future__ import annotations

import argparse
from typing import Any

from tme_env.cli.args import int_at_least, int_in_range
from tme_env.envs import DEFAULT_ENV_ID
from tme_env.envs.config import MAX_COHORT_SIZE
from tme_env.io import OutputFolder
from tme_env.patients import SPLITS
from tme_env.validation import CHECKS, PANEL, landmark_rows, panel_rows, run_panel
from tme_env.validation.report import summary_line, write_validation

__all__ = ["add_validate_parser", "cmd_validate"]


def add_validate_parser(sub: Any) -> None:
    """Add ``tme validate`` to the sub-parsers ``sub``."""
    p = sub.add_parser(
        "validate",
        help="run the trial panel (KEYNOTE-189, KEYNOTE-024, FDA pooled) and write the report",
        description="Run every arm of the model's trial panel on one cohort (crossover "
        "included, as the trials ran) and compare the model with each published target: a "
        "table (markdown, JSON), a forest plot of hazard ratios and KM figures.",
    )
    p.add_argument("--split", default="validation", choices=tuple(SPLITS),
                   help="cohort split (the calibration fits train; report on validation)")
    p.add_argument("--n-patients", type=int_in_range(1, MAX_COHORT_SIZE, "patients per arm"),
                   default=900, help="patients per arm (>= 300 per PD-L1 stratum: 900)")
    p.add_argument("--seed", type=int_at_least(0), default=0,
                   help="seed of the measurement noise and the crossover draws")  # fmt: skip
    p.add_argument("--out", default="validation", help="output folder (new or empty)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier report")
    p.add_argument("--no-figures", action="store_true", help="tables only (no matplotlib)")
    p.set_defaults(func=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    """Run the panel and write the report."""
    out = OutputFolder(args.out, what="--out", overwrite=args.overwrite,
                       kind="validation report").check()  # fmt: skip
    try:
        arms, strata = run_panel(
            args.split, args.n_patients, seed=args.seed,
            progress=lambda name: print(f"arm {name} ...", flush=True),
        )  # fmt: skip
        rows = panel_rows(arms, strata, PANEL + CHECKS)
        landmarks = landmark_rows(arms, strata)
        meta = {"split": args.split, "n_patients": args.n_patients, "seed": args.seed,
                "env_id": DEFAULT_ENV_ID}  # fmt: skip
        write_validation(out.staging(), rows, landmarks, arms, strata, meta,
                         figures=not args.no_figures)  # fmt: skip
        out.commit()
    except BaseException:
        out.abort()
        raise
    print(f"\n{summary_line(rows)}")
    print(f"wrote {args.out}/validation.md")
    return 0
