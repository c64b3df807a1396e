"""``tme simulate MODEL``: integrate a model under a schedule and print or save the trajectory."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from tme_env import models
from tme_env.cli.args import finite_float, int_in_range, positive_float
from tme_env.io import atomic_write_text, check_output_file
from tme_env.simulator import simulate

__all__ = ["MAX_POINTS", "add_simulate_parser", "cmd_simulate"]

#: Most output times of ``tme simulate`` (``--points``): the trajectory and its CSV text are
#: held in memory (about 200 bytes a time point for the tme model).
MAX_POINTS = 1_000_000


def add_simulate_parser(sub: Any) -> None:
    """Add ``tme simulate`` to the sub-parsers ``sub``."""
    p_sim = sub.add_parser("simulate", help="integrate a model and print/save CSV")
    p_sim.add_argument("model", help="registered model name (see `tme models`)")
    p_sim.add_argument("--days", type=finite_float, default=150.0, help="last output day")
    p_sim.add_argument("--start", type=finite_float, default=0.0, help="first output day")
    p_sim.add_argument("--points", type=int_in_range(1, MAX_POINTS, "the CSV is built in memory"),
                       default=151,
                       help=f"number of output times (at most {MAX_POINTS:,})")  # fmt: skip
    p_sim.add_argument("--state", action="append", default=[], help="initial state NAME=VALUE")
    p_sim.add_argument("--param", action="append", default=[], help="parameter NAME=VALUE")
    p_sim.add_argument(
        "--infusion", action="append", default=[], help="START:END:INPUT=RATE (repeatable)"
    )
    p_sim.add_argument("--bolus", action="append", default=[], help="DAY:STATE=AMOUNT")
    p_sim.add_argument("--rtol", type=positive_float, default=None, help="relative tolerance")
    p_sim.add_argument("--atol", type=positive_float, default=None, help="absolute tolerance")
    p_sim.add_argument("--out", default=None,
                       help="CSV file to write (default: stdout); an existing file is refused "
                       "without --overwrite")  # fmt: skip
    p_sim.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p_sim.set_defaults(func=cmd_simulate)


def _parse_assignments(items: Sequence[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        for part in item.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"{what} {part!r} must look like NAME=VALUE")
            try:
                out[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"{what} {part!r}: {value!r} is not a number") from None
    return out


def _parse_infusion(text: str) -> tuple[float, float, dict[str, float]]:
    try:
        start, end, rates = text.split(":", 2)
        return float(start), float(end), _parse_assignments([rates], "--infusion rate")
    except ValueError:
        raise ValueError(
            f"--infusion {text!r} must look like START:END:INPUT=RATE[,INPUT=RATE]"
        ) from None


def _parse_bolus(text: str) -> tuple[float, dict[str, float]]:
    try:
        day, amounts = text.split(":", 1)
        return float(day), _parse_assignments([amounts], "--bolus amount")
    except ValueError:
        raise ValueError(f"--bolus {text!r} must look like DAY:STATE=AMOUNT") from None


def cmd_simulate(args: argparse.Namespace) -> int:
    """Integrate ``args.model`` and write the trajectory as CSV (stdout or ``--out``)."""
    if args.model not in models.available():
        raise ValueError(f"unknown model {args.model!r}; valid: {', '.join(models.available())}")
    if args.days < args.start:
        raise ValueError(f"--days {args.days:g} is before --start {args.start:g}")
    if args.days == args.start and args.points != 1:
        raise ValueError(f"--days equals --start ({args.days:g}): give --points 1")
    if args.out is not None:
        check_output_file(args.out, "--out", overwrite=args.overwrite)
    t_eval = np.linspace(args.start, args.days, args.points)
    res = simulate(
        args.model,
        t_eval=t_eval,
        initial_state=_parse_assignments(args.state, "--state") or None,
        params=_parse_assignments(args.param, "--param") or None,
        infusions=[_parse_infusion(x) for x in args.infusion],
        boluses=[_parse_bolus(x) for x in args.bolus],
        rtol=args.rtol,
        atol=args.atol,
    )
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["t_days", *res.state_names])
    for j, t in enumerate(res.t):
        writer.writerow([f"{t:.10g}", *(f"{v:.10g}" for v in res.y[:, j])])
    if args.out is None:
        sys.stdout.write(buf.getvalue())
    else:
        atomic_write_text(args.out, buf.getvalue())
        print(f"wrote {len(res.t)} rows to {args.out} ({res.n_steps} integration steps)")
    return 0
