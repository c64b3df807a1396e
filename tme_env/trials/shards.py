"""Sharded virtual trials: patient shards run in this process or as Ray tasks.

A trial of ``n`` patients is cut into shards of ``shard_size`` consecutive patients of the split
(`shard_bounds`). A shard is one `tme_env.trials.arms.run_trial_shard` call: every arm on those
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

`sharded_trial` concatenates the shards (`concat_arms`) into the usual `TrialResult` (for
`tme_env.trials.write_report`), which holds every patient's weekly doses: for up to ~10^5
patients. `tme_env.trials.streaming.stream_trial` keeps memory flat instead, for any size.

Ray needs the ``[ray]`` extra (``pip install -e ".[ray]"``). With ``address=None`` a local Ray
is started (or the one this process already has is used); ``address="auto"`` joins a cluster
started with ``ray start --head`` on this machine, ``"ray://HOST:10001"`` a remote one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import numpy as np

from tme_env.trials.arms import TRIAL_ENV_IDS, run_trial_shard
from tme_env.trials.outcomes import ArmOutcomes, TrialResult

__all__ = [
    "BACKENDS",
    "DEFAULT_SHARD_SIZE",
    "concat_arms",
    "iter_shards",
    "shard_bounds",
    "sharded_trial",
]

#: Where shards can run.
BACKENDS = ("local", "ray")
#: Patients per shard when none is given (the per-shard overhead of Ray is small against it;
#: see experiments/benchmarks/ray_trial.py).
DEFAULT_SHARD_SIZE = 1024


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


def concat_arms(parts: list[ArmOutcomes]) -> ArmOutcomes:
    """One arm from its shards (in patient order); env arms only (no trajectories).

    Raises:
        ValueError: On no parts, parts of different arms or open-loop parts.
    """
    if not parts:
        raise ValueError("no shards to concatenate")
    names = {p.name for p in parts}
    if len(names) != 1 or any(p.y is not None for p in parts):
        raise ValueError(f"can only concatenate shards of one env arm, got arms {sorted(names)}")
    merged: dict[str, Any] = {"name": parts[0].name, "patient_ids": []}
    for p in parts:
        merged["patient_ids"] += list(p.patient_ids)
    for f in fields(ArmOutcomes):
        if f.name not in merged and f.name not in ("t", "y", "state_names"):
            values = [getattr(p, f.name) for p in parts]
            merged[f.name] = None if values[0] is None else np.concatenate(values)
    return ArmOutcomes(**merged)
