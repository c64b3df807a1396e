"""``tme benchmark``: score policies under the ``BENCHMARK.md`` protocol (`tme_env.benchmark`)."""

from __future__ import annotations

import argparse
from typing import Any

from tme_env.benchmark import MARKDOWN_HEADER, markdown_row, run_benchmark
from tme_env.cli.args import ONE_BATCH, int_at_least, int_in_range
from tme_env.cli.trial import TRUST_HELP
from tme_env.envs.config import MAX_COHORT_SIZE

__all__ = ["add_benchmark_parser", "cmd_benchmark"]


def add_benchmark_parser(sub: Any) -> None:
    """Add ``tme benchmark`` to the sub-parsers ``sub``."""
    p_bench = sub.add_parser("benchmark", help="score policies under the benchmark protocol")
    p_bench.add_argument("--policy", action="append", required=True,
                         help="[NAME=]regimen, model .zip or module:attr; a repeated NAME "
                         "is another seed of one submission. module:attr imports that "
                         "module, which runs its code: name only code you trust")  # fmt: skip
    p_bench.add_argument("--env", "--task", dest="env", default="tme/TumorImmuneClinical-v2",
                         help="task id (BENCHMARK.md): the clinical or full v1 env")  # fmt: skip
    p_bench.add_argument("--n-patients", type=int_in_range(2, MAX_COHORT_SIZE, ONE_BATCH),
                         default=500,
                         help="test patients per arm (protocol: 500)")  # fmt: skip
    p_bench.add_argument("--seed", type=int_at_least(0), default=0,
                         help="trial seed (protocol: 0)")  # fmt: skip
    p_bench.add_argument("--out", default="benchmark", help="output folder (new or empty)")
    p_bench.add_argument("--overwrite", action="store_true", help="replace an earlier output")
    p_bench.add_argument("--trust-model", action="store_true", help=TRUST_HELP)
    p_bench.set_defaults(func=cmd_benchmark)


def cmd_benchmark(args: argparse.Namespace) -> int:
    """Score ``args.policy`` and print the markdown leaderboard rows."""
    result = run_benchmark(args.policy, env_id=args.env, n_patients=args.n_patients,
                           seed=args.seed, out=args.out, trusted=args.trust_model,
                           overwrite=args.overwrite, progress=True)  # fmt: skip
    print(f"\n{MARKDOWN_HEADER}")
    for row in result.rows:
        print(markdown_row(row))
    for row in result.rows:
        if not row["meets_protocol"]:
            print(f"{row['submission']}: not a protocol result ({'; '.join(row['deviations'])})")
    print(f"\nwrote {args.out}/leaderboard.md, leaderboard.json, scores.json, trial/report.md")
    return 0
