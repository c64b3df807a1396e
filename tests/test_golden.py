"""Env trajectories and trial arms are bit-identical to the committed golden digests.

Refactors must not change a single bit (see `tests.golden.digests`, which rewrites the digests
only when the dynamics are meant to change).
"""

from __future__ import annotations

import pytest

from tests.golden import digests


def test_trajectories_and_trials_match_the_golden_digests():
    where, want = digests.load()
    if where != digests.platform():
        pytest.skip(f"golden digests were written on {where}; exact bits differ across CPUs "
                    f"and toolchains, this is {digests.platform()}")
    got = digests.compute()
    assert set(got) == set(want)
    differ = sorted(k for k in want if got[k] != want[k])
    assert not differ, f"not bit-identical: {differ}"


def test_digest_sees_a_one_bit_change():
    import numpy as np

    a = np.linspace(0.0, 1.0, 7)
    b = a.copy()
    b[3] = np.nextafter(b[3], 2.0)
    ha, hb = digests._Hasher(), digests._Hasher()
    ha.add({"x": a})
    hb.add({"x": b})
    assert ha.hexdigest() != hb.hexdigest()
