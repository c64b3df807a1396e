"""The tme Gymnasium environments: checkers, determinism, episode semantics, bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import tme_env  # noqa: F401 - registers the ids
from tme_env import clinical
from tme_env.envs import ENV_IDS, INFO_KEYS
from tme_env.patients import cohort

SMALL = {"cohort_size": 16}


def kw(env_id: str) -> dict:
    """Small-cohort kwargs for the tme ids (the de Pillis env has one nominal patient)."""
    return SMALL if env_id.startswith("tme/TumorImmune") else {}


@pytest.mark.parametrize("env_id", list(ENV_IDS))
def test_gymnasium_and_sb3_checkers(env_id):
    env = gym.make(env_id, **kw(env_id))
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped, warn=False)
    assert env.spec.max_episode_steps == (600 if "DePillis" in env_id else 261)


@pytest.mark.parametrize("env_id", list(ENV_IDS))
def test_same_seed_gives_identical_trajectories(env_id):
    def rollout():
        env = gym.make(env_id, **kw(env_id))
        env.action_space.seed(3)
        out = [env.reset(seed=7)]
        for _ in range(30):
            out.append(env.step(env.action_space.sample()))
        return out

    assert data_equivalence(rollout(), rollout(), exact=True)


def test_info_has_the_same_finite_keys_at_reset_and_step():
    env = gym.make("tme/TumorImmuneClinical-v2", **SMALL)
    _, info = env.reset(seed=0)
    assert tuple(info) == INFO_KEYS
    _, _, _, _, info2 = env.step(np.array([1.0, 1.0, 1.0], dtype=np.float32))
    assert tuple(info2) == INFO_KEYS
    assert all(np.isfinite(v) for v in info2.values())
    parts = [k for k in INFO_KEYS if k.startswith("reward_")]
    _, reward, *_ = env.step(np.zeros(3, dtype=np.float32))
    _, reward, _, _, info3 = env.step(np.zeros(3, dtype=np.float32))
    assert reward == pytest.approx(sum(info3[k] for k in parts))


def test_chemo_raises_mdscs_and_lowers_neutrophils():
    env = gym.make("tme/TumorImmune-v2", **SMALL)
    _, info0 = env.reset(seed=0, options={"patient": 0})
    _, _, _, _, info1 = env.step(np.array([1.0, 0.0, 0.0], dtype=np.float32))
    assert info1["blood_mdsc_per_ul"] > 1.5 * info0["blood_mdsc_per_ul"]
    assert info1["anc"] < info0["anc"]
    assert info1["dose_chemo"] == 1.0


def test_reset_picks_a_named_patient():
    env = gym.make("tme/TumorImmune-v2", **SMALL)
    c = cohort("train", 16)
    _, a = env.reset(seed=0, options={"patient": "train-0005"})
    assert a["tumour_cells"] == pytest.approx(c[5].tumour_burden)
    _, b = env.reset(options={"patient": c[5]})
    assert b["tumour_cells"] == a["tumour_cells"]


@pytest.mark.parametrize(
    ("action", "pattern"),
    [
        (np.array([np.nan, 0, 0], dtype=np.float32), "finite"),
        (np.array([np.inf, 0, 0], dtype=np.float32), "finite"),
        (np.array([1.5, 0, 0], dtype=np.float32), r"\[0, 1\].*got 1.5"),
        (np.array([-0.2, 0, 0], dtype=np.float32), r"\[0, 1\].*got -0.2"),
        (np.zeros(2, dtype=np.float32), r"shape \(3,\)"),
    ],
)
def test_bad_actions_raise(action, pattern):
    env = gym.make("tme/TumorImmune-v2", **SMALL).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match=pattern):
        env.step(action)


def test_discrete_action_validation_and_levels():
    env = gym.make("tme/TumorImmuneDiscrete-v2", **SMALL).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"integer in \[0, 11\]"):
        env.step(12)
    *_, info = env.step(11)
    assert (info["dose_chemo"], info["dose_anti_pd1"], info["dose_inhibitor"]) == (1.0, 1.0, 1.0)


def test_episode_protocol_errors():
    env = gym.make("tme/TumorImmune-v2", **SMALL).unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(seed=0, options={"patinet": 1})
    with pytest.raises(ValueError, match="unknown patient 'nobody'"):
        env.reset(seed=0, options={"patient": "nobody"})
    with pytest.raises(ValueError, match="unknown observation 'pixels'"):
        gym.make("tme/TumorImmune-v2", observation="pixels")


def test_untreated_patient_dies_and_the_episode_terminates():
    env = gym.make("tme/TumorImmune-v2", **SMALL)
    env.reset(seed=0, options={"patient": 1})  # a patient the untreated tumour kills
    was_progressed = 0.0
    for _ in range(261):
        was_progressed = env.unwrapped.core.info_row(0)["progressed"]
        _, reward, terminated, truncated, info = env.step(np.zeros(3, dtype=np.float32))
        if terminated or truncated:
            break
    assert terminated and info["dead"] == 1.0
    # No death penalty (v2): the death step still counts, the patient was alive at its start.
    assert "reward_death" not in info
    u = clinical.QTWIST_UTILITY_REL if was_progressed else 1.0
    assert reward <= 7.0 / clinical.DAYS_PER_MONTH + 1e-12
    assert reward >= 7.0 * min(u, clinical.QTWIST_UTILITY_REL) / clinical.DAYS_PER_MONTH - 1e-12
    with pytest.raises(RuntimeError):
        env.step(np.zeros(3, dtype=np.float32))


def test_render_returns_an_image():
    env = gym.make("tme/TumorImmune-v2", render_mode="rgb_array", **SMALL)
    env.reset(seed=0)
    env.step(np.array([1.0, 0.0, 0.0], dtype=np.float32))
    img = env.render()
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8


@settings(max_examples=25, deadline=None)
@given(
    patient=st.integers(0, 15),
    actions=st.lists(st.tuples(*[st.floats(0.0, 1.0, width=32)] * 3), min_size=1, max_size=25),
)
def test_any_in_range_actions_keep_states_valid(patient, actions):
    env = gym.make("tme/TumorImmuneClinical-v2", **SMALL).unwrapped
    env.reset(seed=patient, options={"patient": patient})
    for a in actions:
        obs, reward, terminated, _, info = env.step(np.array(a, dtype=np.float32))
        assert np.all(np.isfinite(obs)) and np.isfinite(reward)
        assert tuple(info) == INFO_KEYS and all(np.isfinite(v) for v in info.values())
        assert np.all(env.core.state.y >= -1e-3)  # populations never meaningfully negative
        assert env.observation_space.contains(obs)
        if terminated:
            break


def test_compiled_info_agrees_with_the_clinical_readouts():
    from tme_env import clinical

    env = gym.make("tme/TumorImmune-v2", **SMALL).unwrapped
    env.reset(seed=0, options={"patient": 3})
    for a in ([1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.5, 0.5, 0.0]):
        *_, info = env.step(np.array(a, dtype=np.float32))
        y = dict(zip(tme_env.models.get("tme").state_names, env.core.state.y[0], strict=True))
        burden = y["S"] + y["R"]
        assert info["tumour_cells"] == burden
        assert info["diameter_mm"] == pytest.approx(float(clinical.diameter_mm(burden)))
        anc_index = tme_env.models.get("tme").state_names.index("ANC")
        daily_anc = env.core.stepper.outputs[0, anc_index, 1:]
        assert info["anc_nadir"] == daily_anc.min() <= info["anc"]
        assert info["neutropenia_grade"] == float(clinical.neutropenia_grade(daily_anc.min()))
        assert info["blood_mdsc_per_ul"] == pytest.approx(float(clinical.blood_mdsc_per_ul(y["M"])))
        hot = float(clinical.hotness(env.core.state.y[0], env.core.stepper.params[0]))
        assert info["hotness"] == pytest.approx(hot) and info["is_hot"] == float(hot >= 0.5)


def test_every_env_config_field_is_reachable_from_gym_make():
    import dataclasses

    from tme_env.envs import EnvConfig

    overrides = {"imaging_cv": 0.3, "anc_cv": 0.0, "mdsc_cv": 0.2, "biopsy_every_steps": 2,
                 "biopsy_cv": 0.0, "rtol": 1e-7, "reward": {"hotness": 2.0}}  # fmt: skip
    env = gym.make("tme/TumorImmuneClinical-v2", **SMALL, **overrides).unwrapped
    for name, value in overrides.items():
        got = getattr(env.config, name)
        assert (dataclasses.asdict(got) | value == dataclasses.asdict(got)) if name == "reward" \
            else got == value, name  # fmt: skip
    assert env.config.reward.hotness == 2.0 and env.core.stepper.rtol == 1e-7
    names = {f.name for f in dataclasses.fields(EnvConfig)}
    doc = type(env).__doc__
    assert all(f"`{n}`" in doc for n in names)  # the Arguments table comes from the fields
    with pytest.raises(ValueError, match=r"unknown env arguments \['imaging_sd'\]; valid: "):
        gym.make("tme/TumorImmune-v2", imaging_sd=0.1)
    with pytest.raises(ValueError, match=r"unknown reward weights \['tox'\]"):
        gym.make("tme/TumorImmune-v2", reward={"tox": 1.0})
    with pytest.raises(ValueError, match="imaging_cv must be finite and >= 0, got 'high'"):
        gym.make("tme/TumorImmune-v2", imaging_cv="high")


def test_zero_noise_clinical_observation_reads_the_state_by_field_name():
    from tme_env import clinical
    from tme_env.envs import observation_fields

    f = observation_fields("clinical")
    env = gym.make("tme/TumorImmuneClinical-v2", **SMALL, imaging_cv=0.0, anc_cv=0.0,
                   mdsc_cv=0.0, biopsy_cv=0.0).unwrapped  # fmt: skip
    env.reset(seed=0, options={"patient": 1})
    obs, *_, info = env.step(np.array([1.0, 0.0, 0.0], dtype=np.float32))
    burden = max(info["tumour_cells"], clinical.DETECTION_LIMIT_CELLS)
    assert obs[f.imaging_log10_burden] == pytest.approx(np.log10(burden), rel=1e-6)
    assert info["imaging_tumour_cells"] == pytest.approx(burden, rel=1e-9)
    assert obs[f.anc] == pytest.approx(info["anc"], rel=1e-6)
    assert obs[f.last_chemo] == 1.0 and obs[f.time_fraction] == pytest.approx(7.0 / 1827.0)
    with pytest.raises(ValueError, match="unknown observation 'partial'"):
        observation_fields("partial")


def test_full_observation_fields_name_the_states():
    from tme_env.envs import FULL_OBSERVATION, observation_fields

    f = observation_fields("full")
    assert len(FULL_OBSERVATION) == 23 and f.log10_S == 0 and f.anc == 14
    env = gym.make("tme/TumorImmune-v2", **SMALL).unwrapped
    obs, info = env.reset(seed=0)
    assert obs[f.log10_S] == pytest.approx(np.log10(1 + env.core.state.y[0, 0]), rel=1e-6)
    assert info["imaging_tumour_cells"] == info["tumour_cells"]  # the full mode sees it exactly


def test_env_state_fields_are_views_of_the_packed_state_arrays():
    from tme_env.envs import EnvConfig, TumorImmuneCore
    from tme_env.envs.state import (
        CHART,
        CHART_INT,
        CHART_INT_ROWS,
        CHART_ROWS,
        FLOAT_ROWS,
        INT_ROWS,
        EnvState,
    )

    core = TumorImmuneCore(3, EnvConfig(cohort_size=3))
    y, last, measured, f, i = core.state_arrays
    s = core.state
    named = set(FLOAT_ROWS) - set(CHART_ROWS) | set(INT_ROWS) - set(CHART_INT_ROWS)
    assert named | {"y", "last_doses", "measured", "chart", "chart_int"} == set(EnvState._fields)
    for row, name in enumerate(FLOAT_ROWS):
        view = s.chart[CHART[name]] if name in CHART_ROWS else getattr(s, name)
        assert np.shares_memory(view, f[row]) and view.dtype == f.dtype
        view[0] = 7.0
        assert f[row, 0] == 7.0
    for row, name in enumerate(INT_ROWS):
        view = s.chart_int[CHART_INT[name]] if name in CHART_INT_ROWS else getattr(s, name)
        assert np.shares_memory(view, i[row]) and view.dtype == np.int64
    assert s.y is y and s.last_doses is last and s.measured is measured
    s.reset_slot(1, y[0])
    assert s.chart[CHART.pfs_day, 1] == -1.0 and s.chart[CHART.img_nadir, 1] == 0.0


def test_single_env_step_table_records_the_cores_own_arrays():
    from tme_env.simulator import table

    env = gym.make("tme/TumorImmune-v2")
    env.reset(seed=0)
    for _ in range(30):
        *_, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    core = env.unwrapped.core
    assert env.unwrapped._doses is core.dose_buffer
    if not table.AVAILABLE:  # NUMBA_DISABLE_JIT=1: step_one passes the arrays themselves
        assert core._table is None
        return
    _, _, fbuf, ibuf, _, _, *rest = core._step_args
    expected = (core._all_active, core.dose_buffer, core._reward1, core._terminated1, fbuf,
                ibuf, *rest)  # fmt: skip
    assert len(core._table.arrays) == len(expected)
    assert all(a is b for a, b in zip(core._table.arrays, expected, strict=True))
    assert all(
        core._table.table[table.RECORD * k] == a.ctypes.data for k, a in enumerate(expected)
    )


def test_step_one_on_the_dose_buffer_equals_the_batched_step():
    from tme_env.envs import EnvConfig, TumorImmuneCore

    cores = [TumorImmuneCore(1, EnvConfig(cohort_size=4)) for _ in range(2)]
    rngs = [np.random.default_rng(7) for _ in range(2)]
    for core, rng in zip(cores, rngs, strict=True):
        core.set_patient(0, 2, [rng])
    doses = np.random.default_rng(1).random((12, 1, 3))
    for d in doses:
        cores[0].dose_buffer[...] = d
        a = cores[0].step_one(rngs[0])  # the lean path: the table of addresses
        reward, terminated, info = cores[1].step(d.copy(), [rngs[1]])  # the batched path
        assert a == (reward[0], terminated[0])
        assert cores[0].info_row(0) == {k: v[0] for k, v in info.items()}
    assert np.array_equal(cores[0].state.y, cores[1].state.y)


def test_step_table_is_recorded_in_its_declared_order():
    from tme_env.envs.core import STEP_SCALARS, STEP_TABLE
    from tme_env.simulator import table

    core = gym.make("tme/TumorImmune-v2").unwrapped.core
    if not table.AVAILABLE:
        return
    names = [name for name, _, _ in STEP_TABLE]
    assert names[:4] == ["active", "doses", "reward", "terminated"]
    assert names[-5:] == ["y", "last_doses", "measured", "float_rows", "int_rows"]
    assert core._table.arrays[names.index("doses")] is core.dose_buffer
    assert core._table.arrays[names.index("cfg")] is core._cfg
    for (name, kind, ndim), a in zip(STEP_TABLE, core._table.arrays, strict=True):
        assert (str(a.dtype), a.ndim) == (kind, ndim), name
    scalars = core._table.table[table.RECORD * len(STEP_TABLE) :]
    assert len(scalars) == len(STEP_SCALARS)
    assert scalars[STEP_SCALARS.index("full")] == 1


@pytest.mark.parametrize("old", ["tme/TumorImmune-v1", "tme/TumorImmuneClinical-v1",
                                 "tme/TumorImmuneDiscrete-v1", "tme/TumorImmune-v0"])  # fmt: skip
def test_retired_ids_fail_naming_the_v2_id(old):
    """v1 (and v0) are no longer registered: gym.make names the current v2 id."""
    new = old.rsplit("-", 1)[0] + "-v2"
    with pytest.raises(gym.error.DeprecatedEnv, match=f"deprecated. Please use `{new}`"):
        gym.make(old)
