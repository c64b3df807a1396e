"""Regimen policies: schedules on a fixed patient, clinical delay/reduction rules, SB3 API."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

import tme_env
from tme_env import regimens
from tme_env.envs import label, observation_fields
from tme_env.regimens import schedules as S

WEEK = 7.0


def _obs(day: float, anc: float, log_burden: float = 10.5) -> np.ndarray:
    """A synthetic full observation on ``day`` with the given ANC and burden."""
    f = observation_fields("full")
    obs = np.zeros(len(f), dtype=np.float32)
    obs[f.log10_S] = log_burden  # log10(1 + sensitive cells); resistant 0
    obs[f.anc] = anc
    obs[f.time_fraction] = day / 1827.0
    return obs


def _run(name: str, weeks: int, anc=lambda day: 5.0, burden=lambda day: 10.5) -> np.ndarray:
    """Weekly doses of a regimen fed synthetic observations."""
    policy = regimens.get(name)
    state, out = None, []
    for w in range(weeks):
        day = w * WEEK
        action, state = policy.predict(_obs(day, anc(day), burden(day)), state,
                                       episode_start=np.array([w == 0]))  # fmt: skip
        out.append(action)
    return np.array(out)


def _weekly_from_schedule(schedule, weeks: int) -> np.ndarray:
    """The fixed schedule as weekly doses.

    A 1-day infusion counts as its rate in its week; the daily inhibitor counts as its rate in
    every week whose first day it covers.
    """
    out = np.zeros((weeks, 3))
    for start, _end, rates in schedule:
        for j, drug in enumerate(("chemo", "anti_pd1", "inhibitor")):
            if drug in rates:
                if drug == "inhibitor":
                    for w in range(weeks):
                        if start <= w * WEEK < _end:
                            out[w, j] = rates[drug]
                elif start % WEEK == 0 and start / WEEK < weeks:
                    out[int(start // WEEK), j] += rates[drug]
    return out


@pytest.mark.parametrize(
    ("name", "schedule"),
    [
        ("no-treatment", S.no_treatment),
        ("mtd-chemo", S.chemo_q3w),
        ("chemo-ici-concurrent", S.chemo_anti_pd1_concurrent),
        ("chemo-then-ici", S.chemo_then_anti_pd1),
        ("chemo-inhibitor", S.chemo_with_inhibitor),
    ],
)
def test_without_neutropenia_a_policy_doses_as_its_fixed_schedule(name, schedule):
    weeks = 120
    got = _run(name, weeks)
    expected = _weekly_from_schedule(schedule(weeks * WEEK), weeks)
    np.testing.assert_allclose(got, expected)


def test_documented_schedules():
    mtd = _run("mtd-chemo", 30)
    assert np.flatnonzero(mtd[:, 0]).tolist() == list(range(0, 30, 3))
    assert mtd[:12:3, 0].tolist() == [1.0] * 4 and mtd[12, 0] == label.MAINTENANCE_DOSE
    ici = _run("chemo-ici-concurrent", 150)
    assert (ici[:, 1] > 0).sum() == 35  # pembrolizumab capped at 35 doses
    seq = _run("chemo-then-ici", 30)
    assert np.flatnonzero(seq[:, 0]).tolist() == [0, 3, 6, 9]
    assert np.flatnonzero(seq[:, 1])[0] == 12  # first anti-PD-1 on day 84
    metro = _run("metronomic-chemo-ici", 9)
    assert metro[:, 0].tolist() == [0.25] * 9 and np.flatnonzero(metro[:, 1]).tolist() == [0, 3, 6]
    inh = _run("chemo-ici-inhibitor", 7)
    assert inh[:, 2].tolist() == [1, 1, 0, 1, 1, 0, 1]


def test_chemo_is_delayed_while_neutrophils_are_low_and_the_cycle_restarts():
    # ANC below 1.5 on the day-21 visit and the next one: the dose moves to day 35.
    low = {21.0, 28.0}
    doses = _run("mtd-chemo", 12, anc=lambda d: 1.2 if d in low else 4.0)
    assert np.flatnonzero(doses[:, 0]).tolist() == [0, 5, 8, 11]


def test_dose_is_reduced_after_grade4_neutropenia():
    doses = _run("mtd-chemo", 10, anc=lambda d: 0.3 if d == 14.0 else 4.0)
    assert doses[0, 0] == 1.0 and doses[3, 0] == pytest.approx(0.8)
    doses = _run("mtd-chemo", 10, anc=lambda d: 0.3 if d in (7.0, 14.0, 28.0) else 4.0)
    assert doses[6, 0] == pytest.approx(0.64)  # at most two reductions


def test_adaptive_therapy_pauses_below_half_and_resumes_at_baseline():
    # Burden (log10): baseline 10.5; below 10.5 - log10(2) from week 3; back at baseline week 9.
    burden = {0: 10.5, 1: 10.4, 2: 10.3, 3: 10.1, 4: 10.0, 5: 10.1, 6: 10.2, 7: 10.3, 8: 10.4,
              9: 10.5, 10: 10.6, 11: 10.6, 12: 10.6}  # fmt: skip
    doses = _run("adaptive-at50", 13, burden=lambda d: burden[int(d // WEEK)])
    assert np.flatnonzero(doses[:, 0]).tolist() == [0, 9, 12]


def test_regimens_run_in_the_envs_through_evaluate_policy():
    for obs_mode, env_id in (("full", "tme/TumorImmune-v2"),
                             ("clinical", "tme/TumorImmuneClinical-v2")):  # fmt: skip
        env = Monitor(gym.make(env_id, cohort_size=16, max_episode_steps=30))
        policy = regimens.get("chemo-ici-concurrent", observation=obs_mode)
        mean, _ = evaluate_policy(policy, env, n_eval_episodes=2, deterministic=True)
        assert np.isfinite(mean)


def test_unknown_regimen():
    with pytest.raises(ValueError, match="unknown regimen 'folfox'; available: no-treatment"):
        regimens.get("folfox")
    assert "adaptive-at50" in tme_env.regimens.available()


def test_on_a_fixed_patient_chemo_is_given_only_when_neutrophils_allow():
    # A patient of the test split, treated weekly in the env: every chemotherapy dose falls on
    # a visit with ANC >= 1.5e9/L, a due dose is postponed exactly while ANC is below it, and
    # without any delay the doses come every 3 weeks.
    env = gym.make("tme/TumorImmune-v2", split="test", cohort_size=64, max_episode_steps=60)
    policy = regimens.get("mtd-chemo")
    # The patient with the lowest neutrophil baseline is the one most likely to need delays.
    anc0 = [p.initial_state["ANC"] for p in env.unwrapped.core.cohort]
    obs, _ = env.reset(seed=0, options={"patient": int(np.argmin(anc0))})
    state, visits = None, []
    for w in range(60):
        action, state = policy.predict(obs, state, episode_start=np.array([w == 0]))
        visits.append((w * 7.0, float(obs[13]), float(action[0])))
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    given = [(d, anc) for d, anc, dose in visits if dose > 0]
    assert len(given) >= 5 and all(anc >= 1.5 for _, anc in given)
    next_due = 0.0
    for day, anc, dose in visits:
        if day >= next_due:
            assert (dose > 0) == (anc >= 1.5), (day, anc, dose)
            if dose > 0:
                next_due = day + 21.0
        else:
            assert dose == 0.0


def test_regimen_sources_cite_papers_a_user_can_find():
    # `tme regimens` prints these; they once cited an internal note ("models.md §6").
    for spec in regimens.REGIMENS.values():
        assert "models.md" not in spec.source and "§" not in spec.source, spec
    assert "Nat Commun 2017" in regimens.REGIMENS["adaptive-at50"].source
