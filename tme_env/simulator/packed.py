"""Packed kernel entries: every integrator array in one float64 and one int64 buffer.

Calling a compiled function from Python costs ~35 ns per argument (type dispatch and
unboxing); the 20-argument entries of `tme_env.simulator.integrator` cost ~1.2 us per call,
as much as integrating a short interval. `tme_env.simulator.stepper.BatchStepper` therefore
keeps all of its arrays as views into two buffers and calls the 4-argument entries here,
which rebuild the views inside compiled code.

**The layout is declared once**, in `ARRAYS`: each array's name, buffer and shape as a
function of the sizes. `allocate` places the arrays in that order and writes each one's
offset and dimensions into the int64 buffer's header; `views` (NumPy, for Python callers)
and `unpack` (compiled) both read the arrays back from that header, so neither repeats the
arithmetic. `unpack` returns a `Packed` named tuple: compiled callers (the environments'
fused step) address the arrays by name (``v.seg_u``, ``v.y_out``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numba import carray, config, njit, prange, types
from numba.extending import intrinsic

from tme_env.jit import JIT_FLAGS
from tme_env.models.base import index_enum
from tme_env.simulator.integrator import N_WORK, run_patient
from tme_env.simulator.rhs import F8_1D, I8_1D, rhs_at

__all__ = [
    "ARRAYS",
    "SIZES",
    "Packed",
    "allocate",
    "integrate_packed_batch",
    "integrate_packed_single",
    "unpack",
    "views",
]

#: Scalars at the head of the int64 buffer: the sizes, the step budget and a flag (1: after
#: a clean call, copy the end states into ``y0``, i.e. continue from them).
SIZES = ("n_patients", "n_states", "n_params", "n_inputs", "n_segments", "n_outputs",
         "max_steps", "copy_end")  # fmt: skip
#: Scalars at the head of the float64 buffer.
FLOAT_SCALARS = ("rtol",)


class _Dims(NamedTuple):
    n_patients: int
    n_states: int
    n_params: int
    n_inputs: int
    n_segments: int
    n_outputs: int


#: The packed arrays in buffer order: ``(name, "f8" | "i8", shape(dims))``. The single
#: declaration of the layout (see the module docstring).
ARRAYS: tuple[tuple[str, str, Callable[[_Dims], tuple[int, ...]]], ...] = (
    ("y0", "f8", lambda d: (d.n_patients, d.n_states)),
    ("params", "f8", lambda d: (d.n_patients, d.n_params)),
    ("seg_start", "f8", lambda d: (d.n_segments,)),
    ("seg_end", "f8", lambda d: (d.n_segments,)),
    ("seg_u", "f8", lambda d: (d.n_segments, d.n_inputs)),
    ("seg_jump", "f8", lambda d: (d.n_segments, d.n_states)),
    ("t_eval", "f8", lambda d: (d.n_outputs,)),
    ("atol", "f8", lambda d: (d.n_states,)),
    ("y_out", "f8", lambda d: (d.n_patients, d.n_states, d.n_outputs)),
    ("t_fail", "f8", lambda d: (d.n_patients,)),
    ("h_carry", "f8", lambda d: (d.n_patients,)),
    ("work", "f8", lambda d: (d.n_patients, N_WORK, d.n_states)),
    ("seg_ptr", "i8", lambda d: (d.n_patients + 1,)),
    ("status", "i8", lambda d: (d.n_patients,)),
    ("state_fail", "i8", lambda d: (d.n_patients,)),
    ("n_steps", "i8", lambda d: (d.n_patients,)),
)
_NAMES = tuple(name for name, _, _ in ARRAYS)
_H = index_enum("PackedHeader", SIZES)
_A = index_enum("PackedArray", _NAMES)
#: Each array's header record in the int64 buffer: offset, then up to 3 dimensions.
_REC = 4
_IB_ARRAYS = len(SIZES)
_IB_HEADER = _IB_ARRAYS + _REC * len(ARRAYS)
_FB_RTOL = FLOAT_SCALARS.index("rtol")
_FB_HEADER = len(FLOAT_SCALARS)


class Packed(NamedTuple):
    """The integrator's arguments (after the rhs), by name: what `unpack` returns."""

    y0: np.ndarray
    params: np.ndarray
    seg_ptr: np.ndarray
    seg_start: np.ndarray
    seg_end: np.ndarray
    seg_u: np.ndarray
    seg_jump: np.ndarray
    t_eval: np.ndarray
    rtol: float
    atol: np.ndarray
    max_steps: int
    y_out: np.ndarray
    status: np.ndarray
    t_fail: np.ndarray
    state_fail: np.ndarray
    n_steps: np.ndarray
    h_carry: np.ndarray
    work: np.ndarray


def allocate(
    n_patients: int, n_states: int, n_params: int, n_inputs: int, n_segments: int,
    n_outputs: int, max_steps: int, rtol: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The two zeroed buffers with their headers written (sizes, offsets, dimensions)."""
    dims = _Dims(n_patients, n_states, n_params, n_inputs, n_segments, n_outputs)
    end = {"f8": _FB_HEADER, "i8": _IB_HEADER}
    records = []
    for _name, kind, shape_of in ARRAYS:
        shape = shape_of(dims)
        records.append((end[kind], *shape, *(0,) * (_REC - 1 - len(shape))))
        end[kind] += int(np.prod(shape))
    fbuf = np.zeros(end["f8"])
    ibuf = np.zeros(end["i8"], dtype=np.int64)
    ibuf[: len(SIZES)] = (*dims, max_steps, 0)
    ibuf[_IB_ARRAYS:_IB_HEADER] = np.array(records, dtype=np.int64).reshape(-1)
    fbuf[_FB_RTOL] = rtol
    return fbuf, ibuf


def views(fbuf: np.ndarray, ibuf: np.ndarray) -> dict[str, np.ndarray]:
    """NumPy views (keeping the buffers alive) of every packed array, by name."""
    out = {}
    for k, (name, kind, shape_of) in enumerate(ARRAYS):
        rec = ibuf[_IB_ARRAYS + _REC * k : _IB_ARRAYS + _REC * (k + 1)]
        shape = shape_of(_Dims(*(int(v) for v in ibuf[: len(_Dims._fields)])))
        buf = fbuf if kind == "f8" else ibuf
        o = int(rec[0])
        out[name] = buf[o : o + int(np.prod(shape))].reshape(shape)
    return out


def scalar_index(name: str) -> int:
    """Position of a header scalar (`SIZES`) in the int64 buffer."""
    return int(_H[name])


@intrinsic
def _at(typingctx, arr, offset):  # noqa: ARG001 - numba intrinsic protocol
    """Pointer to ``arr[offset]`` (a C-contiguous 1-D array), for `numba.carray`."""
    sig = types.CPointer(arr.dtype)(arr, offset)

    def codegen(context, builder, signature, args):  # noqa: ARG001
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.gep(ary.data, [args[1]])

    return sig, codegen


# Views without a reference to the buffer (a reference-counted slice costs ~17 ns to make
# and drop; with ~16 views per call that was half the fixed cost of a short interval).
# Each reads the array's offset and dimensions from its header record.
@njit(**JIT_FLAGS)
def _v1(buf, ibuf, k):  # pragma: no cover - compiled
    r = _IB_ARRAYS + _REC * k
    return carray(_at(buf, ibuf[r]), ibuf[r + 1])


@njit(**JIT_FLAGS)
def _v2(buf, ibuf, k):  # pragma: no cover - compiled
    r = _IB_ARRAYS + _REC * k
    return carray(_at(buf, ibuf[r]), (ibuf[r + 1], ibuf[r + 2]))


@njit(**JIT_FLAGS)
def _v3(buf, ibuf, k):  # pragma: no cover - compiled
    r = _IB_ARRAYS + _REC * k
    return carray(_at(buf, ibuf[r]), (ibuf[r + 1], ibuf[r + 2], ibuf[r + 3]))


if config.DISABLE_JIT:  # pragma: no cover - the pure-Python run of CI (NUMBA_DISABLE_JIT=1)
    # Plain NumPy views of the same records (no pointers without compiled code).

    def _v1(buf, ibuf, k):  # noqa: ANN001, ANN202, D103, F811
        r = _IB_ARRAYS + _REC * k
        return buf[ibuf[r] : ibuf[r] + ibuf[r + 1]]

    def _v2(buf, ibuf, k):  # noqa: ANN001, ANN202, D103, F811
        r = _IB_ARRAYS + _REC * k
        return buf[ibuf[r] : ibuf[r] + ibuf[r + 1] * ibuf[r + 2]].reshape(ibuf[r + 1], ibuf[r + 2])

    def _v3(buf, ibuf, k):  # noqa: ANN001, ANN202, D103, F811
        r = _IB_ARRAYS + _REC * k
        shape = (ibuf[r + 1], ibuf[r + 2], ibuf[r + 3])
        return buf[ibuf[r] : ibuf[r] + shape[0] * shape[1] * shape[2]].reshape(shape)


@njit(**JIT_FLAGS)
def unpack(fbuf, ibuf):  # pragma: no cover - compiled
    """The `Packed` arrays inside the two buffers, for compiled callers.

    The views own no reference to the buffers: they are valid while the caller holds
    ``fbuf`` and ``ibuf`` (for the duration of a call). Python code uses `views`.
    """
    return Packed(
        _v2(fbuf, ibuf, _A.y0), _v2(fbuf, ibuf, _A.params), _v1(ibuf, ibuf, _A.seg_ptr),
        _v1(fbuf, ibuf, _A.seg_start), _v1(fbuf, ibuf, _A.seg_end), _v2(fbuf, ibuf, _A.seg_u),
        _v2(fbuf, ibuf, _A.seg_jump), _v1(fbuf, ibuf, _A.t_eval), fbuf[_FB_RTOL],
        _v1(fbuf, ibuf, _A.atol), ibuf[_H.max_steps], _v3(fbuf, ibuf, _A.y_out),
        _v1(ibuf, ibuf, _A.status), _v1(fbuf, ibuf, _A.t_fail),
        _v1(ibuf, ibuf, _A.state_fail), _v1(ibuf, ibuf, _A.n_steps),
        _v1(fbuf, ibuf, _A.h_carry), _v3(fbuf, ibuf, _A.work),
    )  # fmt: skip


@njit(**JIT_FLAGS)
def _finish(y0, y_out, status, copy_end):  # pragma: no cover - compiled
    """1 if every patient succeeded with finite, non-negative end states, else 0.

    If so and ``copy_end``, the end states are copied into ``y0`` for the next call.
    """
    last = y_out.shape[2] - 1
    for i in range(y_out.shape[0]):
        if status[i] != 0:
            return 0
        for j in range(y_out.shape[1]):
            v = y_out[i, j, last]
            if not (v >= 0.0 and v < np.inf):
                return 0
    if copy_end:
        for i in range(y_out.shape[0]):
            for j in range(y_out.shape[1]):
                y0[i, j] = y_out[i, j, last]
    return 1


_PACKED_SIGNATURE = types.int64(types.int64, types.int64, F8_1D, I8_1D)
# The packed entries repeat the patient loop of `integrate_single` / `integrate_batch` rather
# than calling them: passing the 18 unpacked views on through another call measured 0.4 us
# more per call (0.7 -> 1.1 us for one 0.25-day de Pillis interval).


@njit(_PACKED_SIGNATURE, **JIT_FLAGS)
def integrate_packed_single(rhs_c_addr, rhs_jit_addr, fbuf, ibuf):  # pragma: no cover
    """`integrate_single` on packed buffers; returns 1 if the result is clean (`_finish`)."""
    rhs = rhs_at(rhs_c_addr, rhs_jit_addr)
    v = unpack(fbuf, ibuf)
    for i in range(v.y0.shape[0]):
        run_patient(
            i, rhs, v.y0, v.params, v.seg_ptr, v.seg_start, v.seg_end, v.seg_u, v.seg_jump,
            v.t_eval, v.rtol, v.atol, v.max_steps, v.y_out, v.status, v.t_fail, v.state_fail,
            v.n_steps, v.h_carry, v.work,
        )  # fmt: skip
    return _finish(v.y0, v.y_out, v.status, ibuf[_H.copy_end] != 0)


@njit(_PACKED_SIGNATURE, parallel=True, **JIT_FLAGS)
def integrate_packed_batch(rhs_c_addr, rhs_jit_addr, fbuf, ibuf):  # pragma: no cover
    """`integrate_batch` on packed buffers; returns 1 if the result is clean (`_finish`)."""
    rhs = rhs_at(rhs_c_addr, rhs_jit_addr)
    v = unpack(fbuf, ibuf)
    y0, params, seg_ptr, seg_start, seg_end = v.y0, v.params, v.seg_ptr, v.seg_start, v.seg_end
    seg_u, seg_jump, t_eval, rtol, atol, max_steps = (v.seg_u, v.seg_jump, v.t_eval, v.rtol,
                                                      v.atol, v.max_steps)  # fmt: skip
    y_out, status, t_fail, state_fail = v.y_out, v.status, v.t_fail, v.state_fail
    n_steps, h_carry, work = v.n_steps, v.h_carry, v.work
    for i in prange(y0.shape[0]):
        run_patient(
            i, rhs, y0, params, seg_ptr, seg_start, seg_end, seg_u, seg_jump, t_eval, rtol,
            atol, max_steps, y_out, status, t_fail, state_fail, n_steps, h_carry, work,
        )  # fmt: skip
    return _finish(y0, y_out, status, ibuf[_H.copy_end] != 0)
