"""The envs' slow paths: an interval whose result is not clean.

Every env step runs one compiled call that returns "not clean" when a patient's integration
failed or an end state is negative or non-finite; the step then runs the full check, which
raises `SimulationError` or accepts a round-off undershoot and finishes the step in Python.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import tme_env
from tme_env import SimulationError
from tme_env.models.tme import STATE_NAMES

_C = STATE_NAMES.index("C")


@pytest.mark.parametrize("env_id", ["tme/TumorImmune-v2", "tme/DePillis2003Chemo-v0"])
def test_a_failed_interval_raises_simulation_error_naming_the_reason(env_id):
    env = gym.make(env_id)
    env.reset(seed=0)
    env.unwrapped.core.stepper.max_steps = 1
    # The error names the patient by id (not the batch slot) and the state it was in.
    pattern = r"patient '(train-\d+|nominal)': .*\(max_steps=1\).*; state at t=0 days: \w+="
    with pytest.raises(SimulationError, match=pattern):
        env.step(env.action_space.sample())


def test_tme_round_off_undershoot_is_accepted_and_the_step_finishes():
    """A round-off undershoot is accepted and the step equals the clean path.

    A drug level a round-off below zero stays below zero when no drug is given: the result
    is not clean and the full check accepts it.
    """
    env = gym.make("tme/TumorImmune-v2")
    twin = gym.make("tme/TumorImmune-v2")
    for e in (env, twin):
        e.reset(seed=3)
    env.unwrapped.core.y[0, _C] = -1e-12  # within 10 x atol: round-off
    twin.unwrapped.core.y[0, _C] = 0.0
    action = np.array([0.0, 0.5, 0.5], dtype=np.float32)
    obs, reward, terminated, _, info = env.step(action)
    obs2, reward2, _, _, info2 = twin.step(action)
    assert env.unwrapped.core.y[0, _C] < 0.0  # the undershoot was reported as computed
    assert info["day"] == 7.0 and not terminated
    np.testing.assert_allclose(obs, obs2, rtol=1e-6, atol=1e-9)
    assert reward == pytest.approx(reward2, rel=1e-9)
    assert info.keys() == info2.keys()


def test_depillis_round_off_undershoot_is_accepted_and_the_state_advances():
    env = gym.make("tme/DePillis2003Chemo-v0")
    env.reset(seed=0)
    env.unwrapped.core.y[0, 3] = -1e-12  # drug u, none given: decays but stays negative
    obs, _, _, _, info = env.step(np.zeros(1, dtype=np.float32))
    st = env.unwrapped.core.stepper
    np.testing.assert_array_equal(st.y0[0], st.y_out[0, :, -1])  # continued from the end
    assert -1e-12 < info["u"] < 0.0 and info["day"] == 0.25
    assert obs[0] == np.float32(info["N"])


def test_stepper_step_raises_on_a_failed_interval():
    c = tme_env.patients.cohort("train", 2)
    st = tme_env.simulator.stepper.BatchStepper("tme", c.parameters_array(), (0.0, 7.0))
    st.max_steps = 2
    with pytest.raises(SimulationError, match=r"patient 0: .*\(max_steps=2\)"):
        st.step(c.initial_states_array(), np.zeros((2, 1, 4)))


@pytest.mark.parametrize("bad", [0.0, -1e-6, 0.5, float("nan"), "1e-6"])
def test_env_rtol_is_validated(bad):
    with pytest.raises(ValueError, match="rtol must be None or a number"):
        gym.make("tme/TumorImmune-v2", rtol=bad)


def test_env_rtol_option_reaches_the_integrator_and_tighter_agrees():
    """``rtol`` sets the integrator's tolerance; 1e-8 and the default 1e-6 agree closely."""
    envs = [gym.make("tme/TumorImmune-v2", rtol=r) for r in (None, 1e-8)]
    assert [e.unwrapped.core.stepper.rtol for e in envs] == [1e-6, 1e-8]
    rng = np.random.default_rng(0)
    actions = rng.uniform(0, 1, (20, 3)).astype(np.float32)
    infos = []
    for e in envs:
        e.reset(seed=5)
        for a in actions:
            _, _, terminated, _, info = e.step(a)
            if terminated:
                break
        infos.append(info)
    assert infos[0]["day"] == infos[1]["day"]
    assert infos[0]["tumour_cells"] == pytest.approx(infos[1]["tumour_cells"], rel=1e-4)
    assert infos[0]["anc"] == pytest.approx(infos[1]["anc"], rel=1e-4)
