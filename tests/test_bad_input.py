"""Bad input gets a named error (issue 16, items 2 and 7): actions, env arguments, reset options."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tme_env
from tme_env.envs import ENV_IDS

SMALL = {"cohort_size": 8}
IDS = list(ENV_IDS)


def _kwargs(env_id: str) -> dict:
    return {} if "DePillis" in env_id else SMALL


def _single(env_id: str) -> gym.Env:
    env = gym.make(env_id, **_kwargs(env_id)).unwrapped
    env.reset(seed=0)
    return env


def _vector(env_id: str, n: int = 2) -> gym.vector.VectorEnv:
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                        **_kwargs(env_id))  # fmt: skip
    venv.reset(seed=0)
    return venv


def _good(env_id: str, n: int | None = None) -> np.ndarray:
    single = _single(env_id).action_space
    a = np.asarray(single.sample())
    return a if n is None else np.stack([a] * n)


NON_REAL = {
    "complex": lambda a: a.astype(complex) + 0.5j,
    "bool": lambda a: np.ones(a.shape, dtype=bool),
    "object": lambda a: a.astype(object),
    "str": lambda a: a.astype(str),
}


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("kind", list(NON_REAL))
def test_every_non_real_dtype_is_refused_naming_it_single_and_vector(env_id, kind):
    env, venv = _single(env_id), _vector(env_id)
    for target, action in ((env, _good(env_id)), (venv, _good(env_id, 2))):
        with pytest.raises(TypeError, match=rf"must be .*got dtype .*{kind[:3]}"):
            target.step(NON_REAL[kind](action))
    if "Discrete" in env_id:  # a float is not a discrete action either; a Python bool is not
        with pytest.raises(TypeError, match="got dtype float64"):
            env.step(3.0)
        with pytest.raises(TypeError, match="got dtype bool"):
            env.step(True)


@pytest.mark.parametrize("env_id", IDS)
def test_every_ragged_or_wrong_shape_is_refused_naming_the_shape(env_id):
    env, venv = _single(env_id), _vector(env_id)
    discrete = "Discrete" in env_id
    singles = [[0, 1], [[0]]] if discrete else [[[0.5], [0.5, 0.2]], [0.5] * 7, [[0.5]]]
    batches = [[[0], [0, 1]], [0, 1, 2]] if discrete else [[[0.5], [0.5, 0.2]],
                                                        np.zeros((3, 1)), [[0.5]]]  # fmt: skip
    for action in singles:
        with pytest.raises(ValueError, match=r"^action must have shape"):
            env.step(action)
    for actions in batches:
        with pytest.raises(ValueError, match=r"^actions must have shape"):
            venv.step(actions)


@settings(max_examples=40, deadline=None)
@given(
    dtype=st.sampled_from(["bool", "complex64", "complex128", "object", "U3", "S3"]),
    value=st.floats(0, 1),
)
def test_hypothesis_dtypes_are_refused_by_the_box_envs(dtype, value):
    env = _ENV_CACHE.setdefault("env", _single("tme/DePillis2003Chemo-v0"))
    action = np.array([value]).astype(dtype)
    with pytest.raises(TypeError, match="must be real numbers"):
        env.step(action)


_ENV_CACHE: dict = {}


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")
@settings(max_examples=40, deadline=None)
@given(value=st.floats(allow_nan=True, allow_infinity=True), dtype=st.sampled_from(["f4", "f8"]))
def test_hypothesis_real_values_are_doses_or_value_errors(value, dtype):
    env = _ENV_CACHE.setdefault("env", _single("tme/DePillis2003Chemo-v0"))
    env.reset(seed=0)
    action = np.array([value], dtype=dtype)
    v = float(action[0])
    if math.isfinite(v) and -1e-6 <= v <= 1 + 1e-6:
        env.step(action)
    else:
        with pytest.raises(ValueError, match="action"):
            env.step(action)


TME = next(i for i in IDS if i.startswith("tme/TumorImmune") and "Clinical" not in i
           and "Discrete" not in i)  # fmt: skip
DISCRETE = next(i for i in IDS if "Discrete" in i)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"reward": {"qtwist": math.nan}}, r"reward weight 'qtwist' must be a finite number"),
        ({"reward": {"tumour": math.inf}}, r"reward weight 'tumour' must be a finite number"),
        ({"reward": [1, 2]}, r"reward must be a dict of reward weights"),
        ({"cohort_size": 10**9}, r"cohort_size must be at most 100,000"),
        ({"discrete": "no"}, r"discrete must be True or False, got 'no'"),
    ],
)
def test_env_arguments_are_checked(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        gym.make(TME, **kwargs)


def test_vector_arguments_and_reset_options_are_checked():
    with pytest.raises(ValueError, match=r"num_envs must be an integer >= 1, got 2.7"):
        gym.make_vec(TME, num_envs=2.7, vectorization_mode="vector_entry_point", **SMALL)
    from tme_env.envs.vector import TumorImmuneVectorEnv

    with pytest.raises(ValueError, match=r"max_episode_steps must be None or an integer >= 1"):
        TumorImmuneVectorEnv(num_envs=2, max_episode_steps=0, **SMALL)
    venv = _vector(TME)
    for bad, pattern in ((-1, r"patients\[0\] index -1 out of range \[0, 8\)"),
                         (10**6, r"patients\[0\] index 1000000 out of range"),
                         ("nosuch", r"unknown patients\[0\] 'nosuch'"),
                         (1.5, r"patients\[0\] must be a cohort index"),
                         (True, r"patients\[0\] must be a cohort index")):  # fmt: skip
        with pytest.raises(ValueError, match=pattern):
            venv.reset(seed=0, options={"patients": [bad, 0]})
    with pytest.raises(ValueError, match=r"must be a sequence of 2 patients"):
        venv.reset(seed=0, options={"patients": "ab"})


@pytest.mark.parametrize(("state", "value", "pattern"), [
    ("S", math.nan, "must be finite and >= 0"), ("S", math.inf, "must be finite and >= 0"),
    ("E", -5.0, "must be finite and >= 0"), ("S", 1e300, "outside the observation space"),
])  # fmt: skip
def test_a_virtual_patient_with_a_bad_initial_state_is_refused(state, value, pattern):
    import dataclasses

    env = gym.make(TME, **SMALL).unwrapped
    patient = env.core.cohort[0] if hasattr(env.core.cohort, "__getitem__") else None
    if patient is None:  # pragma: no cover - cohorts are indexable
        pytest.skip("cohort not indexable")
    bad = dataclasses.replace(patient, initial_state={**patient.initial_state, state: value})
    with pytest.raises(ValueError, match=rf"initial {state}.*{pattern}"):
        env.reset(seed=0, options={"patient": bad})
    env.reset(seed=0, options={"patient": patient})  # the unchanged patient is fine


def test_simulator_inputs_that_were_accepted_silently():
    with pytest.raises(ValueError, match=r"t_eval must be a 1-D sequence of days \(numbers\)"):
        tme_env.simulate("depillis2003", t_eval=["0", "1"])
    with pytest.raises(ValueError, match=r"params must be a sequence with one entry per patient"):
        tme_env.simulate_batch("depillis2003", t_eval=[0, 1], params={"a2": 0.3})
    with pytest.raises(ValueError, match=r"infusion #0 starts on day -5.0, before the first"):
        tme_env.simulate("depillis2003", t_eval=[0, 1], infusions=[(-5, 1, {"v": 1})])
    with pytest.raises(tme_env.SimulationError, match=r"max_steps=3.*; state at t=0 days: N=1"):
        tme_env.simulate("depillis2003", t_eval=[0, 100], max_steps=3)


def test_after_a_simulation_error_the_vector_env_names_the_slot_and_asks_for_reset():
    venv = _vector(TME, 2).unwrapped
    venv.core.stepper.max_steps = 1
    with pytest.raises(tme_env.SimulationError, match=r"patient '[\w-]+' \(slot 0\)"):
        venv.step(_good(TME, 2))
    with pytest.raises(RuntimeError, match=r"the last step failed .*call reset\(\)"):
        venv.step(_good(TME, 2))
    venv.core.stepper.max_steps = 10**6
    venv.reset(seed=0)
    venv.step(_good(TME, 2))  # a reset starts new episodes


def test_discrete_id_refuses_out_of_range_with_the_range():
    env = _single(DISCRETE)
    with pytest.raises(ValueError, match=r"action must be an integer in \[0, 11\], got 12"):
        env.step(12)


# --- issue 29, item 10: the env parts ----------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{"horizon_days": 70.0},
                                    {"decision_interval_days": 14.0, "horizon_days": 100.0}])
def test_a_shorter_horizon_truncates_there_and_stays_in_the_space(kwargs):
    env = gym.make("tme/TumorImmuneClinical-v2", **SMALL, **kwargs)
    steps = env.unwrapped.config.max_episode_steps
    obs, _ = env.reset(seed=0)
    for k in range(1, 300):
        obs, _, terminated, truncated, _ = env.step(np.array([0.0, 1.0, 0.0], np.float32))
        assert env.observation_space.contains(obs), (k, obs)
        if terminated or truncated:
            break
    assert (k, truncated) == (steps, True)
    venv = gym.make_vec("tme/TumorImmune-v2", 2, vectorization_mode="vector_entry_point",
                        **SMALL, **kwargs)  # fmt: skip
    assert venv.max_episode_steps == steps  # not the id's 261


def test_reset_options_that_are_not_a_dict_are_named():
    env = gym.make("tme/TumorImmune-v2", **SMALL)
    for bad in ([1], "patient", 3):
        with pytest.raises(ValueError, match=r"options must be None or a dict with keys patient"):
            env.reset(options=bad)
    dp = gym.make("tme/DePillis2003Chemo-v0")
    with pytest.raises(ValueError, match=r"options must be None or a dict with keys , got"):
        dp.reset(options=[1])
    with pytest.raises(ValueError, match=r"unknown reset options \['x'\]; valid: none"):
        dp.reset(options={"x": 1})
    venv = gym.make_vec("tme/TumorImmune-v2", 2, vectorization_mode="vector_entry_point", **SMALL)
    with pytest.raises(ValueError, match=r"options must be None or a dict with keys patients"):
        venv.reset(options=("patients",))


def test_vector_seeds_are_integers_and_step_needs_a_reset():
    venv = gym.make_vec("tme/TumorImmune-v2", 2, vectorization_mode="vector_entry_point", **SMALL)
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        venv.step(np.zeros((2, 3)))
    for bad, what in ((1.5, "seed"), (True, "seed"), (-1, "seed"), ([0, 2.5], r"seed\[1\]")):
        with pytest.raises(ValueError, match=rf"{what} must be None or an integer >= 0, got"):
            venv.reset(seed=bad)
    venv.reset(seed=np.int64(3))
    venv.step(np.zeros((2, 3)))


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"decision_interval_days": True}, "decision_interval_days must be a finite number > 0, "
                                       "got True"),
    ({"decision_interval_days": 200.0}, r"decision_interval_days \(200.0\) must not exceed"),
    ({"horizon_days": "150"}, "horizon_days must be a finite number > 0, got '150'"),
])  # fmt: skip
def test_depillis_interval_and_horizon_are_checked(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        gym.make("tme/DePillis2003Chemo-v0", **kwargs)


def test_depillis_vector_env_refuses_a_ragged_action():
    venv = gym.make_vec("tme/DePillis2003Chemo-v0", 2, vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must have shape \(2, 1\), got a ragged"):
        venv.step([[0.5], [0.1, 0.2]])
