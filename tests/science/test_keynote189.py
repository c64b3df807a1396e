"""The committed validation report is what the model gives (``tme validate``, model v2).

``experiments/validation/`` holds the report of ``tme validate --split validation
--n-patients 900`` (the calibration fitted train patients only). Re-running the panel here
must give every model value of the committed report again, bit for bit: the report's table,
forest plot and summary line describe the model that is in the package. The targets, bands and
sources are `tme_env.validation.panel`; which targets are met is reported there as found.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tme_env.validation import CHECKS, PANEL, landmark_rows, panel_rows, run_panel
from tme_env.validation.report import summary_line

REPORT = Path(__file__).resolve().parents[2] / "experiments" / "validation" / "validation.json"


@pytest.fixture(scope="module")
def committed():
    return json.loads(REPORT.read_text())


@pytest.fixture(scope="module")
def panel(committed):
    arms, strata = run_panel(committed["split"], committed["n_patients"], seed=committed["seed"])
    return arms, strata


def test_committed_report_matches_the_model(committed, panel):
    arms, strata = panel
    rows = panel_rows(arms, strata, PANEL + CHECKS)
    assert [r["key"] for r in rows] == [t["key"] for t in committed["targets"]]
    for r, c in zip(rows, committed["targets"], strict=True):
        if c["model"] is None:
            assert not np.isfinite(r["model"]), r["key"]
        else:
            assert r["model"] == pytest.approx(c["model"], rel=1e-12, abs=1e-12), r["key"]
        assert r["within"] == c["within"], r["key"]
    assert summary_line(rows) == committed["summary"]
    print(committed["summary"])


def test_committed_landmarks_match_the_model(committed, panel):
    arms, strata = panel
    for r, c in zip(landmark_rows(arms, strata), committed["landmarks"], strict=True):
        assert (r["arm"], r["stratum"]) == (c["arm"], c["stratum"])
        for key, value in r.items():
            if isinstance(value, float):
                if c[key] is None:
                    assert not np.isfinite(value)
                else:
                    assert value == pytest.approx(c[key], rel=1e-12, abs=1e-12), key


def test_deaths_start_in_the_first_months_and_untreated_patients_do_not_live_5_years(panel):
    """Item 5's shapes: deaths from the first months on treated arms; untreated 5-year OS ~0."""
    arms, strata = panel
    rows = {(r["arm"], r["stratum"]): r for r in landmark_rows(arms, strata)}
    for arm in ("chemo-pembro", "kn189-chemo", "pembro"):
        assert rows[(arm, "all")]["os_3m"] < 99.0, arm
        assert rows[(arm, "all")]["os_6m"] < 97.0, arm
    assert rows[("no-treatment", "all")]["os_60m"] <= 5.0
