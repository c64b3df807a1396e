"""NumPy generators drawn from inside compiled code, with the same numbers as `Generator.random`.

Every `numpy.random.BitGenerator` exposes its C ``next_double`` function and its state as
addresses (``bit_generator.ctypes``); `numpy.random.Generator.random` fills its output by
calling exactly that function on that state. `next_double` makes the same call from compiled
code: a slot whose addresses are in `GeneratorAddresses` draws, inside the fused env step, the
doubles that ``rng.random(out=...)`` would have drawn from Python, and its generator's stream
continues from there. Drawing two uniforms this way costs a few nanoseconds instead of ~1 us
per `Generator.random` call (NumPy's documented numba interface, with the addresses passed as
arguments so that the kernels stay cacheable on disk).

The generator's lock is not taken: the draws happen while the caller holds the GIL, in the
serial part of the step.

With ``NUMBA_DISABLE_JIT=1`` the "addresses" are keys of a registry of the generators, and
`next_double` calls ``Generator.random()`` (the same numbers).
"""

from __future__ import annotations

import ctypes

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["GeneratorAddresses", "next_double"]


if config.DISABLE_JIT:  # pragma: no cover - the pure-Python run of CI (NUMBA_DISABLE_JIT=1)
    _REGISTRY: dict[int, np.random.Generator] = {}

    def _addresses(rng: np.random.Generator) -> tuple[int, int]:
        """``(0, key)``: the generator's key in the registry `next_double` reads."""
        _REGISTRY[id(rng)] = rng
        return 0, id(rng)

    def next_double(fn_addr: int, state_addr: int) -> float:  # noqa: ARG001
        """``Generator.random()`` of the registered generator."""
        return _REGISTRY[state_addr].random()

else:

    def _addresses(rng: np.random.Generator) -> tuple[int, int]:
        """``(next_double, state)`` addresses of ``rng``'s bit generator."""
        c = rng.bit_generator.ctypes
        return int(ctypes.cast(c.next_double, ctypes.c_void_p).value), int(c.state_address)

    @intrinsic
    def next_double(typingctx, fn_addr, state_addr):  # noqa: ARG001 - numba intrinsic protocol
        """``next_double(state)`` of a bit generator, from its two addresses (int64)."""
        sig = types.float64(types.int64, types.int64)

        def codegen(context, builder, signature, args):  # noqa: ARG001
            fnty = ir.FunctionType(ir.DoubleType(), [cgutils.voidptr_t])
            fn = builder.inttoptr(args[0], fnty.as_pointer())
            state = builder.inttoptr(args[1], cgutils.voidptr_t)
            return builder.call(fn, [state])

        return sig, codegen


class GeneratorAddresses:
    """The generators of ``n`` slots as an ``(n, 2)`` int64 array of addresses.

    ``table[i] = (next_double, state)`` of slot ``i``'s bit generator. `update` keeps a
    reference to every generator it records (its state must outlive the addresses) and only
    re-reads the addresses of a slot whose generator object changed (Gymnasium replaces
    ``np_random`` on ``reset(seed=...)``).
    """

    def __init__(self, n: int) -> None:
        """An empty table for ``n`` slots."""
        self.table = np.zeros((n, 2), dtype=np.int64)
        self._rngs: list[np.random.Generator | None] = [None] * n

    def __getstate__(self) -> dict[str, np.ndarray]:
        """Pickled or copied: the table only (its addresses are this process's, this object's)."""
        return {"table": self.table}

    def __setstate__(self, state: dict[str, np.ndarray]) -> None:
        """Unpickled or copied: a table that records no generator yet.

        Each slot's next `update` reads its generator's addresses afresh, so a copy never
        draws from the original's generator.
        """
        self.table = state["table"]
        self.table[...] = 0
        self._rngs = [None] * len(self.table)

    def update(self, i: int, rng: np.random.Generator) -> None:
        """Record slot ``i``'s generator (a no-op when it is the one already recorded)."""
        if rng is self._rngs[i]:
            return
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"slot {i}: expected a numpy.random.Generator, got {type(rng)!r}")
        self.table[i] = _addresses(rng)
        self._rngs[i] = rng

    def update_all(self, rngs: list[np.random.Generator]) -> None:
        """Record the generators of all slots (cheap when none changed)."""
        if len(rngs) != len(self._rngs):
            raise ValueError(f"expected {len(self._rngs)} generators, got {len(rngs)}")
        # List equality checks each pair for identity first, and Generators compare by
        # identity: one C-level pass, with no per-slot Python call when nothing changed.
        if rngs != self._rngs:
            for i, rng in enumerate(rngs):
                self.update(i, rng)
