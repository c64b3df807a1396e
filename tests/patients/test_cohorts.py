"""Virtual patients and named cohort splits."""

from __future__ import annotations

import numpy as np
import pytest

from tme_env.models.tme import MODEL, TMEParameters
from tme_env.patients import (
    BURDEN_RANGE,
    IMMUNE_PHENOTYPES,
    POPULATION,
    SPLITS,
    cohort,
    sample_patients,
)


def test_same_split_and_size_give_identical_patients():
    a, b = cohort("validation", 20), cohort("validation", 20)
    np.testing.assert_array_equal(a.parameters_array(), b.parameters_array())
    np.testing.assert_array_equal(a.initial_states_array(), b.initial_states_array())
    assert a.ids == b.ids == [f"validation-{i:04d}" for i in range(20)]


def test_a_larger_cohort_extends_a_smaller_one():
    small, large = cohort("test", 10), cohort("test", 25)
    np.testing.assert_array_equal(small.parameters_array(), large.parameters_array()[:10])
    assert large[:10].ids == small.ids


def test_splits_never_share_a_patient():
    n = 300
    arrays = {s: cohort(s, n).parameters_array() for s in SPLITS}
    test_rows = {row.tobytes() for row in arrays["test"]}
    for other in ("train", "validation"):
        assert not test_rows & {row.tobytes() for row in arrays[other]}
    assert not {r.tobytes() for r in arrays["train"]} & {r.tobytes() for r in arrays["validation"]}


def test_population_spread_matches_its_definition():
    c = cohort("train", 400)
    base = TMEParameters()
    names = MODEL.parameter_names
    p = c.parameters_array()
    scale = {name: m for name, _, m in IMMUNE_PHENOTYPES}
    phenotype_scale = np.array([scale[x] for x in c.phenotype("immune_class")])
    for spread in POPULATION:
        logs = np.log(p[:, names.index(spread.parameter)] / getattr(base, spread.parameter))
        if spread.parameter == "effector_recruitment":  # the phenotype sets the level
            logs -= np.log(phenotype_scale)
        assert abs(np.median(logs)) < 0.2 * spread.sigma + 0.05
        assert np.std(logs) == pytest.approx(spread.sigma, rel=0.15)
    z = np.array([[pt.phenotype["z"][s.parameter] for s in POPULATION] for pt in c])
    i = [s.parameter for s in POPULATION].index("mdsc_tumour_recruitment")
    j = [s.parameter for s in POPULATION].index("mdsc_damage_recruitment")
    assert np.corrcoef(z[:, i], z[:, j])[0, 1] == pytest.approx(0.5, abs=0.12)


def test_patients_present_with_a_detectable_sublethal_tumour():
    c = cohort("validation", 200)
    burden = np.array([p.tumour_burden for p in c])
    assert burden.min() >= BURDEN_RANGE[0] >= 1e9
    assert burden.max() <= BURDEN_RANGE[1] < 1e12
    y0 = c.initial_states_array()
    assert np.all(np.isfinite(y0)) and np.all(y0 >= 0)


def test_phenotype_labels():
    c = cohort("train", 400)
    resp = c.phenotype("mdsc_responder")
    fractions = {k: float(np.mean(resp == k)) for k in ("strong", "intermediate", "weak")}
    assert fractions["strong"] == pytest.approx(0.25, abs=0.07)
    assert fractions["weak"] == pytest.approx(0.25, abs=0.07)
    assert set(c.phenotype("immune_status")) <= {"hot", "cold"}


def test_sampling_takes_an_explicit_generator():
    a = sample_patients(5, np.random.default_rng(1))
    b = sample_patients(5, np.random.default_rng(1))
    assert [p.parameters for p in a] == [p.parameters for p in b]
    with pytest.raises(ValueError, match="numpy.random.Generator"):
        sample_patients(5, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(("split", "n", "pattern"),
                         [("holdout", 5, "unknown split 'holdout'; valid splits: train"),
                          ("test", 0, "positive integer")])  # fmt: skip
def test_bad_cohort_requests(split, n, pattern):
    with pytest.raises(ValueError, match=pattern):
        cohort(split, n)
