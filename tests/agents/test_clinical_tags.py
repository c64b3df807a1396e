"""The TensorBoard ``clinical/`` scalars of a training evaluation (issue 29).

Beside survival, RMST, response, neutropenia, time hot and the score, TensorBoard shows
Q-TWiST (what the score is built on), the irAE rates and the median OS and PFS.
"""

from __future__ import annotations

import numpy as np

from tme_env.agents.callbacks import CLINICAL_TAGS, ClinicalEvalCallback
from tme_env.trials import ArmOutcomes, TrialResult, summarise


class _Logger:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.dumped: list[int] = []

    def record(self, key: str, value: float) -> None:
        self.values[key] = value

    def dump(self, step: int) -> None:
        self.dumped.append(step)


class _Model:
    num_timesteps = 1024

    def __init__(self) -> None:
        self.logger = _Logger()


def _row(os_days, events, irae):
    n = len(os_days)
    z = np.zeros(n)
    arm = ArmOutcomes(
        "ppo", [f"p{i}" for i in range(n)], np.array(os_days, float), np.array(events, bool),
        np.array(os_days, float) / 2, np.array(events, bool), np.array(["SD"] * n, dtype=object),
        np.zeros(n, bool), z, z, z, z, z, np.zeros((n, 1, 3)),
        irae_worst_grade=np.array(irae),
    )  # fmt: skip
    row = summarise(TrialResult("tme/TumorImmune-v2", "validation", n, 0, 400.0, {"ppo": arm}))[0]
    return {**row, **{f"os_at_{m}mo": 0.5 for m in (6, 12, 24, 36)}}


def test_evaluation_logs_q_twist_irae_and_medians():
    model = _Model()
    row = _row([100, 200, 300, 400], [1, 1, 1, 0], [0, 1, 3, 0])
    ClinicalEvalCallback._log(None, model, row)
    logged = model.logger.values
    # Every tag but the score (n/a: this one-arm trial has no reference arms).
    assert len(CLINICAL_TAGS) == 14 and set(logged) == {
        f"clinical/{t}" for t in CLINICAL_TAGS.values() if t != "benchmark_score"}
    assert logged["clinical/q_twist_months"] == row["q_twist_months"] > 0
    assert logged["clinical/irae_rate"] == 0.5 and logged["clinical/irae_grade3plus_rate"] == 0.25
    assert logged["clinical/median_os_months"] == row["median_os_months"] > 0
    assert logged["clinical/median_pfs_months"] == row["median_pfs_months"] > 0
    assert model.logger.dumped == [1024]


def test_a_median_not_reached_is_not_logged():
    model = _Model()
    row = _row([100, 400, 400, 400], [1, 0, 0, 0], [0, 0, 0, 0])
    assert np.isinf(row["median_os_months"])
    ClinicalEvalCallback._log(None, model, row)
    assert "clinical/median_os_months" not in model.logger.values
    assert "clinical/q_twist_months" in model.logger.values
