"""The example scripts run end to end (small settings) and print what they promise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.load import load_script

EXAMPLES = Path(__file__).parents[1] / "examples"


def _main(name: str):
    return load_script(EXAMPLES / f"{name}.py", f"example_{name}")


def test_every_example_has_a_test():
    tested = {"evaluate_regimens", "train_ppo", "plug_in"}
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested


def test_evaluate_regimens_writes_a_report(tmp_path, capsys):
    out = tmp_path / "trial"
    assert _main("evaluate_regimens").main(["--n-patients", "8", "--out", str(out)]) == 0
    assert (out / "report.md").stat().st_size > 0 and (out / "km_os.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "mtd-chemo" in printed and "score" in printed and str(out) in printed
    # 100 is the best standard arm of this 3-arm trial, not of the full trial: it is named.
    assert "the best standard regimen in this trial" in printed


def test_train_ppo_saves_a_model_and_scores_it(tmp_path, capsys):
    model = tmp_path / "ppo.zip"
    args = ["--timesteps", "1024", "--n-patients", "8", "--out", str(model)]
    assert _main("train_ppo").main(args) == 0
    assert model.stat().st_size > 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("ppo ") and "score" in line for line in lines), lines


def test_plug_in_policy_runs_in_the_loop_and_the_trial(capsys):
    import warnings

    module = _main("plug_in")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. Gymnasium's Box precision warning (issue 29)
        assert module.gymnasium_loop(0) is not None
    assert module.main(["--n-patients", "8"]) == 0
    printed = capsys.readouterr().out
    assert "random policy in [-1, 1]" in printed and "immune-first (mine)" in printed


def test_plug_in_policy_doses_by_its_rule():
    import numpy as np

    from tme_env.envs import observation_fields

    policy = _main("plug_in").ImmuneFirstPolicy()
    obs = np.zeros((2, len(observation_fields("full"))), dtype=np.float32)
    obs[:, policy.fields.anc] = [3.0, 1.0]  # the second patient's ANC delays chemo
    action, weeks = policy.predict(obs, episode_start=np.array([True, True]))
    np.testing.assert_array_equal(action, [[1, 1, 1], [0, 1, 1]])
    action, weeks = policy.predict(obs, state=weeks, episode_start=np.array([False, False]))
    np.testing.assert_array_equal(action[:, :2], 0)  # week 1: nothing due
    assert pytest.approx(action[:, 2]) == [1, 1]
