"""Trial runners: one result type for env and open-loop arms, which agree where they should."""

from __future__ import annotations

import numpy as np
import pytest

from tme_env import clinical, regimens
from tme_env.envs import label
from tme_env.patients import cohort
from tme_env.regimens import schedules
from tme_env.trials import ArmOutcomes, TrialResult, run_schedule, run_trial, summarise
from tme_env.trials.outcomes import schedule_doses

N = 40


class AntiPD1InhibitorQ3w:
    """Pembrolizumab on day 1 and the inhibitor daily in weeks 1-2 of every 3-week cycle.

    No chemotherapy, so no clinical rule (delay, reduction) can fire: in the env it doses
    exactly as ``schedules.chemo_ici_inhibitor`` without its chemotherapy.
    """

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        """Doses of week ``state`` (the week counter is the recurrent state)."""
        week = 0 if state is None else state
        action = np.zeros((obs.shape[0], 3), dtype=np.float32)
        action[:, 1] = float(week % 3 == 0 and week // 3 < label.MAX_ANTI_PD1_DOSES)
        action[:, 2] = float(week % 3 in (0, 1))
        return action, week + 1


@pytest.fixture(scope="module")
def arms():
    trial = run_trial({"env": AntiPD1InhibitorQ3w()}, n_patients=N, split="test", seed=0)
    schedule = [x for x in schedules.chemo_ici_inhibitor(trial.horizon_days)
                if "chemo" not in x[2]]
    open_loop = run_schedule(cohort("test", N), schedule, trial.horizon_days, name="open-loop")
    return trial.arms["env"], open_loop


def test_both_runners_return_arm_outcomes(arms):
    env, open_loop = arms
    assert type(env) is ArmOutcomes and type(open_loop) is ArmOutcomes
    assert env.patient_ids == open_loop.patient_ids
    assert env.t is None and env.y is None and env.state_names is None
    with pytest.raises(ValueError, match="keeps no trajectory"):
        env.state("M")
    with pytest.raises(ValueError, match="keeps no trajectory"):
        _ = env.burden
    assert open_loop.y.shape == (N, len(open_loop.state_names), open_loop.t.size)
    np.testing.assert_array_equal(open_loop.burden, open_loop.state("S") + open_loop.state("R"))
    for arm in arms:
        for field in ("os_days", "pfs_days", "cured", "worst_grade", "dose_chemo",
                      "dose_anti_pd1", "dose_inhibitor", "fraction_hot"):  # fmt: skip
            assert getattr(arm, field).shape == (N,), (arm.name, field)
        assert np.all(arm.pfs_days <= arm.os_days)
        assert np.all(arm.pfs_event >= arm.os_event)  # death is a PFS event


def test_env_and_open_loop_agree_on_os_when_no_rule_fires(arms):
    # Measured on 60 and 300 test patients: the same patients die in both arms (300: one
    # open-loop death in the last week of the horizon is censored in the env), and the env's
    # death day, at a weekly step, is 0 to 6.8 days after the open-loop lethal-burden crossing
    # (interpolated between daily outputs); median 0.
    # Model v1: the env's irAE rules (holds, steroids, discontinuation) are clinical rules
    # too, so the comparison is on the patients who had no irAE in the env.
    env, open_loop = arms
    ok = env.irae_worst_grade == 0
    assert ok.sum() >= 0.6 * N
    assert open_loop.os_event[ok].sum() >= 3  # enough deaths to compare
    assert np.mean(env.os_event[ok] == open_loop.os_event[ok]) >= 0.95
    lag = (env.os_days - open_loop.os_days)[ok]
    assert np.mean((lag >= -0.5) & (lag <= 7.0)) >= 0.95, np.percentile(lag, [0, 50, 100])
    # Doses agree, but for a patient who dies during an infusion day (the open-loop count
    # keeps the part infused before death).
    np.testing.assert_allclose(env.dose_anti_pd1[ok], open_loop.dose_anti_pd1[ok], atol=1.0)
    assert np.mean(env.dose_anti_pd1[ok] == open_loop.dose_anti_pd1[ok]) >= 0.9
    assert np.mean(env.best_response[ok] == open_loop.best_response[ok]) >= 0.9


def test_open_loop_arm_derives_the_env_fields_from_its_trajectory():
    c = cohort("test", 12)
    arm = run_schedule(c, schedules.chemo_q3w(126.0, maintenance=False), 126.0)
    grade = clinical.neutropenia_grade(arm.state("ANC")).max(axis=1)
    alive = ~arm.os_event  # nobody dies within 18 weeks
    np.testing.assert_array_equal(arm.worst_grade[alive], grade[alive])
    np.testing.assert_array_equal(arm.dose_chemo[alive], 4.0)  # induction only
    assert np.all(arm.dose_anti_pd1 == 0) and np.all(arm.dose_inhibitor == 0)
    np.testing.assert_array_equal(arm.weekly_doses[alive][:, [0, 3, 6, 9], 0], 1.0)
    assert arm.weekly_doses[:, :, 0].sum() == arm.dose_chemo.sum()
    # An open-loop trial goes through the same summary as an env trial.
    trial = TrialResult("open-loop", "test", 12, 0, 126.0, {"chemo": arm})
    (row,) = summarise(trial)
    assert row["objective_response_rate"] == arm.objective_response_rate
    assert row["mean_chemo_doses"] == pytest.approx(arm.dose_chemo.mean())


def test_schedule_doses_stop_at_death_by_hand():
    # Chemo on days 0-1 and 21-22; inhibitor daily on days 0-14; patient 1 dies on day 10.
    schedule = [(0.0, 1.0, {"chemo": 1.0}), (21.0, 22.0, {"chemo": 0.5}),
                (0.0, 14.0, {"inhibitor": 1.0})]  # fmt: skip
    totals, weekly = schedule_doses(schedule, np.array([100.0, 10.0]), n_weeks=4)
    np.testing.assert_allclose(totals, [[1.5, 0.0, 14.0], [1.0, 0.0, 10.0]])
    np.testing.assert_allclose(weekly[0, :, 0], [1.0, 0.0, 0.0, 0.5])
    np.testing.assert_allclose(weekly[0, :, 2], [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(weekly[1, :, 2], [1.0, 3.0 / 7.0, 0.0, 0.0])


def test_run_trial_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown trial env"):
        run_trial({"x": regimens.get("mtd-chemo")}, env_id="tme/DePillis2003Chemo-v0")
    with pytest.raises(ValueError, match="at least one policy"):
        run_trial({})
