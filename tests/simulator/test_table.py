"""`tme_env.simulator.table`: persistent arrays handed to compiled code by address."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from tme_env.simulator import table


@pytest.mark.parametrize(
    ("array", "pattern"),
    [
        ([1.0, 2.0], r"array 1: expected a numpy.ndarray, got list"),
        (np.zeros((4, 3))[:, 0], r"array 1: expected a C-contiguous, writeable array"),
        (np.zeros(3, dtype=np.int32), r"array 1: expected 1-D or 2-D .*got 1-D int32"),
        (np.zeros((2, 2, 2)), r"array 1: expected 1-D or 2-D .*got 3-D float64"),
    ],
)
def test_bad_arrays_are_refused_by_position(array, pattern):
    with pytest.raises(ValueError, match=pattern):
        table.ArrayTable([np.zeros(2), array])


def test_read_only_arrays_are_refused():
    ro = np.zeros(3)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="writeable False"):
        table.ArrayTable([ro])


def test_records_hold_addresses_dimensions_and_the_scalars():
    a, b = np.zeros(5), np.zeros((2, 3), dtype=np.int64)
    t = table.ArrayTable([a, b], scalars=(7, -1))
    assert t.arrays[0] is a and t.arrays[1] is b
    assert t.table.tolist() == [a.ctypes.data, 5, 0, b.ctypes.data, 2, 3, 7, -1]


@njit
def _touch(t):
    """Read records 0-5 as every dtype and rank and write through each one."""
    f1, f2 = table.view_1d(t, 0, np.float64), table.view_2d(t, 1, np.float64)
    f4, i1 = table.view_2d(t, 2, np.float32), table.view_1d(t, 3, np.int64)
    i2, b1 = table.view_2d(t, 4, np.int64), table.view_1d(t, 5, np.bool_)
    total = f1.sum() + f2.sum() + f4.sum() + i1.sum() + i2.sum() + b1.sum()
    f1[0] = 10.0
    f2[1, 2] = 20.0
    f4[0, 1] = 30.0
    i1[-1] = 40
    i2[1, 0] = 50
    b1[1] = True
    return total + t[table.RECORD * 6]


@pytest.mark.skipif(not table.AVAILABLE, reason="pointers need compiled code")
def test_compiled_views_read_and_write_the_recorded_arrays():
    rng = np.random.default_rng(0)
    arrays = [rng.random(4), rng.random((2, 3)), rng.random((3, 2)).astype(np.float32),
              np.arange(5), np.arange(6).reshape(2, 3), np.array([True, False, True])]  # fmt: skip
    expected = sum(float(a.sum()) for a in arrays) + 1000
    t = table.ArrayTable(arrays, scalars=(1000,))
    assert _touch(t.table) == pytest.approx(expected, rel=1e-6)
    assert arrays[0][0] == 10.0 and arrays[1][1, 2] == 20.0 and arrays[2][0, 1] == 30.0
    assert arrays[3][-1] == 40 and arrays[4][1, 0] == 50 and arrays[5].all()
