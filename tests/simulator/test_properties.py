"""Property-based checks of the integrator on a problem with a closed-form solution."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tme_env
from tests.simulator.test_integrator import decay_exact

days = st.floats(min_value=0.0, max_value=40.0, allow_nan=False)
infusion = st.tuples(days, st.floats(0.0, 10.0), st.floats(0.0, 5.0)).map(
    lambda x: (x[0], x[0] + x[1], x[2])
)
bolus = st.tuples(days, st.floats(0.0, 5.0))


@settings(max_examples=60, deadline=None)
@given(
    y0=st.floats(0.0, 10.0),
    k=st.floats(0.01, 3.0),
    infusions=st.lists(infusion, max_size=6),
    boluses=st.lists(bolus, max_size=4),
    n_out=st.integers(1, 50),
)
def test_any_schedule_matches_the_closed_form(decay_model, y0, k, infusions, boluses, n_out):
    t = np.linspace(0.0, 40.0, n_out) if n_out > 1 else np.array([0.0])
    res = tme_env.simulate(
        decay_model,
        t_eval=t,
        initial_state={"y": y0},
        params={"k": k},
        infusions=[(s, e, {"v": r}) for s, e, r in infusions],
        boluses=[(d, {"y": a}) for d, a in boluses if d <= t[-1]],
        rtol=1e-9,
        atol=1e-12,
    )
    exact = decay_exact(t, y0, k, infusions, [b for b in boluses if b[0] <= t[-1]])
    np.testing.assert_allclose(res["y"], exact, rtol=1e-6, atol=1e-9)
    # Undershoot below zero stays within the absolute tolerance (documented round-off).
    assert np.all(res["y"] >= -10 * 1e-12)
