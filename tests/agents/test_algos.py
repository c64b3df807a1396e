"""The algorithm table and the hyperparameters, defaults (package) and published (agents/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tme_env.agents.algos import ALGOS, DISCRETE_ALGOS, HYPERPARAMS, load_hyperparams
from tme_env.agents.train import TrainConfig
from tme_env.envs import CLINICAL_ENV_ID, DEFAULT_ENV_ID, DISCRETE_ENV_ID

#: The tuned hyperparameters of the leaderboard (experiments/tune_agents.py writes them).
TUNED = Path(__file__).parents[2] / "agents" / "hyperparams" / "tuned"
#: Tuned file -> (algorithm, env id) it was tuned for (tune_agents.SETTINGS; the clinical PPOs
#: by experiments/agents_study.py).
TUNED_FOR = {
    "ppo-clinical-cycle": ("ppo", CLINICAL_ENV_ID),
    "ppo-clinical-cycle-3m": ("ppo", CLINICAL_ENV_ID),
    "ppo-full": ("ppo", DEFAULT_ENV_ID),
    "a2c-full": ("a2c", DEFAULT_ENV_ID),
    "dqn-discrete": ("dqn", DISCRETE_ENV_ID),
    "ppo-clinical": ("ppo", CLINICAL_ENV_ID),
}


def test_every_algorithm_has_its_default_file_in_the_package():
    assert sorted(p.stem for p in HYPERPARAMS.glob("*.yml")) == sorted(ALGOS)
    assert set(DISCRETE_ALGOS) <= set(ALGOS)


@pytest.mark.parametrize("name", sorted(TUNED_FOR))
def test_tuned_files_are_tme_train_config_files(name):
    # `tme train --config agents/hyperparams/tuned/<name>.yml` (the README's command) loads.
    algo, env_id = TUNED_FOR[name]
    path = TUNED / f"{name}.yml"
    tuned = yaml.safe_load(path.read_text())["default"]
    resolved = load_hyperparams(algo, env_id, str(path))
    assert {k: resolved[k] for k in tuned} == tuned


def test_published_tuned_files_are_the_tuned_settings():
    assert sorted(p.stem for p in TUNED.glob("*.yml")) == sorted(TUNED_FOR)


def test_the_algorithm_table_does_not_import_sb3():
    code = ("import sys, tme_env.agents.algos, tme_env.agents.loader, tme_env.agents.zoo; "
            "print('stable_baselines3' in sys.modules, 'torch' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_published_file_missing_outside_a_checkout_names_the_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # as if installed without the repository
    cfg = TrainConfig(config_file="agents/hyperparams/tuned/ppo-full.yml", out=str(tmp_path))
    with pytest.raises(ValueError, match=r"config_file 'agents/hyperparams/tuned/ppo-full.yml': "
                                         r"file not found in .*top-level agents/ folder"):
        cfg.validate()
