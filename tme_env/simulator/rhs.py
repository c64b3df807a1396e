"""The right-hand-side ABI: how a model's compiled rhs reaches the shared integrator.

Every model's right-hand side is an ``@njit`` function ``rhs(t, y, p, u, dydt) -> None`` on
C-contiguous float64 arrays (`RHS_SIGNATURE`). The integrator kernels receive it as two
integers, its compiled addresses (`rhs_addresses`), and rebuild a first-class function value
from them inside compiled code (`rhs_at`). Integers keep the kernels cacheable on disk
(``cache=True``) and cost nothing to pass; converting a dispatcher to a first-class function
on every call costs ~25 us in numba's argument unboxing.
"""

from __future__ import annotations

import functools

from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["F8_1D", "F8_2D", "F8_3D", "I8_1D", "RHS_SIGNATURE", "rhs_addresses", "rhs_at"]

#: Numba array types of the kernel arguments (C-contiguous).
F8_1D = types.float64[::1]
F8_2D = types.float64[:, ::1]
F8_3D = types.float64[:, :, ::1]
I8_1D = types.int64[::1]

#: Numba signature every model right-hand side must have: ``rhs(t, y, p, u, dydt) -> None``.
RHS_SIGNATURE = types.void(types.float64, F8_1D, F8_1D, F8_1D, F8_1D)
_RHS_TYPE = types.FunctionType(RHS_SIGNATURE)


@functools.cache
def rhs_addresses(rhs) -> tuple[int, int]:  # noqa: ANN001 - a numba dispatcher
    """Compile ``rhs`` for `RHS_SIGNATURE` and return its (C-wrapper, native) addresses.

    The dispatcher (kept alive by the model) owns the code.
    """
    from numba.experimental.function_type import _get_jit_address, _get_wrapper_address

    rhs.compile(RHS_SIGNATURE.args)
    return int(_get_wrapper_address(rhs, RHS_SIGNATURE)), int(_get_jit_address(rhs, RHS_SIGNATURE))


@intrinsic
def rhs_at(typingctx, c_addr, jit_addr):  # noqa: ARG001 - numba intrinsic protocol
    """Rebuild the first-class function value from the two addresses of `rhs_addresses`."""
    sig = _RHS_TYPE(types.int64, types.int64)

    def codegen(context, builder, signature, args):  # noqa: ARG001
        fn = cgutils.create_struct_proxy(_RHS_TYPE)(context, builder)
        fn.c_addr = builder.inttoptr(args[0], cgutils.voidptr_t)
        fn.py_addr = cgutils.get_null_value(cgutils.voidptr_t)
        fn.jit_addr = builder.inttoptr(args[1], cgutils.voidptr_t)
        return fn._getvalue()

    return sig, codegen


if config.DISABLE_JIT:  # pragma: no cover - the pure-Python run of CI (NUMBA_DISABLE_JIT=1)
    # No compiled code: the "addresses" are keys of a registry of the Python functions, and
    # `rhs_at` looks the function up. The kernels then run as plain Python, line by line.
    _PY_RHS: dict[int, object] = {}

    @functools.cache
    def rhs_addresses(rhs) -> tuple[int, int]:  # noqa: ANN001, D103 - as above
        _PY_RHS[id(rhs)] = rhs
        return id(rhs), id(rhs)

    def rhs_at(c_addr, jit_addr):  # noqa: ANN001, ANN201, ARG001, D103 - as above
        return _PY_RHS[c_addr]

