"""Loading trained models: the run folder's recorded algorithm, a bare zip's guessed one."""

from __future__ import annotations

import shutil

import pytest
import yaml
from stable_baselines3 import A2C, PPO

from tme_env.agents import make_sb3_vec_env
from tme_env.agents.loader import load_sb3_model, recorded_algo
from tme_env.agents.normalize import NormalizedModel
from tme_env.agents.train import TrainConfig, train


def _venv():
    return make_sb3_vec_env("tme/TumorImmune-v2", n_envs=4, seed=0, cohort_size=8)


def test_a_run_folder_loads_with_its_recorded_algorithm(tmp_path):
    # A2C with Adam stores neither RMSprop nor clip_range: its zip alone cannot be recognised.
    hyper = tmp_path / "a2c_adam.yml"
    hyper.write_text(yaml.safe_dump({"default": {"n_envs": 4, "use_rms_prop": False}}))
    run = train(TrainConfig(algo="a2c", timesteps=64, eval_every=10**9, eval_patients=4,
                            checkpoint_every=32, config_file=str(hyper),
                            out=str(tmp_path / "runs"), progress=False))  # fmt: skip
    assert yaml.safe_load((run / "config.yml").read_text())["train"]["algo"] == "a2c"
    checkpoint = sorted((run / "checkpoints").glob("*.zip"))[-1]
    for path in (run / "model.zip", checkpoint):
        assert recorded_algo(path) == "a2c"
        model = load_sb3_model(str(path))  # A2C normalises its observations by default
        assert isinstance(model, NormalizedModel) and type(model.model) is A2C
    bare = tmp_path / "bare" / "model.zip"
    bare.parent.mkdir()
    shutil.copy(run / "model.zip", bare)
    assert recorded_algo(bare) is None
    with pytest.raises(ValueError, match="unknown algorithm"):
        load_sb3_model(str(bare))


def test_a_bare_zip_is_guessed_from_the_archive(tmp_path):
    path = tmp_path / "ppo.zip"
    PPO("MlpPolicy", _venv(), n_steps=8, batch_size=32, device="cpu").save(path)
    assert recorded_algo(path) is None
    assert type(load_sb3_model(str(path))) is PPO
    (tmp_path / "config.yml").write_text("note: not a run folder\n")  # no train.algo: still bare
    assert type(load_sb3_model(str(path))) is PPO


def test_a_recorded_algorithm_wins_over_the_guess(tmp_path):
    A2C("MlpPolicy", _venv(), n_steps=8, device="cpu").save(tmp_path / "model.zip")
    (tmp_path / "config.yml").write_text(yaml.safe_dump({"train": {"algo": "ppo"}}))
    assert recorded_algo(tmp_path / "model.zip") == "ppo"
    (tmp_path / "config.yml").write_text(yaml.safe_dump({"train": {"algo": "ppo2"}}))
    with pytest.raises(ValueError, match="unknown algorithm 'ppo2'"):
        load_sb3_model(str(tmp_path / "model.zip"))


def test_not_a_model_archive_is_a_clean_error(tmp_path):
    path = tmp_path / "model.zip"
    path.write_text("not a zip")
    (tmp_path / "config.yml").write_text(yaml.safe_dump({"train": {"algo": "ppo"}}))
    with pytest.raises(ValueError, match="not a stable-baselines3 model archive"):
        load_sb3_model(str(path))
