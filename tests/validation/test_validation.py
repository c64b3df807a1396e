"""The trial panel, the panel runner and ``tme validate`` (a small version)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tme_env.cli import main
from tme_env.validation import CHECKS, PANEL, PANEL_ARMS, band_of, panel_rows, run_panel
from tme_env.validation.run import model_value


def test_every_target_has_a_source_a_weight_and_a_band_around_it():
    keys = [t.key for t in PANEL + CHECKS]
    assert len(keys) == len(set(keys))
    for t in PANEL:
        lo, hi = band_of(t)
        assert lo < t.published < hi, t.key
        assert t.source and t.weight > 0, t.key
        for name in t.arm.split(" vs "):
            assert name in PANEL_ARMS, t.key
        if t.ci is not None:
            assert t.ci[0] < t.published < t.ci[1], t.key


def test_bands_are_the_issues():
    by = {t.figure: band_of(t) for t in PANEL}
    assert by["os_hr"][1] - by["os_hr"][0] == pytest.approx(0.2)
    hr = next(t for t in PANEL if t.key == "KEYNOTE-189/kn189-chemo/all/os_median")
    assert band_of(hr) == pytest.approx((0.8 * 10.7, 1.2 * 10.7))


@pytest.fixture(scope="module")
def small_panel():
    return run_panel("validation", 24, seed=3)


def test_panel_runs_every_arm_on_the_same_patients(small_panel):
    arms, strata = small_panel
    assert tuple(arms) == PANEL_ARMS
    ids = {tuple(a.patient_ids) for a in arms.values()}
    assert len(ids) == 1 and strata.shape == (24,)
    assert set(strata.tolist()) <= {"<1%", "1-49%", ">=50%"}
    # No anti-PD-1 in the untreated arm, none in chemo-only arms before a progression.
    assert arms["no-treatment"].dose_anti_pd1.sum() == 0
    assert (arms["pembro"].dose_chemo == 0).all() and (arms["pembro"].dose_anti_pd1 > 0).all()


def test_rows_recompute_from_outcomes(small_panel):
    arms, strata = small_panel
    rows = panel_rows(arms, strata)
    assert len(rows) == len(PANEL)
    for r, t in zip(rows, PANEL, strict=True):
        v = model_value(t, arms, strata)
        assert (np.isnan(v) and np.isnan(r["model"])) or r["model"] == v
        lo, hi = r["band"]
        assert r["within"] == bool(np.isfinite(v) and lo <= v <= hi)


def test_tme_validate_writes_the_report(tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["validate", "--n-patients", "12", "--out", str(out), "--no-figures"]) == 0
    data = json.loads((out / "validation.json").read_text())
    assert data["n_patients"] == 12 and len(data["targets"]) == len(PANEL) + len(CHECKS)
    assert data["summary"] in capsys.readouterr().out
    assert "| trial | arm or contrast |" in (out / "validation.md").read_text()
    # A second run into the same folder is refused without --overwrite.
    assert main(["validate", "--n-patients", "12", "--out", str(out), "--no-figures"]) == 2
