"""Streamed virtual trials: any number of patients with flat memory.

`stream_trial` runs the shards of `tme_env.trials.shards.iter_shards` (in this process or on
Ray) and writes each shard's per-patient figures to ``patients.parquet`` (pyarrow, one row
group per shard and arm, in patient order) as it arrives, keeping only per-arm tallies
(`ArmTally`): counts of each distinct (time, event) pair for OS and PFS and sums of the other
figures. Memory stays flat in the number of patients. The statistics come from those tallies
(`summarise_tallies`) through `tme_env.trials.report.summarise_arms`, the summariser of
`tme_env.trials.summarise`, with the counts as lifelines' frequency weights: Kaplan-Meier,
RMST and log-rank agree with the per-patient summary to round-off, the Cox hazard ratio to
about 1%, because lifelines' Efron correction for tied times with weights is not the one it
applies to the same rows repeated (tested).

Writing Parquet needs pyarrow (the ``[ray]`` extra: ``pip install -e ".[ray]"``).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tme_env.clinical import DAYS_PER_MONTH
from tme_env.io import OutputFolder, json_safe
from tme_env.trials.arms import TRIAL_ENV_IDS
from tme_env.trials.outcomes import ArmOutcomes
from tme_env.trials.report import (
    SCORE_DEFINITION,
    ArmFigures,
    score_note,
    summarise_arms,
    summary_table,
)
from tme_env.trials.shards import DEFAULT_SHARD_SIZE, iter_shards
from tme_env.trials.survival import kaplan_meier

__all__ = ["PARQUET_COLUMNS", "ArmTally", "stream_trial", "summarise_tallies"]

#: Columns of ``patients.parquet``.
PARQUET_COLUMNS = (
    "arm", "patient_index", "patient", "os_days", "os_event", "pfs_days", "pfs_event",
    "best_response", "cured", "worst_neutropenia_grade", "chemo_doses", "anti_pd1_doses",
    "inhibitor_dose_days", "fraction_time_hot",
)  # fmt: skip


@dataclass
class ArmTally:
    """What the summary of one arm needs, accumulated shard by shard (flat in patients).

    ``os``/``pfs`` map a ``(days, event)`` pair to the number of patients with it; the other
    fields are counts and sums over the patients.
    """

    name: str
    patients: int = 0
    os: dict[tuple[float, bool], int] = field(default_factory=dict)
    pfs: dict[tuple[float, bool], int] = field(default_factory=dict)
    responders: int = 0
    cured: int = 0
    grade3plus: int = 0
    chemo_doses: float = 0.0
    anti_pd1_doses: float = 0.0
    inhibitor_dose_days: float = 0.0
    fraction_hot: float = 0.0
    q_twist_days: float = 0.0
    irae: int = 0
    irae_grade3plus: int = 0
    irae_deaths: int = 0
    anti_pd1_discontinued: int = 0

    def add(self, arm: ArmOutcomes) -> None:
        """Add one shard's patients."""
        for counts, days, event in ((self.os, arm.os_days, arm.os_event),
                                    (self.pfs, arm.pfs_days, arm.pfs_event)):  # fmt: skip
            pairs, n = np.unique(
                np.column_stack([days, event]).astype(float), axis=0, return_counts=True
            )
            for (d, e), c in zip(pairs, n, strict=True):
                key = (float(d), bool(e))
                counts[key] = counts.get(key, 0) + int(c)
        self.patients += len(arm.os_days)
        self.responders += int(np.isin(arm.best_response, ("CR", "PR")).sum())
        self.cured += int(np.sum(arm.cured))
        self.grade3plus += int(np.sum(arm.worst_grade >= 3))
        self.chemo_doses += float(np.sum(arm.dose_chemo))
        self.anti_pd1_doses += float(np.sum(arm.dose_anti_pd1))
        self.inhibitor_dose_days += float(np.sum(arm.dose_inhibitor))
        self.fraction_hot += float(np.sum(arm.fraction_hot))
        # Q-TWiST is restricted to the horizon with no other censoring: a plain mean.
        self.q_twist_days += float(np.sum(arm.q_twist_days))
        irae = np.zeros(len(arm.os_days)) if arm.irae_worst_grade is None else arm.irae_worst_grade
        self.irae += int(np.sum(irae > 0))
        self.irae_grade3plus += int(np.sum(irae >= 3))
        self.irae_deaths += int(np.sum(irae >= 5))
        if arm.anti_pd1_discontinued is not None:
            self.anti_pd1_discontinued += int(np.sum(arm.anti_pd1_discontinued))

    @staticmethod
    def columns(counts: dict[tuple[float, bool], int]) -> tuple[np.ndarray, ...]:
        """``(days, events, weights)`` arrays of a ``(days, event) -> count`` map."""
        keys = sorted(counts)
        days = np.array([k[0] for k in keys], dtype=float)
        events = np.array([k[1] for k in keys], dtype=bool)
        return days, events, np.array([counts[k] for k in keys], dtype=float)

    def figures(self) -> ArmFigures:
        """The arm's `ArmFigures`: the OS and PFS tallies as frequency weights, the means."""
        n = max(self.patients, 1)
        os_days, os_event, os_weights = self.columns(self.os)
        pfs_days, pfs_event, pfs_weights = self.columns(self.pfs)
        rates = {
            "objective_response_rate": self.responders / n,
            "cure_rate": self.cured / n,
            "grade3plus_neutropenia_rate": self.grade3plus / n,
            "mean_chemo_doses": self.chemo_doses / n,
            "mean_anti_pd1_doses": self.anti_pd1_doses / n,
            "mean_inhibitor_dose_days": self.inhibitor_dose_days / n,
            "fraction_time_hot": self.fraction_hot / n,
            "irae_rate": self.irae / n,
            "irae_grade3plus_rate": self.irae_grade3plus / n,
            "irae_death_rate": self.irae_deaths / n,
            "anti_pd1_discontinued_rate": self.anti_pd1_discontinued / n,
        }
        return ArmFigures(self.patients, os_days, os_event, os_weights, pfs_days, pfs_event,
                          pfs_weights, self.q_twist_days / n, rates)  # fmt: skip


def summarise_tallies(
    tallies: dict[str, ArmTally], horizon_days: float, reference: str | None = None
) -> list[dict[str, Any]]:
    """`tme_env.trials.summarise` from `ArmTally` counts (lifelines with frequency weights).

    Args:
        tallies: Arm name -> tally, in report order.
        horizon_days: Restriction time of the RMST.
        reference: Arm of the hazard ratios and log-rank tests (default: the first).

    Raises:
        ValueError: If ``reference`` is not an arm.
    """
    figures = {name: t.figures() for name, t in tallies.items()}
    return summarise_arms(figures, horizon_days, reference)


def _arrow_table(arm: ArmOutcomes, start: int) -> Any:
    import pyarrow as pa  # deferred: an optional dependency (the [ray] extra)

    n = len(arm.os_days)
    return pa.table({
        "arm": pa.array([arm.name] * n, pa.string()),
        "patient_index": pa.array(np.arange(start, start + n), pa.int64()),
        "patient": pa.array(list(arm.patient_ids), pa.string()),
        "os_days": arm.os_days, "os_event": np.asarray(arm.os_event, dtype=bool),
        "pfs_days": arm.pfs_days, "pfs_event": np.asarray(arm.pfs_event, dtype=bool),
        "best_response": pa.array(list(arm.best_response), pa.string()),
        "cured": np.asarray(arm.cured, dtype=bool),
        "worst_neutropenia_grade": np.asarray(arm.worst_grade, dtype=np.int8),
        "chemo_doses": arm.dose_chemo, "anti_pd1_doses": arm.dose_anti_pd1,
        "inhibitor_dose_days": arm.dose_inhibitor, "fraction_time_hot": arm.fraction_hot,
    })  # fmt: skip


def stream_trial(
    policies: dict[str, Any],
    out_dir: str | OutputFolder,
    env_id: str = TRIAL_ENV_IDS[0],
    split: str = "test",
    n_patients: int = 10_000,
    seed: int = 0,
    backend: str = "local",
    shard_size: int | None = None,
    address: str | None = None,
    reference: str | None = None,
    progress: bool = False,
    max_retries: int = 3,
    overwrite: bool = False,
) -> list[dict[str, Any]]:
    """A trial of any size with flat memory: per-patient figures to Parquet, tallies kept.

    Writes into ``out_dir`` (a `tme_env.io.OutputFolder`: staged next to it and swapped into
    place at the end, as `tme_env.trials.write_report` does): ``patients.parquet``
    (`PARQUET_COLUMNS`, rows in patient order within each arm), ``summary.csv``,
    ``summary.json``, ``report.md`` and the Kaplan-Meier plots ``km_os.png``, ``km_pfs.png``.
    Shards that complete out of order wait (at most ``max_in_flight`` of them, see
    `iter_shards`) until the ones before them are written.

    Args:
        policies: Arm name -> policy.
        out_dir: Report folder (missing, empty, or an earlier report with ``overwrite``), or
            an `OutputFolder` already checked.
        env_id: A trial env id.
        split: Cohort split.
        n_patients: Patients per arm.
        seed: Measurement-noise seed of patient 0.
        backend: ``"local"`` or ``"ray"``.
        shard_size: Patients per shard (default `DEFAULT_SHARD_SIZE`).
        address: Ray address (Ray backend only).
        reference: Reference arm of the hazard ratios (default: the first arm).
        progress: A progress bar over the completed shards.
        max_retries: Re-runs of a shard whose worker died.
        overwrite: Replace an earlier report in ``out_dir``.

    Returns:
        The summary rows (`summarise_tallies`).

    Raises:
        ValueError: As `iter_shards`, or if ``out_dir`` cannot take the report.
    """
    import pyarrow.parquet as pq  # deferred: an optional dependency (the [ray] extra)

    folder = out_dir if isinstance(out_dir, OutputFolder) else OutputFolder(
        out_dir, what="out_dir", overwrite=overwrite, kind="trial report"
    )  # fmt: skip
    tmp = str(folder.check().staging())
    tallies = {name: ArmTally(name) for name in policies}
    try:
        writer = None
        waiting: dict[int, tuple[int, dict[str, ArmOutcomes]]] = {}
        next_k, horizon = 0, 0.0
        for k, (a, _b), arms, shard_horizon in iter_shards(
            policies, env_id, split, n_patients, seed, backend=backend, shard_size=shard_size,
            address=address, keep_doses=False, progress=progress, max_retries=max_retries,
        ):  # fmt: skip
            waiting[k], horizon = (a, arms), shard_horizon
            while next_k in waiting:
                start, ready = waiting.pop(next_k)
                for name, arm in ready.items():
                    tallies[name].add(arm)
                    table = _arrow_table(arm, start)
                    if writer is None:
                        writer = pq.ParquetWriter(os.path.join(tmp, "patients.parquet"),
                                                  table.schema)  # fmt: skip
                    writer.write_table(table)
                next_k += 1
        if writer is not None:
            writer.close()
        rows = summarise_tallies(tallies, horizon, reference)
        with open(os.path.join(tmp, "summary.csv"), "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(json_safe(rows))  # as write_report: no inf or nan in the table
        meta = {"env_id": env_id, "split": split, "n_patients": n_patients, "seed": seed,
                "horizon_days": horizon, "backend": backend,
                "shard_size": shard_size or DEFAULT_SHARD_SIZE}  # fmt: skip
        with open(os.path.join(tmp, "summary.json"), "w") as fh:
            json.dump(json_safe({"trial": meta, "arms": rows}), fh, indent=2)
        _write_streamed_report(tmp, tallies, rows, meta, reference)
        folder.commit()
    except BaseException:
        folder.abort()
        raise
    return rows


def _write_streamed_report(
    folder: str,
    tallies: dict[str, ArmTally],
    rows: list[dict[str, Any]],
    meta: dict[str, Any],
    reference: str | None,
) -> None:
    import matplotlib  # deferred: a heavy import, needed only to draw the figures

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for label in ("os", "pfs"):
        fig, ax = plt.subplots(figsize=(8, 5))
        for name, t in tallies.items():
            counts = getattr(t, label)
            in_months = {(d / DAYS_PER_MONTH, e): c for (d, e), c in counts.items()}
            days, events, weights = ArmTally.columns(in_months)
            kaplan_meier(days, events, weights, label=name).plot_survival_function(
                ax=ax, ci_show=False
            )
        ax.set_xlabel("months")
        ax.set_ylabel("overall survival" if label == "os" else "progression-free survival")
        ax.set_title(f"{meta['env_id']}, {meta['split']} split, {meta['n_patients']:,} "
                     "patients/arm")  # fmt: skip
        fig.tight_layout()
        fig.savefig(os.path.join(folder, f"km_{label}.png"), dpi=90)
        plt.close(fig)
    lines = [f"# Virtual trial: {meta['env_id']}", "",
             f"{meta['n_patients']:,} patients per arm ({meta['split']} split, paired design), "
             f"horizon {meta['horizon_days']:.0f} days, seed {meta['seed']}; {meta['backend']} "
             f"backend, shards of {meta['shard_size']} patients; per-patient outcomes in "
             "patients.parquet.", "",
             *summary_table(rows),
             "", f"Reference arm for HR and log-rank: {reference or rows[0]['arm']}.",
             SCORE_DEFINITION, "", score_note(rows), "", "![OS](km_os.png)", "",
             "![PFS](km_pfs.png)", ""]  # fmt: skip
    with open(os.path.join(folder, "report.md"), "w") as fh:
        fh.write("\n".join(lines))
