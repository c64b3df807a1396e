"""The model's calibrated defaults are the calibration script's output (no hand edits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tme_env.models.tme import TMEParameters
from tme_env.patients import RESISTANT_MEDIAN

REPORT = Path(__file__).parents[2] / "experiments" / "calibration" / "tme_calibration.json"


def test_defaults_equal_the_committed_calibration_output():
    report = json.loads(REPORT.read_text())
    defaults = TMEParameters()
    for name, entry in report["parameters"].items():
        value = RESISTANT_MEDIAN if name == "resistant_median" else getattr(defaults, name)
        assert value == pytest.approx(entry["fitted"], rel=1e-3), name
    # The neutropenia EC50 keeps v1's fit (grade >= 3 neutropenia over 4 doublet cycles; the
    # v2 panel has no safety target that moves it).
    v1 = json.loads((REPORT.parent / "v1" / "tme_calibration.json").read_text())
    assert defaults.neutrophil_drug_ec50 == pytest.approx(v1["neutropenia"]["fitted"], rel=1e-3)
    # Every calibrated parameter says so in its source.
    info = {p.name: p for p in defaults.info()}
    for name in report["parameters"]:
        if name != "resistant_median":
            assert "calibrated" in info[name].source, name


def test_irae_rate_equals_the_committed_irae_calibration_output():
    report = json.loads((REPORT.parent / "irae_calibration.json").read_text())
    assert TMEParameters().irae_rate == pytest.approx(report["irae_rate"], rel=1e-5)
    assert "calibrated" in {p.name: p for p in TMEParameters().info()}["irae_rate"].source
