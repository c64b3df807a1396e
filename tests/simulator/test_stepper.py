"""BatchStepper: interval stepping equals simulate() over the same interval, bit for bit."""

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
        rates = rng.uniform(0, 1, (6, 2, 3))
        rates[:, 1, :2] = 0.0  # chemo and anti-PD-1 only on day 0-1
        y_next = stepper.step(y, rates)
        for i, p in enumerate(c):
            ref = tme_env.simulate(
                "tme", t_eval=[0.0, 7.0], params=p.parameters,
                initial_state=dict(zip(tme_env.models.get("tme").state_names, y[i], strict=True)),
                infusions=[(0.0, 1.0, dict(zip(("chemo", "anti_pd1", "inhibitor"), rates[i, 0],
                                                strict=True))),
                           (1.0, 7.0, dict(zip(("chemo", "anti_pd1", "inhibitor"), rates[i, 1],
                                                strict=True)))],
            )  # fmt: skip
            np.testing.assert_array_equal(y_next[i], ref.y[:, -1])
        y = y_next


def test_stepper_validates_inputs():
    c = cohort("train", 2)
    stepper = BatchStepper("tme", c.parameters_array(), (0.0, 7.0))
    y = c.initial_states_array()
    with pytest.raises(ValueError, match=r"rates must have shape \(2, 1, 3\)"):
        stepper.step(y, np.zeros((2, 3)))
    bad = np.zeros((2, 1, 3))
    bad[1, 0, 2] = np.nan
    with pytest.raises(ValueError, match="finite and non-negative, got nan"):
        stepper.step(y, bad)
    bad = np.zeros((2, 1, 3))
    bad[0, 0, 0] = -1.0
    with pytest.raises(ValueError, match="finite and non-negative, got -1.0"):
        stepper.step(y, bad)
    y_bad = y.copy()
    y_bad[1, 3] = np.inf
    with pytest.raises(ValueError, match="states must be finite, got inf"):
        stepper.step(y_bad, np.zeros((2, 1, 3)))
    with pytest.raises(ValueError, match="breakpoints must increase strictly"):
        BatchStepper("tme", c.parameters_array(), (1.0, 7.0))
    p = c.parameters_array()
    p[1, 0] = -1.0
    with pytest.raises(ValueError, match="patient 1: parameter 'growth_rate' must lie in"):
        BatchStepper("tme", p)
