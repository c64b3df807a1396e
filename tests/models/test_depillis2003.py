"""de Pillis & Radunskaya 2003 against an independent scipy reference."""

from __future__ import annotations

import numpy as np
import pytest

import tme_env
from tests.reference import DEPILLIS2003, depillis2003_rhs, solve_piecewise

MODEL = tme_env.models.get("depillis2003")


def test_interface_matches_the_issue_contract():
    assert MODEL.state_names == ("N", "T", "I", "u")
    assert MODEL.input_names == ("v",)
    assert MODEL.parameter_names == tuple(
        "a1 a2 a3 b1 b2 c1 c2 c3 c4 d1 d2 r1 r2 s alpha rho".split()
    )
    assert MODEL.default_initial_state == {"N": 1.0, "T": 0.25, "I": 0.15, "u": 0.0}
    values = {p.name: p.value for p in MODEL.default_parameters.info()}
    assert values == DEPILLIS2003  # BIOMD0000000909 values, typed independently in tests
    for p in MODEL.default_parameters.info():
        assert p.unit and p.source and p.description


@pytest.mark.parametrize(
    ("y0", "infusions", "params"),
    [
        ({"N": 1.0, "T": 0.25, "I": 0.15, "u": 0.0}, [], {}),
        ({"N": 0.9, "T": 0.2, "I": 0.005, "u": 0.0}, [(0.0, 10.0, 1.0)], {}),
        ({"N": 1.0, "T": 0.7, "I": 0.15, "u": 0.0},
         [(0.0, 2.0, 1.0), (21.0, 23.0, 1.0), (42.0, 44.0, 0.5), (43.0, 50.0, 0.3)],
         {"a2": 0.5, "r1": 1.2, "rho": 0.05}),
    ],
)  # fmt: skip
def test_matches_scipy_dop853_reference(y0, infusions, params):
    t = np.linspace(0.0, 150.0, 151)
    res = tme_env.simulate(
        "depillis2003",
        t_eval=t,
        initial_state=y0,
        params=params,
        infusions=[(s, e, {"v": r}) for s, e, r in infusions],
        rtol=1e-10,
        atol=1e-13,
    )
    ref = solve_piecewise(
        lambda v: depillis2003_rhs({**DEPILLIS2003, **params}, v),
        [y0[n] for n in "NTIu"],
        t,
        infusions,
    )
    np.testing.assert_allclose(res.y, ref, rtol=1e-7, atol=1e-10)


def test_bolus_equals_instant_drug_increment():
    # A bolus of u at day 3 equals restarting the reference from the post-bolus state.
    t = np.array([0.0, 3.0, 20.0])
    res = tme_env.simulate("depillis2003", t_eval=t, boluses=[(3.0, {"u": 0.8})], rtol=1e-10,
                           atol=1e-13)  # fmt: skip
    first = solve_piecewise(lambda v: depillis2003_rhs(DEPILLIS2003, v), [1, 0.25, 0.15, 0],
                            [0.0, 3.0])  # fmt: skip
    y3 = first[:, -1] + np.array([0, 0, 0, 0.8])
    second = solve_piecewise(lambda v: depillis2003_rhs(DEPILLIS2003, v), y3, [3.0, 20.0])
    np.testing.assert_allclose(res.y[:, 1], y3, rtol=1e-9)
    np.testing.assert_allclose(res.y[:, 2], second[:, -1], rtol=1e-7, atol=1e-12)
