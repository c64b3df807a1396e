"""Fixed dosing schedules of the standard regimens (days and doses)."""

from __future__ import annotations

import pytest

from tme_env.envs import label
from tme_env.regimens import schedules as S


def _days(schedule, drug):
    return [(s, e, r[drug]) for s, e, r in schedule if drug in r]


def test_chemo_q3w_induction_then_maintenance():
    sched = S.chemo_q3w(200.0)
    chemo = _days(sched, "chemo")
    assert [s for s, _, _ in chemo] == [21.0 * k for k in range(10)]  # days 0, 21, ..., 189
    assert all(e - s == 1.0 for s, e, _ in chemo)
    assert [d for _, _, d in chemo[:4]] == [1.0] * 4
    assert [d for _, _, d in chemo[4:]] == [label.MAINTENANCE_DOSE] * 6
    assert len(S.chemo_q3w(200.0, maintenance=False)) == 4


def test_keynote189_arms():
    plac, pemb = S.keynote189("placebo", 1095.0), S.keynote189("pembrolizumab", 1095.0)
    assert _days(plac, "anti_pd1") == []
    pd1 = _days(pemb, "anti_pd1")
    assert len(pd1) == label.MAX_ANTI_PD1_DOSES == 35
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


def _naive(horizon: float, chemo: str = "mtd", pd1_from: float | None = None,
           inhibitor: bool = False) -> set:
    """The KEYNOTE-189-style schedules written out directly (independent of the policies)."""
    out = set()
    cycles = [21.0 * k for k in range(int(horizon // 21.0) + 1) if 21.0 * k < horizon]
    for k, day in enumerate(cycles):
        if k < 4 or chemo == "mtd":
            out.add((day, day + 1.0, (("chemo", 1.0 if k < 4 else 0.5),)))
            if inhibitor:
                out.add((day, min(day + 14.0, horizon), (("inhibitor", 1.0),)))
    if pd1_from is not None:
        days = [d for d in cycles if d >= pd1_from][:35]
        out |= {(d, d + 1.0, (("anti_pd1", 1.0),)) for d in days}
    return out


@pytest.mark.parametrize("horizon", [84.0, 100.0, 400.0, 1095.0])
def test_generated_schedules_match_the_written_out_regimens(horizon):
    def as_set(schedule):
        return {(s, e, tuple(sorted(r.items()))) for s, e, r in schedule}

    assert as_set(S.chemo_q3w(horizon)) == _naive(horizon)
    assert as_set(S.chemo_q3w(horizon, maintenance=False)) == _naive(horizon, chemo="induction")
    assert as_set(S.keynote189("pembrolizumab", horizon)) == _naive(horizon, pd1_from=0.0)
    assert as_set(S.chemo_then_anti_pd1(horizon)) == _naive(horizon, "induction", pd1_from=84.0)
    assert as_set(S.chemo_with_inhibitor(horizon)) == _naive(horizon, inhibitor=True)
    assert as_set(S.chemo_ici_inhibitor(horizon)) == _naive(horizon, pd1_from=0.0,
                                                            inhibitor=True)  # fmt: skip


def test_adaptive_and_unknown_regimens_have_no_fixed_schedule():
    with pytest.raises(ValueError, match="no fixed schedule"):
        S.fixed_schedule("adaptive-at50")
    with pytest.raises(ValueError, match="unknown regimen 'nope'"):
        S.fixed_schedule("nope")
    weekly = S.fixed_schedule("metronomic-chemo", 28.0)
    assert weekly == [(7.0 * k, 7.0 * k + 1.0, {"chemo": 0.25}) for k in range(4)]
