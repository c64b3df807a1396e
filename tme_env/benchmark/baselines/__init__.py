"""Strong non-RL baselines of the benchmark (``BENCHMARK.md``, issue 13).

* `search_fixed_schedule`: the best fixed schedule of a documented family, by a seeded optuna
  search on the train split, selected on validation
  (`tme_env.benchmark.baselines.schedule_search`).
* `OracleMPC`: model-predictive control with the patient's true parameters and state, an
  upper reference (`tme_env.benchmark.baselines.mpc`).
* `FeedbackRule` (re-exported from `tme_env.regimens.family`): the hand-written
  monitoring-driven rule on the clinical observation.

`best_fixed_schedule(task)` returns the committed result of the search (``best_fixed.json``
next to this file, read-only package data), so
``tme benchmark --policy tme_env.benchmark.baselines:BestFixedClinical`` scores it. The
search (``experiments/leaderboard.py search``) writes its result to the repository's
``agents/best-fixed/best_fixed.json``, never into the package; adopting a new result means
copying that file over this one in a commit (a test keeps the two identical).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tme_env.benchmark.baselines.mpc import CANDIDATES, OracleMPC
from tme_env.benchmark.baselines.schedule_search import (
    ScheduleSearchResult,
    schedule_from_params,
    search_fixed_schedule,
)
from tme_env.benchmark.protocol import BENCHMARK_ENV_IDS
from tme_env.regimens.family import FeedbackRule, FixedSchedule

__all__ = [
    "BEST_FIXED_FILE",
    "CANDIDATES",
    "BestFixedClinical",
    "BestFixedFull",
    "FeedbackRule",
    "OracleMPC",
    "ScheduleSearchResult",
    "best_fixed_schedule",
    "schedule_from_params",
    "search_fixed_schedule",
]

#: The committed search result (`ScheduleSearchResult.to_dict`, without the trial list).
BEST_FIXED_FILE = Path(__file__).with_name("best_fixed.json")


def best_fixed_schedule(task: str = "tme/TumorImmuneClinical-v2") -> FixedSchedule:
    """The best fixed schedule of the committed search, reading ``task``'s observation.

    The search ran once, in the clinical env (``experiments/leaderboard.py search``, whose
    result ``agents/best-fixed/best_fixed.json`` was copied into the package); a fixed
    schedule observes only the day, so the same schedule serves the full task.

    Raises:
        ValueError: If ``task`` is not a benchmark task, or no search result is committed.
    """
    if task not in BENCHMARK_ENV_IDS:
        raise ValueError(f"task {task!r} is not a benchmark task; valid: "
                         f"{', '.join(BENCHMARK_ENV_IDS)}")  # fmt: skip
    if not BEST_FIXED_FILE.exists():
        raise ValueError(f"no committed best fixed schedule ({BEST_FIXED_FILE}): run "
                         "experiments/leaderboard.py search and copy its result, "
                         "agents/best-fixed/best_fixed.json, there")  # fmt: skip
    data = json.loads(BEST_FIXED_FILE.read_text())
    data.setdefault("trials", [])
    best = ScheduleSearchResult.from_dict(data).best
    return dataclasses.replace(best, observation=BENCHMARK_ENV_IDS[task])


class _BestFixed(FixedSchedule):
    """The committed best fixed schedule of the class's ``task``, built without arguments."""

    task = "tme/TumorImmuneClinical-v2"

    def __init__(self) -> None:
        """The committed schedule's settings (`best_fixed_schedule`)."""
        best = best_fixed_schedule(self.task)
        for f in dataclasses.fields(best):
            object.__setattr__(self, f.name, getattr(best, f.name))


class BestFixedClinical(_BestFixed):
    """`best_fixed_schedule` of the clinical task, as a class (for ``--policy module:attr``)."""

    task = "tme/TumorImmuneClinical-v2"


class BestFixedFull(_BestFixed):
    """`best_fixed_schedule` of the full task, as a class (for ``--policy module:attr``)."""

    task = "tme/TumorImmune-v2"
