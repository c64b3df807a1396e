"""Low-overhead interval stepping for environments: many patients, one decision interval a call.

`simulate` validates a whole schedule on every call, which is right for one-off use but costs
tens of microseconds. An RL environment advances the same patients by one decision interval
at a time with inputs that are constant on a few sub-intervals (e.g. a chemotherapy infusion
on the first day, an oral inhibitor all week). `BatchStepper` validates the model and
parameters once, keeps every kernel array in two preallocated buffers (one float64, one
int64; layout in `tme_env.simulator.packed`) and on each `step` only copies the new inputs in
and calls a 4-argument compiled entry (`tme_env.simulator.packed.integrate_packed_single` /
``_batch``).

**Fast path** (for environments that fuse their own compiled step around the integrator):
the arrays are public NumPy views (`y0`, `params`, `seg_u`, `y_out`, `h_carry`, `n_steps`);
`kernel` with `kernel_args` integrates one interval from what is in `y0` and `seg_u` and
returns 1 when every result is clean; `check_result` then gives the full check (it raises
`SimulationError`, or accepts round-off undershoots). A compiled caller passes
``kernel_args`` on and reads the arrays by name with `tme_env.simulator.packed.unpack`.

Each patient is integrated with the same per-patient kernel code as `simulate`. A patient's
step size is carried from one call to the next (its next interval starts with the step the
controller proposed, instead of re-growing one from the starting heuristic); `restart`
forgets it, e.g. when an episode starts. After `restart`, a step equals `simulate` over the
same interval with the same inputs, bit for bit; chained steps agree with one `simulate`
call over all intervals to the integration tolerance (both tested).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tme_env.jit import JIT_FLAGS
from tme_env.models.base import Model
from tme_env.simulator import packed
from tme_env.simulator.rhs import rhs_addresses
from tme_env.simulator.simulate import (
    DEFAULT_MAX_STEPS,
    check_result,
    resolve_model,
    resolve_tolerances,
)

__all__ = ["BatchStepper"]


@njit(**JIT_FLAGS)
def _load(y, rates, y0, seg_u):  # pragma: no cover - compiled
    """Copy states and rates into the kernel buffers, validating them in one compiled pass.

    Returns ``(1, k)`` for the first bad rate (NaN, infinite or negative, flat index ``k``),
    ``(2, k)`` for the first non-finite state, or ``(0, -1)`` if all are valid.
    """
    n_pat, n_seg, n_in = rates.shape
    for i in range(n_pat):
        for k in range(n_seg):
            for j in range(n_in):
                v = rates[i, k, j]
                if not (v >= 0.0 and v < np.inf):
                    return 1, (i * n_seg + k) * n_in + j
                seg_u[i * n_seg + k, j] = v
    for i in range(n_pat):
        for j in range(y.shape[1]):
            v = y[i, j]
            if not np.isfinite(v):
                return 2, i * y.shape[1] + j
            y0[i, j] = v
    return 0, -1


#: `BatchStepper`'s attributes that are views into its buffers (rebuilt when unpickled or
#: copied: a pickled view would come back as an array of its own, no longer the kernel's).
_VIEWS = ("y0", "params", "seg_u", "y_out", "h_carry", "n_steps", "atol")
_DERIVED = (*_VIEWS, "_v", "kernel_args")


class BatchStepper:
    """Advance ``n_patients`` states over one interval per call with the compiled integrator.

    Args:
        model: A registered model name or a `Model`.
        params: Parameters in kernel order, shape ``(n_patients, n_parameters)`` (validated
            once here; e.g. ``cohort.parameters_array()``).
        breakpoints: Sub-interval boundaries within a step, in days from the step start,
            strictly increasing from 0 to the interval length, e.g. ``(0.0, 1.0, 7.0)``.
        rtol: Relative tolerance (default: the model's).
        atol: Absolute tolerance (default: the model's).
        parallel: Use the multi-threaded kernel.
        max_steps: Integration step budget per patient and call (also settable later).
        n_outputs: Output times per interval, evenly spaced from its start to its end (>= 2);
            intermediate ones (e.g. daily values for a nadir) are read from `outputs` and do
            not change the integration.

    Example:
        >>> import numpy as np, tme_env
        >>> from tme_env.simulator.stepper import BatchStepper
        >>> from tme_env.patients import cohort
        >>> c = cohort("train", 4)
        >>> stepper = BatchStepper("tme", c.parameters_array(), breakpoints=(0.0, 1.0, 7.0))
        >>> y = c.initial_states_array()
        >>> rates = np.zeros((4, 2, 3)); rates[:, 0, 0] = 1.0  # full chemo dose on day 0-1
        >>> y_next = stepper.step(y, rates)
        >>> y_next.shape
        (4, 14)
    """

    def __init__(
        self,
        model: str | Model,
        params: np.ndarray,
        breakpoints: tuple[float, ...] | np.ndarray = (0.0, 7.0),
        rtol: float | None = None,
        atol: float | None = None,
        parallel: bool = True,
        max_steps: int = DEFAULT_MAX_STEPS,
        n_outputs: int = 2,
    ) -> None:
        """Validate once and allocate every kernel array."""
        if int(n_outputs) < 2:
            raise ValueError(f"n_outputs must be >= 2, got {n_outputs}")
        m = resolve_model(model)
        p = np.array(params, dtype=np.float64, ndmin=2)
        n_pat, n_par = p.shape
        if n_par != len(m.parameter_names):
            raise ValueError(
                f"params must have shape (n_patients, {len(m.parameter_names)}), got {p.shape}"
            )
        for i in range(n_pat):
            try:
                m.parameter_class.from_array(p[i])
            except ValueError as exc:
                raise ValueError(f"patient {i}: {exc}") from None
        bp = np.asarray(breakpoints, dtype=np.float64)
        if bp.ndim != 1 or bp.size < 2 or bp[0] != 0.0 or np.any(np.diff(bp) <= 0):
            raise ValueError(
                f"breakpoints must increase strictly from 0.0 to the interval length, got {bp}"
            )
        self.model = m
        self.n_patients = n_pat
        self.interval_days = float(bp[-1])
        self.n_segments = bp.size - 1
        self.rtol, atol = resolve_tolerances(m, rtol, atol)
        max_steps = int(max_steps)
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        k = self.n_segments
        fbuf, ibuf = packed.allocate(
            n_pat, len(m.states), n_par, len(m.inputs), n_pat * k, int(n_outputs), max_steps,
            self.rtol,
        )  # fmt: skip
        v = packed.views(fbuf, ibuf)
        #: States at the interval start, ``(n_patients, n_states)`` (the kernel's input).
        self.y0 = v["y0"]
        #: Parameters in kernel order, ``(n_patients, n_parameters)``.
        self.params = v["params"]
        #: Input rates per sub-interval, ``(n_patients * n_segments, n_inputs)``: row
        #: ``i * n_segments + k`` is patient ``i``'s sub-interval ``k``.
        self.seg_u = v["seg_u"]
        #: States at the output times of the last call, ``(n_patients, n_states, n_outputs)``.
        self.y_out = v["y_out"]
        #: Step size carried into each patient's next call (0: the starting heuristic).
        self.h_carry = v["h_carry"]
        #: Integration steps each patient took in the last call.
        self.n_steps = v["n_steps"]
        self._v = v
        self._ibuf = ibuf
        self.params[...] = p
        v["seg_ptr"][...] = np.arange(0, (n_pat + 1) * k, k)
        v["seg_start"][...] = np.tile(bp[:-1], n_pat)
        v["seg_end"][...] = np.tile(bp[1:], n_pat)
        v["t_eval"][...] = np.linspace(0.0, self.interval_days, int(n_outputs))
        v["atol"][...] = atol
        #: Absolute tolerance per state (a view into the kernel buffer).
        self.atol = v["atol"]
        #: Whether `kernel` is the multi-threaded entry.
        self.parallel = bool(parallel)
        #: The packed kernel; ``kernel(*kernel_args)`` returns 1 if every result is clean.
        self.kernel = packed.integrate_packed_batch if parallel else packed.integrate_packed_single
        #: The packed kernel's arguments: the rhs addresses and the two buffers.
        self.kernel_args = (*rhs_addresses(m.rhs), fbuf, ibuf)

    def __getstate__(self) -> dict[str, object]:
        """Pickled or copied: the two buffers and the settings, not the views or addresses."""
        state = {k: v for k, v in self.__dict__.items() if k not in _DERIVED}
        state["_fbuf"] = self.kernel_args[2]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        """Rebuild the views into the (copied) buffers and this process's rhs addresses."""
        state = dict(state)
        fbuf = state.pop("_fbuf")
        self.__dict__.update(state)
        self._v = v = packed.views(fbuf, self._ibuf)
        for name in _VIEWS:
            setattr(self, name, v[name])
        self.kernel_args = (*rhs_addresses(self.model.rhs), fbuf, self._ibuf)

    @property
    def max_steps(self) -> int:
        """Integration step budget per patient and call (settable)."""
        return int(self._ibuf[packed.scalar_index("max_steps")])

    @max_steps.setter
    def max_steps(self, value: int) -> None:
        if int(value) < 1:
            raise ValueError(f"max_steps must be >= 1, got {value}")
        self._ibuf[packed.scalar_index("max_steps")] = int(value)

    def continue_from_end(self, flag: bool) -> None:
        """If set, a clean step copies the end states into the start buffer (`y0`).

        For a caller that keeps its state in `y0` and always continues from the end of
        the last interval (the single de Pillis env).
        """
        self._ibuf[packed.scalar_index("copy_end")] = int(bool(flag))

    @property
    def outputs(self) -> np.ndarray:
        """States at the output times of the last step, shape ``(n, n_states, n_outputs)``."""
        return self.y_out

    def set_params(self, index: int, params: np.ndarray, validate: bool = True) -> None:
        """Replace one patient's parameters (kernel order), e.g. when an environment resets.

        Args:
            index: The patient's row.
            params: Its parameters in kernel order.
            validate: Check every value (~0.1 ms); pass False only for rows already validated,
                such as a cohort's (`tme_env.patients.Cohort.parameters_array`).

        Raises:
            ValueError: If a parameter is invalid (the message names it).
        """
        row = np.asarray(params, dtype=np.float64)
        if validate:
            self.model.parameter_class.from_array(row)
        self.params[index] = row
        self.restart(index)

    def restart(self, index: int) -> None:
        """Forget patient ``index``'s carried step size (a new trajectory starts there).

        The integrator carries its step size from one call to the next; a new episode must
        start from the starting heuristic so that its trajectory does not depend on the
        previous one.
        """
        self.h_carry[index] = 0.0

    def check_result(self) -> None:
        """Full result check of the last kernel call.

        Raises:
            SimulationError: If a patient failed (names the patient, the day and the state);
                round-off undershoots below zero are accepted (see `simulate`).
        """
        v = self._v
        check_result(
            self.model, v["t_eval"], self.y_out, v["status"], v["t_fail"], v["state_fail"],
            self.rtol, self.atol, self.max_steps,
        )  # fmt: skip

    def step(self, y: np.ndarray, rates: np.ndarray) -> np.ndarray:
        """Integrate one interval.

        Args:
            y: States at the interval start, shape ``(n_patients, n_states)``.
            rates: Input rates on each sub-interval, shape ``(n_patients, n_segments,
                n_inputs)``; finite and non-negative (checked).

        Returns:
            States at the interval end, shape ``(n_patients, n_states)`` (a new array).

        Raises:
            ValueError: On a wrong shape or a NaN, infinite or negative rate or state.
            SimulationError: If a patient's integration fails (names the patient).
        """
        rates = np.asarray(rates, dtype=np.float64)
        expected = (self.n_patients, self.n_segments, len(self.model.inputs))
        if rates.shape != expected:
            raise ValueError(f"rates must have shape {expected}, got {rates.shape}")
        y = np.asarray(y, dtype=np.float64)
        if y.shape != self.y0.shape:
            raise ValueError(f"y must have shape {self.y0.shape}, got {y.shape}")
        code, k = _load(y, rates, self.y0, self.seg_u)
        if code == 1:
            bad = rates.reshape(-1)[k]
            raise ValueError(f"input rates must be finite and non-negative, got {bad}")
        if code == 2:
            raise ValueError(f"states must be finite, got {y.reshape(-1)[k]}")
        # The kernel returns 1 when every patient succeeded with finite, non-negative end
        # states; otherwise the full check raises (or accepts round-off undershoots, see
        # simulate).
        if not self.kernel(*self.kernel_args):
            self.check_result()
        end = self.y_out[:, :, -1]
        return end.copy()
