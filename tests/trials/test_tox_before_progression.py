"""Q-TWiST's TOX is toxic time before progression only (v2: one definition, env and trial)."""

from __future__ import annotations

import numpy as np

from tme_env import clinical
from tme_env.trials.outcomes import toxic_days_before


def test_toxic_time_after_progression_is_not_tox():
    t = np.arange(6) * 7.0  # five weekly intervals
    toxic = np.array([[1, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]], dtype=float)
    pfs = np.array([17.5, 35.0, 28.0])  # mid-interval, at the end, before the toxic week
    np.testing.assert_allclose(toxic_days_before(t, toxic, pfs), [7.0 + 3.5, 35.0, 0.0])
    # The v1 definition capped total toxic days at PFS: 28 toxic days, PFS 17.5 -> 17.5.
    os_days = np.full(3, 35.0)
    q = clinical.q_twist_days(os_days, pfs, toxic_days_before(t, toxic, pfs))
    u_tox, u_rel = clinical.QTWIST_UTILITY_TOX, clinical.QTWIST_UTILITY_REL
    np.testing.assert_allclose(q[0], u_tox * 10.5 + (17.5 - 10.5) + u_rel * 17.5)
