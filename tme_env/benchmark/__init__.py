"""Score policies under the benchmark protocol (``BENCHMARK.md``): `run_benchmark`, tme benchmark.

One module per concern:

* `tme_env.benchmark.protocol`: the protocol's tasks (`BENCHMARK_ENV_IDS`), budgets, counts
  and seeds (a leaf module: it imports nothing of ``tme_env``);
* `tme_env.benchmark.statistics`: the IQM over seeds (`iqm`), its stratified-bootstrap CI
  (`iqm_ci`) and the paired patient-level bootstrap CI (`paired_bootstrap_ci`);
* `tme_env.benchmark.policies`: a ``--policy`` spec (a regimen name, a model ``.zip`` or
  ``module:attr``) -> a policy checked against the task (`resolve_policy`);
* `tme_env.benchmark.leaderboard`: a submission's leaderboard row (`leaderboard_row`, with
  its provenance, `git_commit`) and its markdown line (`markdown_row`);
* `tme_env.benchmark.runner`: the protocol's virtual trial and the rows of every submission
  (`run_benchmark`, `BenchmarkResult`);
* `tme_env.benchmark.baselines`: the strong non-RL baselines (the best fixed schedule, the
  oracle MPC, the feedback rule).

Everything public is importable from ``tme_env.benchmark`` itself.
"""

from __future__ import annotations

from tme_env.benchmark.leaderboard import (
    MARKDOWN_HEADER,
    SECONDARY,
    git_commit,
    leaderboard_row,
    markdown_row,
)
from tme_env.benchmark.policies import resolve_policy
from tme_env.benchmark.protocol import (
    BENCHMARK_ENV_IDS,
    BOOTSTRAP_REPS,
    CONFIDENCE,
    MIN_SEEDS,
    PROTOCOL_N_PATIENTS,
    PROTOCOL_SEED,
    PROTOCOL_SPLIT,
    PROTOCOL_TRAINING_STEPS,
    PROTOCOL_VERSION,
)
from tme_env.benchmark.runner import BenchmarkResult, run_benchmark
from tme_env.benchmark.statistics import iqm, iqm_ci, paired_bootstrap_ci

__all__ = [
    "BENCHMARK_ENV_IDS",
    "BOOTSTRAP_REPS",
    "CONFIDENCE",
    "MARKDOWN_HEADER",
    "MIN_SEEDS",
    "PROTOCOL_N_PATIENTS",
    "PROTOCOL_SEED",
    "PROTOCOL_SPLIT",
    "PROTOCOL_TRAINING_STEPS",
    "PROTOCOL_VERSION",
    "SECONDARY",
    "BenchmarkResult",
    "git_commit",
    "iqm",
    "iqm_ci",
    "leaderboard_row",
    "markdown_row",
    "paired_bootstrap_ci",
    "resolve_policy",
    "run_benchmark",
]
