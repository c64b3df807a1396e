"""The v2 observation fields: the PD-L1 TPS, the RECIST chart, the dosing history."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import tme_env  # noqa: F401 - registers the ids
from tme_env import clinical
from tme_env.envs import observation_fields
from tme_env.envs.observation import NEVER_GIVEN, WEEKS_SINCE_CAP
from tme_env.envs.progression import BEST_RESPONSE
from tme_env.trials.outcomes import survival_outcomes


def test_clinical_chart_fields():
    """TPS is the patient's; weeks since each drug count up from its dose; counters count."""
    f = observation_fields("clinical")
    env = gym.make("tme/TumorImmuneClinical-v2", cohort_size=4, mdsc_cv=0.0).unwrapped
    obs, info = env.reset(seed=0, options={"patient": 2})
    tps = env.core.cohort.patients[2].phenotype["pdl1_tps"]
    assert obs[f.pdl1_tps] == pytest.approx(tps) and info["pdl1_tps"] == pytest.approx(tps)
    assert obs[f.weeks_since_chemo] == NEVER_GIVEN == obs[f.weeks_since_anti_pd1]
    assert obs[f.progressed] == 0 and obs[f.best_response] == BEST_RESPONSE["SD"]
    assert obs[f.log10_blood_mdsc_change] == 0.0
    mdsc = obs[f.log10_blood_mdsc]
    obs, *_ = env.step(np.array([1.0, 1.0, 0.0], np.float32))
    assert obs[f.weeks_since_chemo] == 1.0 == obs[f.weeks_since_anti_pd1]
    assert obs[f.weeks_since_inhibitor] == NEVER_GIVEN
    assert obs[f.platinum_cycles] == 1 and obs[f.anti_pd1_doses] == 1
    assert obs[f.log10_blood_mdsc_change] == pytest.approx(obs[f.log10_blood_mdsc] - mdsc)
    for _ in range(2):
        obs, *_ = env.step(np.zeros(3, np.float32))
    assert obs[f.weeks_since_chemo] == 3.0
    low, high = env.observation_space.low, env.observation_space.high
    assert low[f.weeks_since_chemo] == NEVER_GIVEN and high[f.weeks_since_chemo] == WEEKS_SINCE_CAP
    assert obs in env.observation_space


@pytest.mark.parametrize("env_id", ["tme/TumorImmune-v2", "tme/TumorImmuneClinical-v2"])
def test_progression_and_best_response_are_the_trials(env_id):
    """Untreated patients: ``progressed`` flips at the trial's PFS, best response as the trial's."""
    env = gym.make(env_id, cohort_size=8).unwrapped
    f = observation_fields(env.config.observation)
    seen = 0
    for patient in range(4):
        obs, info = env.reset(seed=patient, options={"patient": patient})
        burden, flags, days = [info["imaging_tumour_cells"]], [obs[f.progressed]], [0.0]
        while True:
            obs, _, terminated, truncated, info = env.step(np.zeros(3, np.float32))
            burden.append(info["imaging_tumour_cells"])
            flags.append(info["progressed"])
            days.append(info["day"])
            assert obs[f.progressed] == info["progressed"]
            if terminated or truncated:
                break
        t = np.arange(len(burden)) * 7.0
        b = np.maximum(np.array(burden), 1.0)[None, :]
        died = np.array([bool(info["dead"] or info["toxic_death"])])
        _, _, pfs, event, best = survival_outcomes(t, b, os_days=np.array([days[-1]]),
                                                   os_event=died)  # fmt: skip
        first = np.flatnonzero(np.array(flags) > 0)
        if event[0] and pfs[0] < days[-1]:  # judged before the end: seen by the step's end
            assert first.size and t[first[0] - 1] < pfs[0] <= t[first[0]]
            seen += 1
        assert info["best_response"] == BEST_RESPONSE[best[0]] or info["cured"]
    env.close()
    assert seen  # some untreated patient progressed before the episode's end


def test_detectable_is_above_the_limit():
    """A reading floored at the detection limit is not seen (the clinical env's floor)."""
    lim = clinical.DETECTION_LIMIT_CELLS
    assert not clinical.detectable(lim) and clinical.detectable(np.nextafter(lim, 2 * lim))


def test_one_slot_state_views_the_slots_chart():
    """`slice_state` keeps a slot's chart column (the full observation at reset reads it)."""
    from tme_env.envs import EnvConfig, TumorImmuneCore
    from tme_env.envs.state import CHART, CHART_INT, slice_state

    core = TumorImmuneCore(3, EnvConfig(cohort_size=3))
    core.state.chart[CHART.pfs_day] = [10.0, 20.0, 30.0]
    core.state.chart_int[CHART_INT.progressed] = [0, 1, 0]
    one = slice_state(core.state, 1)
    assert one.chart[CHART.pfs_day, 0] == 20.0 and one.chart_int[CHART_INT.progressed, 0] == 1
    assert one.steps.shape == (1,) and one.chart.shape[1] == 1
