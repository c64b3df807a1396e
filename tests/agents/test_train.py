"""Training pipeline: config validation, run folder, TensorBoard tags, resume, seeding."""

from __future__ import annotations

import json

import pytest
import yaml

from tme_env.agents.algos import load_hyperparams
from tme_env.agents.train import TrainConfig, train

FAST = {"eval_patients": 16, "progress": False}


def _cfg(tmp_path, **kw):
    return TrainConfig(out=str(tmp_path / "runs"), **{**FAST, **kw})


def test_bad_configs_fail_at_start_naming_the_key(tmp_path):
    with pytest.raises(ValueError, match="unknown algorithm 'ppo2'"):
        load_hyperparams("ppo2", "tme/TumorImmune-v2")
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"default": {"learning_rat": 0.001}}))
    with pytest.raises(ValueError, match="unknown ppo hyperparameter 'learning_rat'"):
        load_hyperparams("ppo", "tme/TumorImmune-v2", str(bad))
    bad.write_text(yaml.safe_dump({"default": {"n_steps": "many"}}))
    with pytest.raises(ValueError, match="hyperparameter 'n_steps' must be int, got 'many'"):
        load_hyperparams("ppo", "tme/TumorImmune-v2", str(bad))
    bad.write_text(yaml.safe_dump({"CartPole-v1": {"n_steps": 8}}))
    with pytest.raises(ValueError, match="unknown block 'CartPole-v1'"):
        load_hyperparams("ppo", "tme/TumorImmune-v2", str(bad))
    with pytest.raises(ValueError, match="needs a discrete env"):
        train(_cfg(tmp_path, algo="dqn", timesteps=10))


def test_user_config_overrides_defaults(tmp_path):
    f = tmp_path / "my.yml"
    f.write_text(yaml.safe_dump({"default": {"n_envs": 4}, "tme/TumorImmune-v2": {"n_steps": 16}}))
    hp = load_hyperparams("ppo", "tme/TumorImmune-v2", str(f))
    assert hp["n_envs"] == 4 and hp["n_steps"] == 16 and hp["batch_size"] == 1024


def test_ppo_run_folder_tensorboard_and_same_seed_evaluation(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = [train(_cfg(tmp_path, timesteps=4096, eval_every=2048, seed=3)) for _ in range(2)]
    run = runs[0]
    for f in ("config.yml", "command.txt", "meta.json", "model.zip", "best_model.zip",
              "evaluation.json", "evaluations.json"):  # fmt: skip
        assert (run / f).exists(), f
    assert json.loads((run / "meta.json").read_text())["tme_env_version"]
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["train"]["algo"] == "ppo" and config["hyperparameters"]["n_envs"] == 64
    ea = EventAccumulator(str(next(run.glob("tb_*"))))
    ea.Reload()
    tags = set(ea.Tags()["scalars"])
    assert {"clinical/benchmark_score", "clinical/os_at_12mo",
            "clinical/grade3_neutropenia_rate", "clinical/fraction_time_hot"} <= tags  # fmt: skip
    first = [json.loads((r / "evaluations.json").read_text())[0] for r in runs]
    assert first[0] == first[1]  # same seed, same first evaluation


def test_resume_continues_the_step_count(tmp_path):
    run = train(_cfg(tmp_path, timesteps=2048, eval_every=10**9, checkpoint_every=1024))
    ckpt = sorted((run / "checkpoints").glob("*.zip"))[-1]
    resumed = train(_cfg(tmp_path, timesteps=2048, eval_every=10**9, resume=str(ckpt)),
                    trusted=True)  # the run's own checkpoint; resuming is a full (pickle) load
    steps = json.loads((resumed / "evaluation.json").read_text())["timesteps"]
    assert steps >= 2048 + 2048 - 64 * 64  # continued from the checkpoint's count


@pytest.mark.parametrize(
    ("algo", "env_id"),
    [("a2c", "tme/TumorImmune-v2"), ("sac", "tme/TumorImmune-v2"), ("td3", "tme/TumorImmune-v2"),
     ("dqn", "tme/TumorImmuneDiscrete-v2"), ("recurrentppo", "tme/TumorImmuneClinical-v2"),
     ("tqc", "tme/TumorImmune-v2"), ("qrdqn", "tme/TumorImmuneDiscrete-v2")],
)  # fmt: skip
def test_each_algorithm_trains(tmp_path, algo, env_id):
    small = tmp_path / "small.yml"
    overrides = {"sac": {"learning_starts": 200}, "td3": {"learning_starts": 200},
                 "tqc": {"learning_starts": 200}, "qrdqn": {"learning_starts": 200},
                 "dqn": {"learning_starts": 200}, "recurrentppo": {"n_envs": 8, "n_steps": 32,
                                                                   "batch_size": 128}}  # fmt: skip
    small.write_text(yaml.safe_dump({"default": overrides.get(algo, {})}))
    run = train(_cfg(tmp_path, algo=algo, env_id=env_id, timesteps=1500, eval_every=10**9,
                     config_file=str(small)))  # fmt: skip
    ev = json.loads((run / "evaluation.json").read_text())
    assert ev["timesteps"] >= 1500 and ev["patients"] == 16


def test_runs_started_in_the_same_second_get_distinct_folders(tmp_path):
    a = train(_cfg(tmp_path, timesteps=64, eval_every=10**9))
    b = train(_cfg(tmp_path, timesteps=64, eval_every=10**9))
    assert a != b and a.exists() and b.exists()
