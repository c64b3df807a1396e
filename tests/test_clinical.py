"""Clinical readouts: RECIST, CTCAE, survival and progression times."""

from __future__ import annotations

import numpy as np
import pytest

from tme_env import clinical


def test_diameter_scales_with_the_cube_root_of_burden():
    assert clinical.diameter_mm(1e9) == pytest.approx(12.407, abs=1e-3)  # 1 cm^3 sphere
    assert clinical.diameter_mm(8e9) == pytest.approx(2 * clinical.diameter_mm(1e9))


@pytest.mark.parametrize(
    ("anc", "grade"), [(5.0, 0), (2.0, 0), (1.99, 1), (1.5, 1), (1.49, 2), (1.0, 2),
                       (0.99, 3), (0.5, 3), (0.49, 4), (0.0, 4)]
)  # fmt: skip
def test_ctcae_neutropenia_grades(anc, grade):
    assert int(clinical.neutropenia_grade(anc)) == grade


def test_survival_time_interpolates_the_lethal_crossing_in_log_burden():
    t = np.array([0.0, 10.0, 20.0])
    burden = np.array([[1e10, 1e11, 1e13], [1e10, 1e10, 1e10]])
    days, event = clinical.survival_time(t, burden)
    assert event.tolist() == [True, False]
    assert days[0] == pytest.approx(15.0)  # 1e12 is halfway between 1e11 and 1e13 in log
    assert days[1] == 20.0


def test_progression_is_a_20pct_diameter_increase_over_the_nadir():
    t = np.arange(0.0, 301.0)
    # Shrinks to 0.5x volume by day 60, then grows 2% per day.
    burden = np.where(t < 60, 1e10 * np.exp(np.log(0.5) * t / 60),
                      0.5e10 * np.exp(0.02 * (t - 60)))  # fmt: skip
    imaging = [42.0, 84.0, 126.0, 168.0]
    pfs, event = clinical.progression_time(t, burden, imaging)
    diam = clinical.diameter_mm(np.interp(imaging, t, burden))
    nadir = np.minimum.accumulate(np.r_[clinical.diameter_mm(1e10), diam])[:-1]
    first = imaging[int(np.argmax(diam >= 1.2 * nadir))]
    assert event[0] and pfs[0] == first
    assert clinical.best_overall_response(t, burden, imaging)[0] in ("SD", "PR")


def test_best_response_categories():
    t = np.arange(0.0, 200.0)
    shrink_pr = 1e10 * np.exp(-0.02 * t)  # diameter -30% when volume -66%
    cr = 1e10 * np.exp(-0.1 * t)
    growing = 1e10 * np.exp(0.02 * t)
    bor = clinical.best_overall_response(t, np.stack([shrink_pr, cr, growing]), [42.0, 84.0])
    assert bor.tolist() == ["PR", "CR", "PD"]


def test_death_counts_as_progression_event():
    t = np.arange(0.0, 40.0)
    burden = 1e11 * np.exp(0.1 * t)  # lethal at ~day 23, before any scan
    pfs, event = clinical.progression_time(t, burden, [42.0])
    os_days, _ = clinical.survival_time(t, burden)
    assert event[0] and pfs[0] == pytest.approx(os_days[0])


def test_blood_mdsc_is_proportional():
    assert clinical.blood_mdsc_per_ul(2e9) == pytest.approx(2 * clinical.blood_mdsc_per_ul(1e9))
