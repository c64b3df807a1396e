"""Batched, framework-free core of the ``tme`` environments: the compiled step.

`TumorImmuneCore` advances ``n`` virtual patients by one decision interval per call. The
concerns live in their own modules, and a step composes them:

* **configuration** (`tme_env.envs.config`): `EnvConfig`, `RewardWeights`, the row of
  settings compiled code reads (`config_row`, columns `CFG`);
* **state** (`tme_env.envs.state`): `EnvState`, one named struct of arrays (gymnax-style:
  the state is data, the functions are separate) stored as five arrays;
* **label rules and irAEs** (`tme_env.envs.label`): the doses actually given
  (`apply_rules`), the label counters, the irAE hazard, grade and management;
* **transition** (here): `tme_env.dosing.write_rates` (doses to input rates), the compiled
  integrator (`BatchStepper`'s packed kernel), then `_advance` (end state, nadir, counters);
* **termination, reward and info** (`tme_env.envs.reward`): `evaluate`;
* **observation** (`tme_env.envs.observation`): `observe_full` (compiled) or the noisy
  clinical measurements (`measure`, seeded per slot).

All of it runs in one compiled call per step (`_env_step`). The single Gymnasium env wraps
a core of size 1 and a vector env a core of size N, so both give the same transitions by
construction.

**The dose path**, by name: the env writes its validated doses into `dose_buffer` (columns
`tme_env.dosing.ACTION`); `step_one` hands the compiled step its arrays as one table of
addresses, declared once in `STEP_TABLE` and read by name (`_env_step_table`); `apply_rules`
writes the doses given (``given[i, ACTION.chemo]``); `write_rates` turns them into the
integrator's rates, segment by segment (``seg_u[N_SEGMENTS * i + SEGMENT.infusion,
INPUT.chemo]``); the model's right-hand side reads ``u[INPUT.chemo]``.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
from numba import njit

from tme_env.dosing import ACTION_NAMES, interval_breakpoints, write_rates
from tme_env.envs.config import CFG, EnvConfig, config_row
from tme_env.envs.label import (
    UNIFORM,
    apply_rules,
    count_doses,
    irae_grade,
    irae_hazard,
    manage_irae,
)
from tme_env.envs.observation import (
    CLIN,
    clinical_observation,
    measure,
    observation_fields,
    observe_full,
)
from tme_env.envs.progression import start_imaging
from tme_env.envs.reward import (
    INFO,
    INFO_KEYS,
    evaluate,
    info_record,
    interval_death_hazard,
    score_clinical,
)
from tme_env.envs.state import CHART, py_state_views, slice_state, state_arrays, state_views
from tme_env.jit import JIT_FLAGS
from tme_env.models.base import index_enum
from tme_env.models.tme import MODEL, STATE, STATE_NAMES
from tme_env.patients import VirtualPatient, cohort
from tme_env.simulator import packed, table
from tme_env.simulator.bitgen import GeneratorAddresses, next_double
from tme_env.simulator.stepper import BatchStepper

__all__ = ["STEP_SCALARS", "STEP_TABLE", "Core", "TumorImmuneCore"]

#: The step table's array records (`tme_env.simulator.table`), ``(name, dtype, ndim)``, in
#: record order: what `TumorImmuneCore._bind` records and `_env_step_table` reads, by name.
#: All are persistent arrays of the core (allocated once, only ever written into).
STEP_TABLE: tuple[tuple[str, str, int], ...] = (
    ("active", "bool", 1), ("doses", "float64", 2), ("reward", "float64", 1),
    ("terminated", "bool", 1), ("fbuf", "float64", 1), ("ibuf", "int64", 1),
    ("info", "float64", 2), ("obs", "float32", 2), ("cfg", "float64", 1),
    ("uniforms", "float64", 2), ("rng_table", "int64", 2), ("given", "float64", 2),
    ("steroid", "float64", 1),
    # the five `state_arrays`
    ("y", "float64", 2), ("last_doses", "float64", 2), ("measured", "float64", 2),
    ("float_rows", "float64", 2), ("int_rows", "int64", 2),
)  # fmt: skip
#: The integer scalars after the records: the rhs addresses and two flags.
STEP_SCALARS = ("rhs_c_addr", "rhs_jit_addr", "parallel", "full")
_REC = index_enum("StepTable", tuple(name for name, _, _ in STEP_TABLE))
_SCALAR = index_enum("StepScalar", STEP_SCALARS)
_SCALARS_AT = table.RECORD * len(STEP_TABLE)


class Core(Protocol):
    """What a batched env core provides to the single, vector and SB3 envs.

    Both `TumorImmuneCore` and `tme_env.envs.depillis.DePillis2003ChemoCore` follow it.
    """

    n: int

    def set_patient(self, i: int, patient: Any, rngs: list[np.random.Generator]) -> None:
        """Put a patient into slot ``i`` and start its episode."""

    def observe(self) -> np.ndarray:
        """Observations of all slots, ``(n, obs_dim)`` float32 (a new array)."""

    def step(
        self, doses: np.ndarray, rngs: list[np.random.Generator], active: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray] | None]:
        """One decision interval: ``(reward, terminated, info)`` over the slots."""

    def info(self) -> dict[str, np.ndarray]:
        """The info record of all slots for the current state."""


class TumorImmuneCore:
    """``n`` independent ``tme`` patients advanced one decision interval per `step`.

    Args:
        n: Number of parallel patients (envs).
        config: Environment settings.
        parallel: Use the multi-threaded kernel (for large ``n``).
    """

    def __init__(self, n: int, config: EnvConfig, parallel: bool = False) -> None:
        """Build the cohort and the stepper."""
        self.n = int(n)
        self.config = config
        self.cohort = cohort(config.split, config.cohort_size)
        self._cohort_params = self.cohort.parameters_array()
        self._cohort_y0 = self.cohort.initial_states_array()
        dt = config.decision_interval_days
        # Daily outputs within each interval: the neutrophil nadir (~day 8 after a dose) is
        # read from them, so toxicity is judged on the worst day, not on the visit day.
        self.stepper = BatchStepper(
            MODEL, np.repeat(self._cohort_params[:1], self.n, axis=0), interval_breakpoints(dt),
            parallel=parallel, n_outputs=max(2, math.ceil(dt) + 1), rtol=config.rtol,
        )  # fmt: skip
        #: The state's storage (`state_arrays`); ``state`` holds views of it.
        self.state_arrays = state_arrays(self.n, len(STATE_NAMES))
        self.state = py_state_views(*self.state_arrays)
        self.state.y[:] = self._cohort_y0[:1]
        #: The two uniforms each active slot draws per step for its irAE (event, grade),
        #: from its own generator before the measurement noise (drawn in the compiled step
        #: through the generators' addresses).
        self._uniforms = np.ones((self.n, 2))
        self._generators = GeneratorAddresses(self.n)
        self._info = np.zeros((self.n, len(INFO_KEYS)))
        self._all_active = np.ones(self.n, dtype=np.bool_)
        self._obs = np.zeros((self.n, len(observation_fields(config.observation))), np.float32)
        self._full = config.observation == "full"
        #: The settings compiled code reads (`tme_env.envs.config.config_row`, columns `CFG`).
        self._cfg = config_row(config)
        # `_env_step`'s arguments after (active, doses, reward, terminated): all persistent.
        self._given = np.zeros((self.n, len(ACTION_NAMES)))  # the doses given, after the rules
        self._steroid = np.zeros(self.n)
        # `step_one`'s persistent buffers (a one-slot core).
        self._reward1 = np.empty(1)
        self._terminated1 = np.empty(1, dtype=np.bool_)
        self._slot0 = np.zeros(1, dtype=np.intp)
        self._doses1 = np.zeros((1, len(ACTION_NAMES)))  # `step_one`'s doses (`dose_buffer`)
        self._bind()

    def _bind(self) -> None:
        """`_env_step`'s argument tuple and step table, from the persistent arrays."""
        st = self.stepper
        self._step_args = (*st.kernel_args, st.parallel, self._full, self._info, self._obs,
                           self._cfg, self._uniforms, self._generators.table, self._given,
                           self._steroid,
                           *self.state_arrays)  # fmt: skip
        # `step_one` hands all of `_env_step`'s arguments over as one table of addresses
        # (`tme_env.simulator.table`: 1 argument instead of 22, ~1.8 us less per step). Every
        # array in it is persistent: allocated here and only ever written into.
        self._table = None
        if self.n == 1 and table.AVAILABLE:
            rhs_c, rhs_jit, fbuf, ibuf, parallel, full, *_ = self._step_args
            y, last_doses, measured, float_rows, int_rows = self.state_arrays
            named = {
                "active": self._all_active, "doses": self._doses1, "reward": self._reward1,
                "terminated": self._terminated1, "fbuf": fbuf, "ibuf": ibuf,
                "info": self._info, "obs": self._obs, "cfg": self._cfg,
                "uniforms": self._uniforms, "rng_table": self._generators.table,
                "given": self._given, "steroid": self._steroid, "y": y,
                "last_doses": last_doses, "measured": measured, "float_rows": float_rows,
                "int_rows": int_rows,
            }  # fmt: skip
            for name, kind, ndim in STEP_TABLE:  # the layout `_env_step_table` reads
                a = named[name]
                if a.dtype != np.dtype(kind) or a.ndim != ndim:
                    raise RuntimeError(f"step table: {name} is {a.ndim}-D {a.dtype}, "
                                       f"declared {ndim}-D {kind}")  # fmt: skip
            scalars = {"rhs_c_addr": rhs_c, "rhs_jit_addr": rhs_jit,
                       "parallel": int(parallel), "full": int(full)}  # fmt: skip
            self._table = table.ArrayTable(
                [named[name] for name, _, _ in STEP_TABLE],
                scalars=tuple(scalars[name] for name in STEP_SCALARS),
            )

    def __getstate__(self) -> dict[str, Any]:
        """Pickled or copied: the arrays, not the views of them or the tables of addresses."""
        derived = ("state", "_step_args", "_table")
        return {k: v for k, v in self.__dict__.items() if k not in derived}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild the state views and the step arguments over the (copied) arrays.

        A copy (``copy.deepcopy``, or unpickled in another process) continues the episode
        exactly where the original was and shares nothing with it.
        """
        self.__dict__.update(state)
        self.state = py_state_views(*self.state_arrays)
        self._bind()

    @property
    def y(self) -> np.ndarray:
        """Model states of all slots, ``(n, n_states)`` (``state.y``)."""
        return self.state.y

    # --- patients -----------------------------------------------------------------------
    def set_patient(
        self, i: int, patient: VirtualPatient | int, rngs: list[np.random.Generator]
    ) -> None:
        """Put a patient (object or cohort index) into slot ``i`` and reset its episode."""
        s = self.state
        if isinstance(patient, VirtualPatient):
            params = patient.parameters.to_array()
            y0 = np.array([patient.initial_state[name] for name in STATE_NAMES])
            self.stepper.set_params(i, params)
        else:  # the cohort's rows were validated when the cohort was built
            params, y0 = self._cohort_params[patient], self._cohort_y0[patient]
            self.stepper.set_params(i, params, validate=False)
        s.reset_slot(i, y0)
        self._measure([i], rngs, biopsy=True)
        s.chart[CHART.mdsc_change, i] = 0.0
        if self._full:
            reading = y0[STATE.S] + y0[STATE.R]
        else:  # as the info reports it (`_imaging_into_info`)
            reading = (10.0 ** s.measured[i : i + 1, CLIN.imaging_log10_burden])[0]
        _start_slot(i, float(reading), *self.state_arrays)
        if self._full:
            observe_full(slice_state(s, i), self.stepper.params[i : i + 1],
                         self._cfg[CFG.dt_over_h], self._cfg[CFG.days],
                         self._obs[i : i + 1])  # fmt: skip

    # --- observations -------------------------------------------------------------------
    def _measure(self, rows: Any, rngs: list[np.random.Generator], biopsy: bool) -> None:
        """Noisy clinical measurements of ``rows`` (`tme_env.envs.observation.measure`).

        The full observation needs no measurement, and draws no noise.
        """
        if not self._full:
            measure(self.state, rows, rngs, self.config, biopsy)

    def _imaging_into_info(self) -> None:
        """Clinical mode: the info's imaging burden is what imaging measured (cells)."""
        if not self._full:
            self._info[:, INFO.imaging_tumour_cells] = (
                10.0 ** self.state.measured[:, CLIN.imaging_log10_burden]
            )

    def observe(self) -> np.ndarray:
        """Observations of all slots, float32, shape ``(n, obs_dim)`` (a new array)."""
        if self._full:
            return self._obs.copy()  # kept current by `step` and `set_patient`
        return clinical_observation(self.state, self.state_arrays, self.stepper.params,
                                    self._cfg[CFG.dt_over_h], self._cfg[CFG.days])  # fmt: skip

    # --- one decision interval ---------------------------------------------------------
    def step(
        self,
        doses: np.ndarray,
        rngs: list[np.random.Generator],
        active: np.ndarray | None = None,
        with_info: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, dict | None]:
        """Give ``doses`` (validated, shape ``(n, 3)`` in [0, 1]) for one interval.

        Dosing follows `tme_env.dosing` (chemotherapy and anti-PD-1 infused over the first
        day, the inhibitor daily over the whole interval), after the label rules
        (`tme_env.envs.label`) and the irAE
        management (anti-PD-1 held or stopped, steroids): ``info["dose_*"]`` is what was given.

        irAEs: over the interval the hazard ``irae_rate x irae_susceptibility x A/(A +
        A50_irAE) x min(E/E_presentation, 3)`` is integrated on the daily outputs; an event
        happens with probability ``1 - exp(-H)``, its grade drawn from
        ``irae_severe_fraction`` and ``irae_fatal_fraction`` (two uniforms per slot and step
        from the slot's generator).

        Reward (per step, weights `RewardWeights`; `tme_env.envs.reward` has the details)::

            r = w_qtwist [the step's Q-TWiST months: its days before progression at 1, or
                         u_TOX with grade >= 3 toxicity (neutropenia on the worst day of
                         the interval, an irAE of grade >= 3 or its steroid course), its
                         days after progression at u_REL; on cure the rest of the horizon]
                + w_tumour (Phi_end - Phi_start), Phi = -log10 N (0 at the episode's end)
                + w_hotness (H_end - H_start), H_end = 0 at the episode's end

        Slots where ``active`` is False (just reset by a vector env) do not advance: their
        state, counters and random generators are left untouched and their reward is 0.

        Returns:
            ``(reward, terminated, info)`` with arrays over the ``n`` slots (``info`` is None
            when ``with_info`` is False; `info_row` then reads one slot's record).
        """
        active = self._all_active if active is None else np.asarray(active, dtype=np.bool_)
        reward = np.empty(self.n)
        terminated = np.empty(self.n, dtype=np.bool_)
        self._generators.update_all(rngs)
        if not _env_step(active, doses, reward, terminated, *self._step_args):
            self._finish_checked(active, reward, terminated)
        if not self._full:
            self._measure_after_step(np.flatnonzero(active), rngs)
            score_clinical(active, reward, self._info, self._cfg, *self.state_arrays)
        return reward, terminated, (self._info_dict() if with_info else None)

    @property
    def dose_buffer(self) -> np.ndarray:
        """The doses `step_one` gives, ``(1, 3)`` (columns `tme_env.dosing.ACTION`).

        The single env's API to `step_one`: it writes its validated doses here every step
        (no copy, no argument to unbox); the array is persistent, its address is in the step
        table.
        """
        return self._doses1

    def step_one(self, rng: np.random.Generator) -> tuple[float, bool]:
        """`step` of a one-slot core with the doses in `dose_buffer`: ``(reward, terminated)``.

        The single env's lean path: the same transition, random draws and info record as
        ``step(dose_buffer, [rng])`` (the record is read with `info_row`); it reuses its
        reward and termination buffers and passes its arrays to the compiled step as one
        table of addresses (`STEP_TABLE`).
        """
        if self.n != 1:
            raise ValueError(f"step_one needs a one-slot core, this one has {self.n} slots")
        reward, terminated, active = self._reward1, self._terminated1, self._all_active
        self._generators.update(0, rng)
        if self._table is not None:
            clean = _env_step_table(self._table.table)
        else:  # no compiled code (NUMBA_DISABLE_JIT=1): the arrays themselves
            clean = _env_step(active, self._doses1, reward, terminated, *self._step_args)
        if not clean:
            self._finish_checked(active, reward, terminated)
        if not self._full:
            self._measure_after_step(self._slot0, [rng])
            score_clinical(active, reward, self._info, self._cfg, *self.state_arrays)
        return float(reward[0]), bool(terminated[0])

    def _finish_checked(
        self, active: np.ndarray, reward: np.ndarray, terminated: np.ndarray
    ) -> None:
        """The fused step's slow exit: check the integration, then finish the interval."""
        self.stepper.check_result()  # raises SimulationError (or accepts round-off)
        _, _, fbuf, ibuf, parallel, full, info, obs, c, u, _, given, _, *state = self._step_args
        _finish(active, given, reward, terminated, fbuf, ibuf, parallel, full, info, obs,
                c, u, *state)  # fmt: skip

    def _measure_after_step(self, rows: np.ndarray, rngs: list[np.random.Generator]) -> None:
        """Clinical mode: the stepped ``rows``' measurements (with a biopsy when one is due)."""
        k = self.config.biopsy_every_steps
        due = (self.state.steps[rows] % k == 0) if k > 0 else np.zeros(rows.size, dtype=bool)
        self._measure(rows[~due], rngs, biopsy=False)
        self._measure(rows[due], rngs, biopsy=True)
        self._imaging_into_info()

    def info(self) -> dict[str, np.ndarray]:
        """The info record (`INFO_KEYS`) of all slots for the current state (no reward)."""
        self.refresh_info()
        return self._info_dict()

    def refresh_info(self) -> None:
        """Recompute the info record of all slots for the current state, without returning it.

        `info` without building its dict of arrays: the single env's reset reads one slot
        with `info_row` afterwards.
        """
        reward = np.empty(self.n)
        terminated = np.empty(self.n, dtype=np.bool_)
        evaluate(self.state.y, self.stepper.params, np.zeros(self.n, dtype=np.bool_), self._cfg,
                  self._info, reward, terminated, *self.state_arrays)  # fmt: skip
        self._imaging_into_info()

    def info_row(self, i: int) -> dict[str, float]:
        """Slot ``i``'s info record after the last `step`, `info` or `refresh_info` call."""
        return info_record(*self._info[i].tolist())

    def observe_row(self, i: int) -> np.ndarray:
        """Slot ``i``'s observation (a new array): `observe` for one slot."""
        if self._full:
            return self._obs[i].copy()
        return self.observe()[i]

    def _info_dict(self) -> dict[str, np.ndarray]:
        return {k: self._info[:, j].copy() for j, k in enumerate(INFO_KEYS)}


# --- compiled step functions ----------------------------------------------------------------
@njit(**JIT_FLAGS)
def _start_slot(i, reading, *state):  # pragma: no cover - compiled
    """Slot ``i``'s RECIST baseline at reset (`start_imaging`) on the five state arrays."""
    start_imaging(state_views(*state), i, reading)


# ``cfg`` is `config_row` (columns `CFG`); ``*state`` are the five `state_arrays` (y,
# last_doses, measured, float rows, int rows); each compiled function builds the `EnvState`
# of views with `state_views` (a named tuple argument costs ~0.5 us more to unbox than its
# fields, and each array argument ~0.15 us).


@njit(**JIT_FLAGS)
def _advance(active, y_out, params, h_carry, given, uniforms, dt, weeks, s):  # pragma: no cover
    """Transition after the integrator: end state, nadir, counters, irAE and its management.

    An inactive slot (just reset) keeps no carried step size: its first interval starts from
    the integrator's heuristic, as in a single env after reset.
    """
    last = y_out.shape[2] - 1
    for i in range(s.y.shape[0]):
        if not active[i]:
            h_carry[i] = 0.0
            continue
        for j in range(s.y.shape[1]):
            s.y[i, j] = y_out[i, j, last]
        low = y_out[i, STATE.ANC, 1]
        for k in range(2, last + 1):
            low = min(low, y_out[i, STATE.ANC, k])
        s.anc_nadir[i] = low
        for j in range(s.last_doses.shape[1]):
            s.last_doses[i, j] = given[i, j]
        count_doses(s, i, given, s.steps[i] * dt)
        s.steroid_days[i] = max(s.steroid_days[i] - dt, 0.0)
        s.pd1_hold_days[i] = max(s.pd1_hold_days[i] - dt, 0.0)
        s.steps[i] += 1
        s.biopsy_age[i] += weeks
        # irAE: hazard over the interval, event and grade, then the label's management.
        hz = irae_hazard(y_out[i], params[i], s.effector_ref[i], dt)
        s.irae_hazard[i] = hz
        grade = irae_grade(hz, uniforms[i, UNIFORM.irae_event], uniforms[i, UNIFORM.irae_grade],
                           params[i])  # fmt: skip
        s.irae_grade[i] = grade
        manage_irae(s, i, grade)
        s.death_hazard[i] += interval_death_hazard(y_out[i], params[i], dt)


@njit(**JIT_FLAGS)
def _finish(
    active, given, reward, terminated, fbuf, ibuf, parallel, full, info, obs, cfg, uniforms,
    *state,
):  # pragma: no cover - compiled  # fmt: skip
    """After a successful interval: transition, termination, reward, info, full observation.

    ``given`` are the doses given (after `apply_rules`).
    """
    v = packed.unpack(fbuf, ibuf)
    s = state_views(*state)
    _advance(active, v.y_out, v.params, v.h_carry, given, uniforms, cfg[CFG.days],
             cfg[CFG.weeks], s)  # fmt: skip
    # The kernel's start buffer y0 still holds the interval's start state.
    evaluate(v.y0, v.params, active, cfg, info, reward, terminated, *state)
    if full:
        observe_full(s, v.params, cfg[CFG.dt_over_h], cfg[CFG.days], obs)


@njit(**JIT_FLAGS)
def _env_step_table(t):  # pragma: no cover - compiled
    """`_env_step` on the arrays of a `TumorImmuneCore`'s step table (`STEP_TABLE`)."""
    f8, f4, i8, b1 = np.float64, np.float32, np.int64, np.bool_
    v1, v2, at = table.view_1d, table.view_2d, _SCALARS_AT
    return _env_step(
        v1(t, _REC.active, b1), v2(t, _REC.doses, f8), v1(t, _REC.reward, f8),
        v1(t, _REC.terminated, b1), t[at + _SCALAR.rhs_c_addr], t[at + _SCALAR.rhs_jit_addr],
        v1(t, _REC.fbuf, f8), v1(t, _REC.ibuf, i8), t[at + _SCALAR.parallel] != 0,
        t[at + _SCALAR.full] != 0, v2(t, _REC.info, f8), v2(t, _REC.obs, f4),
        v1(t, _REC.cfg, f8), v2(t, _REC.uniforms, f8), v2(t, _REC.rng_table, i8),
        v2(t, _REC.given, f8), v1(t, _REC.steroid, f8), v2(t, _REC.y, f8),
        v2(t, _REC.last_doses, f8), v2(t, _REC.measured, f8), v2(t, _REC.float_rows, f8),
        v2(t, _REC.int_rows, i8),
    )  # fmt: skip


@njit(**JIT_FLAGS)
def _env_step(
    active, doses, reward, terminated, rhs_c_addr, rhs_jit_addr, fbuf, ibuf, parallel, full,
    info, obs, cfg, uniforms, rng_table, given, steroid, *state,
):  # pragma: no cover - compiled  # fmt: skip
    """One decision interval in one compiled call: draws, rules, dosing, integrator, `_finish`.

    Each active slot first draws its two irAE uniforms from its generator (``rng_table``, see
    `tme_env.simulator.bitgen`) into ``uniforms``. ``given`` receives the doses actually given
    (``doses`` after the label and irAE rules).
    Returns 1, or 0 without finishing if some patient's result is not clean (failed, or a
    non-finite or negative end state): the caller then runs the full check and `_finish`.
    """
    v = packed.unpack(fbuf, ibuf)
    s = state_views(*state)
    y = s.y
    for i in range(y.shape[0]):
        if active[i]:
            for k in range(uniforms.shape[1]):
                uniforms[i, k] = next_double(rng_table[i, 0], rng_table[i, 1])
        for j in range(y.shape[1]):
            v.y0[i, j] = y[i, j]
    apply_rules(doses, cfg[CFG.days], s, given, steroid, active)
    write_rates(given, steroid, active, v.seg_u)
    if parallel:
        clean = packed.integrate_packed_batch(rhs_c_addr, rhs_jit_addr, fbuf, ibuf)
    else:
        clean = packed.integrate_packed_single(rhs_c_addr, rhs_jit_addr, fbuf, ibuf)
    if clean == 0:
        return 0
    _finish(active, given, reward, terminated, fbuf, ibuf, parallel, full, info, obs, cfg,
            uniforms, *state)  # fmt: skip
    return 1
