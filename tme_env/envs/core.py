"""Batched, framework-free core of the ``tme`` environments.

`TumorImmuneCore` advances ``n`` virtual patients by one decision interval per call. Its
mutable state is one named struct of arrays, `EnvState` (gymnax-style: the state is data, the
functions are separate), and a step is the composition of separate functions:

* **transition**: `tme_env.dosing.write_rates` (doses to input rates), the compiled integrator
  (`BatchStepper`'s packed kernel), then `_advance` (end state, nadir, counters);
* **termination**: `_terminal` (death by burden or fatal neutropenia, cure);
* **reward**: `_reward_terms` (each weighted term, see `TumorImmuneCore.step`);
* **observation**: `_observe_full` (compiled) or `TumorImmuneCore._measure` (noisy clinical
  measurements, seeded per slot);
* **info**: `_write_info`, one row per slot with the columns named by `INFO`.

All of it runs in one compiled call per step (`_env_step`). Observation and info columns are
addressed by name through `FULL_OBSERVATION`, `CLINICAL_OBSERVATION` and `INFO_KEYS` (the
`IntEnum` classes `observation_fields` and `INFO`), never by number. The single Gymnasium env wraps
a core of size 1 and a vector env a core of size N, so both give the same transitions by
construction.

Configuration that is not biology lives in `EnvConfig` and `RewardWeights` (the biology is in
`TMEParameters` and the cohort).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any, NamedTuple, Protocol

import numpy as np
from numba import njit

from tme_env import clinical
from tme_env.dosing import ACTION_NAMES, interval_breakpoints, write_rates
from tme_env.jit import JIT_FLAGS
from tme_env.models.base import index_enum
from tme_env.models.tme import MODEL, STATE_NAMES, hotness_of_state
from tme_env.patients import VirtualPatient, cohort
from tme_env.simulator import packed, table
from tme_env.simulator.bitgen import GeneratorAddresses, next_double
from tme_env.simulator.stepper import BatchStepper

__all__ = [
    "ACTION_NAMES",
    "CLINICAL_OBSERVATION",
    "FULL_OBSERVATION",
    "INFO",
    "INFO_KEYS",
    "Core",
    "EnvConfig",
    "EnvState",
    "RewardWeights",
    "TumorImmuneCore",
    "observation_bounds",
    "observation_fields",
]

#: Lethal neutropenia: ANC below this (1e9/L) ends the episode as a toxic death (assumed: a
#: grade-4 nadir this deep carries a high risk of fatal neutropenic sepsis).
FATAL_ANC = 0.1
#: A tumour below one cell is extinct: cure.
CURE_CELLS = 1.0
#: Label rules the env enforces (pembrolizumab label; KEYNOTE-189, Gandhi et al. NEJM 2018):
#: at most 35 anti-PD-1 doses and 24 months from the first; platinum doublets stop after
#: 6 cycles (later chemotherapy doses are capped at pemetrexed maintenance, 0.5).
MAX_ANTI_PD1_DOSES = 35
MAX_ANTI_PD1_DAYS = 730.0
MAX_PLATINUM_CYCLES = 6
MAINTENANCE_DOSE = 0.5
#: irAE management (label; ASCO/NCCN guidance [M]): grade 2 -> hold anti-PD-1 2 weeks;
#: grade 3 -> hold and prednisone 1 mg/kg/day tapered over 4 weeks (2 at 1, 2 at 0.5);
#: grade 4 or a second grade 3 -> discontinue permanently (with the steroid course);
#: grade 5 -> death. P(grade 4 | grade 3-4) is assumed 0.25.
HOLD_DAYS_GRADE2 = 14.0
STEROID_DAYS = 28.0
GRADE4_SHARE = 0.25

_X = index_enum("_X", STATE_NAMES)
_PAR = index_enum("_PAR", MODEL.parameter_names)
#: States shown as log10(1 + x) in the full observation (cell counts and the damage signal).
_LOG_STATES = ("S", "R", "E", "X", "M", "D")
_N_LOG = len(_LOG_STATES)
if tuple(STATE_NAMES[:_N_LOG]) != _LOG_STATES:  # pragma: no cover - import guard
    raise ImportError(f"tme state order changed: {STATE_NAMES}; update _observe_full")
_DEATH = clinical.DEATH_BURDEN_CELLS
_BLOOD = clinical.BLOOD_MDSC_PER_UL_PER_CELL
_HOT = clinical.HOT_THRESHOLD

#: Full observation fields: log10(1 + x) of the cell states and the damage signal, the other
#: states raw (``anc`` is the ANC state), elapsed time / horizon, the last doses.
FULL_OBSERVATION = (
    *(f"log10_{name}" for name in _LOG_STATES),
    *(name.lower() if name == "ANC" else name for name in STATE_NAMES[_N_LOG:]),
    "time_fraction",
    *(f"last_{a}" for a in ACTION_NAMES),
    "irae_count",
    "anti_pd1_blocked",
)
#: Clinical observation fields (what a clinic measures; see `TumorImmuneEnv`).
CLINICAL_OBSERVATION = (
    "imaging_log10_burden",
    "detectable",
    "anc",
    "log10_blood_mdsc",
    "biopsy_log10_cd8_mdsc",
    "biopsy_age_52w",
    "time_fraction",
    *(f"last_{a}" for a in ACTION_NAMES),
    "irae_count",
    "anti_pd1_blocked",
)
_FULL = index_enum("FullObservation", FULL_OBSERVATION)
_CLIN = index_enum("ClinicalObservation", CLINICAL_OBSERVATION)
#: The measured clinical values kept in `EnvState.measured` (the first clinical fields).
_MEASURED = CLINICAL_OBSERVATION[:4]

#: Keys of the info record, identical at reset and at every step (all numeric and finite).
INFO_KEYS = (
    "day",
    "tumour_cells",
    "log10_tumour_cells",
    "diameter_mm",
    "resistant_fraction",
    "anc",
    "anc_nadir",
    "neutropenia_grade",
    "blood_mdsc_per_ul",
    "hotness",
    "is_hot",
    *(f"dose_{a}" for a in ACTION_NAMES),
    "reward_survival",
    "reward_death",
    "reward_cure",
    "reward_tumour",
    "reward_toxicity",
    "reward_hotness",
    "dead",
    "toxic_death",
    "cured",
    "imaging_tumour_cells",
    "irae_grade",
    "irae_count",
    "irae_death",
    "on_steroids",
    "anti_pd1_doses",
    "anti_pd1_blocked",
    "anti_pd1_stopped",
    "platinum_cycles",
    "grade3_toxicity",
)
#: Column of each info key (compile-time constants in the kernels).
INFO = index_enum("Info", INFO_KEYS)
_N_REWARD = 6


def _info_record_builder(keys: tuple[str, ...]) -> Any:
    """A function ``(*values) -> dict`` with ``keys`` (written as literals) as a dict display.

    Generated once (as `collections.namedtuple` and `dataclasses` generate code): a dict
    display with constant keys builds the 33-key info record in ~1.5 us, against ~2 us for
    ``dict(zip(keys, values))``, and a single env builds one every step.
    """
    args = ", ".join(f"v{j}" for j in range(len(keys)))
    body = ", ".join(f"{k!r}: v{j}" for j, k in enumerate(keys))
    namespace: dict[str, Any] = {}
    exec(f"def info_record({args}):\n    return {{{body}}}\n", namespace)  # noqa: S102
    return namespace["info_record"]


_info_record = _info_record_builder(INFO_KEYS)


def observation_fields(mode: str) -> type[IntEnum]:
    """The named columns of an observation mode (``"full"`` or ``"clinical"``).

    >>> from tme_env.envs.core import observation_fields
    >>> int(observation_fields("clinical").anc)
    2
    """
    if mode == "full":
        return _FULL
    if mode == "clinical":
        return _CLIN
    raise ValueError(f"unknown observation {mode!r}; valid: full, clinical")


def observation_bounds(mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of each observation component of a mode (float32).

    Generous physical bounds: log10 cell counts <= 13 (the lethal burden is 1e12), the
    damage signal <= 6, drug and neutrophil levels <= 100 (steady states are below ~10),
    elapsed time / horizon <= 2, doses in [0, 1].
    """
    fields = observation_fields(mode)
    if mode == "full":
        bounds = {f"log10_{s}": (0.0, 13.0) for s in _LOG_STATES[:5]} | {"log10_D": (0.0, 6.0)}
        default = (0.0, 100.0)
    else:
        bounds = {"imaging_log10_burden": (9.0, 13.0), "detectable": (0.0, 1.0),
                  "log10_blood_mdsc": (0.0, 6.0), "biopsy_log10_cd8_mdsc": (-10.0, 10.0),
                  "biopsy_age_52w": (0.0, 10.0)}  # fmt: skip
        default = (0.0, 100.0)
    bounds |= {"time_fraction": (0.0, 2.0)} | {f"last_{a}": (0.0, 1.0) for a in ACTION_NAMES}
    bounds |= {"irae_count": (0.0, 50.0), "anti_pd1_blocked": (0.0, 1.0)}
    low, high = np.array([bounds.get(f.name, default) for f in fields]).T
    return low.astype(np.float32), high.astype(np.float32)


#: Largest cohort an env builds (patients are generated one by one at construction).
MAX_COHORT_SIZE = 100_000


def _real(x: object) -> bool:
    """A finite real number (not a bool)."""
    return (
        isinstance(x, (int, float, np.integer, np.floating))
        and not isinstance(x, bool)
        and math.isfinite(x)
    )


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the per-step reward (see `TumorImmuneCore.step` for the formula).

    The survival and toxicity terms together are quality-adjusted survival time, aligned
    with the trial's Q-TWiST score: a week with grade >= 3 toxicity is worth
    `tme_env.clinical.QTWIST_UTILITY_TOX` of a week without (``toxicity = survival x
    (1 - u_TOX)``).
    """

    survival: float = field(default=0.1, metadata=_doc("per week alive"))
    death: float = field(default=10.0, metadata=_doc("penalty on death"))
    cure: float = field(default=10.0, metadata=_doc("bonus on cure"))
    tumour: float = field(default=1.0, metadata=_doc("per log10 of burden growth"))
    toxicity: float = field(
        default=0.1 * (1.0 - clinical.QTWIST_UTILITY_TOX),
        metadata=_doc("per week with grade >= 3 toxicity (neutropenia or irAE)"),
    )
    hotness: float = field(default=0.1, metadata=_doc("times the hotness index"))


@dataclass(frozen=True)
class EnvConfig:
    """Environment settings (not biology); each field is an argument of the ``tme`` envs.

    Every field can be set through ``gym.make(id, **overrides)`` (`from_kwargs` names an
    unknown one). Field documentation is in each field's ``metadata["doc"]``; the envs'
    docstrings build their Arguments tables from it (`arguments_table`).
    """

    observation: str = field(default="full", metadata=_doc('`"full"` or `"clinical"`'))
    decision_interval_days: float = field(default=7.0, metadata=_doc("days per step (> 1)"))
    horizon_days: float = field(
        default=clinical.HORIZON_DAYS,
        metadata=_doc("episode horizon (5 years); the ids set `max_episode_steps` from it"),
    )
    split: str = field(default="train", metadata=_doc("cohort split: train, validation, test"))
    cohort_size: int = field(default=256, metadata=_doc("patients in the cohort"))
    imaging_cv: float = field(default=0.1, metadata=_doc("CV of the imaging burden (clinical)"))
    anc_cv: float = field(default=0.05, metadata=_doc("CV of the neutrophil count (clinical)"))
    mdsc_cv: float = field(default=0.15, metadata=_doc("CV of the blood MDSC assay (clinical)"))
    biopsy_every_steps: int = field(
        default=6, metadata=_doc("steps between biopsies (CD8:MDSC ratio), 0 for never")
    )
    biopsy_cv: float = field(default=0.2, metadata=_doc("CV of the biopsy ratio (clinical)"))
    reward: RewardWeights = field(
        default_factory=RewardWeights,
        metadata=_doc("reward weights, a dict of `RewardWeights` fields to override"),
    )
    rtol: float | None = field(
        default=None,
        metadata=_doc("integrator tolerance; None: the model's 1e-6 (as `tme_env.simulate`)"),
    )

    def __post_init__(self) -> None:
        """Validate every setting, naming the bad one."""
        if not (_real(self.decision_interval_days) and self.decision_interval_days > 1.0):
            raise ValueError(
                "decision_interval_days must be finite and > 1 (chemotherapy is infused over "
                f"the first day), got {self.decision_interval_days!r}"
            )
        if not (_real(self.horizon_days) and self.horizon_days >= self.decision_interval_days):
            raise ValueError(f"horizon_days must be >= one interval, got {self.horizon_days!r}")
        observation_fields(self.observation)  # raises on an unknown mode
        for name in ("imaging_cv", "anc_cv", "mdsc_cv", "biopsy_cv"):
            v = getattr(self, name)
            if not (_real(v) and v >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
        for name, least, most in (("biopsy_every_steps", 0, None),
                                  ("cohort_size", 1, MAX_COHORT_SIZE)):  # fmt: skip
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")
            if most is not None and v > most:
                raise ValueError(f"{name} must be at most {most:,}, got {v:,}")
        valid = [f.name for f in dataclasses.fields(RewardWeights)]
        if isinstance(self.reward, dict):
            unknown = sorted(set(self.reward) - set(valid))
            if unknown:
                raise ValueError(f"unknown reward weights {unknown}; valid: {', '.join(valid)}")
            object.__setattr__(self, "reward", RewardWeights(**self.reward))
        elif not isinstance(self.reward, RewardWeights):
            raise ValueError(
                f"reward must be a dict of reward weights ({', '.join(valid)}) or a "
                f"RewardWeights, got {self.reward!r}"
            )
        for name in valid:
            v = getattr(self.reward, name)
            if not _real(v):
                raise ValueError(f"reward weight {name!r} must be a finite number, got {v!r}")
        if self.rtol is not None and not (
            _real(self.rtol) and 1e-12 <= self.rtol <= 1e-2
        ):
            raise ValueError(f"rtol must be None or a number in [1e-12, 1e-2], got {self.rtol!r}")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> EnvConfig:
        """Build a config from keyword arguments (``None`` reward means the defaults).

        Raises:
            ValueError: On an unknown name (the message lists the valid ones) or a bad value.
        """
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(kwargs) - set(valid))
        if unknown:
            raise ValueError(f"unknown env arguments {unknown}; valid: {', '.join(valid)}")
        if kwargs.get("reward", 0) is None:
            kwargs["reward"] = {}
        return cls(**kwargs)

    @property
    def max_episode_steps(self) -> int:
        """Steps until the horizon (truncation)."""
        return int(math.ceil(self.horizon_days / self.decision_interval_days))

    def to_dict(self) -> dict:
        """JSON-serialisable settings."""
        return asdict(self)


def arguments_table(extra: tuple[tuple[str, str, str, str], ...] = ()) -> str:
    """The Gymnasium-docstring Arguments table of the ``tme`` envs, from `EnvConfig`'s fields.

    Args:
        extra: More rows ``(name, type, default, description)`` (env-only arguments).
    """
    rows = list(extra)
    defaults = EnvConfig()
    for f in dataclasses.fields(EnvConfig):
        value = getattr(defaults, f.name)
        default = "`{}`" if f.name == "reward" else f"`{value!r}`"
        kind = "dict" if f.name == "reward" else type(value).__name__
        if f.name == "rtol":
            kind = "float"
        rows.append((f"`{f.name}`", kind, default, f.metadata["doc"]))
    lines = ["| Parameter | Type | Default | Description |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


class EnvState(NamedTuple):
    """The mutable state of ``n`` env slots: one array per field, rows are slots.

    Attributes:
        y: Model state at the current decision time, ``(n, n_states)`` (kernel order).
        steps: Decisions taken in the episode, ``(n,)`` int64.
        last_doses: Doses given in the last interval (after the label rules), ``(n, 3)``.
        anc_nadir: Lowest daily ANC of the last interval (1e9/L), ``(n,)``.
        effector_ref: Active effectors at presentation (the irAE activation reference).
        biopsy: Last biopsy's log10 CD8:MDSC ratio (clinical), ``(n,)``.
        biopsy_age: Weeks since that biopsy, ``(n,)``.
        measured: The latest clinical measurements, ``(n, 4)``: the first four fields of
            `CLINICAL_OBSERVATION`.
        pd1_doses: Anti-PD-1 doses given, ``(n,)`` int64.
        pd1_first_day: Day of the first anti-PD-1 dose (-1: none yet).
        pd1_hold_days: Days anti-PD-1 is still withheld after an irAE.
        pd1_stopped: 1 once anti-PD-1 is discontinued for good.
        steroid_days: Days left of the steroid course.
        platinum_cycles: Chemotherapy doses above the maintenance level given, int64.
        irae_count: irAEs so far (any grade); ``irae_severe``: of grade >= 3.
        irae_grade: Grade of the irAE that began in the last interval (0: none).
        irae_hazard: Cumulative irAE hazard of the last interval.
    """

    y: np.ndarray
    steps: np.ndarray
    last_doses: np.ndarray
    anc_nadir: np.ndarray
    effector_ref: np.ndarray
    biopsy: np.ndarray
    biopsy_age: np.ndarray
    measured: np.ndarray
    pd1_doses: np.ndarray
    pd1_first_day: np.ndarray
    pd1_hold_days: np.ndarray
    pd1_stopped: np.ndarray
    steroid_days: np.ndarray
    platinum_cycles: np.ndarray
    irae_count: np.ndarray
    irae_severe: np.ndarray
    irae_grade: np.ndarray
    irae_hazard: np.ndarray

    @classmethod
    def zeros(cls, n: int, n_states: int) -> EnvState:
        """A state of ``n`` slots, all zero (no patient yet), as views of `state_arrays`."""
        return _py_state_views(*state_arrays(n, n_states))

    def reset_slot(self, i: int, y0: np.ndarray) -> None:
        """Start slot ``i``'s episode at presentation state ``y0``."""
        for name, arr in zip(self._fields, self, strict=True):
            if name != "y":
                arr[i] = -1.0 if name == "pd1_first_day" else 0
        self.y[i] = y0
        self.anc_nadir[i] = y0[_X.ANC]
        self.effector_ref[i] = max(y0[_X.E], 1.0)


#: `EnvState`'s one-value-per-slot fields, stored as the rows of one float and one int array
#: (`state_arrays`), so that a compiled call takes 5 arrays instead of 18: each array argument
#: costs ~0.15 us to unbox, a third of the single env's overhead around its integrator.
FLOAT_ROWS = ("anc_nadir", "effector_ref", "biopsy", "biopsy_age", "pd1_first_day",
              "pd1_hold_days", "steroid_days", "irae_grade", "irae_hazard")  # fmt: skip
INT_ROWS = ("steps", "pd1_doses", "pd1_stopped", "platinum_cycles", "irae_count", "irae_severe")


def state_arrays(n: int, n_states: int) -> tuple[np.ndarray, ...]:
    """The storage of an `EnvState` of ``n`` slots: ``(y, last_doses, measured, F, I)``.

    ``F`` is ``(len(FLOAT_ROWS), n)`` float64 and ``I`` ``(len(INT_ROWS), n)`` int64, one row
    per field; `_state_views` turns the five into the `EnvState` of views (compiled code
    receives the five arrays and builds the views itself).
    """
    return (np.zeros((n, n_states)), np.zeros((n, len(ACTION_NAMES))),
            np.zeros((n, len(_MEASURED))), np.zeros((len(FLOAT_ROWS), n)),
            np.zeros((len(INT_ROWS), n), dtype=np.int64))  # fmt: skip


@njit(**JIT_FLAGS)
def _state_views(y, last_doses, measured, f, i):  # pragma: no cover - compiled
    """The `EnvState` of views into `state_arrays` (rows in `FLOAT_ROWS` / `INT_ROWS` order)."""
    return EnvState(y, i[0], last_doses, f[0], f[1], f[2], f[3], measured, i[1], f[4], f[5],
                    i[2], f[6], i[3], i[4], i[5], f[7], f[8])  # fmt: skip


def _py_state_views(*arrays: np.ndarray) -> EnvState:
    """`_state_views` run as Python (NumPy views), compiled or not (``NUMBA_DISABLE_JIT``)."""
    return getattr(_state_views, "py_func", _state_views)(*arrays)


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
        self.state = _py_state_views(*self.state_arrays)
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
        self._dt_over_h = config.decision_interval_days / config.horizon_days
        w = config.reward
        self._weights = np.array(
            [w.survival, w.death, w.cure, w.tumour, w.toxicity, w.hotness], dtype=np.float64
        )
        self._cfg = np.array([dt / 7.0, dt, self._dt_over_h, *self._weights])
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
            rhs_c, rhs_jit, fbuf, ibuf, parallel, full, *arrays = self._step_args
            self._table = table.ArrayTable(
                [self._all_active, self._doses1, self._reward1, self._terminated1, fbuf, ibuf,
                 *arrays],
                scalars=(rhs_c, rhs_jit, int(parallel), int(full)),
            )  # fmt: skip
            if len(self._table.arrays) != _TABLE_ARRAYS:  # the layout `_env_step_table` reads
                raise RuntimeError(f"step table: {len(self._table.arrays)} arrays recorded")

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
        self.state = _py_state_views(*self.state_arrays)
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
        if self._full:
            _observe_full(slice_state(s, i), self._dt_over_h, self._cfg[_CFG_DAYS],
                          self._obs[i : i + 1])  # fmt: skip
        self._measure([i], rngs, biopsy=True)

    # --- observations -------------------------------------------------------------------
    def _measure(self, rows: Any, rngs: list[np.random.Generator], biopsy: bool) -> None:
        """Noisy clinical measurements of ``rows`` (clinical observation only).

        Slot ``i`` draws from ``rngs[i]`` only, in a fixed order (imaging, ANC, MDSC[, biopsy]),
        so its noise does not depend on the other slots: a vector env reproduces N single envs
        with the same seeds.
        """
        cfg = self.config
        if self._full:
            return  # the full observation needs no measurement (and draws no noise)
        s = self.state
        for i in rows:
            y = s.y[i]
            z = rngs[i].standard_normal(4 if biopsy else 3)
            burden = y[_X.S] + y[_X.R]
            seen = burden * math.exp(cfg.imaging_cv * z[0])
            m = s.measured[i]
            m[_CLIN.imaging_log10_burden] = math.log10(max(seen, clinical.DETECTION_LIMIT_CELLS))
            m[_CLIN.detectable] = float(seen >= clinical.DETECTION_LIMIT_CELLS)
            m[_CLIN.anc] = y[_X.ANC] * math.exp(cfg.anc_cv * z[1])
            mdsc = float(clinical.blood_mdsc_per_ul(y[_X.M]))
            m[_CLIN.log10_blood_mdsc] = math.log10(1.0 + mdsc * math.exp(cfg.mdsc_cv * z[2]))
            if biopsy:
                ratio = (max(y[_X.E], 0.0) + 1.0) / (max(y[_X.M], 0.0) + 1.0)
                s.biopsy[i] = math.log10(ratio) + cfg.biopsy_cv * z[3] / math.log(10.0)
                s.biopsy_age[i] = 0.0

    def _imaging_into_info(self) -> None:
        """Clinical mode: the info's imaging burden is what imaging measured (cells)."""
        if not self._full:
            self._info[:, INFO.imaging_tumour_cells] = (
                10.0 ** self.state.measured[:, _CLIN.imaging_log10_burden]
            )

    def observe(self) -> np.ndarray:
        """Observations of all slots, float32, shape ``(n, obs_dim)`` (a new array)."""
        if self._full:
            return self._obs.copy()  # kept current by `step` and `set_patient`
        s = self.state
        t_frac = s.steps * self._dt_over_h
        obs = np.concatenate(
            [s.measured, s.biopsy[:, None], s.biopsy_age[:, None] / 52.0, t_frac[:, None],
             s.last_doses, s.irae_count[:, None],
             _blocked_flags(self._cfg[_CFG_DAYS], *self.state_arrays)[:, None]],
            axis=1,
        )  # fmt: skip
        return obs.astype(np.float32)

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
        (`MAX_ANTI_PD1_DOSES`, `MAX_ANTI_PD1_DAYS`, `MAX_PLATINUM_CYCLES`) and the irAE
        management (anti-PD-1 held or stopped, steroids): ``info["dose_*"]`` is what was given.

        irAEs: over the interval the hazard ``irae_rate x irae_susceptibility x A/(A +
        A50_irAE) x min(E/E_presentation, 3)`` is integrated on the daily outputs; an event
        happens with probability ``1 - exp(-H)``, its grade drawn from
        ``irae_severe_fraction`` and ``irae_fatal_fraction`` (two uniforms per slot and step
        from the slot's generator).

        Reward (per step, weights `RewardWeights`)::

            r = w_survival [alive] - w_death [died] + w_cure [cured]
                - w_tumour (log10 N_end - log10 N_start)
                - w_toxicity [grade >= 3 toxicity: neutropenia on the worst day of the
                              interval, or an irAE of grade >= 3 or its steroid course]
                + w_hotness H_end

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
        return reward, terminated, (self._info_dict() if with_info else None)

    @property
    def dose_buffer(self) -> np.ndarray:
        """`step_one`'s doses, ``(1, 3)``: a caller that writes its doses here saves a copy."""
        return self._doses1

    def step_one(self, doses: np.ndarray, rng: np.random.Generator) -> tuple[float, bool]:
        """`step` of a one-slot core, the single env's lean path: ``(reward, terminated)``.

        The same transition, random draws and info record as ``step(doses, [rng])`` (the
        record is read with `info_row`); it reuses its reward and termination buffers and
        passes its arrays to the compiled step as one table of addresses. ``doses``
        (validated, ``(1, 3)``) is copied into `dose_buffer` unless it is that buffer.
        """
        if self.n != 1:
            raise ValueError(f"step_one needs a one-slot core, this one has {self.n} slots")
        reward, terminated, active = self._reward1, self._terminated1, self._all_active
        if doses is not self._doses1:
            self._doses1[...] = doses
        self._generators.update(0, rng)
        if self._table is not None:
            clean = _env_step_table(self._table.table)
        else:  # no compiled code (NUMBA_DISABLE_JIT=1): the arrays themselves
            clean = _env_step(active, self._doses1, reward, terminated, *self._step_args)
        if not clean:
            self._finish_checked(active, reward, terminated)
        if not self._full:
            self._measure_after_step(self._slot0, [rng])
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
        _evaluate(self.state.y, self.stepper.params, np.zeros(self.n, dtype=np.bool_), self._cfg,
                  self._info, reward, terminated, *self.state_arrays)  # fmt: skip
        self._imaging_into_info()

    def info_row(self, i: int) -> dict[str, float]:
        """Slot ``i``'s info record after the last `step`, `info` or `refresh_info` call."""
        return _info_record(*self._info[i].tolist())

    def observe_row(self, i: int) -> np.ndarray:
        """Slot ``i``'s observation (a new array): `observe` for one slot."""
        if self._full:
            return self._obs[i].copy()
        return self.observe()[i]

    def _info_dict(self) -> dict[str, np.ndarray]:
        return {k: self._info[:, j].copy() for j, k in enumerate(INFO_KEYS)}


# --- compiled step functions ----------------------------------------------------------------
# ``cfg`` is ``[weeks per interval, interval days, interval / horizon, *reward weights]``;
# ``*state`` are the five `state_arrays` (y, last_doses, measured, F, I); each compiled
# function builds the `EnvState` of views with `_state_views` (a named tuple argument costs
# ~0.5 us more to unbox than its fields, and each array argument ~0.15 us).
_CFG_WEEKS, _CFG_DAYS, _CFG_DT_OVER_H, _CFG_WEIGHTS = 0, 1, 2, 3


def slice_state(s: EnvState, i: int) -> EnvState:
    """Slot ``i`` of a state as a one-slot state (views)."""
    return EnvState(*(a[i : i + 1] for a in s))


@njit(**JIT_FLAGS)
def _pd1_blocked(s, i, day):  # pragma: no cover - compiled
    """Whether anti-PD-1 is refused to slot ``i`` at ``day`` (label and irAE rules)."""
    capped = s.pd1_doses[i] >= MAX_ANTI_PD1_DOSES or (
        s.pd1_first_day[i] >= 0.0 and day - s.pd1_first_day[i] >= MAX_ANTI_PD1_DAYS
    )
    return s.pd1_hold_days[i] > 0.0 or s.pd1_stopped[i] > 0 or capped


@njit(**JIT_FLAGS)
def _blocked_flags(dt, *state):  # pragma: no cover - compiled
    """1.0 for every slot whose anti-PD-1 is refused at its next decision (`_pd1_blocked`)."""
    s = _state_views(*state)
    out = np.empty(s.steps.shape[0])
    for i in range(out.shape[0]):
        out[i] = 1.0 if _pd1_blocked(s, i, s.steps[i] * dt) else 0.0
    return out


@njit(**JIT_FLAGS)
def _apply_rules(doses, dt, s, given, steroid):  # pragma: no cover - compiled
    """The doses actually given (label caps, irAE holds) and the steroid rate per slot."""
    for i in range(doses.shape[0]):
        chemo = doses[i, 0]
        if s.platinum_cycles[i] >= MAX_PLATINUM_CYCLES and chemo > MAINTENANCE_DOSE:
            chemo = MAINTENANCE_DOSE
        given[i, 0] = chemo
        given[i, 1] = 0.0 if _pd1_blocked(s, i, s.steps[i] * dt) else doses[i, 1]
        given[i, 2] = doses[i, 2]
        left = s.steroid_days[i]
        steroid[i] = 1.0 if left > 0.5 * STEROID_DAYS else (0.5 if left > 0.0 else 0.0)


@njit(**JIT_FLAGS)
def _irae_hazard(y_out, p, e_ref, dt):  # pragma: no cover - compiled
    """Cumulative irAE hazard of one slot over the interval (trapezoid on the outputs)."""
    last = y_out.shape[1] - 1
    h = dt / last
    total = 0.0
    prev = 0.0
    for k in range(last + 1):
        a = max(y_out[_X.A, k], 0.0)
        act = min(max(y_out[_X.E, k], 0.0) / e_ref, 3.0)
        lam = p[_PAR.irae_rate] * p[_PAR.irae_susceptibility] * act * a / (
            a + p[_PAR.irae_exposure_half_sat]
        )
        if k > 0:
            total += 0.5 * (prev + lam) * h
        prev = lam
    return total


@njit(**JIT_FLAGS)
def _irae_grade(hazard, u_event, u_grade, p):  # pragma: no cover - compiled
    """Grade of the irAE that begins in the interval (0: none; 2 stands for grades 1-2)."""
    if u_event >= 1.0 - np.exp(-hazard):
        return 0.0
    if u_grade < p[_PAR.irae_fatal_fraction]:
        return 5.0
    if u_grade < p[_PAR.irae_severe_fraction]:
        severe = p[_PAR.irae_severe_fraction] - p[_PAR.irae_fatal_fraction]
        return 4.0 if u_grade < p[_PAR.irae_fatal_fraction] + GRADE4_SHARE * severe else 3.0
    return 2.0


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
        low = y_out[i, _X.ANC, 1]
        for k in range(2, last + 1):
            low = min(low, y_out[i, _X.ANC, k])
        s.anc_nadir[i] = low
        for j in range(s.last_doses.shape[1]):
            s.last_doses[i, j] = given[i, j]
        day = s.steps[i] * dt
        if given[i, 1] > 0.0:
            s.pd1_doses[i] += 1
            if s.pd1_first_day[i] < 0.0:
                s.pd1_first_day[i] = day
        if given[i, 0] > MAINTENANCE_DOSE:
            s.platinum_cycles[i] += 1
        s.steroid_days[i] = max(s.steroid_days[i] - dt, 0.0)
        s.pd1_hold_days[i] = max(s.pd1_hold_days[i] - dt, 0.0)
        s.steps[i] += 1
        s.biopsy_age[i] += weeks
        # irAE: hazard over the interval, event and grade, then the label's management.
        hz = _irae_hazard(y_out[i], params[i], s.effector_ref[i], dt)
        s.irae_hazard[i] = hz
        grade = _irae_grade(hz, uniforms[i, 0], uniforms[i, 1], params[i])
        s.irae_grade[i] = grade
        if grade > 0.0:
            s.irae_count[i] += 1
            if grade == 2.0:
                s.pd1_hold_days[i] = max(s.pd1_hold_days[i], HOLD_DAYS_GRADE2)
            elif grade < 5.0:
                if grade == 4.0 or s.irae_severe[i] > 0:
                    s.pd1_stopped[i] = 1
                s.irae_severe[i] += 1
                s.steroid_days[i] = STEROID_DAYS
                s.pd1_hold_days[i] = max(s.pd1_hold_days[i], STEROID_DAYS)


@njit(**JIT_FLAGS)
def _terminal(burden, anc_low, irae_grade):  # pragma: no cover - compiled
    """``(dead, toxic_death, cured)``: lethal burden, fatal neutropenia or irAE, extinction."""
    dead = burden >= _DEATH
    toxic = anc_low < FATAL_ANC or irae_grade >= 5.0
    return dead, toxic, (burden < CURE_CELLS) and not dead and not toxic


@njit(**JIT_FLAGS)
def _grade(anc):  # pragma: no cover - compiled
    """CTCAE neutropenia grade of an ANC (1e9/L), as `tme_env.clinical.neutropenia_grade`."""
    return float((anc < 2.0) + (anc < 1.5) + (anc < 1.0) + (anc < 0.5))


@njit(**JIT_FLAGS)
def _reward_terms(w, died, cured, n_start, n_end, tox3, hot):  # pragma: no cover - compiled
    """The weighted reward terms, in `INFO_KEYS` order (``reward_survival`` first)."""
    return (
        w[0] * (not died),
        -w[1] * died,
        w[2] * cured,
        -w[3] * (np.log10(max(n_end, 1.0)) - np.log10(max(n_start, 1.0))),
        -w[4] * tox3,
        w[5] * hot,
    )


@njit(**JIT_FLAGS)
def _evaluate(y_prev, params, active, cfg, info, reward, terminated, *state):  # pragma: no cover
    """Termination, reward and the info row of every slot after an interval.

    The clinical quantities repeat `tme_env.clinical` (diameter, CTCAE grade, blood MDSC) in
    scalar form and hotness is the model's own `hotness_of_state`; ``tests/envs`` checks the
    two against each other.
    """
    s = _state_views(*state)
    w = cfg[_CFG_WEIGHTS:]
    dt = cfg[_CFG_DAYS]
    for i in range(s.y.shape[0]):
        y = s.y[i]
        n0 = y_prev[i, _X.S] + y_prev[i, _X.R]
        n1 = y[_X.S] + y[_X.R]
        low = s.anc_nadir[i]  # the lowest daily ANC of the interval (worst-day toxicity)
        hot = hotness_of_state(y, params[i])
        grade = _grade(low)
        on = active[i]
        irae = s.irae_grade[i] if on else 0.0
        dead, toxic, cured = _terminal(n1, low, irae)
        died = dead or toxic
        steroid = s.steroid_days[i] > 0.0
        tox3 = 1.0 if (grade >= 3.0 or irae >= 3.0 or steroid) else 0.0
        parts = _reward_terms(w, died, cured, n0, n1, tox3, hot)
        row = info[i]
        row[INFO.day] = s.steps[i] * dt
        row[INFO.tumour_cells] = n1
        row[INFO.log10_tumour_cells] = np.log10(max(n1, 1.0))
        row[INFO.diameter_mm] = 10.0 * np.cbrt(6.0 * max(n1, 0.0) / 1e9 / np.pi)
        row[INFO.resistant_fraction] = y[_X.R] / n1 if n1 > 0.0 else 0.0
        row[INFO.anc] = y[_X.ANC]
        row[INFO.anc_nadir] = low
        row[INFO.neutropenia_grade] = grade
        row[INFO.blood_mdsc_per_ul] = _BLOOD * y[_X.M]
        row[INFO.hotness] = hot
        row[INFO.is_hot] = 1.0 if hot >= _HOT else 0.0
        row[INFO.dose_chemo] = s.last_doses[i, 0]
        row[INFO.dose_anti_pd1] = s.last_doses[i, 1]
        row[INFO.dose_inhibitor] = s.last_doses[i, 2]
        total = 0.0
        for k in range(_N_REWARD):
            v = parts[k] if on else 0.0
            row[INFO.reward_survival + k] = v
            total += v
        row[INFO.dead] = 1.0 if (dead and on) else 0.0
        row[INFO.toxic_death] = 1.0 if (toxic and on) else 0.0
        row[INFO.cured] = 1.0 if (cured and on) else 0.0
        row[INFO.imaging_tumour_cells] = n1  # the clinical mode overwrites it (measured)
        row[INFO.irae_grade] = irae
        row[INFO.irae_count] = s.irae_count[i]
        row[INFO.irae_death] = 1.0 if (irae >= 5.0 and on) else 0.0
        row[INFO.on_steroids] = 1.0 if steroid else 0.0
        row[INFO.anti_pd1_doses] = s.pd1_doses[i]
        row[INFO.anti_pd1_blocked] = 1.0 if _pd1_blocked(s, i, s.steps[i] * dt) else 0.0
        row[INFO.anti_pd1_stopped] = float(s.pd1_stopped[i])
        row[INFO.platinum_cycles] = s.platinum_cycles[i]
        row[INFO.grade3_toxicity] = tox3 if on else 0.0
        reward[i] = total
        terminated[i] = on and (died or cured)


@njit(**JIT_FLAGS)
def _observe_full(s, dt_over_h, dt, out):  # pragma: no cover - compiled
    """The full observation (`FULL_OBSERVATION`).

    log10(1 + cells/damage), the other states, time, doses, irAE history and whether anti-PD-1
    is blocked.

    States are floored at 0 (a round-off undershoot of a decaying state reads as 0).
    """
    y = s.y
    n_s = y.shape[1]
    for i in range(y.shape[0]):
        for j in range(n_s):
            v = max(y[i, j], 0.0)
            if j < _N_LOG:
                v = np.log10(1.0 + v)
            out[i, j] = v
        out[i, _FULL.time_fraction] = s.steps[i] * dt_over_h
        for k in range(s.last_doses.shape[1]):
            out[i, _FULL.last_chemo + k] = s.last_doses[i, k]
        out[i, _FULL.irae_count] = s.irae_count[i]
        out[i, _FULL.anti_pd1_blocked] = 1.0 if _pd1_blocked(s, i, s.steps[i] * dt) else 0.0


@njit(**JIT_FLAGS)
def _finish(
    active, given, reward, terminated, fbuf, ibuf, parallel, full, info, obs, cfg, uniforms,
    *state,
):  # pragma: no cover - compiled  # fmt: skip
    """After a successful interval: transition, termination, reward, info, full observation.

    ``given`` are the doses given (after `_apply_rules`).
    """
    v = packed.unpack(fbuf, ibuf)
    s = _state_views(*state)
    _advance(active, v.y_out, v.params, v.h_carry, given, uniforms, cfg[_CFG_DAYS],
             cfg[_CFG_WEEKS], s)  # fmt: skip
    # The kernel's start buffer y0 still holds the interval's start state.
    _evaluate(v.y0, v.params, active, cfg, info, reward, terminated, *state)
    if full:
        _observe_full(s, cfg[_CFG_DT_OVER_H], cfg[_CFG_DAYS], obs)


@njit(**JIT_FLAGS)
def _env_step_table(t):  # pragma: no cover - compiled
    """`_env_step` on the arrays of a `TumorImmuneCore`'s step table (`step_one`)."""
    f8, f4, i8, b1 = np.float64, np.float32, np.int64, np.bool_
    v1, v2, scalar = table.view_1d, table.view_2d, _TABLE_SCALARS
    return _env_step(
        v1(t, 0, b1), v2(t, 1, f8), v1(t, 2, f8), v1(t, 3, b1), t[scalar], t[scalar + 1],
        v1(t, 4, f8), v1(t, 5, i8), t[scalar + 2] != 0, t[scalar + 3] != 0, v2(t, 6, f8),
        v2(t, 7, f4), v1(t, 8, f8), v2(t, 9, f8), v2(t, 10, i8), v2(t, 11, f8),
        v1(t, 12, f8), v2(t, 13, f8), v2(t, 14, f8), v2(t, 15, f8), v2(t, 16, f8),
        v2(t, 17, i8),
    )  # fmt: skip


#: The step table's records (`TumorImmuneCore.__init__`): active, doses, reward, terminated,
#: fbuf, ibuf, info, obs, cfg, uniforms, generator addresses, given, steroid, then the five
#: `state_arrays`; then the scalars rhs_c_addr, rhs_jit_addr, parallel, full.
_TABLE_ARRAYS = 18
_TABLE_SCALARS = table.RECORD * _TABLE_ARRAYS


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
    s = _state_views(*state)
    y = s.y
    for i in range(y.shape[0]):
        if active[i]:
            for k in range(uniforms.shape[1]):
                uniforms[i, k] = next_double(rng_table[i, 0], rng_table[i, 1])
        for j in range(y.shape[1]):
            v.y0[i, j] = y[i, j]
    _apply_rules(doses, cfg[_CFG_DAYS], s, given, steroid)
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
