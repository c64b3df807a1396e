"""The fixed-schedule family, constant doses and the clinical feedback rule."""

from __future__ import annotations

import numpy as np
import pytest

from tme_env.envs.core import observation_fields
from tme_env.regimens.family import ConstantDoses, FeedbackRule, FixedSchedule


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
    action, _ = c.predict(np.zeros((3, 21), np.float32))
    assert action.shape == (3, 3) and action[:, 2].tolist() == [0.5] * 3
    assert c.predict(np.zeros(21, np.float32))[0].tolist() == [1.0, 0.0, 0.5]
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
