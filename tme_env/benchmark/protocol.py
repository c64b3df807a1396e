"""The benchmark protocol of ``BENCHMARK.md``: its tasks, budgets, counts and seeds.

A leaf module (it imports nothing of ``tme_env``), so that every part of the benchmark and
its baselines can read the protocol without import circles.
"""

from __future__ import annotations

import re

__all__ = [
    "BENCHMARK_ENV_IDS",
    "BOOTSTRAP_REPS",
    "CONFIDENCE",
    "MIN_SEEDS",
    "PROTOCOL_N_PATIENTS",
    "PROTOCOL_SEED",
    "PROTOCOL_SPLIT",
    "PROTOCOL_TRAINING_STEPS",
    "PROTOCOL_VERSION",
    "SUBMISSION_NAME",
]

#: Training budget per seed of the protocol (environment steps).
PROTOCOL_TRAINING_STEPS = 1_000_000
#: Version of the protocol in ``BENCHMARK.md`` (recorded in every leaderboard row).
PROTOCOL_VERSION = "tme-benchmark-1"
#: The tasks that count: env id -> observation mode (default settings only).
BENCHMARK_ENV_IDS = {"tme/TumorImmune-v2": "full", "tme/TumorImmuneClinical-v2": "clinical"}
#: The split the final number comes from.
PROTOCOL_SPLIT = "test"
#: Patients per arm of the protocol's trial.
PROTOCOL_N_PATIENTS = 500
#: Measurement-noise seed of the protocol's trial.
PROTOCOL_SEED = 0
#: Fewest training seeds of a submission that meets the protocol.
MIN_SEEDS = 5
#: Bootstrap resamples of every CI.
BOOTSTRAP_REPS = 10_000
#: Confidence level of every CI.
CONFIDENCE = 0.95
#: A valid submission name (the ``NAME`` of a ``NAME=SPEC`` policy spec).
SUBMISSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
