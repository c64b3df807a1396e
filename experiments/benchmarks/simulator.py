"""Simulator benchmark: speed and accuracy against scipy, batched throughput, start-up time.

Everything is measured in this one run on this machine, and speed is reported as ratios
against references measured in the same run (timings on shared machines are noisy):

1. Per 21-day cycle, ``depillis2003``, rtol 1e-6 / atol 1e-9: the compiled integrator vs
   ``scipy.integrate.solve_ivp(method="RK45")`` at the same tolerances (restarted at every
   breakpoint, plain-Python right-hand side), both checked against a DOP853 rtol 1e-12
   reference. The same for ``depillis2013`` (7 states, stiffer).
2. Batched: 1024 patients (own parameters and schedules), patient-cycles per second on 1 and
   2 threads.
3. Accuracy of the default tolerances against the reference, per state.
4. Cold (compiling) and warm (cached) import-to-first-result time of a fresh process.

Usage::

    python experiments/benchmarks/simulator.py [--cycles 10] [--patients 1024] [--json OUT]
        [--quick]

Error metric: for each state, the largest absolute deviation over all output times divided by
the largest magnitude of that state over the run (a relative error that stays meaningful for
states that pass through zero, such as a drug concentration between doses).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable

import numba
import numpy as np
from scipy.integrate import solve_ivp

import tme_env
from tme_env.models.depillis2013 import sunitinib_schedule
from tme_env.simulator import integrator
from tme_env.simulator.rhs import rhs_addresses
from tme_env.simulator.schedule import build_segments, parse_infusions

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # experiments/
import quick  # noqa: E402 - experiments/quick.py: the --quick flag

CYCLE_DAYS = 21.0


# --- plain-Python right-hand sides for scipy (written from the published equations) -------
def rhs2003_python(v: float) -> Callable:
    """The de Pillis & Radunskaya 2003 rhs in plain Python at infusion rate ``v`` (solve_ivp)."""
    a1, a2, a3, b1, b2, c1, c2, c3, c4, d1, d2, r1, r2, s, alpha, rho = (
        0.2, 0.3, 0.1, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 0.2, 1.0, 1.5, 1.0, 0.33, 0.3, 0.01,
    )  # fmt: skip
    exp = math.exp

    def f(t: float, y: np.ndarray) -> list[float]:
        n, tum, imm, u = y
        k = 1.0 - exp(-u)
        return [
            r2 * n * (1 - b2 * n) - c4 * tum * n - a3 * k * n,
            r1 * tum * (1 - b1 * tum) - c2 * imm * tum - c3 * tum * n - a2 * k * tum,
            s + rho * imm * tum / (alpha + tum) - c1 * imm * tum - d1 * imm - a1 * k * imm,
            v - d2 * u,
        ]

    return f


def _rhs2013(v: float) -> Callable:
    q = {p.name: p.value for p in tme_env.models.get("depillis2013").default_parameters.info()}
    exp = math.exp

    def f(t: float, y: np.ndarray) -> list[float]:
        tum, nk, cd8, treg, circ, il2, sun = y
        dt = q["d"] * tum / (1 + q["s"] * (tum / cd8) ** q["l"]) if tum > 0 and cd8 > 0 else 0
        return [
            q["a"] * tum * (1 - q["b"] * tum) - q["c"] * exp(-q["lambda_T"] * treg) * nk * tum
            - dt,
            q["f"] * (q["e_over_f"] * circ - nk) - q["p"] * nk * tum
            + q["p_N"] * nk * il2 / (q["g_N"] + il2),
            -q["m"] * cd8 - q["q"] * cd8 * tum + (q["r1"] * nk + q["r2"] * circ) * tum
            + q["p_I"] * cd8 * il2 / (q["g_I"] + il2)
            - q["z"] * cd8 * cd8 * treg * il2 / (q["kappa"] + il2)
            + q["j"] * tum / (q["k"] + tum) * cd8,
            q["u"] * (q["w_over_u"] * circ - treg) + q["p_R"] * treg * il2 / (q["g_R"] + il2)
            - q["H_R"] * (1 - exp(-q["lambda_R"] * sun)) * treg,
            q["beta"] * (q["alpha_over_beta"] - circ),
            -q["mu_I"] * il2 + q["phi"] * circ + q["omega"] * cd8 * il2 / (q["zeta"] + il2),
            v - q["eta"] * sun,
        ]  # fmt: skip

    return f


def scipy_piecewise(make_rhs, y0, t_eval, infusions, method, rtol, atol) -> np.ndarray:
    """solve_ivp restarted at every infusion breakpoint; outputs at ``t_eval``."""
    cuts = sorted(
        {t_eval[0], t_eval[-1]}
        | {x for s, e, _ in infusions for x in (s, e) if t_eval[0] < x < t_eval[-1]}
    )
    y = np.asarray(y0, dtype=float)
    out = np.empty((y.size, t_eval.size))
    out[:, 0] = y
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        rate = sum(r for s, e, r in infusions if s <= a < e)
        inner = (t_eval > a) & (t_eval < b)
        sol = solve_ivp(make_rhs(rate), (a, b), y, method=method, rtol=rtol, atol=atol,
                        t_eval=np.concatenate([t_eval[inner], [b]]))  # fmt: skip
        if not sol.success:
            raise RuntimeError(sol.message)
        out[:, inner] = sol.y[:, :-1]
        y = sol.y[:, -1]
        out[:, t_eval == b] = y[:, None]
    return out


def scaled_error(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per-state max |y - ref| / max |ref|."""
    scale = np.max(np.abs(ref), axis=-1)
    return np.max(np.abs(y - ref), axis=-1) / np.where(scale > 0, scale, 1.0)


def best_time(fn: Callable[[], object], repeats: int, min_time: float = 0.2) -> float:
    """Best-of-``repeats`` wall time of ``fn`` (each repeat loops until ``min_time``)."""
    best = math.inf
    for _ in range(repeats):
        n = 0
        t0 = time.perf_counter()
        while True:
            fn()
            n += 1
            el = time.perf_counter() - t0
            if el >= min_time:
                break
        best = min(best, el / n)
    return best


class KernelCall:
    """Pre-built kernel arguments, so that timing measures only the compiled integrator."""

    def __init__(self, model, t_eval, y0s, params, schedules, rtol, atol, parallel):
        """Build segments and output arrays for ``schedules`` (one per patient)."""
        m = tme_env.models.get(model)
        segs = [
            build_segments(t_eval[0], t_eval[-1], parse_infusions(s, m.input_names), [],
                           len(m.inputs), len(m.states))
            for s in schedules
        ]  # fmt: skip
        n = len(segs)
        self.m = m
        self.args = [
            *rhs_addresses(m.rhs),
            np.ascontiguousarray(y0s),
            np.ascontiguousarray(params),
            np.concatenate([[0], np.cumsum([s.start.size for s in segs])]).astype(np.int64),
            np.concatenate([s.start for s in segs]),
            np.concatenate([s.end for s in segs]),
            np.ascontiguousarray(np.concatenate([s.inputs for s in segs])),
            np.ascontiguousarray(np.concatenate([s.jumps for s in segs])),
            np.ascontiguousarray(t_eval, dtype=np.float64),
            float(rtol),
            np.full(len(m.states), float(atol)),
            1_000_000,
            np.empty((n, len(m.states), len(t_eval))),
            np.zeros(n, dtype=np.int64),
            np.zeros(n),
            np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=np.int64),
            np.zeros(n),  # carried step sizes: reset before every call (a fresh start)
            np.empty((n, integrator.N_WORK, len(m.states))),
        ]
        self.kernel = integrator.integrate_batch if parallel else integrator.integrate_single

    def __call__(self) -> np.ndarray:
        """Run the kernel; return the output array (patients, states, times)."""
        self.args[18][:] = 0.0
        self.kernel(*self.args)
        if np.any(self.args[14] != 0):
            raise RuntimeError("integration failed")
        return self.args[13]


def chemo_cycles(model: str, cycles: int, day0: float = 0.0) -> list:
    """A 21-day cycle: 2 days of infusion (full dose), then 19 days off."""
    if model == "depillis2003":
        return [(day0 + CYCLE_DAYS * c, day0 + CYCLE_DAYS * c + 2.0, {"v": 1.0})
                for c in range(cycles)]  # fmt: skip
    return sunitinib_schedule(math.ceil(cycles / 2))


def per_cycle(model: str, make_rhs, y0: dict, cycles: int, repeats: int) -> dict:
    """Time and accuracy per 21-day cycle: compiled kernel, simulate(), scipy RK45."""
    m = tme_env.models.get(model)
    t_eval = np.arange(0.0, CYCLE_DAYS * cycles + 0.5, 1.0)  # daily outputs
    sched = chemo_cycles(model, cycles)
    flat = [(s, e, next(iter(r.values()))) for s, e, r in sched]
    y0v = m.initial_state(y0)
    rtol, atol = 1e-6, 1e-9
    call = KernelCall(model, t_eval, y0v[None], m.default_parameters.to_array()[None], [sched],
                      rtol, atol, parallel=False)  # fmt: skip
    ours = call()[0].copy()
    ref = scipy_piecewise(make_rhs, y0v, t_eval, flat, "DOP853", 1e-12, 1e-15)
    rk45 = scipy_piecewise(make_rhs, y0v, t_eval, flat, "RK45", rtol, atol)
    t_ours = best_time(call, repeats)
    t_api = best_time(
        lambda: tme_env.simulate(
            model, t_eval=t_eval, initial_state=y0, infusions=sched, rtol=rtol, atol=atol
        ),  # fmt: skip
        repeats,
    )
    t_scipy = best_time(
        lambda: scipy_piecewise(make_rhs, y0v, t_eval, flat, "RK45", rtol, atol),
        max(1, repeats // 2),
    )
    default = tme_env.simulate(model, t_eval=t_eval, initial_state=y0, infusions=sched)
    return {
        "model": model,
        "cycles": cycles,
        "us_per_cycle_kernel": 1e6 * t_ours / cycles,
        "us_per_cycle_simulate": 1e6 * t_api / cycles,
        "us_per_cycle_scipy_rk45": 1e6 * t_scipy / cycles,
        "speedup_kernel": t_scipy / t_ours,
        "speedup_simulate": t_scipy / t_api,
        "err_ours": float(np.max(scaled_error(ours, ref))),
        "err_scipy_rk45": float(np.max(scaled_error(rk45, ref))),
        "err_default_tolerances_per_state": dict(
            zip(m.state_names, scaled_error(default.y, ref).tolist(), strict=True)
        ),
    }


def batched(n_patients: int, cycles: int, repeats: int) -> dict:
    """Patient-cycles per second of the parallel kernel on 1 and 2 threads."""
    m = tme_env.models.get("depillis2003")
    rng = np.random.default_rng(0)
    t_eval = np.arange(0.0, CYCLE_DAYS * cycles + 0.5, CYCLE_DAYS)  # one output per cycle
    y0 = np.tile(m.initial_state(), (n_patients, 1))
    y0[:, 1] = rng.uniform(0.1, 0.6, n_patients)
    params = np.tile(m.default_parameters.to_array(), (n_patients, 1))
    params[:, m.parameter_names.index("a2")] = rng.uniform(0.1, 0.5, n_patients)
    params[:, m.parameter_names.index("r1")] = rng.uniform(1.0, 2.0, n_patients)
    scheds = [
        chemo_cycles("depillis2003", cycles, day0=float(rng.uniform(0, 3)))
        for _ in range(n_patients)
    ]
    call = KernelCall("depillis2003", t_eval, y0, params, scheds, 1e-6, 1e-9, parallel=True)
    out = {}
    max_threads = numba.config.NUMBA_NUM_THREADS
    for threads in (1, 2):
        if threads > max_threads:
            continue
        numba.set_num_threads(threads)
        call()
        t = best_time(call, repeats)
        out[f"patient_cycles_per_s_{threads}_threads"] = n_patients * cycles / t
    numba.set_num_threads(max_threads)
    return out


def tme_intervals(n_patients: int, repeats: int) -> dict:
    """The ``tme`` model stepped one 7-day decision interval per call (the env's access path)."""
    from tme_env.dosing import N_SEGMENTS, SEGMENT
    from tme_env.models.tme import INPUT
    from tme_env.patients import cohort
    from tme_env.simulator.stepper import BatchStepper

    out: dict = {}
    one = cohort("validation", 1)
    y0 = one.initial_states_array()
    shape = (1, N_SEGMENTS, len(INPUT))  # the model's inputs: 3 drugs and the steroid
    dosing = np.zeros(shape)
    dosing[0, SEGMENT.infusion, INPUT.chemo] = 1.0  # full chemotherapy dose on day 0-1
    dosing[0, :, INPUT.inhibitor] = 1.0  # inhibitor all week
    for label, rates in (("dosing", dosing), ("rest", np.zeros(shape))):
        st = BatchStepper("tme", one.parameters_array(), (0.0, 1.0, 7.0), parallel=False)
        st.step(y0, rates)
        n_steps = int(st.n_steps[0])
        call = functools.partial(st.step, y0, rates)
        out[f"single_{label}_us_per_interval"] = 1e6 * best_time(call, repeats)
        out[f"single_{label}_steps"] = n_steps
        # 6 new stages per step (FSAL), plus the first stage and the starting-step probe at
        # each of the 2 segment starts.
        out[f"single_{label}_rhs_evals"] = 6 * n_steps + 2 * 2
    big = cohort("train", n_patients)
    y = big.initial_states_array()
    rates = np.zeros((n_patients, N_SEGMENTS, len(INPUT)))
    max_threads = numba.config.NUMBA_NUM_THREADS
    for threads in (1, 2):
        if threads > max_threads:
            continue
        numba.set_num_threads(threads)
        st = BatchStepper("tme", big.parameters_array(), (0.0, 1.0, 7.0), parallel=True)

        def year(st=st) -> None:
            state = y
            for week in range(52):
                rates[:, SEGMENT.infusion, INPUT.chemo] = 1.0 if week % 3 == 0 else 0.0
                state = st.step(state, rates)

        year()
        t = best_time(year, max(1, repeats // 2))
        out[f"batch_patient_intervals_per_s_{threads}_threads"] = n_patients * 52 / t
    numba.set_num_threads(max_threads)
    return out


def startup(cold: bool = True) -> dict:
    """Import-to-first-result time of a fresh process, without and with the disk cache.

    ``cold=False`` (``--quick``): the warm run only, on numba's own cache (a cold start
    compiles every kernel: a minute or more).
    """
    script = textwrap.dedent(
        """
        import time
        t0 = time.perf_counter()
        import numpy as np, tme_env
        res = tme_env.simulate("depillis2003", t_eval=np.linspace(0, 21, 22),
                               infusions=[(0, 2, {"v": 1.0})])
        t1 = time.perf_counter()
        print(t1 - t0)
        """
    )
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache} if cold else dict(os.environ)
        for label in ("cold", "warm") if cold else ("warm",):
            r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                               text=True, check=True)  # fmt: skip
            out[f"{label}_import_to_first_result_s"] = float(r.stdout.split()[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=10, help="21-day cycles per patient")
    ap.add_argument("--patients", type=int, default=1024, help="patients in the batch")
    ap.add_argument("--repeats", type=int, default=5, help="timing repeats (best is kept)")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = quick.parse_args(ap, argv, __file__, sizes={"cycles": 2, "patients": 16, "repeats": 1},
                            outputs={"json": "simulator.json"})  # fmt: skip

    results = {
        "machine": {"cpus": os.cpu_count(), "numba_threads": numba.config.NUMBA_NUM_THREADS},
        "per_cycle": [
            per_cycle("depillis2003", rhs2003_python, {}, args.cycles, args.repeats),
            per_cycle("depillis2013", _rhs2013, {}, args.cycles, args.repeats),
        ],
        "batched": batched(args.patients, args.cycles, args.repeats),
        "tme_intervals": tme_intervals(args.patients, args.repeats),
        "startup": startup(cold=not args.quick),
    }

    print("\nPer 21-day cycle (daily outputs), rtol 1e-6 / atol 1e-9; error vs DOP853 rtol 1e-12")
    hdr = (f"{'model':<14}{'kernel us':>11}{'simulate() us':>15}{'scipy RK45 us':>15}"
           f"{'speedup':>9}{'(simulate)':>12}{'err ours':>11}{'err RK45':>11}")  # fmt: skip
    print(hdr)
    print("-" * len(hdr))
    for r in results["per_cycle"]:
        print(
            f"{r['model']:<14}{r['us_per_cycle_kernel']:>11.2f}"
            f"{r['us_per_cycle_simulate']:>15.2f}{r['us_per_cycle_scipy_rk45']:>15.1f}"
            f"{r['speedup_kernel']:>8.0f}x{r['speedup_simulate']:>11.0f}x"
            f"{r['err_ours']:>11.2e}{r['err_scipy_rk45']:>11.2e}"
        )
    print("\nDefault tolerances: max error / state scale, per state")
    for r in results["per_cycle"]:
        errs = ", ".join(f"{k} {v:.1e}" for k, v in r["err_default_tolerances_per_state"].items())
        print(f"  {r['model']:<14}{errs}")
    print(f"\nBatched depillis2003: {args.patients} patients x {args.cycles} cycles")
    for k, v in results["batched"].items():
        print(f"  {k.replace('_', ' ')}: {v:,.0f}")
    r = results["tme_intervals"]
    print("\ntme model, one 7-day interval per call (BatchStepper), default tolerances")
    for label in ("dosing", "rest"):
        print(f"  single patient, {label} week: {r[f'single_{label}_us_per_interval']:.1f} us "
              f"({r[f'single_{label}_steps']} steps, {r[f'single_{label}_rhs_evals']} rhs "
              "evaluations)")  # fmt: skip
    for threads in (1, 2):
        key = f"batch_patient_intervals_per_s_{threads}_threads"
        if key in r:
            print(f"  {args.patients} patients, {threads} thread(s): {r[key]:,.0f} "
                  "patient-intervals/s")  # fmt: skip
    print("\nStart-up (fresh process, import + first 21-day simulate):")
    for k, v in results["startup"].items():
        print(f"  {k.replace('_', ' ')}: {v:.2f} s")
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(results, fh, indent=2)
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
