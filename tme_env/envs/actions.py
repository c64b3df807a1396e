"""Actions of the envs: checking them (named errors, never silent casts) and discrete levels.

Shared by every env of the package: the ``tme`` envs (single and vector) and the de Pillis
env. An action is dose fractions in [0, 1], one column per drug (`tme_env.dosing.ACTION`),
or, for the discrete variant, an index into `DISCRETE_LEVELS`.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

__all__ = [
    "ACTION_TOLERANCE",
    "DISCRETE_LEVELS",
    "action_array",
    "discrete_array",
    "unit_doses",
]

#: Dose levels of the discrete variant: chemo {0, 1/2, 1} x anti-PD-1 {0, 1} x inhibitor {0, 1}.
DISCRETE_LEVELS = np.array(list(itertools.product((0.0, 0.5, 1.0), (0.0, 1.0), (0.0, 1.0))))
#: Tolerance on the action bounds: values within it are clipped into [0, 1] (float32 rounding);
#: anything further out, and any NaN or inf, raises ValueError.
ACTION_TOLERANCE = 1e-6


_DTYPE_NAMES = {"b": "bool", "c": "complex", "O": "object", "U": "str", "S": "bytes"}


def action_array(action: Any, shape: tuple[int, ...], what: str = "action") -> np.ndarray:
    """``action`` as a float64 array of ``shape``, or a named error (single and vector envs).

    Real numbers only (float or integer dtypes): a bool, complex, object or string action is
    refused, never cast (a complex action would lose its imaginary part, a bool would count
    as a dose of 1).

    Raises:
        TypeError: Naming the dtype of an action that is not real numbers.
        ValueError: Naming the shape expected and the one given (or a ragged sequence).
    """
    try:
        a = action if isinstance(action, np.ndarray) else np.asarray(action)
    except ValueError:  # NumPy refuses ragged nested sequences
        raise ValueError(
            f"{what} must have shape {shape}, got a ragged nested sequence {action!r}"
        ) from None
    kind = a.dtype.kind
    if kind not in "iuf":
        name = _DTYPE_NAMES.get(kind, str(a.dtype))
        raise TypeError(
            f"{what} must be real numbers (a float or integer dtype), got dtype {a.dtype} "
            f"({name})"
        )
    if a.shape != shape:
        raise ValueError(f"{what} must have shape {shape}, got {a.shape}")
    return a.astype(np.float64, copy=False)


def discrete_array(action: Any, shape: tuple[int, ...], n: int, what: str = "action") -> np.ndarray:
    """``action`` as an int64 array of ``shape`` with values in ``[0, n)``, or a named error.

    Raises:
        TypeError: Naming the dtype of an action that is not integers (bool is refused).
        ValueError: Naming the shape, or the first value out of range.
    """
    try:
        a = action if isinstance(action, np.ndarray) else np.asarray(action)
    except ValueError:
        raise ValueError(
            f"{what} must have shape {shape}, got a ragged nested sequence {action!r}"
        ) from None
    kind = "an integer" if shape == () else "integers"
    if a.dtype.kind not in "iu":
        name = _DTYPE_NAMES.get(a.dtype.kind, str(a.dtype))
        raise TypeError(f"{what} must be {kind} in [0, {n - 1}], got dtype {a.dtype} ({name})")
    if a.shape != shape:
        raise ValueError(f"{what} must have shape {shape}, got {a.shape}")
    bad = (a < 0) | (a >= n)
    if bad.any():
        raise ValueError(f"{what} must be {kind} in [0, {n - 1}], got {a[bad].flat[0]}")
    return a.astype(np.int64, copy=False)


def unit_doses(a: np.ndarray) -> np.ndarray:
    """Validate dose fractions (any shape): finite and in [0, 1] up to `ACTION_TOLERANCE`.

    Values within the tolerance are clipped into [0, 1]; NaN and inf are never clipped.

    Raises:
        ValueError: Naming the first bad value.
    """
    if not np.all(np.isfinite(a)):
        raise ValueError(f"action must be finite, got {a[~np.isfinite(a)][0]}")
    out = (a < -ACTION_TOLERANCE) | (a > 1.0 + ACTION_TOLERANCE)
    if out.any():
        raise ValueError(f"action values must lie in [0, 1] (dose fractions), got {a[out][0]}")
    return np.clip(a, 0.0, 1.0)
