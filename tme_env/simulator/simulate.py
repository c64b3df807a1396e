"""Public simulation API: validate, call the compiled integrator, check the result.

`simulate` integrates one patient; `simulate_batch` integrates many patients (each with its
own parameters, initial state and schedule) in one parallel compiled call. Both go through
the same per-patient kernel code, so a patient's trajectory is bit-for-bit the same whichever
path computed it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from tme_env.models import get as get_model
from tme_env.models.base import Model, ModelParameters, check_value
from tme_env.simulator import integrator
from tme_env.simulator.rhs import rhs_addresses
from tme_env.simulator.schedule import build_segments, parse_boluses, parse_infusions

__all__ = [
    "BatchTrajectory",
    "SimulationError",
    "Trajectory",
    "check_result",
    "resolve_model",
    "resolve_tolerances",
    "simulate",
    "simulate_batch",
    "state_index",
]

#: Default cap on integration steps per patient and call.
DEFAULT_MAX_STEPS = 1_000_000


class SimulationError(RuntimeError):
    """The integration failed or produced an invalid state.

    Attributes:
        model: Model name.
        patient: Index of the failing patient in the batch (0 for `simulate`).
        time: Time (days) at which the failure was detected.
        state: Name of the offending state, or ``None`` if no single state is to blame.
        reason: Short machine-readable reason (``"nonfinite"``, ``"step_collapse"``,
            ``"max_steps"``, ``"negative"``).
    """

    def __init__(
        self,
        message: str,
        *,
        model: str,
        patient: int,
        time: float,
        state: str | None,
        reason: str,
    ) -> None:
        """Create the error; see the class docstring for the attributes."""
        super().__init__(message)
        self.model = model
        self.patient = patient
        self.time = time
        self.state = state
        self.reason = reason
        #: The patient's id (e.g. a cohort id), where the caller knows it; else None.
        self.patient_id: str | None = None

    def for_patient(self, patient_id: str, slot: int | None = None) -> SimulationError:
        """The same error naming the patient by id (and the env slot it was in).

        Envs call this: the kernel knows a batch index only, the env knows whose it is.
        """
        where = f"patient {patient_id!r}" + (f" (slot {slot})" if slot is not None else "")
        text = str(self).replace(f"patient {self.patient}", where, 1)
        err = SimulationError(text, model=self.model, patient=self.patient, time=self.time,
                              state=self.state, reason=self.reason)  # fmt: skip
        err.patient_id = patient_id
        return err


def state_index(state_names: tuple[str, ...], name: str) -> int:
    """Position of state ``name``; `KeyError` listing the valid states if unknown."""
    try:
        return state_names.index(name)
    except ValueError:
        raise KeyError(f"unknown state {name!r}; valid states: {', '.join(state_names)}") from None


@dataclass(frozen=True)
class Trajectory:
    """Result of `simulate`, shaped like scipy's ``solve_ivp`` result.

    Attributes:
        t: Output times (days), the ``t_eval`` given.
        y: States, shape ``(n_states, len(t))``.
        state_names: Names of the rows of ``y``.
        model: Name of the model simulated.
        parameters: The parameter set used.
        n_steps: Number of integration steps taken (accepted and rejected).
    """

    t: np.ndarray
    y: np.ndarray
    state_names: tuple[str, ...]
    model: str
    parameters: ModelParameters
    n_steps: int = 0

    def __getitem__(self, name: str) -> np.ndarray:
        """One state's time course, e.g. ``res["T"]``."""
        return self.y[state_index(self.state_names, name)]

    def final_state(self) -> dict[str, float]:
        """State at the last output time, as a mapping (usable as a new ``initial_state``)."""
        return {n: float(v) for n, v in zip(self.state_names, self.y[:, -1], strict=True)}


@dataclass(frozen=True)
class BatchTrajectory:
    """Result of `simulate_batch`.

    Attributes:
        t: Output times (days), shared by all patients.
        y: States, shape ``(n_patients, n_states, len(t))``.
        state_names: Names of axis 1 of ``y``.
        model: Name of the model simulated.
        n_steps: Integration steps per patient.
    """

    t: np.ndarray
    y: np.ndarray
    state_names: tuple[str, ...]
    model: str
    n_steps: np.ndarray = field(repr=False)

    def __getitem__(self, name: str) -> np.ndarray:
        """One state for every patient, shape ``(n_patients, len(t))``."""
        return self.y[:, state_index(self.state_names, name)]

    def __len__(self) -> int:
        """Number of patients."""
        return self.y.shape[0]


def resolve_model(model: str | Model) -> Model:
    """Return the `Model` for a registered name or a model object.

    Raises:
        ValueError: On an unknown name or an object that is not a `Model`.
    """
    if isinstance(model, Model):
        return model
    if isinstance(model, str):
        return get_model(model)
    raise ValueError(f"model must be a registered model name or a Model, got {model!r}")


def _check_t_eval(t_eval: object) -> np.ndarray:
    try:
        raw = np.asarray(t_eval)
    except (TypeError, ValueError):
        raise ValueError(f"t_eval must be a 1-D sequence of days, got {t_eval!r}") from None
    if raw.dtype.kind not in "iuf":
        raise ValueError(
            f"t_eval must be a 1-D sequence of days (numbers), got dtype {raw.dtype}: "
            f"{t_eval!r}"[:200]
        )
    t = np.array(raw, dtype=np.float64, ndmin=1)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"t_eval must be a non-empty 1-D array of days, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        bad = t[~np.isfinite(t)][0]
        raise ValueError(f"t_eval must be finite, found {bad}")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        i = int(np.argmax(np.diff(t) <= 0))
        raise ValueError(
            f"t_eval must be strictly increasing; t_eval[{i}]={t[i]} is followed by "
            f"t_eval[{i + 1}]={t[i + 1]}"
        )
    return np.ascontiguousarray(t)


def resolve_tolerances(
    m: Model, rtol: float | None, atol: float | Mapping[str, float] | Sequence[float] | None
) -> tuple[float, np.ndarray]:
    """Validated ``(rtol, atol per state)``: the model's defaults where None.

    Raises:
        ValueError: On a non-finite, non-positive or out-of-range tolerance or an unknown state.
    """
    r = m.default_rtol if rtol is None else check_value("rtol", rtol)
    if not 0.0 < r < 1.0:
        raise ValueError(f"rtol must lie in (0, 1), got {r}")
    n = len(m.states)
    if atol is None:
        a = np.full(n, m.default_atol)
    elif isinstance(atol, Mapping):
        a = np.full(n, m.default_atol)
        names = m.state_names
        for key, value in atol.items():
            if key not in names:
                raise ValueError(f"atol: unknown state {key!r}; valid states: {', '.join(names)}")
            a[names.index(key)] = check_value(f"atol[{key!r}]", value)
    elif np.ndim(atol) == 0:
        a = np.full(n, check_value("atol", atol))
    else:
        a = np.array(atol, dtype=np.float64)
        if a.shape != (n,):
            raise ValueError(f"atol must be a scalar, a mapping or shape ({n},), got {a.shape}")
        for i, v in enumerate(a):
            check_value(f"atol[{i}]", v)
    if np.any(a <= 0):
        raise ValueError(f"atol must be positive, got {a}")
    return float(r), np.ascontiguousarray(a)


def _parameters(m: Model, params: Mapping[str, float] | ModelParameters | None) -> ModelParameters:
    if params is None:
        return m.default_parameters
    if isinstance(params, ModelParameters):
        if not isinstance(params, m.parameter_class):
            raise ValueError(
                f"params is a {type(params).__name__}, model {m.name!r} needs "
                f"{m.parameter_class.__name__}"
            )
        return params
    if not isinstance(params, Mapping):
        raise ValueError(
            f"params must be a mapping of parameter name to value, got {type(params).__name__}"
        )
    return m.parameters(**params)


def _run(
    m: Model,
    t: np.ndarray,
    y0: np.ndarray,
    p: np.ndarray,
    schedules: Sequence[tuple[Sequence, Sequence]],
    rtol: float,
    atol: np.ndarray,
    max_steps: int,
    parallel: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Build segments, call the kernel, and raise `SimulationError` on any failure."""
    n_pat, n_states = y0.shape
    segs = []
    for k, (infs, bols) in enumerate(schedules):
        if k and infs is schedules[k - 1][0] and bols is schedules[k - 1][1]:
            segs.append(segs[-1])  # the same schedule object: reuse its segments
        else:
            segs.append(build_segments(t[0], t[-1], infs, bols, len(m.inputs), n_states))
    seg_ptr = np.zeros(n_pat + 1, dtype=np.int64)
    seg_ptr[1:] = np.cumsum([s.start.size for s in segs])
    seg_start = np.ascontiguousarray(np.concatenate([s.start for s in segs]))
    seg_end = np.ascontiguousarray(np.concatenate([s.end for s in segs]))
    seg_u = np.ascontiguousarray(np.concatenate([s.inputs for s in segs]))
    seg_jump = np.ascontiguousarray(np.concatenate([s.jumps for s in segs]))
    y_out = np.empty((n_pat, n_states, t.size))
    status = np.zeros(n_pat, dtype=np.int64)
    t_fail = np.zeros(n_pat)
    state_fail = np.zeros(n_pat, dtype=np.int64)
    n_steps = np.zeros(n_pat, dtype=np.int64)
    kernel = integrator.integrate_batch if parallel else integrator.integrate_single
    kernel(
        *rhs_addresses(m.rhs),
        y0,
        p,
        seg_ptr,
        seg_start,
        seg_end,
        seg_u,
        seg_jump,
        t,
        rtol,
        atol,
        int(max_steps),
        y_out,
        status,
        t_fail,
        state_fail,
        n_steps,
        np.zeros(n_pat),  # no carried step: the first segment starts with the heuristic
        np.empty((n_pat, integrator.N_WORK, n_states)),
    )
    check_result(m, t, y_out, status, t_fail, state_fail, rtol, atol, max_steps)
    return y_out, n_steps


_REASONS = {
    integrator.STATUS_STEP_COLLAPSE: (
        "step_collapse",
        "the step size collapsed (a stiff, singular or non-finite right-hand side)",
    ),
    integrator.STATUS_MAX_STEPS: ("max_steps", "the step budget was exhausted"),
    integrator.STATUS_NONFINITE_RHS: ("nonfinite", "the right-hand side returned NaN or inf"),
}


def check_result(
    m: Model,
    t: np.ndarray,
    y_out: np.ndarray,
    status: np.ndarray,
    t_fail: np.ndarray,
    state_fail: np.ndarray,
    rtol: float,
    atol: np.ndarray,
    max_steps: int,
) -> None:
    """Check a kernel call's per-patient status and end states.

    Raises:
        SimulationError: Naming the first failed patient, the day and the state; a negative
            state within round-off of zero is accepted (see `simulate`).
    """
    failed = np.flatnonzero(status != integrator.STATUS_OK)
    if failed.size:
        i = int(failed[0])
        reason, text = _REASONS[int(status[i])]
        j = int(state_fail[i])
        state = m.state_names[j] if 0 <= j < len(m.states) and reason != "max_steps" else None
        extra = f" (max_steps={max_steps})" if reason == "max_steps" else ""
        at_state = f", state {state!r}" if state else ""
        if reason == "max_steps":  # no single state to blame: show the state it was in
            k = int(np.searchsorted(t, t_fail[i], side="right")) - 1
            if k >= 0:
                values = ", ".join(
                    f"{n}={v:.4g}" for n, v in zip(m.state_names, y_out[i, :, k], strict=True)
                )
                at_state = f"; state at t={t[k]:.6g} days: {values}"
        more = f"; {failed.size - 1} other patient(s) failed too" if failed.size > 1 else ""
        raise SimulationError(
            f"model {m.name!r}, patient {i}: {text}{extra} at t={t_fail[i]:.6g} days"
            f"{at_state}{more}",
            model=m.name,
            patient=i,
            time=float(t_fail[i]),
            state=state,
            reason=reason,
        )
    finite = np.isfinite(y_out)
    if not finite.all():
        i, j, k = (int(x) for x in np.argwhere(~finite)[0])
        raise SimulationError(
            f"model {m.name!r}, patient {i}: state {m.state_names[j]!r} is {y_out[i, j, k]} "
            f"at t={t[k]:.6g} days",
            model=m.name,
            patient=i,
            time=float(t[k]),
            state=m.state_names[j],
            reason="nonfinite",
        )
    # Populations and concentrations are non-negative. An undershoot within the integration
    # accuracy (10 x (atol + rtol * the state's scale)) is round-off of a state decaying to
    # zero and is reported as computed; anything larger is a modelling or numerical error.
    scale = np.max(np.abs(y_out), axis=2, keepdims=True)
    floor = -10.0 * (atol[None, :, None] + rtol * scale)
    bad = y_out < floor
    if bad.any():
        i, j, k = (int(x) for x in np.argwhere(bad)[0])
        raise SimulationError(
            f"model {m.name!r}, patient {i}: state {m.state_names[j]!r} became negative "
            f"({y_out[i, j, k]:.6g}) at t={t[k]:.6g} days",
            model=m.name,
            patient=i,
            time=float(t[k]),
            state=m.state_names[j],
            reason="negative",
        )


def simulate(
    model: str | Model,
    *,
    t_eval: Sequence[float] | np.ndarray,
    initial_state: Mapping[str, float] | None = None,
    params: Mapping[str, float] | ModelParameters | None = None,
    infusions: Sequence[tuple[float, float, Mapping[str, float]]] = (),
    boluses: Sequence[tuple[float, Mapping[str, float]]] = (),
    rtol: float | None = None,
    atol: float | Mapping[str, float] | Sequence[float] | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> Trajectory:
    """Simulate one patient of a model under a treatment schedule.

    Integration starts at ``t_eval[0]`` from ``initial_state`` and reports the state at every
    ``t_eval`` point, interpolated to the integration accuracy (Dormand–Prince 5(4) dense
    output). Infusion starts/stops and bolus days are integration breakpoints. A bolus on an
    output day is included in that day's output (trajectories are right-continuous).

    Args:
        model: A registered model name (see `tme_env.models.available`) or a `Model`.
        t_eval: Strictly increasing output times in days.
        initial_state: State values at ``t_eval[0]``; missing states take the model's defaults.
        params: Parameter overrides by name (or a full parameter set).
        infusions: ``(start_day, end_day, {input_name: rate})`` entries, active on
            ``[start_day, end_day)``; overlapping infusions add.
        boluses: ``(day, {state_name: amount})`` instantaneous increments; ``day`` must not
            precede ``t_eval[0]``.
        rtol: Relative tolerance (default: the model's, 1e-6 for the built-in models).
        atol: Absolute tolerance: scalar, per-state mapping or array (default: the model's).
        max_steps: Step budget; exceeding it raises `SimulationError`.

    Returns:
        A `Trajectory` with ``t``, ``y`` (``(n_states, len(t_eval))``), ``state_names`` and
        ``res["T"]`` access by state name.

    Raises:
        ValueError: On an unknown model, state, input or parameter name, a NaN, infinite or
            negative value, unsorted ``t_eval`` or ``end_day < start_day``.
        SimulationError: If the integration fails or a state turns non-finite or negative.

    Example:
        >>> import numpy as np, tme_env
        >>> res = tme_env.simulate("depillis2003", t_eval=np.linspace(0, 150, 301),
        ...                        infusions=[(0.0, 10.0, {"v": 1.0})])
        >>> round(float(res["T"][-1]), 6)
        0.0
    """
    m = resolve_model(model)
    t = _check_t_eval(t_eval)
    y0 = m.initial_state(initial_state)
    p = _parameters(m, params)
    infs = parse_infusions(infusions, m.input_names)
    bols = parse_boluses(boluses, m.state_names)
    r, a = resolve_tolerances(m, rtol, atol)
    y_out, n_steps = _run(
        m, t, y0[None, :], p.to_array()[None, :], [(infs, bols)], r, a, max_steps, parallel=False
    )
    return Trajectory(t, y_out[0], m.state_names, m.name, p, int(n_steps[0]))


def simulate_batch(
    model: str | Model,
    *,
    t_eval: Sequence[float] | np.ndarray,
    initial_states: Sequence[Mapping[str, float] | None] | np.ndarray | None = None,
    params: Sequence[Mapping[str, float] | ModelParameters | None] | np.ndarray | None = None,
    infusions: Sequence[Sequence[tuple[float, float, Mapping[str, float]]]] | None = None,
    boluses: Sequence[Sequence[tuple[float, Mapping[str, float]]]] | None = None,
    n_patients: int | None = None,
    rtol: float | None = None,
    atol: float | Mapping[str, float] | Sequence[float] | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    parallel: bool = True,
) -> BatchTrajectory:
    """Simulate many patients in one compiled, multi-threaded call.

    Each per-patient argument is a sequence with one entry per patient (``None`` entries and
    ``None`` arguments mean model defaults / no treatment). ``initial_states`` and ``params``
    may also be float arrays of shape ``(n_patients, n_states)`` / ``(n_patients,
    n_parameters)`` in kernel order. Patient ``i`` gives bit-for-bit the same trajectory as
    `simulate` with patient ``i``'s arguments.

    Args:
        model: A registered model name or a `Model`.
        t_eval: Strictly increasing output times in days, shared by all patients.
        initial_states: Per-patient initial states.
        params: Per-patient parameter overrides or parameter sets.
        infusions: Per-patient infusion lists (see `simulate`).
        boluses: Per-patient bolus lists (see `simulate`).
        n_patients: Number of patients, required only if no per-patient argument is given.
        rtol: Relative tolerance (default: the model's).
        atol: Absolute tolerance (default: the model's).
        max_steps: Step budget per patient.
        parallel: Use all numba threads (``numba.set_num_threads`` controls how many).

    Returns:
        A `BatchTrajectory` with ``y`` of shape ``(n_patients, n_states, len(t_eval))``.

    Raises:
        ValueError: On inconsistent lengths or any invalid entry (the message names the
            patient).
        SimulationError: If any patient's integration fails (names the patient).
    """
    m = resolve_model(model)
    t = _check_t_eval(t_eval)
    for name, arg in (("initial_states", initial_states), ("params", params),
                      ("infusions", infusions), ("boluses", boluses)):  # fmt: skip
        if arg is not None and (
            isinstance(arg, (Mapping, str, bytes)) or not isinstance(arg, (Sequence, np.ndarray))
        ):
            raise ValueError(
                f"{name} must be a sequence with one entry per patient, got a "
                f"{type(arg).__name__} (for the same value for every patient: [value] * n)"
            )
    lengths = {
        name: len(arg)
        for name, arg in (
            ("initial_states", initial_states),
            ("params", params),
            ("infusions", infusions),
            ("boluses", boluses),
        )
        if arg is not None
    }
    if n_patients is not None:
        lengths["n_patients"] = int(n_patients)
    if not lengths:
        raise ValueError("give n_patients or at least one per-patient argument")
    if len(set(lengths.values())) != 1:
        raise ValueError(f"per-patient arguments disagree on the number of patients: {lengths}")
    n_pat = next(iter(lengths.values()))
    if n_pat < 1:
        raise ValueError(f"need at least one patient, got {n_pat}")
    n_states, n_par = len(m.states), len(m.parameter_names)

    if isinstance(initial_states, np.ndarray):
        y0 = np.array(initial_states, dtype=np.float64)
        if y0.shape != (n_pat, n_states):
            raise ValueError(
                f"initial_states array must have shape {(n_pat, n_states)}, got {y0.shape}"
            )
        if not np.all(np.isfinite(y0)) or np.any(y0 < 0):
            i, j = (int(x) for x in np.argwhere(~(np.isfinite(y0) & (y0 >= 0)))[0])
            raise ValueError(
                f"patient {i}: initial value of state {m.state_names[j]!r} must be finite and "
                f"non-negative, got {y0[i, j]}"
            )
    else:
        y0 = np.empty((n_pat, n_states))
        for i in range(n_pat):
            y0[i] = _per_patient(
                i, m.initial_state, None if initial_states is None else initial_states[i]
            )

    if isinstance(params, np.ndarray):
        p = np.array(params, dtype=np.float64)
        if p.shape != (n_pat, n_par):
            raise ValueError(f"params array must have shape {(n_pat, n_par)}, got {p.shape}")
        for i in range(n_pat):
            _per_patient(i, m.parameter_class.from_array, p[i])
    else:
        p = np.empty((n_pat, n_par))
        for i in range(n_pat):
            p[i] = _per_patient(
                i, lambda x: _parameters(m, x), None if params is None else params[i]
            ).to_array()

    schedules: list[tuple[list, list]] = []
    last_raw: tuple[object, object] = (None, None)
    for i in range(n_pat):
        raw_inf = () if infusions is None else infusions[i]
        raw_bol = () if boluses is None else boluses[i]
        if i and raw_inf is last_raw[0] and raw_bol is last_raw[1]:
            schedules.append(schedules[-1])  # shared schedule object: validate once
            continue
        infs = _per_patient(i, lambda x: parse_infusions(x, m.input_names), raw_inf)
        bols = _per_patient(i, lambda x: parse_boluses(x, m.state_names), raw_bol)
        schedules.append((infs, bols))
        last_raw = (raw_inf, raw_bol)
    r, a = resolve_tolerances(m, rtol, atol)
    y_out, n_steps = _run(
        m,
        t,
        np.ascontiguousarray(y0),
        np.ascontiguousarray(p),
        schedules,
        r,
        a,
        max_steps,
        parallel=parallel,
    )
    return BatchTrajectory(t, y_out, m.state_names, m.name, n_steps)


def _per_patient(i: int, fn, arg):  # noqa: ANN001, ANN202 - tiny internal helper
    """Apply ``fn(arg)``, prefixing any `ValueError` with the patient index."""
    try:
        return fn(arg)
    except ValueError as exc:
        raise ValueError(f"patient {i}: {exc}") from None
