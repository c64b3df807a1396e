"""de Pillis et al. 2013 (Treg + sunitinib) against an independent scipy reference."""

from __future__ import annotations

import numpy as np
import pytest

import tme_env
from tests.reference import DEPILLIS2013, DEPILLIS2013_Y0, depillis2013_rhs, solve_piecewise
from tme_env.models.depillis2013 import SUNITINIB_RATE_MG_PER_L_PER_DAY, sunitinib_schedule

MODEL = tme_env.models.get("depillis2013")


def test_interface_and_section4_values():
    assert MODEL.state_names == ("T", "N", "L", "R", "C", "I", "S")
    assert MODEL.input_names == ("v_S",)
    values = {p.name: p.value for p in MODEL.default_parameters.info()}
    assert values == DEPILLIS2013  # the section-4 text values, typed independently
    assert MODEL.default_initial_state == DEPILLIS2013_Y0
    for p in MODEL.default_parameters.info():
        assert p.unit and p.source and p.description
    assert SUNITINIB_RATE_MG_PER_L_PER_DAY == pytest.approx(0.8374, abs=1e-4)
    # 28 days on, 14 off: 23.4467 mg/L per cycle as in the paper.
    (s, e, rate), *_ = sunitinib_schedule(5)
    assert (e - s) * rate["v_S"] == pytest.approx(23.4467, abs=1e-4)


@pytest.mark.parametrize(
    ("params", "cycles", "t0"),
    [({}, 0, 1e8), ({"d": 2.1, "l": 1.8}, 5, 1e8), ({"d": 1.9, "l": 2.2}, 3, 5e6)],
)
def test_matches_scipy_reference(params, cycles, t0):
    t = np.linspace(0.0, 300.0, 61)
    sched = sunitinib_schedule(cycles)
    y0 = {**DEPILLIS2013_Y0, "T": t0}
    res = tme_env.simulate(
        "depillis2013",
        t_eval=t,
        initial_state=y0,
        params=params,
        infusions=sched,
        rtol=1e-10,
        atol=1e-8,
    )
    ref = solve_piecewise(
        lambda v: depillis2013_rhs({**DEPILLIS2013, **params}, v),
        [y0[n] for n in MODEL.state_names],
        t,
        [(s, e, r["v_S"]) for s, e, r in sched],
        rtol=1e-12,
        atol=1e-8,
    )
    scale = np.max(np.abs(ref), axis=1, keepdims=True)
    np.testing.assert_array_less(
        np.abs(res.y - ref), np.broadcast_to(1e-6 * scale + 1e-6, ref.shape)
    )


def test_tumour_free_homeostasis():
    # Without tumour the paper's homeostasis (N=2.5e8, R=1.1e8, C=2.14e9, I=48.9, rounded) is
    # kept to within 1%; L settles where IL-2-driven proliferation balances death and Treg
    # suppression, L* = (p_I I/(g_I+I) - m) / (z R I/(kappa+I)) ~ 2.53e4 (the paper prints 2.4e4).
    res = tme_env.simulate("depillis2013", t_eval=[0, 3000], initial_state={"T": 0.0})
    y0, y1 = res.y[:, 0], res.y[:, -1]
    assert y1[0] == 0.0
    np.testing.assert_allclose(y1[[1, 3, 4, 5]], y0[[1, 3, 4, 5]], rtol=0.01)
    q = DEPILLIS2013
    il2, treg = y1[5], y1[3]
    l_star = (q["p_I"] * il2 / (q["g_I"] + il2) - q["m"]) / (
        q["z"] * treg * il2 / (q["kappa"] + il2)
    )
    assert y1[2] == pytest.approx(l_star, rel=1e-3)
    assert y1[2] == pytest.approx(2.53e4, rel=0.01)
