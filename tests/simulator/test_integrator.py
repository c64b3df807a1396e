"""The generic Dormand-Prince integrator: accuracy, breakpoints, outputs, errors."""

from __future__ import annotations

import numpy as np
import pytest

import tme_env
from tme_env import SimulationError


def decay_exact(t, y0, k, infusions=(), boluses=()):
    """Closed form of dy/dt = -k y + v(t) with piecewise-constant v and boluses."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    out = y0 * np.exp(-k * t)
    for start, end, rate in infusions:
        # Contribution of a constant infusion on [start, end): (rate/k)(1 - e^{-k(t-s)}) ...
        on = np.clip(t - start, 0, end - start)
        out += rate / k * (np.exp(-k * (t - start - on)) - np.exp(-k * (t - start)))
    for day, amount in boluses:
        out += np.where(t >= day, amount * np.exp(-k * (t - day)), 0.0)
    return out


@pytest.mark.parametrize("rtol", [1e-6, 1e-9])
def test_linear_decay_with_infusions_and_boluses_matches_closed_form(decay_model, rtol):
    t = np.linspace(0.0, 30.0, 601)
    infs = [(3.3, 7.1, 2.0), (5.0, 12.25, 0.5)]  # overlapping: rates add on [5, 7.1)
    bols = [(10.0, 1.5), (17.77, 0.25)]
    res = tme_env.simulate(
        decay_model,
        t_eval=t,
        initial_state={"y": 1.0},
        infusions=[(s, e, {"v": r}) for s, e, r in infs],
        boluses=[(d, {"y": a}) for d, a in bols],
        rtol=rtol,
        atol=rtol * 1e-3,
    )
    exact = decay_exact(t, 1.0, 0.5, infs, bols)
    np.testing.assert_allclose(res["y"], exact, rtol=50 * rtol, atol=50 * rtol * 1e-3)


def test_breakpoints_are_never_stepped_over(decay_model):
    # A very short infusion far from any output time: an integrator that steps over it would
    # miss it entirely (the solution without infusion decays smoothly).
    t = np.array([0.0, 45.0])
    res = tme_env.simulate(
        decay_model, t_eval=t, initial_state={"y": 0.0}, infusions=[(41.234, 41.244, {"v": 100.0})]
    )
    expected = decay_exact(t, 0.0, 0.5, [(41.234, 41.244, 100.0)])[-1]
    assert expected > 0
    assert res["y"][-1] == pytest.approx(expected, rel=1e-5)


def test_bolus_output_is_right_continuous(decay_model):
    res = tme_env.simulate(
        decay_model,
        t_eval=[0.0, 2.0, 4.0],
        initial_state={"y": 0.0},
        boluses=[(0.0, {"y": 1.0}), (2.0, {"y": 3.0}), (4.0, {"y": 5.0})],
    )
    # The output on a bolus day includes that bolus, also at the first and last output time.
    np.testing.assert_allclose(
        res["y"], decay_exact([0.0, 2.0, 4.0], 0.0, 0.5, (), [(0, 1), (2, 3), (4, 5)]), rtol=1e-6
    )
    assert res["y"][0] == 1.0


def test_boluses_on_the_same_day_add(decay_model):
    one = tme_env.simulate(decay_model, t_eval=[0, 5], boluses=[(1.0, {"y": 3.0})])
    two = tme_env.simulate(
        decay_model, t_eval=[0, 5], boluses=[(1.0, {"y": 1.0}), (1.0, {"y": 2.0})]
    )
    assert one["y"][-1] == two["y"][-1]


def test_dense_output_agrees_with_integrating_to_each_point(decay_model):
    dense = tme_env.simulate(
        "depillis2003", t_eval=np.linspace(0, 60, 1201), infusions=[(0, 4, {"v": 1.0})], rtol=1e-8
    )
    for j in (37, 400, 999, 1200):
        end = tme_env.simulate(
            "depillis2003",
            t_eval=[0.0, dense.t[j]],
            infusions=[(0, 4, {"v": 1.0})],
            rtol=1e-8,
        )
        np.testing.assert_allclose(dense.y[:, j], end.y[:, -1], rtol=1e-6, atol=1e-9)


def test_single_output_time_returns_initial_state_with_bolus(decay_model):
    res = tme_env.simulate(
        decay_model, t_eval=[5.0], initial_state={"y": 2.0}, boluses=[(5.0, {"y": 1.0})]
    )
    assert res.y.shape == (1, 1)
    assert res["y"][0] == 3.0


def test_infusions_after_the_window_are_ignored_and_late_boluses_too(decay_model):
    base = tme_env.simulate(decay_model, t_eval=[1.0, 3.0])
    other = tme_env.simulate(
        decay_model,
        t_eval=[1.0, 3.0],
        infusions=[(3.0, 9.0, {"v": 9.0})],
        boluses=[(3.5, {"y": 9.0})],
    )
    np.testing.assert_array_equal(base.y, other.y)


@pytest.mark.parametrize("start", [0.0, 0.99, -5.0])
def test_an_infusion_before_the_window_is_refused_like_a_bolus(decay_model, start):
    # Both would be lost without a word (wholly or in part): both are named errors.
    with pytest.raises(ValueError, match=r"infusion #0 starts on day .*before the first output"):
        tme_env.simulate(decay_model, t_eval=[1.0, 3.0], infusions=[(start, 2.0, {"v": 9.0})])
    with pytest.raises(ValueError, match=r"bolus #0 on day .* precedes the first output"):
        tme_env.simulate(decay_model, t_eval=[1.0, 3.0], boluses=[(start, {"y": 9.0})])


def test_nan_rhs_raises_simulation_error_naming_time_and_state(nan_model):
    with pytest.raises(SimulationError) as info:
        tme_env.simulate(nan_model, t_eval=[0.0, 5.0], initial_state={"y": 0.0})
    err = info.value
    assert err.state == "y"
    assert err.patient == 0
    assert 0.9 < err.time <= 2.0  # y = t reaches 2 at t = 2
    assert "patient 0" in str(err) and "'y'" in str(err) and "t=" in str(err)


def test_nan_derivative_at_the_start_is_reported_as_nonfinite(nan_model):
    with pytest.raises(SimulationError, match="NaN or inf") as info:
        tme_env.simulate(nan_model, t_eval=[0.0, 5.0], initial_state={"y": 3.0})
    assert info.value.reason == "nonfinite"
    assert info.value.time == 0.0 and info.value.state == "y"


def test_finite_time_blowup_raises_instead_of_looping(blowup_model):
    with pytest.raises(SimulationError) as info:
        tme_env.simulate(blowup_model, t_eval=[0.0, 2.0], initial_state={"y": 1.0})
    assert info.value.reason in {"step_collapse", "nonfinite", "max_steps"}
    assert info.value.time < 1.0 + 1e-6


def test_step_budget_overrun_raises(decay_model):
    with pytest.raises(SimulationError, match="max_steps=3") as info:
        tme_env.simulate(decay_model, t_eval=np.linspace(0, 100, 5), max_steps=3)
    assert info.value.reason == "max_steps"


def test_negative_population_raises(negative_model):
    with pytest.raises(SimulationError, match="negative") as info:
        tme_env.simulate(negative_model, t_eval=[0.0, 3.0], initial_state={"y": 1.0})
    assert info.value.state == "y" and info.value.time == 3.0


def test_batch_error_names_the_failing_patient(nan_model):
    with pytest.raises(SimulationError) as info:
        tme_env.simulate_batch(
            nan_model, t_eval=[0.0, 1.5], initial_states=[{"y": 0.0}, {"y": 0.0}, {"y": 1.0}]
        )
    assert info.value.patient == 2
    assert "patient 2" in str(info.value)


def test_tolerance_controls_error(decay_model):
    t = np.linspace(0, 20, 41)
    exact = decay_exact(t, 1.0, 0.5, [(2.0, 6.0, 1.0)])
    errs = []
    for rtol in (1e-4, 1e-7, 1e-10):
        res = tme_env.simulate(
            decay_model, t_eval=t, infusions=[(2.0, 6.0, {"v": 1.0})], rtol=rtol, atol=1e-14
        )
        errs.append(np.max(np.abs(res["y"] - exact) / np.abs(exact)))
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-8


def test_per_state_atol_mapping_is_accepted():
    res = tme_env.simulate("depillis2003", t_eval=[0, 10], atol={"u": 1e-12, "T": 1e-10})
    assert res.y.shape == (4, 2)


def test_infusion_starting_on_a_state_at_zero_does_not_collapse(decay_model):
    # Found by hypothesis: y has decayed to ~1e-15 when an infusion starts; the starting-step
    # heuristic then proposes a step below the resolvable minimum, which must be raised to it
    # rather than reported as a collapse.
    res = tme_env.simulate(
        decay_model, t_eval=[0.0, 40.0], initial_state={"y": 1.0}, params={"k": 3.0},
        infusions=[(11.0, 12.0, {"v": 2.0})], rtol=1e-9, atol=1e-12,
    )  # fmt: skip
    exact = decay_exact([40.0], 1.0, 3.0, [(11.0, 12.0, 2.0)])
    np.testing.assert_allclose(res["y"][-1], exact[0], rtol=1e-6, atol=1e-12)
