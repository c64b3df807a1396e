"""Persistent arrays handed to compiled code as one int64 table of addresses.

Calling a compiled function from Python costs time per argument (type dispatch and
unboxing). Inside the single ``tme`` env's step loop, a compiled no-op taking the fused step's
22 arguments measured 2.9 us per call (~0.13 us an argument, more than the ~35 ns of
`tme_env.simulator.packed`'s microbenchmark). Those arrays are all persistent (allocated once,
never reassigned), so `ArrayTable` records each one's data address and dimensions in a single
int64 array, and a compiled wrapper rebuilds the views with `numba.carray`: one argument
instead of 22. Measured: the compiled step call 25.6 -> 22.4 us, the whole env step ~1.8 us
faster, with the same arrays and therefore the same results bit for bit.

**Lifetime.** The views own no reference to the arrays: `ArrayTable` keeps a reference to
every array it records, and its owner must never reassign or resize them (write into them
instead). Only C-contiguous, writeable arrays of the dtypes in `DTYPES` are accepted, with
one or two dimensions. Without compiled code (``NUMBA_DISABLE_JIT=1``) there are no
pointers: callers check `AVAILABLE` and pass the arrays themselves.
"""

from __future__ import annotations

import numpy as np
from numba import carray, config, njit, types
from numba.extending import intrinsic

from tme_env.jit import JIT_FLAGS

__all__ = [
    "AVAILABLE",
    "DTYPES",
    "RECORD",
    "ArrayTable",
    "b1_1d",
    "f4_2d",
    "f8_1d",
    "f8_2d",
    "i8_1d",
    "i8_2d",
]

#: Whether compiled code can read a table (False under ``NUMBA_DISABLE_JIT=1``).
AVAILABLE = not config.DISABLE_JIT
#: The dtypes a table records (each has its view functions below).
DTYPES = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_))
#: Int64 slots per array record: data address, first and second dimension (0 for 1-D).
RECORD = 3


class ArrayTable:
    """An int64 table of ``(address, dim0, dim1)`` records, then int64 scalars.

    Args:
        arrays: The persistent arrays, in the order the compiled reader expects; record ``k``
            starts at ``table[RECORD * k]``.
        scalars: Integers appended after the records (read as ``table[RECORD * len(arrays)
            + j]``).

    Raises:
        ValueError: Naming the array that is not a C-contiguous, writeable ndarray, has an
            unsupported dtype or more than two dimensions.
    """

    def __init__(self, arrays: list[np.ndarray], scalars: tuple[int, ...] = ()) -> None:
        """Record the arrays' addresses and keep them alive."""
        records: list[int] = []
        for k, a in enumerate(arrays):
            if not isinstance(a, np.ndarray):
                raise ValueError(f"array {k}: expected a numpy.ndarray, got {type(a).__name__}")
            if not (a.flags.c_contiguous and a.flags.writeable):
                raise ValueError(
                    f"array {k}: expected a C-contiguous, writeable array (compiled code "
                    f"writes through its address), got strides {a.strides}, writeable "
                    f"{a.flags.writeable}"
                )
            if a.dtype not in DTYPES or not 1 <= a.ndim <= 2:
                raise ValueError(
                    f"array {k}: expected 1-D or 2-D {[str(d) for d in DTYPES]}, got "
                    f"{a.ndim}-D {a.dtype}"
                )
            records += [a.ctypes.data, a.shape[0], a.shape[1] if a.ndim == 2 else 0]
        #: The arrays recorded (the table's addresses are valid while these live).
        self.arrays = tuple(arrays)
        self.table = np.array(records + [int(s) for s in scalars], dtype=np.int64)


def _pointer_from_int(nbtype: types.Type) -> object:
    """A numba intrinsic turning an int64 address into a ``CPointer(nbtype)``."""

    @intrinsic
    def pointer(typingctx, addr):  # noqa: ARG001 - numba intrinsic protocol
        sig = types.CPointer(nbtype)(types.int64)

        def codegen(context, builder, signature, args):  # noqa: ARG001
            return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

        return sig, codegen

    return pointer


_f8_ptr = _pointer_from_int(types.float64)
_f4_ptr = _pointer_from_int(types.float32)
_i8_ptr = _pointer_from_int(types.int64)
_b1_ptr = _pointer_from_int(types.boolean)


# The views of record ``k`` (compiled code only; see the module docstring for their lifetime).
@njit(**JIT_FLAGS)
def f8_1d(t, k):  # pragma: no cover - compiled
    """Record ``k`` as a 1-D float64 array."""
    r = RECORD * k
    return carray(_f8_ptr(t[r]), t[r + 1])


@njit(**JIT_FLAGS)
def f8_2d(t, k):  # pragma: no cover - compiled
    """Record ``k`` as a 2-D float64 array."""
    r = RECORD * k
    return carray(_f8_ptr(t[r]), (t[r + 1], t[r + 2]))


@njit(**JIT_FLAGS)
def f4_2d(t, k):  # pragma: no cover - compiled
    """Record ``k`` as a 2-D float32 array."""
    r = RECORD * k
    return carray(_f4_ptr(t[r]), (t[r + 1], t[r + 2]))


@njit(**JIT_FLAGS)
def i8_1d(t, k):  # pragma: no cover - compiled
    """Record ``k`` as a 1-D int64 array."""
    r = RECORD * k
    return carray(_i8_ptr(t[r]), t[r + 1])


@njit(**JIT_FLAGS)
def i8_2d(t, k):  # pragma: no cover - compiled
    """Record ``k`` as a 2-D int64 array."""
    r = RECORD * k
    return carray(_i8_ptr(t[r]), (t[r + 1], t[r + 2]))


@njit(**JIT_FLAGS)
def b1_1d(t, k):  # pragma: no cover - compiled
    """Record ``k`` as a 1-D bool array."""
    r = RECORD * k
    return carray(_b1_ptr(t[r]), t[r + 1])
