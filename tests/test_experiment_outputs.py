"""Experiment scripts keep a tracked result file whose only change is the run time (issue 29)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.load import load_script

EXPERIMENTS = Path(__file__).parents[1] / "experiments"
sys.path.insert(0, str(EXPERIMENTS))  # the scripts import their helper, experiments/quick.py


def _script(name: str):
    return load_script(EXPERIMENTS / f"{name}.py", f"experiment_{name}")


@pytest.fixture(scope="module")
def offline_rl():
    return _script("offline_rl")


@pytest.fixture(scope="module")
def model_study():
    return _script("model_study")


def test_offline_rl_keeps_tables_whose_run_time_alone_changed(tmp_path, offline_rl):
    md = tmp_path / "offline_rl.md"
    md.write_text("Env `x`, seed 0; 1.7 min.\n\n| a | 1.0 |\n")
    write = offline_rl.write_unless_only_timing
    assert not write(md, "Env `x`, seed 0; 12.3 min.\n\n| a | 1.0 |\n")
    assert "1.7 min." in md.read_text()
    assert offline_rl.write_unless_only_timing(md, "Env `x`, seed 0; 2.0 min.\n\n| a | 1.1 |\n")
    assert "| a | 1.1 |" in md.read_text()
    js = tmp_path / "offline_rl.json"
    js.write_text(json.dumps({"trial": [1, 2], "minutes": 1.65}, indent=2) + "\n")
    assert not offline_rl.write_unless_only_timing(
        js, json.dumps({"trial": [1, 2], "minutes": 3.1}, indent=2) + "\n")
    assert json.loads(js.read_text())["minutes"] == 1.65
    assert offline_rl.write_unless_only_timing(
        js, json.dumps({"trial": [1, 3], "minutes": 3.1}, indent=2) + "\n")
    assert json.loads(js.read_text()) == {"trial": [1, 3], "minutes": 3.1}
    new = tmp_path / "new.md"
    assert offline_rl.write_unless_only_timing(new, "x; 1.0 min.\n") and new.exists()


def test_model_study_keeps_json_whose_elapsed_time_alone_changed(tmp_path, model_study):
    js = tmp_path / "model_study.json"
    old = {"knockouts": {"a": 1.0}, "elapsed_s": 150.37, "oracle": {"gain": 0.5}}
    js.write_text(json.dumps(old, indent=2) + "\n")
    same = {**old, "elapsed_s": 164.0}
    assert not model_study.write_unless_only_timing(js, json.dumps(same, indent=2) + "\n")
    assert json.loads(js.read_text())["elapsed_s"] == 150.37
    changed = {**same, "oracle": {"gain": 0.6}}
    assert model_study.write_unless_only_timing(js, json.dumps(changed, indent=2) + "\n")
    assert json.loads(js.read_text()) == changed


def test_immune_shift_patient_title_says_the_curves_run_past_death():
    """The figure's curves run to day 540 after a death on day 281: the title says so."""
    fate = _script("immune_shift_patient")._fate
    assert fate(281.0, True, 540.0) == (
        "death (lethal burden) on day 281; grey: the model runs on past it")
    assert fate(float("inf"), False, 540.0) == "alive at day 540"
