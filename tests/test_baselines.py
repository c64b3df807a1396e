"""The strong non-RL baselines (`tme_env.benchmark.baselines`) and value-of-information blinding."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tme_env.agents import make_sb3_vec_env
from tme_env.agents.blind import MONITORING, Blinded, BlindObservation, blind_columns
from tme_env.benchmark import run_benchmark
from tme_env.benchmark.baselines import (
    BEST_FIXED_FILE,
    OracleMPC,
    ScheduleSearchResult,
    best_fixed_schedule,
    schedule_from_params,
    search_fixed_schedule,
)
from tme_env.envs import CLINICAL_OBSERVATION
from tme_env.regimens.family import FixedSchedule
from tme_env.trials import run_trial

FULL, CLINICAL = "tme/TumorImmune-v2", "tme/TumorImmuneClinical-v2"
MONTH = 30.4375


# --- the schedule search -----------------------------------------------------------------------
def test_schedule_from_params_fills_the_conditional_settings() -> None:
    s = schedule_from_params({"chemo_cycles": 0, "anti_pd1": "q6w", "inhibitor": "none"})
    assert (s.chemo_cycles, s.maintenance, s.anti_pd1, s.inhibitor) == (0, False, "q6w", "none")
    s = schedule_from_params({"chemo_cycles": 3, "chemo_dose": 0.75, "maintenance": False,
                              "anti_pd1": "q3w", "inhibitor": "chemo-weeks",
                              "inhibitor_dose": 0.5}, observation="full")  # fmt: skip
    assert s.name == "chemo3x0.75/pd1-q3w/inh-chemo-weeks@0.5"
    assert s.observation == "full"
    # Day 0: a 75% cycle and half the inhibitor; day 7 (week 2 of the cycle): inhibitor only.
    np.testing.assert_allclose(s.doses_on(np.array([0.0, 7.0, 14.0])),
                               [[0.75, 1.0, 0.5], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]])  # fmt: skip


@pytest.fixture(scope="module")
def tiny_search() -> ScheduleSearchResult:
    return search_fixed_schedule(CLINICAL, n_trials=40, n_train=4, n_validation=4, top_k=3,
                                 seed=0)  # fmt: skip


def test_search_is_deterministic_and_selects_on_validation(tiny_search) -> None:  # noqa: ANN001
    res = tiny_search
    # The 36 grid members come first, then TPE proposals; duplicates are evaluated once.
    assert 36 <= len(res.trials) <= 40
    assert {t["name"] for t in res.trials[:36]} == {s.name for s in FixedSchedule.grid()}
    train = sorted((t["train_q_twist_months"] for t in res.trials), reverse=True)
    assert [t["train_q_twist_months"] for t in res.top] == train[:3]
    val = [t["validation_q_twist_months"] for t in res.top]
    assert res.validation_q_twist_months == max(val)
    assert res.best.name == res.top[int(np.argmax(val))]["name"]
    assert res.patient_episodes == len(res.trials) * 4 + 3 * 4
    again = search_fixed_schedule(CLINICAL, n_trials=40, n_train=4, n_validation=4, top_k=3,
                                  seed=0)  # fmt: skip
    assert again.to_dict() == res.to_dict()


def test_search_objective_is_the_trials_mean_q_twist(tiny_search) -> None:  # noqa: ANN001
    res = tiny_search
    top = res.top[0]
    sched = schedule_from_params(top["params"], "clinical")
    trial = run_trial({"s": sched}, env_id=CLINICAL, split="train", n_patients=4, seed=0)
    assert np.mean(trial.arms["s"].q_twist_days) / MONTH == pytest.approx(
        top["train_q_twist_months"], rel=1e-12)


def test_search_result_round_trip(tiny_search, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "r.json"
    tiny_search.save(path)
    back = ScheduleSearchResult.load(path)
    assert back.best == tiny_search.best
    assert back.to_dict() == tiny_search.to_dict()


def test_search_bad_input() -> None:
    with pytest.raises(ValueError, match="not a benchmark task"):
        search_fixed_schedule("tme/TumorImmuneDiscrete-v2")
    with pytest.raises(ValueError, match="n_trials must be an integer >= 36"):
        search_fixed_schedule(CLINICAL, n_trials=10)
    with pytest.raises(ValueError, match="top_k"):
        search_fixed_schedule(CLINICAL, top_k=0)


def test_committed_best_fixed_schedule_serves_both_tasks() -> None:
    clin, full = best_fixed_schedule(CLINICAL), best_fixed_schedule(FULL)
    assert (clin.observation, full.observation) == ("clinical", "full")
    assert dataclasses.replace(full, observation="clinical") == clin
    with pytest.raises(ValueError, match="not a benchmark task"):
        best_fixed_schedule("tme/TumorImmune-v0")


def test_package_best_fixed_is_the_agents_folder_copy() -> None:
    # experiments/leaderboard.py search writes agents/best-fixed/; the package keeps a
    # read-only copy. Adopting a new search result copies it over in a commit: no drift.
    agents_copy = Path(__file__).resolve().parents[1] / "agents" / "best-fixed" / "best_fixed.json"
    assert BEST_FIXED_FILE.read_bytes() == agents_copy.read_bytes()


# --- the oracle ----------------------------------------------------------------------------------
BASE = FixedSchedule(chemo_cycles=6, anti_pd1="none", inhibitor="continuous", observation="full")


def test_oracle_needs_an_env_and_checks_its_settings() -> None:
    with pytest.raises(RuntimeError, match="bind_env"):
        OracleMPC().predict(np.zeros((2, 23), np.float32))
    with pytest.raises(ValueError, match="cycle_weeks"):
        OracleMPC(cycle_weeks=0)
    with pytest.raises(ValueError, match="candidates"):
        OracleMPC(candidates=((0.0, 2.0, 0.0),))
    with pytest.raises(ValueError, match="lookahead_weeks"):
        OracleMPC(lookahead_weeks=-1)


def test_oracle_rollouts_reproduce_the_true_trajectory() -> None:
    # One candidate, the base schedule's own first cycle, and no anti-PD-1 (so no irAE draw
    # matters): the oracle must act exactly as the base schedule, and its rollout of the
    # whole episode from day 0 must predict the trial's quality-adjusted survival exactly.
    # This checks the copy of the true state and parameters into the rollouts and the scoring.
    oracle = OracleMPC(base=BASE, candidates=((1.0, 0.0, 1.0),))
    trial = run_trial({"base": BASE, "oracle": oracle}, env_id=FULL, split="validation",
                      n_patients=3, seed=0)  # fmt: skip
    b, o = trial.arms["base"], trial.arms["oracle"]
    np.testing.assert_array_equal(o.weekly_doses, b.weekly_doses)
    np.testing.assert_array_equal(o.os_days, b.os_days)
    np.testing.assert_array_equal(o.q_twist_days, b.q_twist_days)
    np.testing.assert_allclose(oracle.first_plan_q[:, 0], b.q_twist_days, rtol=1e-9)


def test_oracle_chooses_the_best_rollout_and_binds_through_the_benchmark() -> None:
    oracle = OracleMPC(base=BASE, lookahead_weeks=6)
    res = run_benchmark({"oracle": [oracle]}, FULL, n_patients=2, seed=0, reps=50)
    row = res.rows[0]
    assert row["oracle"] is True and not row["meets_protocol"]
    assert any("oracle" in d for d in row["deviations"])
    assert not any("seed(s)" in d for d in row["deviations"])  # not learned: one "seed"
    q = oracle.first_plan_q
    assert q.shape == (2, 8)
    # The first week's doses given are the best candidate's (the env may refuse none on day 0).
    chosen = res.trial.arms["oracle"].weekly_doses[:, 0]
    best = np.asarray(oracle.candidates)[q.argmax(axis=1)]
    np.testing.assert_allclose(chosen, best, atol=1e-6)


# --- blinding ------------------------------------------------------------------------------------
def test_blind_columns_and_refusals() -> None:
    cols = blind_columns(CLINICAL, MONITORING)
    assert [CLINICAL_OBSERVATION[c] for c in cols] == list(MONITORING)
    with pytest.raises(ValueError, match="only the clinical observation"):
        blind_columns(FULL, MONITORING)
    with pytest.raises(ValueError, match="unknown clinical observation fields"):
        blind_columns(CLINICAL, ["log10_M"])
    with pytest.raises(ValueError, match="list of field names"):
        blind_columns(CLINICAL, "anc")


class _Echo:
    def predict(self, observation, state=None, episode_start=None, deterministic=True):  # noqa: ANN001, ANN201, ARG002
        self.seen = np.array(observation)
        return np.zeros((np.atleast_2d(observation).shape[0], 3), np.float32), state


def test_blinded_policy_and_vec_env_zero_exactly_the_monitoring() -> None:
    cols = blind_columns(CLINICAL, MONITORING)
    venv = make_sb3_vec_env(CLINICAL, n_envs=3, seed=0)
    raw = venv.reset()
    blind = BlindObservation(make_sb3_vec_env(CLINICAL, n_envs=3, seed=0), cols)
    seen = blind.reset()
    keep = np.setdiff1d(np.arange(raw.shape[1]), cols)
    assert np.all(seen[:, cols] == 0) and np.any(raw[:, cols] != 0)
    np.testing.assert_array_equal(seen[:, keep], raw[:, keep])
    echo = _Echo()
    Blinded(echo, MONITORING).predict(raw)
    np.testing.assert_array_equal(echo.seen, seen)


def test_blind_training_is_recorded_and_scored_blind(tmp_path) -> None:  # noqa: ANN001
    from tme_env.agents.train import TrainConfig, train
    from tme_env.benchmark import resolve_policy

    with pytest.raises(ValueError, match="only the clinical observation"):
        TrainConfig(env_id=FULL, blind=MONITORING).validate()
    run = train(TrainConfig(algo="ppo", env_id=CLINICAL, timesteps=64, seed=0,
                            out=str(tmp_path), eval_every=10**9, eval_patients=2,
                            progress=False, blind=MONITORING))  # fmt: skip
    _, policy = resolve_policy(f"{run}/model.zip", CLINICAL, trusted=True)
    assert isinstance(policy, Blinded) and policy.fields == MONITORING
