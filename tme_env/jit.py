"""Numba compilation flags shared by every kernel in the package.

All compiled code uses these flags so that behaviour (caching, error model, floating-point
semantics) is set in one place. ``fastmath`` stays off: the integrator must give bit-identical
results in the single-patient and the batched path, and reassociation would break that.
"""

from __future__ import annotations

JIT_FLAGS: dict[str, object] = {
    "cache": True,
    "nogil": True,
    "fastmath": False,
    # NumPy semantics for division by zero (inf/nan instead of a Python exception): kernels stay
    # free of exception paths, and the integrator reports non-finite values itself.
    "error_model": "numpy",
}
