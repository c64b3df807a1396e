"""BatchStepper: one interval equals simulate() bit for bit; chained intervals agree with it.

Chained intervals carry the integrator's step size from call to call.
"""

from __future__ import annotations

import numpy as np
import pytest

import tme_env
from tme_env.patients import cohort
from tme_env.simulator.stepper import BatchStepper


@pytest.mark.parametrize("parallel", [True, False])
def test_step_equals_simulate_bit_for_bit(parallel):
    c = cohort("train", 6)
    stepper = BatchStepper("tme", c.parameters_array(), (0.0, 1.0, 7.0), parallel=parallel)
    rng = np.random.default_rng(0)
    y = c.initial_states_array()
    for _ in range(3):
        rates = rng.uniform(0, 1, (6, 2, 4))
        rates[:, 1, :2] = 0.0  # chemo and anti-PD-1 only on day 0-1
        for i in range(6):
            stepper.restart(i)  # a fresh start, as simulate() makes
        y_next = stepper.step(y, rates)
        for i, p in enumerate(c):
            ref = tme_env.simulate(
                "tme", t_eval=[0.0, 7.0], params=p.parameters,
                initial_state=dict(zip(tme_env.models.get("tme").state_names, y[i], strict=True)),
                infusions=[(0.0, 1.0, dict(zip(tme_env.models.get("tme").input_names, rates[i, 0],
                                                strict=True))),
                           (1.0, 7.0, dict(zip(tme_env.models.get("tme").input_names, rates[i, 1],
                                                strict=True)))],
            )  # fmt: skip
            np.testing.assert_array_equal(y_next[i], ref.y[:, -1])
        y = y_next


def _weekly_infusions(rates: np.ndarray, weeks: int) -> list:
    names = tme_env.models.get("tme").input_names
    out = []
    for w in range(weeks):
        out.append((7.0 * w, 7.0 * w + 1.0, dict(zip(names, rates[w, 0], strict=True))))
        out.append((7.0 * w + 1.0, 7.0 * w + 7.0, dict(zip(names, rates[w, 1], strict=True))))
    return out


def test_chained_steps_carry_the_step_size_and_match_one_simulation():
    """Weeks stepped one per call agree with one simulate() over all weeks.

    With the step size carried across calls, as with a restart every call, to the
    integration tolerance.
    """
    c = cohort("validation", 4)
    weeks = 12
    rng = np.random.default_rng(1)
    rates = rng.uniform(0, 1, (4, weeks, 2, 4))
    rates[:, :, 1, :2] = 0.0
    carry = BatchStepper("tme", c.parameters_array(), (0.0, 1.0, 7.0), parallel=False)
    fresh = BatchStepper("tme", c.parameters_array(), (0.0, 1.0, 7.0), parallel=False)
    y = y_f = c.initial_states_array()
    for w in range(weeks):
        y = carry.step(y, rates[:, w])
        for i in range(4):
            fresh.restart(i)
        y_f = fresh.step(y_f, rates[:, w])
    names = tme_env.models.get("tme").state_names
    for i, p in enumerate(c):
        ref = tme_env.simulate(
            "tme", t_eval=[0.0, 7.0 * weeks], params=p.parameters,
            initial_state=dict(zip(names, c.initial_states_array()[i], strict=True)),
            infusions=_weekly_infusions(rates[i], weeks), rtol=1e-10, atol=1e-12,
        )  # fmt: skip
        for got in (y[i], y_f[i]):  # 12 weeks at rtol 1e-6, atol 1e-6
            np.testing.assert_allclose(got, ref.y[:, -1], rtol=1e-4, atol=1e-5)


def test_carried_step_saves_the_restart_on_short_intervals():
    """0.25-day intervals (the de Pillis env): the carried step saves the restarts.

    Carrying the step size avoids re-growing it from the starting heuristic every call, with
    the same accuracy.
    """
    m = tme_env.models.get("depillis2003")
    p = m.default_parameters.to_array()[None]
    y0 = np.array([[0.9, 0.2, 0.005, 0.0]])
    doses = np.random.default_rng(2).uniform(0, 1, 200)
    carry = BatchStepper(m, p, (0.0, 0.25), parallel=False)
    fresh = BatchStepper(m, p, (0.0, 0.25), parallel=False)
    y, y_f = y0, y0
    steps_carry = steps_fresh = 0
    for v in doses:
        y = carry.step(y, np.full((1, 1, 1), v))
        steps_carry += int(carry.n_steps[0])
        fresh.restart(0)
        y_f = fresh.step(y_f, np.full((1, 1, 1), v))
        steps_fresh += int(fresh.n_steps[0])
    assert steps_carry < 0.75 * steps_fresh, (steps_carry, steps_fresh)  # measured 374 vs 585
    ref = tme_env.simulate(
        "depillis2003", t_eval=[0.0, 50.0],
        initial_state=dict(zip(m.state_names, y0[0], strict=True)),
        infusions=[(0.25 * k, 0.25 * (k + 1), {"v": v}) for k, v in enumerate(doses)],
        rtol=1e-10, atol=1e-12,
    )  # fmt: skip
    for got in (y[0], y_f[0]):
        np.testing.assert_allclose(got, ref.y[:, -1], rtol=1e-5, atol=1e-8)


def test_packed_layout_agrees_with_the_compiled_unpack():
    """The Python views and the kernel's `unpack` see the same arrays, by name."""
    from tme_env.simulator import packed

    st = BatchStepper("tme", cohort("train", 3).parameters_array(), (0.0, 1.0, 7.0),
                      n_outputs=8)  # fmt: skip
    _, _, fbuf0, ibuf0 = st.kernel_args
    fbuf = np.arange(fbuf0.size, dtype=np.float64)
    ibuf = ibuf0.copy()
    views = packed.views(fbuf, ibuf)
    names = [name for name, _, _ in packed.ARRAYS]
    # Rewrite the int arrays (past the header) in a distinct pattern; the compiled unpack
    # must read back the same contents as the Python views.
    start = (views["seg_ptr"].ctypes.data - ibuf.ctypes.data) // ibuf.itemsize
    ibuf[start:] = np.arange(ibuf.size - start) + 1000
    views = packed.views(fbuf, ibuf)
    unpacked = packed.unpack(fbuf, ibuf)
    assert set(names) | {"rtol", "max_steps"} == set(packed.Packed._fields)
    for name in names:
        got = np.asarray(getattr(unpacked, name))
        np.testing.assert_array_equal(got, views[name], err_msg=name)
        assert got.shape == views[name].shape == st_shape(st, name), name
    assert unpacked.rtol == fbuf[0] and st.rtol == fbuf0[0] == 1e-6
    assert unpacked.max_steps == st.max_steps
    last = views["n_steps"]
    assert last.base is ibuf and last[-1] == ibuf[-1]  # the int buffer is used to its end
    assert views["work"][-1, -1, -1] == fbuf[-1]  # the float buffer too
    # The stepper's public arrays are these views.
    assert st.y0.shape == (3, 15) and st.seg_u.shape == (6, 4) and st.y_out.shape == (3, 15, 8)


def st_shape(st: BatchStepper, name: str) -> tuple[int, ...]:
    """The expected shape of a packed array, written out independently of the layout table."""
    n, s, k = st.n_patients, len(st.model.states), st.n_segments * st.n_patients
    return {
        "y0": (n, s), "params": (n, len(st.model.parameter_names)), "seg_start": (k,),
        "seg_end": (k,), "seg_u": (k, len(st.model.inputs)), "seg_jump": (k, s),
        "t_eval": (8,), "atol": (s,), "y_out": (n, s, 8), "t_fail": (n,), "h_carry": (n,),
        "work": (n, 15, s), "seg_ptr": (n + 1,), "status": (n,), "state_fail": (n,),
        "n_steps": (n,),
    }[name]  # fmt: skip


def test_stepper_validates_inputs():
    c = cohort("train", 2)
    stepper = BatchStepper("tme", c.parameters_array(), (0.0, 7.0))
    y = c.initial_states_array()
    with pytest.raises(ValueError, match=r"rates must have shape \(2, 1, 4\)"):
        stepper.step(y, np.zeros((2, 4)))
    bad = np.zeros((2, 1, 4))
    bad[1, 0, 2] = np.nan
    with pytest.raises(ValueError, match="finite and non-negative, got nan"):
        stepper.step(y, bad)
    bad = np.zeros((2, 1, 4))
    bad[0, 0, 0] = -1.0
    with pytest.raises(ValueError, match="finite and non-negative, got -1.0"):
        stepper.step(y, bad)
    y_bad = y.copy()
    y_bad[1, 3] = np.inf
    with pytest.raises(ValueError, match="states must be finite, got inf"):
        stepper.step(y_bad, np.zeros((2, 1, 4)))
    with pytest.raises(ValueError, match="breakpoints must increase strictly"):
        BatchStepper("tme", c.parameters_array(), (1.0, 7.0))
    p = c.parameters_array()
    p[1, 0] = -1.0
    with pytest.raises(ValueError, match="patient 1: parameter 'growth_rate' must lie in"):
        BatchStepper("tme", p)
