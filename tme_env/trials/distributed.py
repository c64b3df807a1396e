"""Sharded virtual trials: patient shards run in this process or as Ray tasks.

A trial of ``n`` patients is cut into shards of ``shard_size`` consecutive patients of the split
(`shard_bounds`). A shard is one `tme_env.trials.run.run_trial_shard` call: every arm on those
patients, each arm one compiled batch. Patient ``i`` of the split is built from its own seed
(`tme_env.patients.cohort` with ``start``) and gets measurement-noise seed ``seed + i``, so a
patient's outcome is bit for bit the same whatever the backend, shard size or worker count.

Backends:

* ``"local"``: the shards one after the other in this process (the numba kernels use every
  thread numba has);
* ``"ray"``: one Ray task per shard (``num_cpus=1`` each, numba on one thread inside it), the
  policies put once into the object store, at most ``max_in_flight`` shards submitted at a
  time, progress over the completed shards from ``ray.wait``. A task whose worker dies is
  re-run by Ray (``max_retries``); its result is one object, received once, so a retried shard
  is never counted twice.

Two ways to collect the outcomes:

* `sharded_trial` concatenates the shards into the usual `TrialResult` (for
  `tme_env.trials.write_report`), which holds every patient's weekly doses: for up to ~10^5
  patients;
* `stream_trial` writes each shard's per-patient figures to ``patients.parquet`` (pyarrow, one
  row group per shard and arm, in patient order) as it arrives and keeps only per-arm tallies:
  counts of each distinct (time, event) pair for OS and PFS and sums of the other figures.
  Memory stays flat in the number of patients. The survival statistics come from those tallies
  through lifelines with frequency weights (`summarise_tallies`: the same figures as
  `tme_env.trials.summarise`, tested against it; Kaplan-Meier, RMST and log-rank agree to
  round-off, the Cox hazard ratio to about 1%, because lifelines' Efron correction for tied
  times with weights is not the one it applies to the same rows repeated).

Ray needs the ``[ray]`` extra (``pip install -e ".[ray]"``). With ``address=None`` a local Ray
is started (or the one this process already has is used); ``address="auto"`` joins a cluster
started with ``ray start --head`` on this machine, ``"ray://HOST:10001"`` a remote one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tme_env.clinical import DAYS_PER_MONTH
from tme_env.io import OutputFolder, json_safe
from tme_env.trials.outcomes import ArmOutcomes, TrialResult
from tme_env.trials.report import benchmark_scores
from tme_env.trials.run import TRIAL_ENV_IDS, concat_arms, run_trial_shard

__all__ = [
    "BACKENDS",
    "DEFAULT_SHARD_SIZE",
    "ArmTally",
    "iter_shards",
    "shard_bounds",
    "sharded_trial",
    "stream_trial",
    "summarise_tallies",
]

#: Where shards can run.
BACKENDS = ("local", "ray")
#: Patients per shard when none is given (the per-shard overhead of Ray is small against it;
#: see experiments/benchmarks/ray_trial.py).
DEFAULT_SHARD_SIZE = 1024
#: Columns of ``patients.parquet``.
PARQUET_COLUMNS = (
    "arm", "patient_index", "patient", "os_days", "os_event", "pfs_days", "pfs_event",
    "best_response", "cured", "worst_neutropenia_grade", "chemo_doses", "anti_pd1_doses",
    "inhibitor_dose_days", "fraction_time_hot",
)  # fmt: skip


def shard_bounds(n_patients: int, shard_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering patients ``0 .. n_patients - 1`` in order.

    Raises:
        ValueError: On a non-positive number of patients or shard size.
    """
    for label, value in (("n_patients", n_patients), ("shard_size", shard_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    return [(a, min(a + shard_size, n_patients)) for a in range(0, n_patients, shard_size)]


def _shard_task(
    policies: dict[str, Any],
    env_id: str,
    split: str,
    start: int,
    stop: int,
    seed: int,
    keep_doses: bool,
    threads: int | None,
) -> tuple[dict[str, ArmOutcomes], float]:
    """One shard in a Ray worker: numba limited to the task's CPUs, then `run_trial_shard`."""
    if threads is not None:
        import numba

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    return run_trial_shard(policies, env_id, split, start, stop, seed, keep_doses)


def _init_ray(address: str | None) -> Any:
    try:
        import ray
    except ImportError:  # pragma: no cover - depends on the install
        raise ValueError(
            "backend 'ray' needs Ray: pip install -e \".[ray]\" (or pip install 'ray[tune]')"
        ) from None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    return ray


def iter_shards(
    policies: dict[str, Any],
    env_id: str,
    split: str,
    n_patients: int,
    seed: int,
    backend: str = "local",
    shard_size: int | None = None,
    address: str | None = None,
    keep_doses: bool = True,
    max_in_flight: int | None = None,
    max_retries: int = 3,
    progress: bool = False,
) -> Iterator[tuple[int, tuple[int, int], dict[str, ArmOutcomes], float]]:
    """Run the shards; yield ``(k, (start, stop), arms, horizon_days)`` once per shard.

    Local shards come in order; Ray shards in the order they complete.

    Args:
        policies: Arm name -> policy (as `tme_env.trials.run_trial`).
        env_id: A trial env id.
        split: Cohort split.
        n_patients: Patients per arm.
        seed: Measurement-noise seed of patient 0.
        backend: ``"local"`` or ``"ray"``.
        shard_size: Patients per shard (default `DEFAULT_SHARD_SIZE`).
        address: Ray address (see the module docstring); Ray backend only.
        keep_doses: Keep each patient's weekly doses (see `run_trial_shard`).
        max_in_flight: Ray shards submitted and not yet yielded, at most (default: twice the
            cluster's CPUs). Bounds the memory the results take before they are consumed.
        max_retries: Re-runs of a shard whose worker died (Ray's task ``max_retries``).
        progress: A progress bar over the completed shards.

    Raises:
        ValueError: On an unknown backend or env id, no policies, bad sizes, or a backend
            Ray without Ray installed.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if address is not None and backend != "ray":
        raise ValueError(f"a Ray address ({address!r}) needs backend 'ray', got {backend!r}")
    if env_id not in TRIAL_ENV_IDS:
        raise ValueError(f"unknown trial env {env_id!r}; valid: {', '.join(TRIAL_ENV_IDS)}")
    if not policies:
        raise ValueError("give at least one policy")
    bounds = shard_bounds(n_patients, DEFAULT_SHARD_SIZE if shard_size is None else shard_size)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(bounds), desc=f"shards ({backend})", unit="shard")
    try:
        if backend == "local":
            for k, (a, b) in enumerate(bounds):
                arms, horizon = run_trial_shard(policies, env_id, split, a, b, seed, keep_doses)
                if bar is not None:
                    bar.update()
                yield k, (a, b), arms, horizon
            return
        ray = _init_ray(address)
        if max_in_flight is None:
            max_in_flight = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
        task = ray.remote(num_cpus=1, max_retries=int(max_retries))(_shard_task)
        policies_ref = ray.put(policies)  # once into the object store, shared by every task
        pending: dict[Any, int] = {}
        seen: set[int] = set()
        submitted = 0
        while pending or submitted < len(bounds):
            while submitted < len(bounds) and len(pending) < max_in_flight:
                a, b = bounds[submitted]
                ref = task.remote(policies_ref, env_id, split, a, b, seed, keep_doses, 1)
                pending[ref] = submitted
                submitted += 1
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                k = pending.pop(ref)
                arms, horizon = ray.get(ref)
                if k in seen:  # pragma: no cover - Ray resolves each object once
                    raise RuntimeError(f"shard {k} {bounds[k]} was returned twice")
                seen.add(k)
                if bar is not None:
                    bar.update()
                yield k, bounds[k], arms, horizon
    finally:
        if bar is not None:
            bar.close()


def sharded_trial(
    policies: dict[str, Any],
    env_id: str = TRIAL_ENV_IDS[0],
    split: str = "test",
    n_patients: int = 500,
    seed: int = 0,
    backend: str = "local",
    shard_size: int | None = None,
    address: str | None = None,
    progress: bool = False,
    max_retries: int = 3,
) -> TrialResult:
    """`tme_env.trials.run_trial` in shards: the same `TrialResult`, bit for bit.

    Args:
        policies: Arm name -> policy.
        env_id: A trial env id.
        split: Cohort split.
        n_patients: Patients per arm.
        seed: Measurement-noise seed of patient 0.
        backend: ``"local"`` or ``"ray"``.
        shard_size: Patients per shard (default `DEFAULT_SHARD_SIZE`).
        address: Ray address (Ray backend only).
        progress: A progress bar over the completed shards.
        max_retries: Re-runs of a shard whose worker died.

    Raises:
        ValueError: As `iter_shards`.
        RuntimeError: If the shards do not cover every patient exactly once.
    """
    parts: dict[int, dict[str, ArmOutcomes]] = {}
    horizon = 0.0
    for k, _bounds, arms, shard_horizon in iter_shards(
        policies, env_id, split, n_patients, seed, backend=backend, shard_size=shard_size,
        address=address, progress=progress, max_retries=max_retries,
    ):  # fmt: skip
        parts[k], horizon = arms, shard_horizon
    order = sorted(parts)
    arms = {name: concat_arms([parts[k][name] for k in order]) for name in policies}
    for name, arm in arms.items():
        if len(arm.patient_ids) != n_patients or len(set(arm.patient_ids)) != n_patients:
            raise RuntimeError(
                f"arm {name!r}: {len(arm.patient_ids)} outcomes for {n_patients} patients"
            )
    return TrialResult(env_id, split, n_patients, seed, horizon, arms)


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


def _exp_or_inf(log_values: np.ndarray) -> np.ndarray:
    """``exp`` of log-scale values, ``inf`` past the float64 range (as the unweighted Cox)."""
    x = np.asarray(log_values, dtype=float)
    top = float(np.log(np.finfo(np.float64).max))
    return np.where(x > top, np.inf, np.exp(np.minimum(x, top)))


def _km(counts: dict[tuple[float, bool], int], label: str | None = None) -> Any:
    from lifelines import KaplanMeierFitter

    days, events, weights = ArmTally.columns(counts)
    return KaplanMeierFitter().fit(days, events, weights=weights, label=label)


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
    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.statistics import logrank_test
    from lifelines.utils import median_survival_times, restricted_mean_survival_time


    rows, rmst_days, q_days = [], {}, {}
    for name, t in tallies.items():
        row: dict[str, Any] = {"arm": name, "patients": t.patients}
        for label, counts in (("os", t.os), ("pfs", t.pfs)):
            km = _km(counts)
            ci = median_survival_times(km.confidence_interval_)
            row[f"median_{label}_months"] = float(km.median_survival_time_) / DAYS_PER_MONTH
            row[f"median_{label}_ci_low"] = float(ci.iloc[0, 0]) / DAYS_PER_MONTH
            row[f"median_{label}_ci_high"] = float(ci.iloc[0, 1]) / DAYS_PER_MONTH
            if label == "os":
                rmst_days[name] = float(restricted_mean_survival_time(km, t=horizon_days))
                row["rmst_os_months"] = rmst_days[name] / DAYS_PER_MONTH
        n = max(t.patients, 1)
        q_days[name] = t.q_twist_days / n
        row["q_twist_months"] = q_days[name] / DAYS_PER_MONTH
        row.update(
            objective_response_rate=t.responders / n, cure_rate=t.cured / n,
            grade3plus_neutropenia_rate=t.grade3plus / n, mean_chemo_doses=t.chemo_doses / n,
            mean_anti_pd1_doses=t.anti_pd1_doses / n,
            mean_inhibitor_dose_days=t.inhibitor_dose_days / n,
            fraction_time_hot=t.fraction_hot / n, irae_rate=t.irae / n,
            irae_grade3plus_rate=t.irae_grade3plus / n, irae_death_rate=t.irae_deaths / n,
            anti_pd1_discontinued_rate=t.anti_pd1_discontinued / n,
        )  # fmt: skip
        rows.append(row)
    ref = reference if reference is not None else next(iter(tallies))
    if ref not in tallies:
        raise ValueError(f"reference arm {ref!r} is not in the trial: {list(tallies)}")
    ref_cols = ArmTally.columns(tallies[ref].os)
    for row in rows:
        if row["arm"] == ref:
            row.update(hazard_ratio_os=1.0, hr_ci_low=1.0, hr_ci_high=1.0, logrank_p=1.0)
            continue
        days, events, weights = ArmTally.columns(tallies[row["arm"]].os)
        p = logrank_test(days, ref_cols[0], events, ref_cols[1], weights_A=weights,
                         weights_B=ref_cols[2]).p_value  # fmt: skip
        df = pd.DataFrame({
            "T": np.concatenate([days, ref_cols[0]]),
            "E": np.concatenate([events, ref_cols[1]]).astype(int),
            "arm": np.r_[np.ones(len(days)), np.zeros(len(ref_cols[0]))],
            "w": np.concatenate([weights, ref_cols[2]]),
        })  # fmt: skip
        cph = CoxPHFitter().fit(df, duration_col="T", event_col="E", weights_col="w")
        low, high = _exp_or_inf(cph.confidence_intervals_.loc["arm"].to_numpy())
        row.update(hazard_ratio_os=float(_exp_or_inf(cph.params_["arm"])), hr_ci_low=float(low),
                   hr_ci_high=float(high), logrank_p=float(p))  # fmt: skip
    scores = benchmark_scores(q_days)
    for row in rows:
        row["benchmark_score"] = scores[row["arm"]]
    return rows


def _arrow_table(arm: ArmOutcomes, start: int) -> Any:
    import pyarrow as pa

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
    import csv

    import pyarrow.parquet as pq

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
            w.writerows(rows)
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for label in ("os", "pfs"):
        fig, ax = plt.subplots(figsize=(8, 5))
        for name, t in tallies.items():
            counts = getattr(t, label)
            in_months = {(d / DAYS_PER_MONTH, e): c for (d, e), c in counts.items()}
            _km(in_months, label=name).plot_survival_function(ax=ax, ci_show=False)
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
             "| arm | median OS (95% CI), mo | median PFS, mo | RMST, mo | ORR | cure | "
             "G>=3 neutropenia | time hot | HR OS (95% CI) | log-rank p | score |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r['arm']} | {r['median_os_months']:.1f} ({r['median_os_ci_low']:.1f}-"
            f"{r['median_os_ci_high']:.1f}) | {r['median_pfs_months']:.1f} | "
            f"{r['rmst_os_months']:.1f} | {r['objective_response_rate']:.0%} | "
            f"{r['cure_rate']:.0%} | {r['grade3plus_neutropenia_rate']:.0%} | "
            f"{r['fraction_time_hot']:.0%} | {r['hazard_ratio_os']:.2f} "
            f"({r['hr_ci_low']:.2f}-{r['hr_ci_high']:.2f}) | {r['logrank_p']:.2g} | "
            f"{r['benchmark_score']:.0f} |"
        )
    lines += ["", f"Reference arm for HR and log-rank: {reference or rows[0]['arm']}.", "",
              "![OS](km_os.png)", "", "![PFS](km_pfs.png)", ""]  # fmt: skip
    with open(os.path.join(folder, "report.md"), "w") as fh:
        fh.write("\n".join(lines))
