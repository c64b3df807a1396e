"""Agent folders and the per-cycle variant: what the benchmark scores is what was trained."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from tme_env.agents import load_agent, load_policy
from tme_env.agents.agent import AgentFolder, write_agent_folder
from tme_env.agents.cycle import CyclePolicy
from tme_env.agents.normalize import NormalizedModel
from tme_env.agents.train import TrainConfig, train
from tme_env.agents.vec_env import CycleVecEnv, make_sb3_vec_env
from tme_env.benchmark import run_benchmark
from tme_env.benchmark.policies import expand_spec
from tme_env.trials import run_trial

ENV = "tme/TumorImmuneClinical-v2"


class _Weekly:
    """Full doses of every drug, every week (to see what the cycle keeps)."""

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        return np.full((len(obs), 3), [0.2, 1.0, 0.7], dtype=np.float32), state


def test_cycle_policy_doses_once_per_cycle_and_carries_the_inhibitor():
    res = run_trial({"c": CyclePolicy(_Weekly())}, env_id=ENV, split="validation",
                    n_patients=3, seed=0)  # fmt: skip
    doses = res.arms["c"].weekly_doses[0, :6]
    np.testing.assert_allclose(doses[:, 0], [0.2, 0, 0, 0.2, 0, 0])
    np.testing.assert_allclose(doses[:, 2], 0.7)


def test_cycle_env_return_is_the_weekly_return():
    """A cycle env's episode return equals the weekly env's under the same doses."""
    cyc = make_sb3_vec_env(ENV, n_envs=2, seed=5, cycle_weeks=3)
    assert isinstance(cyc, CycleVecEnv)
    weekly = make_sb3_vec_env(ENV, n_envs=2, seed=5)
    a = np.array([[0.0, 1.0, 0.5], [1.0, 1.0, 0.0]], dtype=np.float32)
    cyc.reset(), weekly.reset()
    ret_c, ret_w = np.zeros(2), np.zeros(2)
    done_c, done_w = np.zeros(2, bool), np.zeros(2, bool)
    for _ in range(87):
        _, r, d, _ = cyc.step(a)
        ret_c += np.where(done_c, 0, r)
        done_c |= d
    for k in range(261):
        _, r, d, _ = weekly.step(a if k % 3 == 0 else a * np.array([0, 0, 1], np.float32))
        ret_w += np.where(done_w, 0, r)
        done_w |= d
    assert done_c.all() and done_w.all()
    np.testing.assert_allclose(ret_c, ret_w, rtol=1e-5)


@pytest.fixture(scope="module")
def agent_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("agent")
    cfg = out / "ppo.yml"
    cfg.write_text(yaml.safe_dump({"default": {"n_envs": 4, "n_steps": 16, "batch_size": 32,
                                               "normalize": {"norm_reward": False}}}))  # fmt: skip
    runs = {seed: train(TrainConfig(algo="ppo", env_id=ENV, timesteps=64, seed=seed,
                                    config_file=str(cfg), out=str(out / "runs"),
                                    eval_patients=4, progress=False, cycle_weeks=3))
            for seed in (0, 1)}  # fmt: skip
    return write_agent_folder(out / "agents" / "tiny", {"name": "tiny", "algo": "ppo"}, runs,
                              "# tiny\n")  # fmt: skip


def test_agent_folder_loads_every_seed_normalized_and_per_cycle(agent_folder):
    folder = AgentFolder(agent_folder)
    assert folder.name == "tiny" and len(folder.models) == 2
    assert expand_spec(str(agent_folder)) == [f"tiny={m}" for m in folder.models]
    assert expand_spec(f"mine={agent_folder}")[1] == f"mine={folder.models[1]}"
    assert expand_spec("mtd-chemo") == ["mtd-chemo"]
    policy = load_agent(agent_folder, seed=1)
    assert isinstance(policy, CyclePolicy) and isinstance(policy.model, NormalizedModel)
    assert isinstance(load_policy(agent_folder), CyclePolicy)  # the first seed
    with pytest.raises(ValueError, match=r"has seeds \[0, 1\], not 7"):
        load_agent(agent_folder, seed=7)
    meta = json.loads((agent_folder / "agent.json").read_text())
    (agent_folder / "seed_1" / "model.zip").rename(agent_folder / "gone.zip")
    try:
        with pytest.raises(ValueError, match="lists seed seed_1 but .* is missing"):
            AgentFolder(agent_folder)
    finally:
        (agent_folder / "gone.zip").rename(agent_folder / "seed_1" / "model.zip")
    assert meta["seeds"] == [0, 1]


def test_benchmark_of_a_folder_is_reproduced_in_a_fresh_process(agent_folder, tmp_path):
    """``tme benchmark --policy FOLDER`` in a new process gives the same row, bit for bit."""
    here = run_benchmark([str(agent_folder)], env_id=ENV, n_patients=6, seed=0)
    row = next(r for r in here.rows if r["submission"] == "tiny")
    assert row["n_seeds"] == 2
    out = tmp_path / "bench"
    code = ("import sys; from tme_env.cli import main; "
            f"sys.exit(main(['benchmark', '--policy', {str(agent_folder)!r}, '--n-patients', "
            f"'6', '--out', {str(out)!r}]))")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    there = json.loads((out / "leaderboard.json").read_text())
    fresh = next(r for r in there if r["submission"] == "tiny")
    assert fresh == json.loads(json.dumps(row))


def test_tme_evaluate_takes_an_agent_folder(agent_folder, tmp_path):
    from tme_env.cli import main

    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(agent_folder), "--env", ENV, "--split", "validation",
                 "--n-patients", "4", "--out", str(out)]) == 0  # fmt: skip
    report = (out / "report.md").read_text()
    assert "| ppo |" in report  # the arm of its first seed, named after its algorithm
