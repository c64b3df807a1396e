"""Trial reports: per-arm statistics against a hand-computed case, and an end-to-end report."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

from tme_env import regimens
from tme_env.trials import ArmOutcomes, TrialResult, run_trial, summarise, write_report
from tme_env.trials.report import benchmark_scores, score_note, score_reference


def _arm(name, os_days, os_event):
    n = len(os_days)
    z = np.zeros(n)
    return ArmOutcomes(
        name, [f"p{i}" for i in range(n)], np.array(os_days, float), np.array(os_event, bool),
        np.array(os_days, float), np.array(os_event, bool), np.array(["SD"] * n, dtype=object),
        np.zeros(n, bool), z, z, z, z, z, np.zeros((n, 1, 3)),
    )  # fmt: skip


def test_km_median_rmst_and_benchmark_score_by_hand():
    # no-treatment: deaths at 30, 60, 90, 120 days. KM: 1, .75, .5, .25 on each 30-day
    # stretch -> median 60 days, RMST(120) = 30 (1 + .75 + .5 + .25) = 75 days.
    # mtd-chemo: one death at 60, three censored at 120 -> KM 1 then .75, median not reached,
    # RMST = 60 + 60 * .75 = 105 days.
    # agent: deaths at 30 and 90, two censored at 120 -> KM 1, .75, .5 ->
    # RMST = 30 + 60 * .75 + 30 * .5 = 90 days -> score 100 (90 - 75) / (105 - 75) = 50.
    result = TrialResult("tme/TumorImmune-v2", "test", 4, 0, 120.0, {
        "no-treatment": _arm("no-treatment", [30, 60, 90, 120], [1, 1, 1, 1]),
        "mtd-chemo": _arm("mtd-chemo", [60, 120, 120, 120], [1, 0, 0, 0]),
        "agent": _arm("agent", [30, 90, 120, 120], [1, 1, 0, 0]),
    })  # fmt: skip
    rows = {r["arm"]: r for r in summarise(result, reference="mtd-chemo")}
    month = 30.4375
    assert rows["no-treatment"]["median_os_months"] * month == pytest.approx(60.0)
    assert rows["no-treatment"]["rmst_os_months"] * month == pytest.approx(75.0)
    assert rows["mtd-chemo"]["rmst_os_months"] * month == pytest.approx(105.0)
    assert np.isinf(rows["mtd-chemo"]["median_os_months"])
    assert rows["agent"]["rmst_os_months"] * month == pytest.approx(90.0)
    assert rows["agent"]["benchmark_score"] == pytest.approx(50.0)
    assert rows["mtd-chemo"]["benchmark_score"] == pytest.approx(100.0)
    assert rows["no-treatment"]["benchmark_score"] == pytest.approx(0.0)
    assert rows["mtd-chemo"]["hazard_ratio_os"] == 1.0
    assert rows["no-treatment"]["hazard_ratio_os"] > 1.0
    # The arm that scores 100 is named in every row (issue 29: reports must say which).
    assert {r["score_reference"] for r in rows.values()} == {"mtd-chemo"}


def test_the_score_reference_is_the_best_standard_arm_of_this_trial():
    """100 is whichever standard regimen of the trial has the largest Q-TWiST, and is named."""
    q = {"no-treatment": 10.0, "mtd-chemo": 20.0, "chemo-ici-concurrent": 30.0, "agent": 35.0}
    assert score_reference(q) == "chemo-ici-concurrent"
    assert benchmark_scores(q)["chemo-ici-concurrent"] == pytest.approx(100.0)
    q["chemo-ici-inhibitor"] = 40.0  # a larger trial: the same arm now scores less than 100
    assert score_reference(q) == "chemo-ici-inhibitor"
    assert benchmark_scores(q)["chemo-ici-concurrent"] == pytest.approx(200 / 3)
    assert score_reference({"mtd-chemo": 1.0, "agent": 2.0}) is None
    assert score_reference({"no-treatment": 1.0, "agent": 2.0}) is None
    note = score_note([{"score_reference": "chemo-ici-inhibitor"}])
    assert "100 = chemo-ici-inhibitor, the best standard regimen in this trial" in note
    assert score_note([{"score_reference": None}]).startswith("Score n/a: the benchmark score")


def test_small_trial_writes_a_complete_report(tmp_path):
    policies = {name: regimens.get(name) for name in ("no-treatment", "mtd-chemo",
                                                     "chemo-ici-concurrent")}  # fmt: skip
    result = run_trial(policies, n_patients=12, split="test", seed=0)
    arms = list(result.arms.values())
    assert all(a.patient_ids == arms[0].patient_ids for a in arms)  # paired design
    out = tmp_path / "trial"
    rows = write_report(result, str(out), reference="mtd-chemo")
    for f in ("summary.csv", "summary.json", "patients.csv", "km_os.png", "km_pfs.png",
              "dose_timeline.png", "report.md"):  # fmt: skip
        assert (out / f).stat().st_size > 0, f
    data = json.loads((out / "summary.json").read_text())
    assert [r["arm"] for r in data["arms"]] == list(policies)
    assert len(list(csv.reader((out / "patients.csv").open()))) == 1 + 3 * 12
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".trial-")]  # no temp left
    by = {r["arm"]: r for r in rows}
    assert by["mtd-chemo"]["mean_chemo_doses"] > 4 and by["no-treatment"]["mean_chemo_doses"] == 0
    assert by["chemo-ici-concurrent"]["mean_anti_pd1_doses"] > 0
    best = max(("mtd-chemo", "chemo-ici-concurrent"), key=lambda n: by[n]["q_twist_months"])
    report = (out / "report.md").read_text()
    assert f"100 = {best}, the best standard regimen in this trial" in report
    assert data["arms"][0]["score_reference"] == best
