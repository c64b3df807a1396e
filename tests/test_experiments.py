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


@pytest.mark.slow
def test_agents_benchmark_quick_mode(tmp_path):
    import benchmark_agents

    out = tmp_path / "bench"
    rc = benchmark_agents.main(["--quick", "--results", str(tmp_path / "res"), "--out", str(out)])
    assert rc == 0
    table = (tmp_path / "bench_quick.md").read_text()
    assert "ppo" in table and "chemo-ici-inhibitor" in table


@pytest.mark.slow
def test_depillis_literature_runs(capsys):
    import depillis_literature

    assert depillis_literature.main(["--timesteps", "2048", "--dqn-timesteps", "2500"]) == 0
    assert "Ahn & Park shape" in capsys.readouterr().out
