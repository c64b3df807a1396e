"""The PD-L1-guided standard of care: pembrolizumab alone at TPS >= 50%, the combination else."""

from __future__ import annotations

import numpy as np
import pytest

from tme_env import regimens
from tme_env.envs import CLINICAL_ENV_ID, DEFAULT_ENV_ID
from tme_env.patients import cohort
from tme_env.regimens import schedules
from tme_env.trials.arms import run_arm


@pytest.mark.parametrize("env_id", [DEFAULT_ENV_ID, CLINICAL_ENV_ID])
def test_guided_regimen_follows_each_patients_tps(env_id):
    mode = "clinical" if "Clinical" in env_id else "full"
    n = 30
    guided, _ = run_arm("g", regimens.get("pdl1-guided", observation=mode), env_id,
                        "validation", n, 0)  # fmt: skip
    mono, _ = run_arm("m", regimens.get("pembrolizumab", observation=mode), env_id,
                      "validation", n, 0)  # fmt: skip
    combo, _ = run_arm("c", regimens.get("chemo-ici-concurrent", observation=mode), env_id,
                       "validation", n, 0)  # fmt: skip
    high = cohort("validation", n).phenotype("pdl1_tps") >= 0.5
    assert high.any() and (~high).any()
    # High TPS: exactly pembrolizumab alone; otherwise exactly the KEYNOTE-189 combination.
    np.testing.assert_array_equal(guided.weekly_doses[high], mono.weekly_doses[high])
    np.testing.assert_array_equal(guided.weekly_doses[~high], combo.weekly_doses[~high])
    assert (guided.dose_chemo[high] == 0).all() and (guided.dose_chemo[~high] > 0).all()


def test_guided_regimen_has_no_single_fixed_schedule():
    with pytest.raises(ValueError, match="PD-L1"):
        schedules.fixed_schedule("pdl1-guided")
