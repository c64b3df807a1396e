"""Sharded trials without Ray: shard layout, bit-identity, tallies against summarise, Parquet."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from tme_env import regimens
from tme_env.patients import cohort
from tme_env.trials import run_trial, summarise
from tme_env.trials.report import summary_table
from tme_env.trials.run import TRIAL_ENV_IDS
from tme_env.trials.shards import shard_bounds
from tme_env.trials.streaming import ArmTally, stream_trial, summarise_tallies

N = 13
CLINICAL = TRIAL_ENV_IDS[1]
ARMS = ("no-treatment", "mtd-chemo", "adaptive-at50")


def _policies(observation: str = "full") -> dict:
    return {name: regimens.get(name, observation=observation) for name in ARMS}


def assert_same_trial(a, b) -> None:
    assert list(a.arms) == list(b.arms)
    for name in a.arms:
        for f in fields(a.arms[name]):
            x, y = getattr(a.arms[name], f.name), getattr(b.arms[name], f.name)
            if x is None:
                assert y is None
                continue
            assert np.array_equal(np.asarray(x), np.asarray(y)), (name, f.name)


def test_shard_bounds_cover_every_patient_once():
    assert shard_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert shard_bounds(3, 100) == [(0, 3)]
    with pytest.raises(ValueError, match="shard_size must be a positive integer, got 0"):
        shard_bounds(10, 0)


def test_cohort_start_is_a_slice_of_the_split():
    part, whole = cohort("test", 4, start=3), cohort("test", 7)
    assert part.ids == whole.ids[3:]
    assert np.array_equal(part.parameters_array(), whole.parameters_array()[3:])
    with pytest.raises(ValueError, match="start must be a non-negative integer, got -1"):
        cohort("test", 4, start=-1)


@pytest.fixture(scope="module")
def clinical_trial():
    return run_trial(_policies("clinical"), env_id=CLINICAL, n_patients=N,
                     seed=3)  # fmt: skip


@pytest.mark.parametrize("shard_size", [1, 4, N])
def test_local_shards_bit_identical_to_one_batch(clinical_trial, shard_size):
    # The clinical env draws measurement noise, so this also checks the per-patient seeds.
    sharded = run_trial(_policies("clinical"), env_id=CLINICAL,
                        n_patients=N, seed=3, shard_size=shard_size)  # fmt: skip
    assert_same_trial(clinical_trial, sharded)


def test_a_patients_outcome_does_not_depend_on_the_trial_size(clinical_trial):
    small = run_trial(_policies("clinical"), env_id=CLINICAL, n_patients=5,
                      seed=3)  # fmt: skip
    for name in ARMS:
        assert np.array_equal(small.arms[name].os_days, clinical_trial.arms[name].os_days[:5])
        assert np.array_equal(small.arms[name].pfs_days, clinical_trial.arms[name].pfs_days[:5])


def test_unknown_backend_is_named():
    with pytest.raises(ValueError, match="unknown backend 'dask'; valid: local, ray"):
        run_trial(_policies(), n_patients=2, backend="dask")
    with pytest.raises(ValueError, match="a Ray address \\('auto'\\) needs backend 'ray'"):
        run_trial(_policies(), n_patients=2, shard_size=1, address="auto")


@pytest.fixture(scope="module")
def full_trial():
    return run_trial(_policies(), n_patients=40, seed=0)


def test_tallies_summarise_like_the_per_patient_summary(full_trial):
    tallies = {name: ArmTally(name) for name in full_trial.arms}
    for name, arm in full_trial.arms.items():
        tallies[name].add(arm)
    expected = summarise(full_trial, reference="mtd-chemo")
    got = summarise_tallies(tallies, full_trial.horizon_days, reference="mtd-chemo")
    assert [r["arm"] for r in got] == [r["arm"] for r in expected]
    for e, g in zip(expected, got, strict=True):
        assert list(g) == list(e)
        for key, value in e.items():
            if isinstance(value, str):
                assert g[key] == value
            else:
                # lifelines' Efron tie correction with frequency weights is not the one of
                # the repeated rows (weekly death days tie a lot): the Cox HR differs slightly.
                rtol = 2e-2 if key.startswith(("hazard_ratio", "hr_ci")) else 1e-6
                np.testing.assert_allclose(g[key], value, rtol=rtol, err_msg=f"{e['arm']} {key}")


def test_stream_trial_writes_every_patient_once_in_order(tmp_path, full_trial):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "big"
    rows = stream_trial(_policies(), str(out), n_patients=40, seed=0, shard_size=15,
                        reference="mtd-chemo")  # fmt: skip
    table = pq.read_table(out / "patients.parquet").to_pandas()
    assert len(table) == 40 * len(ARMS)
    for name, arm in full_trial.arms.items():
        part = table[table["arm"] == name]
        assert part["patient_index"].tolist() == list(range(40))
        assert part["patient"].tolist() == arm.patient_ids
        assert np.array_equal(part["os_days"].to_numpy(), arm.os_days)
        assert np.array_equal(part["best_response"].to_numpy(), arm.best_response.astype(str))
    expected = summarise(full_trial, reference="mtd-chemo")
    for e, g in zip(expected, rows, strict=True):
        np.testing.assert_allclose(g["rmst_os_months"], e["rmst_os_months"], rtol=1e-9)
    assert {p.name for p in out.iterdir()} >= {"report.md", "summary.json", "km_os.png"}
    assert not [p for p in tmp_path.iterdir() if p.name != "big"]  # staging moved into place
    # The streamed report has the per-patient report's table (Q-TWiST and irAE columns
    # included) and names the arm that scores 100 (issue 29: it showed "score nan").
    report = (out / "report.md").read_text()
    assert summary_table(rows)[0] in report and "Q-TWiST, mo" in report and "irAE" in report
    assert summary_table(rows)[2] in report
    assert "100 = mtd-chemo, the best standard regimen in this trial" in report


def test_streamed_report_without_the_score_arms_says_na(tmp_path):
    pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "one"
    rows = stream_trial({"mtd-chemo": regimens.get("mtd-chemo")}, str(out), n_patients=6)
    assert np.isnan(rows[0]["benchmark_score"]) and rows[0]["score_reference"] is None
    report = (out / "report.md").read_text()
    assert "nan" not in report and "| n/a |" in report and "Score n/a: the benchmark" in report
    table = (out / "summary.csv").read_text()
    assert "nan" not in table and "inf" not in table  # empty cells, as write_report's
