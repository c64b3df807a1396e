"""Virtual clinical trials on cohorts of the ``tme`` model.

An arm is either a policy (a regimen or a trained agent) treating each patient through the env
(`run_trial`, the paired design of the benchmark) or a fixed dosing schedule simulated
open-loop on a cohort (`run_schedule`, used for calibration and the science checks); both give
per-patient outcomes as `ArmOutcomes`. The package is split by role:

* `tme_env.trials.run`: the two runners (the front door);
* `tme_env.trials.arms`: every arm of a trial on a range of patients, through the vector env;
* `tme_env.trials.shards`: a trial in patient shards, in this process or on Ray;
* `tme_env.trials.streaming`: a trial of any size with flat memory (Parquet and tallies);
* `tme_env.trials.outcomes`: `ArmOutcomes`, `TrialResult` and how outcomes are derived;
* `tme_env.trials.survival`: Kaplan-Meier medians, survival at a day, RMST, log-rank, Cox HR;
* `tme_env.trials.report`: per-arm statistics, the benchmark score and the written report;
* `tme_env.trials.plots`: the report's Kaplan-Meier and dose-timeline figures.

Imports go one way: ``run`` -> ``shards`` -> ``arms`` -> ``outcomes``; ``streaming`` ->
``shards``, ``report``; ``report`` -> ``plots``, ``survival``, ``outcomes``.
"""

from __future__ import annotations

from tme_env.trials.outcomes import ArmOutcomes, TrialResult
from tme_env.trials.report import summarise, write_report
from tme_env.trials.run import run_schedule, run_trial
from tme_env.trials.survival import cox_hazard_ratio, hazard_ratio, km_median, survival_at

__all__ = [
    "ArmOutcomes",
    "TrialResult",
    "cox_hazard_ratio",
    "hazard_ratio",
    "km_median",
    "run_schedule",
    "run_trial",
    "summarise",
    "survival_at",
    "write_report",
]
