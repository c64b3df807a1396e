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


def test_calibration_tradeoff_applies_each_setting(tmp_path, monkeypatch, capsys):
    import json

    import calibrate_tme
    import calibration_tradeoff as tradeoff

    monkeypatch.setattr(tradeoff, "SWEEP", {"mdsc_exhaustion_promotion": (0.0, 1.0)})
    out = tmp_path / "t.json"
    args = ["--patients", "40", "--out", str(out), "--figure", str(tmp_path / "t.png"),
            "--candidates"]  # fmt: skip
    assert tradeoff.main(args) == 0
    rows = {r["factor"]: r for r in json.loads(out.read_text())["rows"]}
    direct = calibrate_tme.figures(tradeoff.calibrated_values(), 40)
    # Factor 1 is the calibrated model itself; factor 0 switches the term off and moves P7.
    assert rows[1.0]["p7_os_ratio_strong_weak"] == direct["p7_os_ratio_strong_weak"]
    assert rows[1.0]["pembro_orr"] == direct["pembro_orr"]
    assert rows[0.0]["value"] == 0.0
    assert rows[0.0]["p7_os_ratio_strong_weak"] != rows[1.0]["p7_os_ratio_strong_weak"]
    assert (tmp_path / "t.png").stat().st_size > 0
    assert "mdsc_exhaustion_promotion" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no calibration report"):
        tradeoff.main([*args, str(tmp_path / "missing.json")])


def test_p7_ratio_bootstrap_ci_brackets_identical_groups():
    import calibration_tradeoff as tradeoff

    rng = np.random.default_rng(1)
    days = np.concatenate([rng.exponential(300.0, 60)] * 2)
    event = np.ones(days.size, dtype=bool)
    first = np.arange(days.size) < 60
    lo, hi = tradeoff.p7_ratio_ci(days, event, first, ~first, np.random.default_rng(2), 300)
    assert lo < 1.0 < hi


def test_calibration_weight_overrides_name_bad_input():
    import calibrate_tme

    assert calibrate_tme._parse_weights(["placebo_orr=5"]) == {"placebo_orr": 5.0}
    with pytest.raises(SystemExit, match="'foo=1'.*TARGET one of"):
        calibrate_tme.main(["--weight", "foo=1"])
    for bad in ("placebo_orr=nan", "placebo_orr=-1", "placebo_orr=x"):
        with pytest.raises(SystemExit, match="finite number >= 0"):
            calibrate_tme.main(["--weight", bad])


def test_p7_death_times_growth_spread_what_if(tmp_path, capsys):
    import json

    import p7_death_times as p7

    from tme_env.models.tme import MODEL
    from tme_env.patients import cohort
    from tme_env.trials import km_median, run_schedule

    base = cohort("validation", 40)
    same = p7.with_growth_spread(base, p7.SIGMA_DEFAULT)
    np.testing.assert_array_equal(same.parameters_array(), base.parameters_array())
    wide = p7.with_growth_spread(base, 2 * p7.SIGMA_DEFAULT)
    rate = np.array([p.parameters.growth_rate for p in base])
    z = np.array([p.phenotype["z"]["growth_rate"] for p in base])
    # The log-deviation from the median doubles; nothing else changes.
    np.testing.assert_allclose(np.log([p.parameters.growth_rate for p in wide] / rate), z * 0.25)
    col = MODEL.parameter_names.index("growth_rate")
    np.testing.assert_array_equal(np.delete(wide.parameters_array(), col, axis=1),
                                  np.delete(base.parameters_array(), col, axis=1))  # fmt: skip
    assert wide.initial_states_array().tolist() == base.initial_states_array().tolist()
    with pytest.raises(ValueError, match="finite number >= 0, got nan"):
        p7.with_growth_spread(base, float("nan"))

    out, fig = tmp_path / "p7.json", tmp_path / "p7.png"
    args = ["--patients", "40", "--sigmas", str(p7.SIGMA_DEFAULT), "0.5", "--out", str(out),
            "--figure", str(fig), "--promotions", "0", "0.5"]  # fmt: skip
    assert p7.main(args) == 0
    report = json.loads(out.read_text())
    res, promoted = report["results"], report["growth_promotion_what_if"]
    # pi_M = 0 is the v1 model itself; promotion speeds untreated tumours up.
    default = res[f"{p7.SIGMA_DEFAULT:g}"]
    assert promoted["0"]["median_ratio_strong_weak"] == default["median_ratio_strong_weak"]
    assert promoted["0"]["groups"] == default["groups"]
    assert promoted["0.5"]["untreated_median_os_months"] < default["untreated_median_os_months"]
    assert set(promoted["0.5"]) >= {"keynote189_placebo", "keynote189_pembrolizumab"}
    chemo = run_schedule(base, p7.schedules.chemo_q3w(p7.HORIZON_DAYS), p7.HORIZON_DAYS)
    strong = base.phenotype("mdsc_responder") == "strong"
    direct = km_median(chemo.os_days[strong], chemo.os_event[strong]) / p7.DAYS_PER_MONTH
    assert res[f"{p7.SIGMA_DEFAULT:g}"]["groups"]["strong"]["median_os_months"] == direct
    assert res["0.5"]["groups"]["strong"]["median_os_months"] != direct
    assert fig.stat().st_size > 0
    assert "growth-rate sigma 0.5: median OS strong" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--sigmas: each must be a finite number >= 0, got -1"):
        p7.main([*args[:2], "--sigmas", "-1"])
    with pytest.raises(SystemExit, match="--promotions: each must be a finite number >= 0"):
        p7.main([*args[:2], "--promotions", "nan"])
