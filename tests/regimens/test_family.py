"""The fixed-schedule family, constant doses and the clinical feedback rule."""

from __future__ import annotations

import numpy as np
import pytest

from tme_env.envs import observation_fields
from tme_env.regimens.family import (
    ConstantDoses,
    FeedbackRule,
    FixedSchedule,
    ImmunotherapyFirstRule,
)


def _weeks(policy: FixedSchedule, n: int) -> np.ndarray:
    return policy.doses_on(np.arange(n) * 7.0)


def test_the_grid_has_36_distinct_schedules():
    grid = FixedSchedule.grid()
    assert len(grid) == 36 and len({s.name for s in grid}) == 36


def test_fixed_schedule_days():
    s = FixedSchedule(chemo_cycles=4, maintenance=True, anti_pd1="q6w", inhibitor="chemo-weeks")
    d = _weeks(s, 30)
    assert np.flatnonzero(d[:, 0] == 1.0).tolist() == [0, 3, 6, 9]  # 4 full cycles q3w
    assert np.flatnonzero(d[:, 0] == 0.5).tolist() == list(range(12, 30, 3))  # maintenance
    assert np.flatnonzero(d[:, 1]).tolist() == list(range(0, 30, 6))  # q6w
    assert np.flatnonzero(d[:, 2]).tolist() == [w for w in range(30) if w % 3 in (0, 1)]
    none = _weeks(FixedSchedule(chemo_cycles=0, anti_pd1="none", inhibitor="none"), 30)
    assert not none.any()
    weekly = _weeks(FixedSchedule(chemo_cycles=6, maintenance=False, anti_pd1="weekly",
                                  inhibitor="continuous"), 30)  # fmt: skip
    assert weekly[:, 1].all() and weekly[:, 2].all() and (weekly[:, 0] > 0).sum() == 6
    with pytest.raises(ValueError, match="unknown anti_pd1 'q2w'"):
        FixedSchedule(anti_pd1="q2w")


def test_fixed_schedule_reads_the_day_from_the_observation():
    s = FixedSchedule(chemo_cycles=4, anti_pd1="none", observation="clinical")
    f = observation_fields("clinical")
    obs = np.zeros((2, len(f)), np.float32)
    obs[:, f.time_fraction] = [21.0 / 1827.0, 28.0 / 1827.0]
    action, _ = s.predict(obs)
    assert action[:, 0].tolist() == [1.0, 0.0]


def test_constant_doses():
    c = ConstantDoses((1.0, 0.0, 0.5))
    action, _ = c.predict(np.zeros((3, 23), np.float32))
    assert action.shape == (3, 3) and action[:, 2].tolist() == [0.5] * 3
    assert c.predict(np.zeros(23, np.float32))[0].tolist() == [1.0, 0.0, 0.5]
    with pytest.raises(ValueError, match="3 fractions in \\[0, 1\\]"):
        ConstantDoses((2.0, 0.0, 0.0))


def test_feedback_rule_stops_after_induction_and_gives_the_inhibitor_on_an_mdsc_rise():
    f = observation_fields("clinical")
    rule, state = FeedbackRule(), None
    given = []
    for week in range(15):
        obs = np.zeros((1, len(f)), np.float32)
        obs[0, f.time_fraction] = week * 7.0 / 1827.0
        obs[0, f.anc] = 5.0
        obs[0, f.imaging_log10_burden] = 10.5 - 0.05 * week  # responding
        obs[0, f.log10_blood_mdsc] = 1.0 + (0.5 if week >= 1 else 0.0)  # MDSCs rise
        action, state = rule.predict(obs, state, episode_start=np.array([week == 0]))
        given.append(action[0])
    given = np.array(given)
    assert np.flatnonzero(given[:, 0]).tolist() == [0, 3, 6, 9]  # 4 cycles, then stop
    assert given[0, 2] == 0.0 and given[1, 2] == 1.0  # the inhibitor once MDSCs rose
    assert np.flatnonzero(given[:, 1]).tolist() == [0, 3, 6, 9, 12]  # anti-PD-1 q3w


def _run_rule(rule, burden, anc):  # noqa: ANN001, ANN202
    f = observation_fields("clinical")
    state, given = None, []
    for week, (b, a) in enumerate(zip(burden, anc, strict=True)):
        obs = np.zeros((1, len(f)), np.float32)
        obs[0, f.time_fraction] = week * 7.0 / 1827.0
        obs[0, f.anc] = a
        obs[0, f.imaging_log10_burden] = b
        action, state = rule.predict(obs, state, episode_start=np.array([week == 0]))
        given.append(action[0])
    return np.array(given)


def test_immunotherapy_first_rule_waits_for_growth_then_gives_its_cycles():
    rule = ImmunotherapyFirstRule(cycles=2)
    # Shrinks to a nadir of 10.0 by week 3, then grows: +0.2 (week 5) is below RECIST size,
    # +0.3 (week 6) is above it (0.24 = +73% volume).
    burden = [10.3, 10.2, 10.1, 10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.6, 10.6, 10.6, 10.6, 10.6,
              10.6, 10.6]
    anc = [5.0] * 9 + [1.0] + [5.0] * 6  # neutropenic in week 9: the cycle due then waits
    given = _run_rule(rule, burden, anc)
    assert np.flatnonzero(given[:, 1]).tolist() == [0, 3, 6, 9, 12, 15]  # anti-PD-1 q3w
    assert np.all(given[:, 2] == 1.0)  # the inhibitor continuously
    chemo = given[:, 0]
    # Cycles at weeks 6 (platinum) and 10 (platinum, delayed a week for the ANC), then
    # maintenance (0.5) q3w.
    assert np.flatnonzero(chemo).tolist() == [6, 10, 13]
    np.testing.assert_allclose(chemo[[6, 10, 13]], [1.0, 1.0, 0.5])


def test_immunotherapy_first_rule_gives_no_chemo_to_a_responder_and_checks_settings():
    given = _run_rule(ImmunotherapyFirstRule(), [10.0 - 0.1 * w for w in range(12)], [5.0] * 12)
    assert not given[:, 0].any()
    with pytest.raises(ValueError, match="growth"):
        ImmunotherapyFirstRule(growth=0.0)
    with pytest.raises(ValueError, match="cycles"):
        ImmunotherapyFirstRule(cycles=-1)
    with pytest.raises(ValueError, match="inhibitor_dose"):
        ImmunotherapyFirstRule(inhibitor_dose=1.5)
