"""Fixed dosing schedules of the standard regimens (days and doses)."""

from __future__ import annotations

import pytest

from tme_env.regimens import schedules as S


def _days(schedule, drug):
    return [(s, e, r[drug]) for s, e, r in schedule if drug in r]


def test_chemo_q3w_induction_then_maintenance():
    sched = S.chemo_q3w(200.0)
    chemo = _days(sched, "chemo")
    assert [s for s, _, _ in chemo] == [21.0 * k for k in range(10)]  # days 0, 21, ..., 189
    assert all(e - s == 1.0 for s, e, _ in chemo)
    assert [d for _, _, d in chemo[:4]] == [1.0] * 4
    assert [d for _, _, d in chemo[4:]] == [S.MAINTENANCE_CHEMO_DOSE] * 6
    assert len(S.chemo_q3w(200.0, maintenance=False)) == 4


def test_keynote189_arms():
    plac, pemb = S.keynote189("placebo", 1095.0), S.keynote189("pembrolizumab", 1095.0)
    assert _days(plac, "anti_pd1") == []
    pd1 = _days(pemb, "anti_pd1")
    assert len(pd1) == S.PEMBROLIZUMAB_MAX_DOSES == 35
    assert pd1[0][0] == 0.0 and pd1[-1][0] == 34 * 21.0
    assert _days(pemb, "chemo") == _days(plac, "chemo")
    with pytest.raises(ValueError, match="valid arms: pembrolizumab, placebo"):
        S.keynote189("nivolumab")


def test_sequential_and_inhibitor_schedules():
    seq = S.chemo_then_anti_pd1(400.0)
    assert [s for s, _, _ in _days(seq, "chemo")] == [0.0, 21.0, 42.0, 63.0]
    assert _days(seq, "anti_pd1")[0][0] == 84.0
    inh = _days(S.chemo_with_inhibitor(100.0), "inhibitor")
    assert [(s, e) for s, e, _ in inh] == [(0.0, 14.0), (21.0, 35.0), (42.0, 56.0),
                                          (63.0, 77.0), (84.0, 98.0)]  # fmt: skip
    assert S.no_treatment() == []
