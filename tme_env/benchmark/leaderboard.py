"""Leaderboard rows: one submission's JSON row, its markdown line, and their provenance.

A row (`leaderboard_row`) records the env id and version, the package version and the git
commit (`git_commit`), and whether the run meets the protocol (`PROTOCOL_N_PATIENTS`
patients, seed `PROTOCOL_SEED`, at least `MIN_SEEDS` seeds, `PROTOCOL_TRAINING_STEPS`
training steps per seed where the budget is known, no oracle); the deviations are listed,
never hidden. `markdown_row` writes it as one line under `MARKDOWN_HEADER`.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import tme_env
from tme_env.benchmark.protocol import (
    BENCHMARK_ENV_IDS,
    MIN_SEEDS,
    PROTOCOL_N_PATIENTS,
    PROTOCOL_SEED,
    PROTOCOL_SPLIT,
    PROTOCOL_TRAINING_STEPS,
    PROTOCOL_VERSION,
)
from tme_env.io import format_number

__all__ = [
    "MARKDOWN_HEADER",
    "SECONDARY",
    "git_commit",
    "leaderboard_row",
    "markdown_row",
]

#: The ``tme_env`` package folder (whose git commit a row records).
_PACKAGE = Path(tme_env.__file__).resolve().parent

#: Secondary endpoints of a leaderboard row: row key -> `summarise` key (means over seeds).
SECONDARY = {
    "q_twist_months": "q_twist_months",
    "rmst_os_months": "rmst_os_months",
    "median_os_months": "median_os_months",
    "median_pfs_months": "median_pfs_months",
    "objective_response_rate": "objective_response_rate",
    "grade3plus_neutropenia_rate": "grade3plus_neutropenia_rate",
    "irae_rate": "irae_rate",
    "irae_grade3plus_rate": "irae_grade3plus_rate",
    "fraction_time_hot": "fraction_time_hot",
}


def git_commit() -> str:
    """The commit of the tme_env source tree (``-dirty`` if it has changes), else ``"unknown"``.

    Only a git work tree whose ``tme_env`` package is this one counts (not an unrelated
    repository around an installed copy).
    """
    here = _PACKAGE
    try:
        top = subprocess.run(["git", "-C", str(here), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, timeout=10, check=True)  # fmt: skip
        if Path(top.stdout.strip()).resolve() / "tme_env" != here:
            return "unknown"
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True)  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(here), "diff", "--quiet", "HEAD", "--", "."],
                               capture_output=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty.returncode == 1 else "")


def _env_version(env_id: str) -> str:
    match = re.search(r"-(v\d+)$", env_id)
    return match.group(1) if match else "unknown"


def leaderboard_row(
    name: str,
    env_id: str,
    n_patients: int,
    seed: int,
    seed_rows: Sequence[Mapping[str, Any]],
    score: tuple[float, float, float],
    best_standard: str,
    delta: tuple[float, float, float],
    trained: bool = True,
    training_steps: int | None = None,
    oracle: bool = False,
) -> dict[str, Any]:
    """One submission's leaderboard row (JSON-ready; see the module docstring).

    Args:
        name: Submission name.
        env_id: Task.
        n_patients: Test patients per arm.
        seed: Trial seed.
        seed_rows: The `summarise` rows of its seeds' arms.
        score: ``(IQM, low, high)`` of the benchmark score over seeds.
        best_standard: The best standard regimen of the trial (by mean Q-TWiST).
        delta: ``(difference, low, high)`` of mean Q-TWiST (months) to ``best_standard``.
        trained: False for a standard regimen (deterministic: the seed count does not apply).
        training_steps: Training budget per seed (environment steps), None if unknown or
            not a learned policy.
        oracle: The policy reads the env's true state (an upper reference).
    """
    deviations = []
    if n_patients < PROTOCOL_N_PATIENTS:
        deviations.append(f"{n_patients} patients per arm (protocol: {PROTOCOL_N_PATIENTS})")
    if seed != PROTOCOL_SEED:
        deviations.append(f"trial seed {seed} (protocol: {PROTOCOL_SEED})")
    if trained and len(seed_rows) < MIN_SEEDS:
        deviations.append(f"{len(seed_rows)} seed(s) (protocol: at least {MIN_SEEDS})")
    if training_steps is not None and training_steps < PROTOCOL_TRAINING_STEPS:
        deviations.append(f"{training_steps:,} training steps per seed "
                          f"(protocol: {PROTOCOL_TRAINING_STEPS:,})")  # fmt: skip
    if oracle:
        deviations.append("oracle: reads the true patient state (an upper reference, not a "
                          "deployable policy)")
    row: dict[str, Any] = {
        "submission": name,
        "env_id": env_id,
        "env_version": _env_version(env_id),
        "observation": BENCHMARK_ENV_IDS.get(env_id, "unknown"),
        "protocol": PROTOCOL_VERSION,
        "split": PROTOCOL_SPLIT,
        "n_patients": int(n_patients),
        "trial_seed": int(seed),
        "n_seeds": len(seed_rows),
        "seed_arms": [r["arm"] for r in seed_rows],
        "seed_scores": [float(r["benchmark_score"]) for r in seed_rows],
        "score_iqm": score[0],
        "score_ci_low": score[1],
        "score_ci_high": score[2],
        "training_steps": None if training_steps is None else int(training_steps),
        "oracle": bool(oracle),
        "best_standard": best_standard,
        "q_twist_vs_best_standard_months": delta[0],
        "q_twist_vs_best_standard_ci_low": delta[1],
        "q_twist_vs_best_standard_ci_high": delta[2],
    }
    for key, source in SECONDARY.items():
        row[key] = float(np.mean([r[source] for r in seed_rows]))
    row.update(
        meets_protocol=not deviations,
        deviations=deviations,
        package_version=tme_env.__version__,
        git_commit=git_commit(),
    )
    return row


#: Header of the markdown leaderboard (the columns of `markdown_row`).
MARKDOWN_HEADER = (
    "| submission | task | seeds | score IQM [95% CI] | Q-TWiST, mo | vs best standard, mo "
    "[95% CI] | RMST, mo | median OS, mo | median PFS, mo | ORR | G>=3 neutropenia | "
    "irAE (G>=3) | time hot | protocol | version | commit |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _percent(value: float | None) -> str:
    """A fraction as a percentage; "n/a" where a row has none (written before the column)."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.0%}"


def markdown_row(row: Mapping[str, Any]) -> str:
    """The markdown leaderboard line of a `leaderboard_row` (columns of `MARKDOWN_HEADER`)."""

    def f(value: float, spec: str = ".1f") -> str:
        return format_number(value, spec) if math.isfinite(value) else "n/a"

    protocol = "yes" if row["meets_protocol"] else "no: " + "; ".join(row["deviations"])
    return (
        f"| {row['submission']} | {row['env_id']} | {row['n_seeds']} | "
        f"{f(row['score_iqm'])} [{f(row['score_ci_low'])}, {f(row['score_ci_high'])}] | "
        f"{f(row['q_twist_months'], '.2f')} | "
        f"{f(row['q_twist_vs_best_standard_months'], '+.2f')} "
        f"[{f(row['q_twist_vs_best_standard_ci_low'], '+.2f')}, "
        f"{f(row['q_twist_vs_best_standard_ci_high'], '+.2f')}] vs {row['best_standard']} | "
        f"{f(row['rmst_os_months'])} | {f(row['median_os_months'])} | "
        f"{f(row['median_pfs_months'])} | {row['objective_response_rate']:.0%} | "
        f"{row['grade3plus_neutropenia_rate']:.0%} | {row['irae_rate']:.0%} "
        f"({row['irae_grade3plus_rate']:.0%}) | {_percent(row.get('fraction_time_hot'))} | "
        f"{protocol} | {row['package_version']} | "
        f"{row['git_commit'][:12]} |"
    )
