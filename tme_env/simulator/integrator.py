"""The shared integrator: adaptive Dormand–Prince 5(4) with dense output.

One integrator serves every model: the model's right-hand side is passed in as a first-class
function (by its compiled addresses, see `tme_env.simulator.rhs`), so this module is compiled once,
cached on disk (``cache=True``), and reused by all models, including user-defined ones.

Method: the explicit embedded Runge–Kutta pair of Dormand & Prince (1980), 5th-order solution
with 4th-order error estimate, FSAL, Hairer's 4th-order continuous extension for output at
arbitrary times, the PI ("Lund-stabilised") step-size controller and the initial step-size
heuristic of Hairer, Nørsett & Wanner, *Solving ODEs I*, 2nd ed. (code DOPRI5, §II.4–II.6).
Error norm: RMS over states of ``err_i / (atol_i + rtol * max(|y_i|, |y_new_i|))``.

Treatment schedules are piecewise constant: each patient has a list of *segments*
``[start, end)`` with a constant input vector and a state jump (bolus) applied at ``start``.
Segment boundaries are integration breakpoints: a step never crosses one, and the integrator
restarts there (new first stage, fresh controller memory, Hairer's starting step). The one
exception is a call's first segment when the caller passes a step size carried from its
previous call (``h_carry > 0``): the step size the controller proposed at the end of that
call (capped to the segment) is tried first. The proposal after the last segment is handed
back in ``h_carry``. A caller that integrates one short decision interval per call
(`tme_env.simulator.stepper.BatchStepper`) thus continues with the step size it had, instead
of ramping up from a tiny starting step every call (0.25-day intervals of the de Pillis env:
1.9 steps per call instead of 2.9), while `simulate` (no carried step) restarts at every
breakpoint as before. Outputs at a breakpoint time are taken *after* the jump there
(right-continuous trajectories).

Conventions: all arrays are C-contiguous float64 (int64 for indices/status). Kernels write
into caller-provided output and workspace arrays and allocate nothing. No validation, RNG or
logging here: the Python wrappers in `tme_env.simulator.simulate` validate inputs and turn
status codes into `SimulationError`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types

from tme_env.jit import JIT_FLAGS
from tme_env.simulator.rhs import F8_1D, F8_2D, F8_3D, I8_1D, rhs_at

__all__ = [
    "BATCH_SIGNATURE",
    "N_WORK",
    "STATUS_MAX_STEPS",
    "STATUS_NONFINITE_RHS",
    "STATUS_OK",
    "STATUS_STEP_COLLAPSE",
    "integrate_batch",
    "integrate_patient",
    "integrate_single",
    "run_patient",
]

#: Rows of the per-patient scratch array ``work`` (states, stages, error, dense output).
N_WORK = 15

# Status codes written per patient.
STATUS_OK = 0
STATUS_STEP_COLLAPSE = 1  # step size fell below the minimum (stiffness or non-finite stages)
STATUS_MAX_STEPS = 2  # step budget exhausted
STATUS_NONFINITE_RHS = 3  # the right-hand side returned NaN/inf at an accepted point


# Dormand–Prince 5(4) tableau.
_C2, _C3, _C4, _C5 = 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0
_A21 = 1.0 / 5.0
_A31, _A32 = 3.0 / 40.0, 9.0 / 40.0
_A41, _A42, _A43 = 44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0
_A51, _A52, _A53, _A54 = 19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0
_A61, _A62, _A63 = 9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0
_A64, _A65 = 49.0 / 176.0, -5103.0 / 18656.0
_A71, _A73, _A74 = 35.0 / 384.0, 500.0 / 1113.0, 125.0 / 192.0
_A75, _A76 = -2187.0 / 6784.0, 11.0 / 84.0
# Error estimate coefficients: (5th order) - (4th order) weights.
_E1, _E3, _E4 = 71.0 / 57600.0, -71.0 / 16695.0, 71.0 / 1920.0
_E5, _E6, _E7 = -17253.0 / 339200.0, 22.0 / 525.0, -1.0 / 40.0
# Dense output (Hairer's DOPRI5 continuous extension of order 4).
_D1, _D3 = -12715105075.0 / 11282082432.0, 87487479700.0 / 32700410799.0
_D4, _D5 = -10690763975.0 / 1880347072.0, 701980252875.0 / 199316789632.0
_D6, _D7 = -1453857185.0 / 822651844.0, 69997945.0 / 29380423.0

# Step-size control (Hairer's DOPRI5 defaults).
_SAFE = 0.9
_FAC_MIN = 0.2  # the step may shrink at most 5x ...
_FAC_MAX = 10.0  # ... and grow at most 10x per step
_BETA = 0.04  # PI-controller weight of the previous error
_EXPO1 = 0.2 - _BETA * 0.75
_EPS = 2.220446049250313e-16


@njit(**JIT_FLAGS)
def _error_norm(err, y, ynew, rtol, atol):
    n = y.shape[0]
    acc = 0.0
    for i in range(n):
        sk = atol[i] + rtol * max(abs(y[i]), abs(ynew[i]))
        r = err[i] / sk
        acc += r * r
    return np.sqrt(acc / n)


@njit(**JIT_FLAGS)
def _first_nonfinite(x):
    for i in range(x.shape[0]):
        if not np.isfinite(x[i]):
            return i
    return -1


@njit(**JIT_FLAGS)
def _worst_state(y, ynew, err, rtol, atol):
    """Index of the state to blame for a rejected step.

    The first non-finite trial value, else the largest scaled error (NaN errors rank highest).
    """
    worst = _first_nonfinite(ynew)
    if worst >= 0:
        return worst
    worst = 0
    big = -1.0
    for i in range(y.shape[0]):
        sk = atol[i] + rtol * max(abs(y[i]), abs(ynew[i]))
        r = abs(err[i]) / sk
        if not (r <= big):
            big = r
            worst = i
    return worst


@njit(**JIT_FLAGS)
def _initial_step(rhs, t, y, p, u, f0, rtol, atol, hmax, ytmp, f1):
    """Hairer's starting step-size heuristic for a method of order 5 (f0 = rhs(t, y) given)."""
    n = y.shape[0]
    dnf = 0.0
    dny = 0.0
    for i in range(n):
        sk = atol[i] + rtol * abs(y[i])
        dnf += (f0[i] / sk) ** 2
        dny += (y[i] / sk) ** 2
    if dnf <= 1e-10 or dny <= 1e-10:
        h = 1e-6
    else:
        h = 0.01 * np.sqrt(dny / dnf)
    h = min(h, hmax)
    for i in range(n):
        ytmp[i] = y[i] + h * f0[i]
    rhs(t + h, ytmp, p, u, f1)
    der2 = 0.0
    for i in range(n):
        sk = atol[i] + rtol * abs(y[i])
        der2 += ((f1[i] - f0[i]) / sk) ** 2
    der2 = np.sqrt(der2) / h
    der12 = max(abs(der2), np.sqrt(dnf))
    if not np.isfinite(der12):
        # A derivative blew up at the probe point: start tiny and let the controller grow it.
        return min(1e-6 * max(1.0, hmax), hmax)
    if der12 <= 1e-15:
        h1 = max(1e-6, abs(h) * 1e-3)
    else:
        h1 = (0.01 / der12) ** 0.2
    return min(100.0 * abs(h), h1, hmax)


@njit(**JIT_FLAGS)
def integrate_patient(
    rhs,
    y0,
    p,
    seg_start,
    seg_end,
    seg_u,
    seg_jump,
    k_first,
    k_last,
    t_eval,
    rtol,
    atol,
    max_steps,
    y_out,
    h_start,
    work,
):
    """Integrate one patient through segments ``k_first .. k_last-1``.

    Writes ``y_out[:, j]`` for every ``t_eval[j]``. ``h_start`` is the first trial step of
    the first segment (``<= 0``: the starting heuristic, as at every later breakpoint);
    ``work`` is a ``(N_WORK, n_states)`` scratch array.
    Returns ``(status, t_fail, state_fail, n_steps, h_next)`` where ``h_next`` is the step
    size proposed for whatever follows the last segment.
    """
    n = y0.shape[0]
    n_eval = t_eval.shape[0]
    y = work[0]
    ynew = work[1]
    ytmp = work[2]
    k1 = work[3]
    k2 = work[4]
    k3 = work[5]
    k4 = work[6]
    k5 = work[7]
    k6 = work[8]
    k7 = work[9]
    err = work[10]
    r2 = work[11]
    r3 = work[12]
    r4 = work[13]
    r5 = work[14]
    for i in range(n):
        y[i] = y0[i]
    h_carry = h_start

    e = 0  # next output index
    n_steps = 0
    t = t_eval[0]
    for k in range(k_first, k_last):
        a = seg_start[k]
        b = seg_end[k]
        u = seg_u[k]
        jump = seg_jump[k]
        for i in range(n):
            y[i] += jump[i]
        t = a
        # Outputs at the segment start (after its jump).
        while e < n_eval and t_eval[e] <= a:
            for i in range(n):
                y_out[i, e] = y[i]
            e += 1
        if b <= a:
            continue
        span = b - a
        rhs(t, y, p, u, k1)
        bad = _first_nonfinite(k1)
        if bad >= 0:
            return STATUS_NONFINITE_RHS, t, bad, n_steps, h_carry
        if k == k_first and h_start > 0.0:
            h = min(h_start, span)
        else:
            h = _initial_step(rhs, t, y, p, u, k1, rtol, atol, span, ytmp, k2)
        h_free = 0.0  # the controller's proposal when the last step was cut to the breakpoint
        facold = 1e-4
        last_rejected = False
        while True:
            # Smallest meaningful step at this t. Smaller proposals (e.g. from the starting
            # heuristic when a state sits at zero) are raised to it; a step of this size
            # that is still rejected means the solution cannot be resolved: collapse.
            hmin = 16.0 * _EPS * max(abs(t), span)
            if h < hmin:
                h = hmin
            if n_steps >= max_steps:
                return STATUS_MAX_STEPS, t, 0, n_steps, h_carry
            last_step = False
            if t + 1.01 * h >= b:
                if h > b - t:
                    h_free = h
                h = b - t
                last_step = True
            # Stages.
            for i in range(n):
                ytmp[i] = y[i] + h * _A21 * k1[i]
            rhs(t + _C2 * h, ytmp, p, u, k2)
            for i in range(n):
                ytmp[i] = y[i] + h * (_A31 * k1[i] + _A32 * k2[i])
            rhs(t + _C3 * h, ytmp, p, u, k3)
            for i in range(n):
                ytmp[i] = y[i] + h * (_A41 * k1[i] + _A42 * k2[i] + _A43 * k3[i])
            rhs(t + _C4 * h, ytmp, p, u, k4)
            for i in range(n):
                ytmp[i] = y[i] + h * (_A51 * k1[i] + _A52 * k2[i] + _A53 * k3[i] + _A54 * k4[i])
            rhs(t + _C5 * h, ytmp, p, u, k5)
            for i in range(n):
                ytmp[i] = y[i] + h * (
                    _A61 * k1[i] + _A62 * k2[i] + _A63 * k3[i] + _A64 * k4[i] + _A65 * k5[i]
                )
            t_new = b if last_step else t + h
            rhs(t_new, ytmp, p, u, k6)
            for i in range(n):
                ynew[i] = y[i] + h * (
                    _A71 * k1[i] + _A73 * k3[i] + _A74 * k4[i] + _A75 * k5[i] + _A76 * k6[i]
                )
            rhs(t_new, ynew, p, u, k7)
            for i in range(n):
                err[i] = h * (
                    _E1 * k1[i]
                    + _E3 * k3[i]
                    + _E4 * k4[i]
                    + _E5 * k5[i]
                    + _E6 * k6[i]
                    + _E7 * k7[i]
                )
            n_steps += 1
            enorm = _error_norm(err, y, ynew, rtol, atol)
            if not np.isfinite(enorm):
                # Overflow or NaN inside the trial step: retry with a much smaller step.
                if h <= hmin:
                    return (
                        STATUS_STEP_COLLAPSE, t, _worst_state(y, ynew, err, rtol, atol), n_steps,
                        h_carry,
                    )  # fmt: skip
                h *= _FAC_MIN
                h_free = 0.0
                last_rejected = True
                continue
            fac11 = enorm**_EXPO1
            if enorm <= 1.0:
                # Accept. Dense output for outputs strictly inside (t, t_new); an output at
                # the segment end is written by the next segment (after its jump) or at the end.
                if e < n_eval and t_eval[e] < b and t_eval[e] <= t_new:
                    for i in range(n):
                        ydiff = ynew[i] - y[i]
                        bspl = h * k1[i] - ydiff
                        r2[i] = ydiff
                        r3[i] = bspl
                        r4[i] = ydiff - h * k7[i] - bspl
                        r5[i] = h * (
                            _D1 * k1[i]
                            + _D3 * k3[i]
                            + _D4 * k4[i]
                            + _D5 * k5[i]
                            + _D6 * k6[i]
                            + _D7 * k7[i]
                        )
                    while e < n_eval and t_eval[e] < b and t_eval[e] <= t_new:
                        if t_eval[e] == t_new:
                            for i in range(n):
                                y_out[i, e] = ynew[i]
                        else:
                            th = (t_eval[e] - t) / h
                            th1 = 1.0 - th
                            for i in range(n):
                                y_out[i, e] = y[i] + th * (
                                    r2[i] + th1 * (r3[i] + th * (r4[i] + th1 * r5[i]))
                                )
                        e += 1
                fac = fac11 / facold**_BETA
                fac = max(1.0 / _FAC_MAX, min(1.0 / _FAC_MIN, fac / _SAFE))
                h_next = h / fac
                if last_rejected:
                    h_next = min(h_next, h)
                facold = max(enorm, 1e-4)
                last_rejected = False
                for i in range(n):
                    y[i] = ynew[i]
                    k1[i] = k7[i]
                t = t_new
                # k1 (= k7) is finite here: a non-finite k7 makes the error estimate
                # non-finite, and such steps are rejected above.
                if last_step:
                    # Carry the larger of the controller's proposals: a step cut short to hit
                    # the breakpoint says little about the step the solution allows.
                    h_carry = max(h_next, h_free)
                    break
                h = h_next
            else:
                if h <= hmin:
                    return (
                        STATUS_STEP_COLLAPSE, t, _worst_state(y, ynew, err, rtol, atol), n_steps,
                        h_carry,
                    )  # fmt: skip
                h = h / min(1.0 / _FAC_MIN, fac11 / _SAFE)
                h_free = 0.0
                last_rejected = True
    # Remaining outputs: the end of the last segment.
    while e < n_eval:
        for i in range(n):
            y_out[i, e] = y[i]
        e += 1
    return STATUS_OK, t, -1, n_steps, h_carry


BATCH_SIGNATURE = types.void(
    types.int64,  # rhs C-wrapper address (see rhs_addresses)
    types.int64,  # rhs native address
    F8_2D,  # y0 (patients, states)
    F8_2D,  # params (patients, parameters)
    I8_1D,  # seg_ptr (patients + 1): patient i owns segments seg_ptr[i] .. seg_ptr[i+1]-1
    F8_1D,  # seg_start
    F8_1D,  # seg_end
    F8_2D,  # seg_u (segments, inputs)
    F8_2D,  # seg_jump (segments, states)
    F8_1D,  # t_eval (shared by all patients)
    types.float64,  # rtol
    F8_1D,  # atol (states,)
    types.int64,  # max_steps per patient
    F8_3D,  # y_out (patients, states, len(t_eval))
    I8_1D,  # status (patients,)
    F8_1D,  # t_fail (patients,)
    I8_1D,  # state_fail (patients,)
    I8_1D,  # n_steps (patients,)
    F8_1D,  # h_carry (patients,): in, the first trial step (<= 0: heuristic); out, the next
    F8_3D,  # work (patients, N_WORK, states): scratch
)


@njit(**JIT_FLAGS)
def run_patient(
    i, rhs, y0, params, seg_ptr, seg_start, seg_end, seg_u, seg_jump, t_eval, rtol, atol,
    max_steps, y_out, status, t_fail, state_fail, n_steps, h_carry, work,
):  # fmt: skip
    """Integrate patient ``i`` and store its status; shared by the serial and parallel loops."""
    s, tf, sf, ns, hn = integrate_patient(
        rhs, y0[i], params[i], seg_start, seg_end, seg_u, seg_jump, seg_ptr[i], seg_ptr[i + 1],
        t_eval, rtol, atol, max_steps, y_out[i], h_carry[i], work[i],
    )  # fmt: skip
    status[i] = s
    t_fail[i] = tf
    state_fail[i] = sf
    n_steps[i] = ns
    h_carry[i] = hn


@njit(BATCH_SIGNATURE, parallel=True, **JIT_FLAGS)
def integrate_batch(
    rhs_c_addr, rhs_jit_addr, y0, params, seg_ptr, seg_start, seg_end, seg_u, seg_jump, t_eval,
    rtol, atol, max_steps, y_out, status, t_fail, state_fail, n_steps, h_carry, work,
):  # fmt: skip
    """Integrate many patients (own parameters, own schedules) in parallel over ``t_eval``."""
    rhs = rhs_at(rhs_c_addr, rhs_jit_addr)
    for i in prange(y0.shape[0]):
        run_patient(
            i, rhs, y0, params, seg_ptr, seg_start, seg_end, seg_u, seg_jump, t_eval, rtol, atol,
            max_steps, y_out, status, t_fail, state_fail, n_steps, h_carry, work,
        )  # fmt: skip


@njit(BATCH_SIGNATURE, **JIT_FLAGS)
def integrate_single(
    rhs_c_addr, rhs_jit_addr, y0, params, seg_ptr, seg_start, seg_end, seg_u, seg_jump, t_eval,
    rtol, atol, max_steps, y_out, status, t_fail, state_fail, n_steps, h_carry, work,
):  # fmt: skip
    """Serial twin of `integrate_batch` (same per-patient code, no thread-pool start-up)."""
    rhs = rhs_at(rhs_c_addr, rhs_jit_addr)
    for i in range(y0.shape[0]):
        run_patient(
            i, rhs, y0, params, seg_ptr, seg_start, seg_end, seg_u, seg_jump, t_eval, rtol, atol,
            max_steps, y_out, status, t_fail, state_fail, n_steps, h_carry, work,
        )  # fmt: skip
