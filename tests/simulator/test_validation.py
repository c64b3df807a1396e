"""Every bad input gives a ValueError that names the bad item and lists the valid ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tme_env

T = np.linspace(0, 10, 11)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"initial_state": {"X": 1.0}}, r"unknown state 'X'.*valid states: N, T, I, u"),
        ({"initial_state": {"T": math.nan}}, r"state 'T' must be finite, got nan"),
        ({"initial_state": {"T": -0.1}}, r"state 'T' must lie in \[0.0, inf\], got -0.1"),
        ({"initial_state": {"T": "big"}}, r"state 'T' must be a real number, got 'big'"),
        ({"initial_state": [1.0, 2.0]}, r"initial_state must be a mapping"),
        ({"params": {"a9": 1.0}}, r"unknown parameter 'a9'.*valid parameters: a1, a2, a3, b1"),
        ({"params": {"a2": math.nan}}, r"parameter 'a2' must be finite, got nan"),
        ({"params": {"a2": -1.0}}, r"parameter 'a2' must lie in \[0.0, inf\], got -1.0"),
        ({"params": [0.3]}, r"params must be a mapping"),
        ({"infusions": [(0, 5, {"w": 1.0})]}, r"infusion #0: unknown input 'w'; valid inputs: v"),
        ({"infusions": [(5, 1, {"v": 1.0})]}, r"infusion #0: end_day 1.0 is before start_day 5.0"),
        ({"infusions": [(0, 5, {"v": math.nan})]}, r"infusion #0: input 'v' must be finite"),
        ({"infusions": [(0, 5, {"v": -2.0})]}, r"infusion #0: input 'v' must lie in"),
        ({"infusions": [(0, math.inf, {"v": 1.0})]}, r"infusion #0: end_day must be finite"),
        ({"infusions": [(0, 5)]}, r"infusion #0: expected \(start_day, end_day"),
        ({"infusions": {"v": 1.0}}, r"infusions must be a sequence"),
        ({"boluses": [(1.0, {"Q": 1.0})]}, r"bolus #0: unknown state 'Q'; valid states: N, T, I"),
        ({"boluses": [(1.0, {"u": -1.0})]}, r"bolus #0: state 'u' must lie in"),
        ({"boluses": [(math.nan, {"u": 1.0})]}, r"bolus #0: day must be finite"),
        ({"boluses": [(-1.0, {"u": 1.0})]}, r"bolus #0 on day -1.0 precedes the first output"),
        ({"rtol": 0.0}, r"rtol must lie in \(0, 1\)"),
        ({"rtol": math.nan}, r"rtol must be finite"),
        ({"atol": -1.0}, r"atol must lie in"),
        ({"atol": {"Z": 1e-9}}, r"atol: unknown state 'Z'; valid states: N, T, I, u"),
        ({"atol": [1e-9, 1e-9]}, r"atol must be a scalar, a mapping or shape \(4,\)"),
    ],
)
def test_bad_input_raises_value_error_naming_it(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        tme_env.simulate("depillis2003", t_eval=T, **kwargs)


@pytest.mark.parametrize(
    ("t_eval", "pattern"),
    [
        ([0.0, 2.0, 1.0], r"strictly increasing; t_eval\[1\]=2.0 is followed by t_eval\[2\]=1.0"),
        ([0.0, 1.0, 1.0], r"strictly increasing"),
        ([0.0, math.nan], r"t_eval must be finite, found nan"),
        ([], r"non-empty 1-D"),
        ([[0.0, 1.0]], r"1-D"),
        ("abc", r"t_eval must be a 1-D sequence"),
    ],
)
def test_bad_t_eval(t_eval, pattern):
    with pytest.raises(ValueError, match=pattern):
        tme_env.simulate("depillis2003", t_eval=t_eval)


def test_unknown_model_lists_available():
    with pytest.raises(ValueError, match=r"unknown model 'pillis'; available models: depillis2003"):
        tme_env.simulate("pillis", t_eval=T)
    with pytest.raises(ValueError, match=r"model must be a registered model name or a Model"):
        tme_env.simulate(42, t_eval=T)


def test_parameter_set_of_another_model_is_rejected():
    other = tme_env.models.get("depillis2013").default_parameters
    with pytest.raises(ValueError, match="needs DePillis2003Parameters"):
        tme_env.simulate("depillis2003", t_eval=T, params=other)


def test_trajectory_unknown_state_key():
    res = tme_env.simulate("depillis2003", t_eval=T)
    with pytest.raises(KeyError, match="valid states: N, T, I, u"):
        res["X"]


def test_registry_rejects_duplicates_and_non_models():
    m = tme_env.models.get("depillis2003")
    with pytest.raises(ValueError, match="already registered"):
        tme_env.models.register(m)
    with pytest.raises(ValueError, match="expects a Model"):
        tme_env.models.register("depillis2003")
