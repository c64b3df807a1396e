"""KEYNOTE-189 reproduced on the default cohort (models.md §8).

The two arms as fixed schedules (`tme_env.regimens.schedules.keynote189`): platinum +
pemetrexed q3w x4 then pemetrexed maintenance, with or without pembrolizumab q3w (<= 35
doses), open-loop over 5 years. Evaluated on 400 patients of the ``validation`` split; the
calibration (``experiments/calibrate_tme.py``) used the ``train`` split only. Targets: the
updated analysis (Gadgeel et al., JCO 2020: median OS 22.0 vs 10.7 months, HR 0.56, median
PFS 9.0 vs 4.9) and the 5-year OS (Garassino et al., JCO 2023: 19.4% vs 11.3%). Bands, stated
before measuring: medians within 30%, 12-month OS within 12 points, 5-year OS within 8
points, HR for death in [0.40, 0.72].
"""

from __future__ import annotations

import pytest

from tme_env.patients import cohort
from tme_env.regimens import schedules
from tme_env.trials import hazard_ratio, km_median, run_schedule, survival_at

MONTH = 30.4375
HORIZON = 1827.0


@pytest.fixture(scope="module")
def trial():
    c = cohort("validation", 400)
    return {arm: run_schedule(c, schedules.keynote189(arm, HORIZON), HORIZON)
            for arm in ("placebo", "pembrolizumab")}  # fmt: skip


def test_keynote189_published_figures(trial):
    plac, pemb = trial["placebo"], trial["pembrolizumab"]
    pfs = {k: km_median(a.pfs_days, a.pfs_event) / MONTH for k, a in trial.items()}
    mos = {k: km_median(a.os_days, a.os_event) / MONTH for k, a in trial.items()}
    os12 = {k: survival_at(a.os_days, a.os_event, 365.25) for k, a in trial.items()}
    os5 = {k: survival_at(a.os_days, a.os_event, HORIZON - 1.0) for k, a in trial.items()}
    hr = hazard_ratio(pemb.os_days, pemb.os_event, plac.os_days, plac.os_event)
    # The calibration's own target for the pembrolizumab median (the arm's curve is nearly
    # flat around 50% from 18 to 26 months, so the median itself jumps with a few patients).
    os22 = survival_at(pemb.os_days, pemb.os_event, 22.0 * MONTH)
    print(
        f"KEYNOTE-189 (validation, 400/arm): median PFS {pfs['placebo']:.1f} vs "
        f"{pfs['pembrolizumab']:.1f} mo (4.9 vs 9.0); median OS {mos['placebo']:.1f} vs "
        f"{mos['pembrolizumab']:.1f} (10.7 vs 22.0; pembrolizumab OS at 22 months {os22:.1%}, "
        f"50%); 12-mo OS {os12['placebo']:.1%} vs "
        f"{os12['pembrolizumab']:.1%} (49.4% vs 69.2%); 5-y OS {os5['placebo']:.1%} vs "
        f"{os5['pembrolizumab']:.1%} (11.3% vs 19.4%); HR death {hr:.2f} (0.56); ORR "
        f"{plac.objective_response_rate:.1%} vs {pemb.objective_response_rate:.1%} "
        "(18.9% vs 47.6%)"
    )
    assert pfs["placebo"] == pytest.approx(4.9, rel=0.30)
    assert mos["placebo"] == pytest.approx(10.7, rel=0.30)
    assert mos["pembrolizumab"] == pytest.approx(22.0, rel=0.30)
    assert os12["placebo"] == pytest.approx(0.494, abs=0.12)
    assert os12["pembrolizumab"] == pytest.approx(0.692, abs=0.12)
    assert os5["placebo"] == pytest.approx(0.113, abs=0.08)
    assert os5["pembrolizumab"] == pytest.approx(0.194, abs=0.08)
    assert 0.40 <= hr <= 0.72


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known gap of the v1 calibration: objective response rates come out above the "
        "published 18.9% / 47.6% (validation: 28.5% / 61.3%, 1.5x / 1.3x; train: 35% / 68%): "
        "the optimiser traded them against OS and PFS (weights in experiments/calibrate_tme.py, "
        "figures reached under figures_fitted in experiments/calibration/tme_calibration.json). "
        "Weighting both ORRs 5x brings them to 22.8% / 56.8% on validation, at a pembrolizumab "
        "median OS of 15.5 months instead of 16.7 (tme_calibration_orr_weighted.json, not the "
        "defaults; experiments/calibration_tradeoff.py). "
        "Requiring confirmation at the next scan would read 21.8% / 58.3%, still outside the "
        "band on the pembrolizumab arm; the definition is left as is (whether KEYNOTE-189 "
        "counted only confirmed responses could not be checked here; RECIST 1.1 does not "
        "require confirmation in randomised trials [M])."
    ),
)
def test_keynote189_objective_response_rates(trial):
    orr = {k: a.objective_response_rate for k, a in trial.items()}
    print(f"ORR {orr['placebo']:.1%} vs {orr['pembrolizumab']:.1%} (published 18.9% vs 47.6%)")
    assert orr["placebo"] == pytest.approx(0.189, abs=0.10)
    assert orr["pembrolizumab"] == pytest.approx(0.476, abs=0.10)


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known gap, explained: the pembrolizumab arm's PFS curve crosses 50% between the "
        "week-18 and week-27 scans, so the KM median lands on the week-27 scan (6.2 months) "
        "instead of 9.0; on the train split the calibration reached 8.3 (PFS is only seen at "
        "the KEYNOTE-189 scan days, so the median jumps scan to scan)"
    ),
)
def test_keynote189_pembrolizumab_median_pfs(trial):
    pemb = trial["pembrolizumab"]
    median = km_median(pemb.pfs_days, pemb.pfs_event) / MONTH
    print(f"pembrolizumab arm median PFS {median:.1f} months (updated analysis 9.0)")
    assert median == pytest.approx(9.0, rel=0.30)
