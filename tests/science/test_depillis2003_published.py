"""de Pillis & Radunskaya 2003: equilibria and the dose-duration switch (models.md §1, §7.1).

Reference values: the tumour-free equilibrium (N, T, I) = (1, 0, s/d1) is analytic; the
coexistence equilibrium and the effect of dosing v = 1 for the first D days are from
models.md §1 ([C]: scipy LSODA, rtol <= 1e-8, computed independently of this package). They
reproduce Ahn & Park's (2011) qualitative finding that "dosing from the start until an
appropriate time" moves the patient into the tumour-free basin.
"""

from __future__ import annotations

import numpy as np
import pytest

import tme_env

T150 = np.linspace(0.0, 150.0, 1501)


@pytest.mark.parametrize(
    "y0",
    [
        {"N": 1.0, "T": 0.25, "I": 0.15},
        {"N": 1.0, "T": 0.25, "I": 0.10},
        {"N": 0.9, "T": 0.2, "I": 0.005},
        {"N": 1.0, "T": 0.7, "I": 0.15},
    ],
)
def test_untreated_tumour_reaches_coexistence_equilibrium(y0):
    res = tme_env.simulate("depillis2003", t_eval=T150, initial_state=y0)
    np.testing.assert_allclose(res.y[:3, -1], [0.436, 0.564, 0.436], atol=1.5e-3)


def test_tumour_free_equilibrium_is_analytic():
    p = tme_env.models.get("depillis2003").default_parameters
    res = tme_env.simulate("depillis2003", t_eval=[0, 300], initial_state={"T": 0.0, "I": 1.0})
    np.testing.assert_allclose(res.y[:3, -1], [1.0, 0.0, p.s / p.d1], rtol=1e-6)
    assert p.s / p.d1 == pytest.approx(1.65)


@pytest.mark.parametrize(
    ("y0", "days", "cured", "final"),
    [
        ({"N": 1.0, "T": 0.25, "I": 0.15}, 5.0, False, (0.438, 0.562, 0.437)),
        ({"N": 1.0, "T": 0.25, "I": 0.15}, 10.0, True, (1.0, 0.0, 1.65)),
        ({"N": 1.0, "T": 0.25, "I": 0.15}, 20.0, True, (1.0, 0.0, 1.65)),
        ({"N": 0.9, "T": 0.2, "I": 0.005}, 5.0, False, None),
        ({"N": 0.9, "T": 0.2, "I": 0.005}, 10.0, None, (0.938, 0.055, 1.20)),
        ({"N": 0.9, "T": 0.2, "I": 0.005}, 20.0, True, (1.0, 0.0, 1.65)),
    ],
)
def test_constant_dosing_for_d_days_switches_basin(y0, days, cured, final):
    res = tme_env.simulate(
        "depillis2003", t_eval=T150, initial_state=y0, infusions=[(0.0, days, {"v": 1.0})]
    )
    t_end = res.y[:3, -1]
    if cured is True:
        assert t_end[1] < 1e-6
    elif cured is False:
        assert t_end[1] > 0.5  # regrown to the coexistence state
    if final is not None:
        np.testing.assert_allclose(t_end, final, atol=2e-3)


@pytest.mark.parametrize(("y0", "min_n"), [({"N": 1.0, "T": 0.25, "I": 0.15}, 0.712),
                                           ({"N": 0.9, "T": 0.2, "I": 0.005}, 0.708)])  # fmt: skip
def test_ten_days_of_chemo_push_normal_cells_below_the_075_constraint(y0, min_n):
    res = tme_env.simulate(
        "depillis2003",
        t_eval=T150,
        initial_state=y0,
        infusions=[(0.0, 10.0, {"v": 1.0})],
    )
    assert res["N"].min() == pytest.approx(min_n, abs=2e-3)
    assert res["N"].min() < 0.75
