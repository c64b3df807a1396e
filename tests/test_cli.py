"""The `tme` console script."""

from __future__ import annotations

import csv
import re

from tme_env.cli import main


def test_models_lists_registered_models(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "depillis2003" in out and "depillis2013" in out


def test_models_describes_parameters_with_units_and_sources(capsys):
    assert main(["models", "depillis2013"]) == 0
    out = capsys.readouterr().out
    assert "H_R" in out and "0.0227" in out and "1/day" in out and "section 4" in out


def test_simulate_writes_csv(tmp_path, capsys):
    out = tmp_path / "traj.csv"
    rc = main(["simulate", "depillis2003", "--days", "30", "--points", "4",
               "--infusion", "0:10:v=1", "--bolus", "20:u=0.5", "--param", "a2=0.4",
               "--out", str(out)])  # fmt: skip
    assert rc == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["t_days", "N", "T", "I", "u"]
    assert [float(r[0]) for r in rows[1:]] == [0.0, 10.0, 20.0, 30.0]
    assert float(rows[3][4]) > 0.5  # the bolus is in the day-20 output


def test_simulate_bad_input_is_a_clean_error(capsys):
    assert main(["simulate", "depillis2003", "--param", "zz=1"]) == 2
    assert "unknown parameter 'zz'" in capsys.readouterr().err
    assert main(["simulate", "depillis2003", "--state", "T"]) == 2  # one exit code for all
    assert "--state 'T' must look like NAME=VALUE" in capsys.readouterr().err


def test_regimens_lists_every_regimen(capsys):
    from tme_env.regimens import available

    assert main(["regimens"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in available())
    assert "KEYNOTE-189" in out and "1.5e9/L" in out


def test_trial_with_regimens_and_a_trained_model(tmp_path, capsys):
    from stable_baselines3 import PPO

    from tme_env.agents import make_sb3_vec_env

    venv = make_sb3_vec_env("tme/TumorImmune-v2", n_envs=4, seed=0, cohort_size=8)
    path = tmp_path / "ppo_tiny.zip"
    PPO("MlpPolicy", venv, n_steps=32, batch_size=64, seed=0, device="cpu").learn(128).save(path)
    out = tmp_path / "trial"
    rc = main(["trial", "--policies", "no-treatment,mtd-chemo", "--model", str(path),
               "--n-patients", "10", "--out", str(out)])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    # The learned arm is named after its algorithm (as in quickstart), not after the file.
    assert re.search(r"^ppo\s", text, re.MULTILINE) and "mtd-chemo" in text
    assert (out / "report.md").exists()
    assert main(["trial", "--policies", "folfox", "--n-patients", "5", "--out", str(out)]) == 2


def test_trial_loads_a_run_folder_model_with_the_recorded_algorithm(tmp_path, capsys):
    import yaml
    from stable_baselines3 import A2C

    from tme_env.agents import make_sb3_vec_env

    # A2C with Adam: the zip alone cannot be recognised, the run's config.yml names it.
    venv = make_sb3_vec_env("tme/TumorImmune-v2", n_envs=4, seed=0, cohort_size=8)
    run = tmp_path / "run"
    run.mkdir()
    A2C("MlpPolicy", venv, n_steps=8, use_rms_prop=False, device="cpu").save(run / "model.zip")
    args = ["trial", "--policies", "no-treatment", "--model", str(run / "model.zip"),
            "--n-patients", "5", "--out", str(tmp_path / "trial")]  # fmt: skip
    assert main(args) == 2
    assert "unknown algorithm" in capsys.readouterr().err
    (run / "config.yml").write_text(yaml.safe_dump({"train": {"algo": "a2c"}}))
    assert main(args) == 0
    assert any(line.startswith("a2c ") for line in capsys.readouterr().out.splitlines())


def test_package_warnings_print_as_one_line(capsys):
    # Any tme_env module's warning (not only the cli package's own) prints as one line.
    import os
    import warnings

    import tme_env
    from tme_env import cli

    inside = os.path.join(os.path.dirname(tme_env.__file__), "trials", "run.py")
    cli._show_warning("a warning", UserWarning, inside, 1)
    assert capsys.readouterr().err == "tme: warning: a warning\n"
    cli._show_warning("other", UserWarning, "/elsewhere/module.py", 7)
    assert capsys.readouterr().err == warnings.formatwarning(
        "other", UserWarning, "/elsewhere/module.py", 7)  # fmt: skip
