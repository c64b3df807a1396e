"""`tme sweep` on Ray Tune: a tiny grid writes tme train run folders and a leaderboard, resumes."""

from __future__ import annotations

import pytest

pytest.importorskip("ray.tune")

from tme_env.sweep import load_sweep_config, run_sweep  # noqa: E402

pytestmark = pytest.mark.ray


def test_sweep_grid_writes_run_folders_and_resumes(ray_local, tmp_path):
    config = tmp_path / "sweep.yml"
    config.write_text(
        f"name: tiny\nstorage: {tmp_path / 'sweeps'}\nalgos: [a2c]\nseeds: [0, 1]\n"
        "timesteps: [64]\neval_every: 64\neval_patients: 8\ntest_patients: 8\n"
        "hyperparameters: {a2c: {n_envs: 8, n_steps: 8}}\n"
    )
    cfg = load_sweep_config(config)
    text, rows = run_sweep(cfg)
    runs = sorted((cfg.experiment_dir / "runs").iterdir())
    assert len(runs) == 2  # one tme train run folder per seed
    for run in runs:
        for name in ("config.yml", "command.txt", "model.zip", "evaluation.json"):
            assert (run / name).is_file(), (run, name)
        assert (run / "trial" / "report.md").is_file()
    learned = [r for r in rows if r["policy"] == "A2C"]
    assert len(learned) == 1 and learned[0]["seeds"] == 2
    assert any(r["policy"] == "mtd-chemo" for r in rows)
    assert "| A2C | 64 | 2 |" in text
    assert (cfg.experiment_dir / "leaderboard.md").read_text() == text
    # Running it again restores the finished experiment (it unpickles tuner.pkl: trusted
    # only): no trial runs again.
    with pytest.raises(ValueError, match=r"tuner\.pkl.*--trust"):
        run_sweep(cfg)
    text_again, _ = run_sweep(cfg, trusted=True)
    assert sorted((cfg.experiment_dir / "runs").iterdir()) == runs
    assert text_again == text


def test_sweep_config_errors_name_the_key(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("algos: [ppo]\nseeds: [0]\nbudget: [10]\n")
    with pytest.raises(ValueError, match="unknown key 'budget'"):
        load_sweep_config(bad)
    bad.write_text("algos: [xgboost]\n")
    with pytest.raises(ValueError, match="unknown algorithm 'xgboost'"):
        load_sweep_config(bad)
