"""The experiment scripts run end to end on small cohorts (their full runs are in experiments/)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "experiments"))

import biomarker_study  # noqa: E402
import immune_shift_study  # noqa: E402


def test_roc_auc_matches_a_hand_count():
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    positive = np.array([True, False, True, False, False, True])
    # Pairs (positive, negative) ranked correctly: 0.9 beats 3 negatives, 0.7 beats 2, 0.4 beats 0.
    _, _, auc = biomarker_study.roc(score, positive)
    assert auc == pytest.approx(5 / 9)


def test_studies_run_on_small_cohorts(tmp_path, capsys):
    assert immune_shift_study.main(["--patients", "30", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 0 and (tmp_path / "s.csv").exists()
    assert biomarker_study.main(["--patients", "40", "--out", str(tmp_path / "b.png")]) == 0
    assert "AUC" in capsys.readouterr().out


def test_adaptivity_study_runs_on_small_cohorts(tmp_path, capsys):
    import json

    import adaptivity_study

    assert adaptivity_study.main(["--train", "4", "--validation", "4", "--test", "6",
                                  "--out", str(tmp_path)]) == 0  # fmt: skip
    result = json.loads((tmp_path / "adaptivity_study.json").read_text())
    assert result["chosen_on_validation"] in adaptivity_study.rules()
    test = result["splits"]["test"]["rows"]
    assert test["best fixed"]["margin_months"] == 0.0
    lo, hi = test[result["chosen_on_validation"]]["margin_ci"]
    assert lo <= test[result["chosen_on_validation"]]["margin_months"] <= hi
    assert "Chosen on validation" in capsys.readouterr().out


@pytest.mark.slow
def test_leaderboard_quick_end_to_end_and_reproducible(tmp_path):
    """A 1-seed, small-budget leaderboard: every baseline gets a row; scoring twice is identical."""
    import json

    import leaderboard

    root, out = tmp_path / "res", tmp_path / "board"
    args = ["--quick", "--seeds", "1", "--root", str(root), "--out", str(out)]
    assert leaderboard.main(args) == 0
    text = (out / "leaderboard.md").read_text()
    names = ["best-fixed", "feedback-rule", "immunotherapy-first", "everything-always",
             "oracle-mpc", "chemo-ici-inhibitor", *(b.name for b in leaderboard.rl_baselines())]
    for name in names:
        assert f"| {name} |" in text, name
    assert (out / "leaderboard_profile.png").stat().st_size > 0
    first = json.loads((out / "leaderboard.json").read_text())
    assert leaderboard.main(["score", *args]) == 0  # re-scores the same models and search
    assert json.loads((out / "leaderboard.json").read_text()) == first


