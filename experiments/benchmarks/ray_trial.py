"""Sharded virtual trials: patients/s on the local backend and on Ray, and a large streamed trial.

1. Patients/s of a one-arm (``mtd-chemo``), 3-year trial of ``--patients`` patients: the local
   backend in one batch (numba on every thread, and on one), the local backend in shards, and
   Ray with 1 and 2 workers (a local ``ray.init(num_cpus=...)``; one task per shard, numba on
   one thread inside each task).
2. Ray's overhead per shard: the same trial on 2 Ray workers at several shard sizes.
3. A streamed trial (`tme_env.trials.streaming.stream_trial`: Parquet + tallies) through
   Ray with 2 workers at each size of ``--large`` (default 10^4, 10^5, 10^6 patients): wall
   time, and the peak resident memory (VmHWM) of the driver and of the largest Ray worker.

Every Ray configuration is warmed up (workers started, kernels loaded from numba's cache) by a
small trial before it is timed. Writes ``experiments/benchmarks/ray_trial.json``.

Usage::

    python experiments/benchmarks/ray_trial.py [--patients 4096] [--large 10000 100000 1000000]
        [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numba
import ray

from tme_env import regimens
from tme_env.io import atomic_write_json
from tme_env.trials import run_trial
from tme_env.trials.run import TRIAL_ENV_IDS
from tme_env.trials.streaming import stream_trial

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # experiments/
import quick  # noqa: E402 - experiments/quick.py: the --quick flag

ENV_ID = TRIAL_ENV_IDS[0]
ARM = "mtd-chemo"


def policies() -> dict:
    """The one arm of the benchmark trial."""
    return {ARM: regimens.get(ARM)}


def timed(fn, *args, **kwargs) -> float:
    """Wall seconds of one call."""
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def start_ray(workers: int) -> None:
    """A fresh local Ray with ``workers`` CPUs, its workers warmed up by a small trial."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    run_trial(policies(), env_id=ENV_ID, n_patients=8 * workers, backend="ray", shard_size=8)


def peak_rss_mib(pid: int | str = "self") -> float:
    """Peak resident memory (VmHWM) of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ray_worker_peaks_mib() -> list[float]:
    """VmHWM of every Ray worker process on this machine (``ray::`` in its command line)."""
    peaks = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes()
            if cmd.startswith(b"ray::"):
                peaks.append(peak_rss_mib(d.name))
        except OSError:
            continue
    return peaks


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=4096, help="patients of parts 1 and 2")
    ap.add_argument("--shard-size", type=int, default=1024, help="shard size of part 1")
    ap.add_argument("--shard-sizes", type=int, nargs="+", default=[16, 64, 256, 1024],
                    help="shard sizes of part 2")  # fmt: skip
    ap.add_argument("--large", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                    help="patients of the streamed trials of part 3 (none: skip it)")  # fmt: skip
    ap.add_argument("--large-shard-size", type=int, default=4096, help="shard size of part 3")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "ray_trial.json"))
    args = quick.parse_args(ap, argv, __file__,
                            sizes={"patients": 64, "shard_size": 16, "shard_sizes": [16, 32],
                                   "large": [128], "large_shard_size": 64},
                            outputs={"out": "ray_trial.json"})  # fmt: skip
    n, out = args.patients, {"env_id": ENV_ID, "arm": ARM, "cpus": os.cpu_count(),
                             "load_average_at_start": os.getloadavg()}  # fmt: skip
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    print(f"1. {ARM}, {ENV_ID}, {n} patients: patients/s")
    run_trial(policies(), env_id=ENV_ID, n_patients=64)  # compile / load the kernels
    rates = {}
    local = timed(run_trial, policies(), env_id=ENV_ID, n_patients=n)
    rates["local, one batch"] = n / local
    sharded = timed(run_trial, policies(), env_id=ENV_ID, n_patients=n, shard_size=args.shard_size)
    rates[f"local, shards of {args.shard_size}"] = n / sharded
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    rates["local, one batch, numba on 1 thread"] = n / timed(
        run_trial, policies(), env_id=ENV_ID, n_patients=n
    )
    numba.set_num_threads(threads)
    for workers in (1, 2):
        start_ray(workers)
        wall = timed(run_trial, policies(), env_id=ENV_ID, n_patients=n, backend="ray",
                     shard_size=args.shard_size)  # fmt: skip
        rates[f"Ray, {workers} worker{'s' * (workers > 1)}, shards of {args.shard_size}"] = n / wall
    for label, rate in rates.items():
        print(f"  {label:<36} {rate:>9,.0f} patients/s")
    out["patients_per_s"] = rates

    print(f"2. Ray, 2 workers, {n} patients: shard size")
    overhead = {}
    for size in args.shard_sizes:
        wall = timed(run_trial, policies(), env_id=ENV_ID, n_patients=n, backend="ray",
                     shard_size=size)  # fmt: skip
        overhead[size] = {"patients_per_s": n / wall, "shards": -(-n // size),
                          "ms_per_shard": 1e3 * wall / -(-n // size)}  # fmt: skip
        print(f"  shards of {size:>5}: {n / wall:>9,.0f} patients/s "
              f"({overhead[size]['shards']} shards)")  # fmt: skip
    out["shard_size"] = overhead

    large = {}
    for size in args.large:
        start_ray(2)  # fresh workers: their peak memory is this run's
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            rows = stream_trial(policies(), os.path.join(tmp, "trial"), env_id=ENV_ID,
                                n_patients=size, backend="ray",
                                shard_size=args.large_shard_size, progress=True)  # fmt: skip
            wall = time.perf_counter() - t0
            parquet_mib = os.path.getsize(os.path.join(tmp, "trial", "patients.parquet")) / 2**20
        workers = ray_worker_peaks_mib()
        large[size] = {
            "wall_s": wall, "patients_per_s": size / wall,
            "driver_peak_rss_mib": peak_rss_mib(),
            "max_worker_peak_rss_mib": max(workers, default=float("nan")),
            "workers": len(workers), "parquet_mib": parquet_mib,
            "median_os_months": rows[0]["median_os_months"],
            "rmst_os_months": rows[0]["rmst_os_months"],
        }  # fmt: skip
        print(f"3. streamed trial, {size:,} patients, Ray 2 workers: {wall:,.0f} s "
              f"({size / wall:,.0f} patients/s), driver peak "
              f"{large[size]['driver_peak_rss_mib']:,.0f} MiB, largest worker peak "
              f"{large[size]['max_worker_peak_rss_mib']:,.0f} MiB, Parquet {parquet_mib:.1f} MiB, "
              f"median OS {rows[0]['median_os_months']:.2f} mo")  # fmt: skip
        out["streamed"] = large
        atomic_write_json(args.out, out)  # after each size: a long run keeps what it measured
    out["driver_maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    atomic_write_json(args.out, out)
    print(f"wrote {args.out}")
    if ray.is_initialized():
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
