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
    "view_1d",
    "view_2d",
]

#: Whether compiled code can read a table (False under ``NUMBA_DISABLE_JIT=1``).
AVAILABLE = not config.DISABLE_JIT
#: The dtypes a table records (`view_1d` / `view_2d` read them as ``dtype.type``).
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


@intrinsic
def _pointer(typingctx, addr, dtype):  # noqa: ARG001 - numba intrinsic protocol
    """An int64 address as a pointer to ``dtype`` (a NumPy scalar type: ``np.float64``, ...)."""
    sig = types.CPointer(dtype.dtype)(types.int64, dtype)

    def codegen(context, builder, signature, args):  # noqa: ARG001
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


# The views of record ``k`` (compiled code only; see the module docstring for their lifetime).
@njit(**JIT_FLAGS)
def view_1d(t, k, dtype):  # pragma: no cover - compiled
    """Record ``k`` as a 1-D array of ``dtype`` (``np.float64``, ``np.bool_``, ...)."""
    r = RECORD * k
    return carray(_pointer(t[r], dtype), t[r + 1])


@njit(**JIT_FLAGS)
def view_2d(t, k, dtype):  # pragma: no cover - compiled
    """Record ``k`` as a 2-D array of ``dtype``."""
    r = RECORD * k
    return carray(_pointer(t[r], dtype), (t[r + 1], t[r + 2]))
