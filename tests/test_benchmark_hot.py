"""Time immune-hot in the benchmark row and the leaderboards (issue 29).

"Keep the tumour immune-hot" is the mission's own words; the trial table had the column, the
benchmark row and the leaderboards now report it too. The committed leaderboard was scored
before the column existed: its rows render "n/a" until rescored.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tme_env.benchmark import MARKDOWN_HEADER, SECONDARY, leaderboard_row, markdown_row

_SEED_ROW = {"arm": "x", "benchmark_score": 50.0, "q_twist_months": 20.0, "rmst_os_months": 30.0,
             "median_os_months": 25.0, "median_pfs_months": 10.0,
             "objective_response_rate": 0.5, "grade3plus_neutropenia_rate": 0.1,
             "irae_rate": 0.2, "irae_grade3plus_rate": 0.05}  # fmt: skip


def _row(hot: tuple[float, float]) -> dict:
    seeds = [{**_SEED_ROW, "arm": f"x-s{k}", "fraction_time_hot": h} for k, h in enumerate(hot)]
    return leaderboard_row("x", "tme/TumorImmuneClinical-v2", 500, 0, seeds, (50.0, 40.0, 60.0),
                           "chemo-ici-inhibitor", (0.1, -0.2, 0.4))  # fmt: skip


def test_row_has_the_mean_time_hot_over_seeds_and_markdown_shows_it():
    assert SECONDARY["fraction_time_hot"] == "fraction_time_hot"
    row = _row((0.30, 0.50))
    assert row["fraction_time_hot"] == pytest.approx(0.40)
    header = MARKDOWN_HEADER.splitlines()[0].split("|")
    cells = markdown_row(row).split("|")
    assert len(cells) == len(header)
    assert cells[header.index(" time hot ")].strip() == "40%"


def test_an_old_row_without_the_column_reads_na():
    old = {k: v for k, v in _row((0.3, 0.5)).items() if k != "fraction_time_hot"}
    header = MARKDOWN_HEADER.splitlines()[0].split("|")
    assert markdown_row(old).split("|")[header.index(" time hot ")].strip() == "n/a"


def test_experiment_leaderboard_table_has_the_column():
    sys.path.insert(0, str(Path(__file__).parents[1] / "experiments"))
    try:
        import leaderboard
    finally:
        sys.path.pop(0)
    header = leaderboard.HEADER.splitlines()[0].split("|")
    line = leaderboard._row_line(_row((0.2, 0.2)), "learned").split("|")
    assert len(line) == len(header)
    assert line[header.index(" time hot ")].strip() == "20%"
