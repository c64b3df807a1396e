"""Batched integration gives bit-for-bit the single-patient results."""

from __future__ import annotations

import numpy as np
import pytest

import tme_env
from tme_env.models.depillis2013 import sunitinib_schedule


def _random_2003_patients(rng, n):
    patients = []
    for _ in range(n):
        cycles = int(rng.integers(0, 5))
        start = rng.uniform(0, 5)
        infs = [
            (start + 21 * c, start + 21 * c + rng.uniform(0.5, 3), {"v": rng.uniform(0.2, 2)})
            for c in range(cycles)
        ]
        bols = [(rng.uniform(0, 100), {"u": rng.uniform(0, 1)}) for _ in range(rng.integers(0, 3))]
        patients.append(
            dict(
                initial_state={"N": rng.uniform(0.7, 1), "T": rng.uniform(0.05, 0.6),
                               "I": rng.uniform(0.001, 0.3)},
                params={"a2": rng.uniform(0.1, 0.5), "r1": rng.uniform(1.0, 2.0)},
                infusions=infs,
                boluses=bols,
            )
        )  # fmt: skip
    return patients


@pytest.mark.parametrize("parallel", [True, False])
def test_batch_equals_single_bit_for_bit_depillis2003(parallel):
    rng = np.random.default_rng(7)
    pats = _random_2003_patients(rng, 24)
    t = np.linspace(0, 120, 241)
    batch = tme_env.simulate_batch(
        "depillis2003",
        t_eval=t,
        initial_states=[p["initial_state"] for p in pats],
        params=[p["params"] for p in pats],
        infusions=[p["infusions"] for p in pats],
        boluses=[p["boluses"] for p in pats],
        parallel=parallel,
    )
    for i, p in enumerate(pats):
        single = tme_env.simulate("depillis2003", t_eval=t, **p)
        np.testing.assert_array_equal(batch.y[i], single.y)
        assert batch.n_steps[i] == single.n_steps


def test_batch_equals_single_bit_for_bit_depillis2013():
    rng = np.random.default_rng(3)
    t = np.linspace(0, 300, 61)
    params = [{"d": rng.uniform(1.7, 2.2), "l": rng.uniform(1.7, 2.2)} for _ in range(12)]
    scheds = [sunitinib_schedule(int(rng.integers(0, 6))) for _ in range(12)]
    batch = tme_env.simulate_batch("depillis2013", t_eval=t, params=params, infusions=scheds)
    for i in range(12):
        single = tme_env.simulate("depillis2013", t_eval=t, params=params[i], infusions=scheds[i])
        np.testing.assert_array_equal(batch.y[i], single.y)


def test_batch_accepts_arrays_in_kernel_order():
    m = tme_env.models.get("depillis2003")
    y0 = np.tile(m.initial_state(), (3, 1))
    p = np.tile(m.default_parameters.to_array(), (3, 1))
    p[1, m.parameter_names.index("a2")] = 0.5
    batch = tme_env.simulate_batch("depillis2003", t_eval=[0, 30], initial_states=y0, params=p,
                                   infusions=[[(0, 5, {"v": 1})]] * 3)  # fmt: skip
    single = tme_env.simulate("depillis2003", t_eval=[0, 30], params={"a2": 0.5},
                              infusions=[(0, 5, {"v": 1})])  # fmt: skip
    np.testing.assert_array_equal(batch.y[1], single.y)
    np.testing.assert_array_equal(batch.y[0], batch.y[2])
    assert len(batch) == 3 and batch["T"].shape == (3, 2)


def test_batch_argument_validation():
    with pytest.raises(ValueError, match="disagree"):
        tme_env.simulate_batch("depillis2003", t_eval=[0, 1], params=[None] * 2,
                               infusions=[[]] * 3)  # fmt: skip
    with pytest.raises(ValueError, match="n_patients"):
        tme_env.simulate_batch("depillis2003", t_eval=[0, 1])
    with pytest.raises(ValueError, match="patient 1: unknown parameter 'zz'"):
        tme_env.simulate_batch("depillis2003", t_eval=[0, 1], params=[None, {"zz": 1.0}])
    with pytest.raises(ValueError, match=r"patient 0: initial value of state 'T'"):
        tme_env.simulate_batch("depillis2003", t_eval=[0, 1],
                               initial_states=np.array([[1.0, np.nan, 0.1, 0.0]]))  # fmt: skip
