"""Every CLI mistake: one ``tme: error:`` line naming the flag or value, exit 2, before any work.

Issue 16 item 8 and issue 17 item 11. Also: a user's file in an ``--out`` folder survives every
command, and a short training run logs ``clinical/`` scalars (issue 16 items 0 and 1).
"""

from __future__ import annotations

import json
import warnings

import pytest

from tme_env.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["trial", "--n-patients", "-5"], "argument --n-patients: must be an integer >= 1, got -5"),
        (["trial", "--seed", "-1"], "argument --seed: must be an integer >= 0, got -1"),
        (["trial", "--reference", "nosuch"], "--reference 'nosuch' is not an arm of this trial"),
        (["trial", "--policies", "nosuch"], "--policies: unknown regimen 'nosuch'"),
        (["trial", "--env", "nosuch"], "--env: unknown trial env 'nosuch'"),
        (["trial", "--split", "nosuch"], "--split: unknown split 'nosuch'"),
        (["evaluate", "--model", "missing.zip"], "--model 'missing.zip': file not found"),
        (["train", "--timesteps", "0"], "argument --timesteps: must be an integer >= 1, got 0"),
        (["train", "--timesteps", "-3"], "argument --timesteps: must be an integer >= 1"),
        (["train", "--eval-every", "0"], "argument --eval-every: must be an integer >= 1"),
        (["train", "--eval-patients", "0"], "argument --eval-patients: must be an integer >= 1"),
        (["train", "--resume", "/nonexistent.zip"], "--resume '/nonexistent.zip': file not found"),
        (["train", "--env", "nosuch"], "env_id: unknown env 'nosuch'"),
        (["train", "--algo", "ppo2"], "algo: unknown algorithm 'ppo2'"),
        (["simulate", "tme", "--days", "-1"], "--days -1 is before --start 0"),
        (["simulate", "depillis2003", "--state", "T=1e300"], "model 'depillis2003', patient 0"),
        (["simulate", "depillis2003", "--out", "/nonexistent/x.csv"],
         "--out '/nonexistent/x.csv': folder '/nonexistent' does not exist"),
        (["simulate", "depillis2003", "--state", "T=abc"],
         "--state 'T=abc': 'abc' is not a number"),
        (["simulate", "nosuch"], "unknown model 'nosuch'"),
        (["quickstart", "--timesteps", "0"], "argument --timesteps: must be an integer >= 1"),
    ],
)  # fmt: skip
def test_each_mistake_is_one_line_naming_it_with_exit_2(argv, message, capsys, tmp_path,
                                                        monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own errors exit 2 as well
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(("tme: error:", "tme "))
    assert list(tmp_path.iterdir()) == []  # nothing written: checked before the work


def test_a_config_with_a_bad_value_or_unknown_key_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("default:\n  n_steps: -5\n")
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "runs")]) == 2
    assert f"{bad}: hyperparameter 'n_steps' must be >= 1, got -5" in capsys.readouterr().err
    bad.write_text("default:\n  n_steps: 1\n  n_envs: 1\n")  # each valid, not together
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "runs")]) == 2
    assert "ppo rejects the hyperparameters" in capsys.readouterr().err
    bad.write_text("default:\n  learning_rat: 0.1\n")
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "unknown ppo hyperparameter 'learning_rat'; did you mean 'learning_rate'?" in err
    assert "_init_setup_model" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_user_file_in_the_out_folder_survives_every_command(tmp_path, capsys):
    res = tmp_path / "res"
    res.mkdir()
    (res / "mynotes.txt").write_text("precious")
    for argv in (["trial", "--policies", "mtd-chemo", "--n-patients", "4", "--out", str(res)],
                 ["trial", "--n-patients", "4", "--out", str(res), "--overwrite"],
                 ["evaluate", "--model", str(tmp_path / "m.zip"), "--out", str(res)],
                 ["quickstart", "--out", str(tmp_path), "--timesteps", "64"],
                 ["simulate", "depillis2003", "--out", str(res)]):  # fmt: skip
        if argv[0] == "evaluate":
            (tmp_path / "m.zip").write_text("not a model")
        if argv[0] == "quickstart":
            (tmp_path / "trial").mkdir()
            (tmp_path / "trial" / "mine.txt").write_text("also precious")
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("tme: error:") and ("res" in err or "trial" in err or "zip" in err)
    assert (res / "mynotes.txt").read_text() == "precious"
    assert sorted(p.name for p in res.iterdir()) == ["mynotes.txt"]
    assert (tmp_path / "trial" / "mine.txt").read_text() == "also precious"
    assert not (tmp_path / "runs").exists()  # quickstart refused before training


def test_trial_without_the_score_arms_says_why_the_score_is_na(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["trial", "--policies", "mtd-chemo", "--n-patients", "4", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Score n/a: the benchmark score needs the no-treatment arm" in text
    assert "nan" not in text and "inf" not in text
    summary = (out / "summary.json").read_text()
    assert "NaN" not in summary and "Infinity" not in summary
    assert json.loads(summary)["arms"][0]["benchmark_score"] is None
    report = (out / "report.md").read_text()
    assert "Score n/a" in report and "nan" not in report and "inf " not in report


def test_a_short_training_run_ends_with_a_clinical_evaluation_in_tensorboard(tmp_path, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "runs"
    assert main(["train", "--timesteps", "4096", "--eval-patients", "8", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "validation (8 patients)" in text and "nan" not in text
    (run,) = out.iterdir()
    ea = EventAccumulator(str(next(run.glob("tb_*"))))
    ea.Reload()
    tags = set(ea.Tags()["scalars"])
    assert {"clinical/benchmark_score", "clinical/os_at_12mo", "clinical/os_at_36mo",
            "clinical/rmst_os_months", "clinical/fraction_time_hot"} <= tags  # fmt: skip
    final = json.loads((run / "evaluation.json").read_text())
    assert final["timesteps"] >= 4096 and 0.0 <= final["os_at_12mo"] <= 1.0
    sums = (run / "SHA256SUMS").read_text()
    assert "  model.zip\n" in sums
    # Loading unpickles nothing (tests/test_trust.py), so it needs no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from tme_env.agents.loader import load_sb3_model

        load_sb3_model(run / "model.zip")
    # --resume with another algorithm is refused, naming both.
    assert main(["train", "--algo", "a2c", "--resume", str(run / "model.zip")]) == 2
    assert "is a ppo model; it cannot continue as --algo a2c" in capsys.readouterr().err
