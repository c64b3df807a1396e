"""Normalisation travels inside the model file, and every loader applies it."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import yaml
from stable_baselines3.common.vec_env import VecNormalize

from tme_env.agents import load_sb3_model
from tme_env.agents.algos import load_hyperparams
from tme_env.agents.loader import model_info
from tme_env.agents.normalize import (
    ENTRY,
    NormalizedModel,
    ObsNormalization,
    normalize_settings,
    read_normalization,
)
from tme_env.agents.train import TrainConfig, train
from tme_env.agents.vec_env import make_sb3_vec_env

ENV = "tme/TumorImmuneClinical-v2"


def _stepped_vec_normalize(steps: int = 40) -> VecNormalize:
    vn = VecNormalize(make_sb3_vec_env(ENV, n_envs=4, seed=3), gamma=0.999)
    vn.reset()
    rng = np.random.default_rng(0)
    for _ in range(steps):
        vn.step(rng.random((4, 3)).astype(np.float32))
    return vn


def test_normalize_is_vec_normalize_bit_for_bit_after_a_json_round_trip():
    vn = _stepped_vec_normalize()
    stats = ObsNormalization.from_json(ObsNormalization.from_vec_normalize(vn).to_json())
    np.testing.assert_array_equal(stats.mean, vn.obs_rms.mean)
    np.testing.assert_array_equal(stats.var, vn.obs_rms.var)
    obs = vn.get_original_obs()
    assert not np.allclose(stats.var, 1.0)  # the statistics moved: the check can fail
    got, want = stats.normalize(obs), vn.normalize_obs(obs)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def test_bad_normalize_settings_name_the_value(tmp_path):
    assert normalize_settings(None, 0.99) is None and normalize_settings(False, 0.99) is None
    assert normalize_settings(True, 0.9) == {"norm_obs": True, "norm_reward": True, "gamma": 0.9}
    assert normalize_settings({"norm_reward": False}, 0.99)["norm_reward"] is False
    with pytest.raises(ValueError, match="unknown key 'norm_ob'"):
        normalize_settings({"norm_ob": True}, 0.99)
    with pytest.raises(ValueError, match="clip_obs must be a finite number > 0, got nan"):
        normalize_settings({"clip_obs": float("nan")}, 0.99)
    with pytest.raises(ValueError, match="must be true, false or a mapping"):
        normalize_settings("yes", 0.99)
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"default": {"normalize": {"norm_obs": 1}}}))
    with pytest.raises(ValueError, match=r"bad.yml: hyperparameter 'normalize'.norm_obs must be"):
        load_hyperparams("ppo", ENV, str(bad))


def test_malformed_entry_is_a_clear_error(tmp_path):
    f = tmp_path / "m.zip"
    with zipfile.ZipFile(f, "w") as zf:
        zf.writestr(ENTRY, '{"format": 1, "mean": [0.0]}')
    with pytest.raises(ValueError, match="not a tme normalisation record"):
        read_normalization(f)


@pytest.fixture(scope="module")
def normalized_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("norm")
    cfg_file = out / "ppo.yml"
    cfg_file.write_text(yaml.safe_dump({"default": {
        "n_envs": 4, "n_steps": 16, "batch_size": 32, "normalize": {"norm_reward": False}}}))
    run = train(TrainConfig(algo="ppo", env_id=ENV, timesteps=128, seed=1,
                            config_file=str(cfg_file), out=str(out / "runs"), eval_patients=4,
                            progress=False, checkpoint_every=64))  # fmt: skip
    return run


def test_trained_model_carries_its_statistics_and_loads_normalized(normalized_run):
    run = normalized_run
    recorded = yaml.safe_load((run / "config.yml").read_text())["hyperparameters"]
    assert recorded["normalize"] == {"norm_obs": True, "norm_reward": False}
    for f in [run / "model.zip", *sorted((run / "checkpoints").glob("*.zip"))]:
        assert read_normalization(f) is not None, f
    assert model_info(run / "model.zip")["normalized"] is True
    stats = read_normalization(run / "model.zip")
    assert stats.count > 100 and not stats.norm_reward

    model = load_sb3_model(run / "model.zip")
    assert isinstance(model, NormalizedModel)
    full = load_sb3_model(run / "model.zip", trusted=True)  # SB3's own load: also wrapped
    assert isinstance(full, NormalizedModel)
    venv = make_sb3_vec_env(ENV, n_envs=6, seed=11)
    obs = venv.reset()
    act, _ = model.predict(obs, deterministic=True)
    # the same network on the normalised observation, and not on the raw one
    direct, _ = model.model.predict(stats.normalize(obs), deterministic=True)
    np.testing.assert_array_equal(act, direct)
    np.testing.assert_array_equal(act, full.predict(obs, deterministic=True)[0])
    raw, _ = model.model.predict(obs, deterministic=True)
    assert not np.array_equal(act, raw)


def test_resume_restores_the_statistics(normalized_run, tmp_path):
    ckpt = normalized_run / "checkpoints" / "model_64_steps.zip"
    before = read_normalization(ckpt)
    run = train(TrainConfig(algo="ppo", env_id=ENV, timesteps=64, seed=1, resume=str(ckpt),
                            out=str(tmp_path / "resumed"), eval_patients=4, progress=False,
                            checkpoint_every=10**6), trusted=True)  # fmt: skip
    after = read_normalization(run / "model.zip")
    # continued from the checkpoint's counts (+ the 4 reset observations and 64 steps), not
    # from a fresh VecNormalize's
    assert after.count == pytest.approx(before.count + 4 + 64)
    assert before.count == pytest.approx(4 + 64, abs=0.01)
