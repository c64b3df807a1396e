"""Batched, framework-free core of the ``tme`` environments.

`TumorImmuneCore` advances ``n`` virtual patients by one decision interval per call with the
compiled integrator (`BatchStepper`) and computes observations, rewards, termination flags
and the info record as arrays. The single Gymnasium env wraps a core of size 1; a vector env
wraps a core of size N, so both give the same transitions by construction.

Configuration that is not biology lives in `EnvConfig` and `RewardWeights` (the biology is in
`TMEParameters` and the cohort).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from numba import njit

from tme_env import clinical
from tme_env._jit import JIT_FLAGS
from tme_env.models.tme import MODEL, STATE_NAMES
from tme_env.patients import VirtualPatient, cohort
from tme_env.simulator import kernels
from tme_env.simulator.stepper import BatchStepper

__all__ = [
    "ACTION_NAMES",
    "INFO_KEYS",
    "EnvConfig",
    "RewardWeights",
    "TumorImmuneCore",
]

#: Action components, each a fraction of the maximum dose in [0, 1].
ACTION_NAMES = ("chemo", "anti_pd1", "inhibitor")
#: Lethal neutropenia: ANC below this (1e9/L) ends the episode as a toxic death (assumed: a
#: grade-4 nadir this deep carries a high risk of fatal neutropenic sepsis).
FATAL_ANC = 0.1
#: A tumour below one cell is extinct: cure.
CURE_CELLS = 1.0

_CELL_STATES = ("S", "R", "E", "X", "M")
_IDX = {name: i for i, name in enumerate(STATE_NAMES)}
_HOT_RATIO = MODEL.parameter_names.index("hot_ratio")
#: The full observation shows the first _N_LOG states (cell counts and the damage signal) as
#: log10(1 + x); `_observe_full` relies on this kernel order.
_N_LOG = 6
if tuple(STATE_NAMES[:_N_LOG]) != (*_CELL_STATES, "D"):  # pragma: no cover - import guard
    raise ImportError(f"tme state order changed: {STATE_NAMES}; update _observe_full")
_S, _R, _E, _M, _ANC = (_IDX[k] for k in ("S", "R", "E", "M", "ANC"))
_DEATH = clinical.DEATH_BURDEN_CELLS
_BLOOD = clinical.BLOOD_MDSC_PER_UL_PER_CELL
_HOT = clinical.HOT_THRESHOLD


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the per-step reward (see `TumorImmuneCore.step` for the formula)."""

    survival: float = 0.1
    death: float = 10.0
    cure: float = 10.0
    tumour: float = 1.0
    toxicity: float = 0.5
    hotness: float = 0.1


@dataclass(frozen=True)
class EnvConfig:
    """Environment settings (not biology).

    Attributes:
        decision_interval_days: Days between decisions (one env step).
        horizon_days: Episode length; the registered ids set ``max_episode_steps`` from it.
        split: Cohort split patients are drawn from (``train``, ``validation``, ``test``).
        cohort_size: Number of patients in the cohort.
        observation: ``"full"`` (log-scaled state) or ``"clinical"`` (noisy measurements).
        imaging_cv: Coefficient of variation of the imaging burden measurement.
        anc_cv: Coefficient of variation of the neutrophil count.
        mdsc_cv: Coefficient of variation of the blood MDSC assay.
        biopsy_every_steps: Steps between biopsies (CD8:MDSC ratio), 0 for never.
        biopsy_cv: Coefficient of variation of the biopsy ratio.
        reward: Reward weights.
        rtol: Relative tolerance of the integrator; None (default) uses the model's (1e-6),
            the accuracy `tme_env.simulate` gives. Looser values trade accuracy for speed
            (``experiments/benchmarks/envs.py`` prints both for 1e-4).
    """

    decision_interval_days: float = 7.0
    horizon_days: float = 1095.0
    split: str = "train"
    cohort_size: int = 256
    observation: str = "full"
    imaging_cv: float = 0.1
    anc_cv: float = 0.05
    mdsc_cv: float = 0.15
    biopsy_every_steps: int = 6
    biopsy_cv: float = 0.2
    reward: RewardWeights = field(default_factory=RewardWeights)
    rtol: float | None = None

    def __post_init__(self) -> None:
        """Validate every setting, naming the bad one."""
        if not (math.isfinite(self.decision_interval_days) and self.decision_interval_days > 1.0):
            raise ValueError(
                "decision_interval_days must be finite and > 1 (chemotherapy is infused over "
                f"the first day), got {self.decision_interval_days!r}"
            )
        if not (
            math.isfinite(self.horizon_days) and self.horizon_days >= self.decision_interval_days
        ):
            raise ValueError(f"horizon_days must be >= one interval, got {self.horizon_days!r}")
        if self.observation not in ("full", "clinical"):
            raise ValueError(f"unknown observation {self.observation!r}; valid: full, clinical")
        for name in ("imaging_cv", "anc_cv", "mdsc_cv", "biopsy_cv"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
        if self.biopsy_every_steps < 0:
            raise ValueError(f"biopsy_every_steps must be >= 0, got {self.biopsy_every_steps}")
        if isinstance(self.reward, dict):
            object.__setattr__(self, "reward", RewardWeights(**self.reward))
        if self.rtol is not None and not (
            isinstance(self.rtol, (int, float)) and 1e-12 <= self.rtol <= 1e-2
        ):
            raise ValueError(f"rtol must be None or a number in [1e-12, 1e-2], got {self.rtol!r}")

    @property
    def max_episode_steps(self) -> int:
        """Steps until the horizon (truncation)."""
        return int(math.ceil(self.horizon_days / self.decision_interval_days))

    def to_dict(self) -> dict:
        """JSON-serialisable settings."""
        return asdict(self)


def observation_bounds(mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of each observation component of a mode (float32).

    Generous physical bounds: log10 cell counts <= 13 (the lethal burden is 1e12), drug and
    neutrophil levels <= 100 (steady states are below ~10), elapsed time / horizon <= 2.
    """
    if mode == "full":
        low = np.zeros(len(STATE_NAMES) + 1 + len(ACTION_NAMES))
        high = np.array([13.0] * 5 + [6.0] + [100.0] * 3 + [100.0] * 5 + [2.0] + [1.0] * 3)
    else:
        low = np.array([9.0, 0.0, 0.0, 0.0, -10.0, 0.0, 0.0, 0.0, 0.0, 0.0])
        high = np.array([13.0, 1.0, 100.0, 6.0, 10.0, 10.0, 2.0, 1.0, 1.0, 1.0])
    return low.astype(np.float32), high.astype(np.float32)


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
    "dose_chemo",
    "dose_anti_pd1",
    "dose_inhibitor",
    "reward_survival",
    "reward_death",
    "reward_cure",
    "reward_tumour",
    "reward_toxicity",
    "reward_hotness",
    "dead",
    "toxic_death",
    "cured",
)


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
            MODEL, np.repeat(self._cohort_params[:1], self.n, axis=0), (0.0, 1.0, dt),
            parallel=parallel, n_outputs=max(2, math.ceil(dt) + 1), rtol=config.rtol,
        )  # fmt: skip
        self.anc_nadir = np.zeros(self.n)
        self.model_anc_index = _IDX["ANC"]
        self.y = np.repeat(self._cohort_y0[:1], self.n, axis=0)
        self.hot_ratio = np.ones(self.n)
        self.steps = np.zeros(self.n, dtype=np.int64)
        self.last_action = np.zeros((self.n, 3))
        self.biopsy = np.zeros(self.n)
        self.biopsy_age = np.zeros(self.n)
        self.measured = np.zeros((self.n, 4))  # log10 burden, detectable, ANC, log10 MDSC
        self._info = np.zeros((self.n, len(INFO_KEYS)))
        self._all_active = np.ones(self.n, dtype=np.bool_)
        self._obs = np.zeros((self.n, observation_bounds(config.observation)[0].size), np.float32)
        self._full = config.observation == "full"
        self._parallel = bool(parallel)
        self._dt_over_h = config.decision_interval_days / config.horizon_days
        w = config.reward
        self._weights = np.array(
            [w.survival, w.death, w.cure, w.tumour, w.toxicity, w.hotness], dtype=np.float64
        )
        st = self.stepper
        # Arguments of `_finish` and `_env_step` after (active, actions, reward, terminated):
        # all persistent buffers.
        self._finish_args = (
            st._fbuf, st._ibuf, self._full, self.y, self.last_action, self.steps,
            self.biopsy_age, self.anc_nadir, self.hot_ratio, self._info, self._obs,
            np.array([dt / 7.0, dt, self._dt_over_h, *self._weights]),
        )  # fmt: skip
        self._step_args = (*st._rhs, self._parallel, *self._finish_args)

    # --- patients -----------------------------------------------------------------------
    def set_patient(
        self, i: int, patient: VirtualPatient | int, rngs: list[np.random.Generator]
    ) -> None:
        """Put a patient (object or cohort index) into slot ``i`` and reset its episode."""
        if isinstance(patient, VirtualPatient):
            params = patient.parameters.to_array()
            y0 = np.array([patient.initial_state[s] for s in STATE_NAMES])
            self.stepper.set_params(i, params)
        else:  # the cohort's rows were validated when the cohort was built
            params, y0 = self._cohort_params[patient], self._cohort_y0[patient]
            self.stepper.set_params(i, params, validate=False)
        self.hot_ratio[i] = params[_HOT_RATIO]
        self.y[i] = y0
        self.anc_nadir[i] = y0[_IDX["ANC"]]
        self.steps[i] = 0
        self.last_action[i] = 0.0
        if self._full:
            j = slice(i, i + 1)
            _observe_full(self.y[j], self.steps[j], self._dt_over_h, self.last_action[j],
                          self._obs[j])  # fmt: skip
        self._measure([i], rngs, biopsy=True)

    # --- measurements -------------------------------------------------------------------
    def _measure(self, rows: np.ndarray, rngs: list[np.random.Generator], biopsy: bool) -> None:
        """Noisy clinical measurements of ``rows``.

        Slot ``i`` draws from ``rngs[i]`` only, in a fixed order (imaging, ANC, MDSC[, biopsy]),
        so its noise does not depend on the other slots: a vector env reproduces N single envs
        with the same seeds.
        """
        cfg = self.config
        if cfg.observation != "clinical":
            return  # the full observation needs no measurement (and draws no noise)
        for i in rows:
            y = self.y[i]
            z = rngs[i].standard_normal(4 if biopsy else 3)
            burden = y[_IDX["S"]] + y[_IDX["R"]]
            seen = burden * math.exp(cfg.imaging_cv * z[0])
            self.measured[i, 0] = math.log10(max(seen, clinical.DETECTION_LIMIT_CELLS))
            self.measured[i, 1] = float(seen >= clinical.DETECTION_LIMIT_CELLS)
            self.measured[i, 2] = y[_IDX["ANC"]] * math.exp(cfg.anc_cv * z[1])
            mdsc = float(clinical.blood_mdsc_per_ul(y[_IDX["M"]]))
            self.measured[i, 3] = math.log10(1.0 + mdsc * math.exp(cfg.mdsc_cv * z[2]))
            if biopsy:
                ratio = (max(y[_IDX["E"]], 0.0) + 1.0) / (max(y[_IDX["M"]], 0.0) + 1.0)
                self.biopsy[i] = math.log10(ratio) + cfg.biopsy_cv * z[3] / math.log(10.0)
                self.biopsy_age[i] = 0.0

    # --- observations -------------------------------------------------------------------
    def observe(self) -> np.ndarray:
        """Observations of all slots, float32, shape ``(n, obs_dim)`` (a new array)."""
        cfg = self.config
        if self._full:
            return self._obs.copy()  # kept current by `step` and `set_patient`
        t_frac = self.steps * cfg.decision_interval_days / cfg.horizon_days
        obs = np.concatenate(
            [self.measured, self.biopsy[:, None], self.biopsy_age[:, None] / 52.0,
             t_frac[:, None], self.last_action],
            axis=1,
        )  # fmt: skip
        return obs.astype(np.float32)

    # --- one decision interval ---------------------------------------------------------
    def step(
        self,
        actions: np.ndarray,
        rngs: list[np.random.Generator],
        active: np.ndarray | None = None,
        with_info: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, dict | None]:
        """Apply doses ``actions`` (validated, shape ``(n, 3)`` in [0, 1]) for one interval.

        Dosing: chemotherapy and anti-PD-1 are infused over the first day of the interval
        (``a`` = fraction of one full dose); the inhibitor is taken daily over the whole
        interval (``a`` = fraction of the labelled daily dose).

        Reward (per step, weights `RewardWeights`)::

            r = w_survival [alive] - w_death [died] + w_cure [cured]
                - w_tumour (log10 N_end - log10 N_start)
                - w_toxicity [neutropenia grade >= 3 on the worst day of the interval]
                + w_hotness H_end

        Slots where ``active`` is False (just reset by a vector env) do not advance: their
        state, counters and random generators are left untouched and their reward is 0.

        Returns:
            ``(reward, terminated, info)`` with arrays over the ``n`` slots (``info`` is None
            when ``with_info`` is False; `info_row` then reads one slot's record).
        """
        cfg = self.config
        active = self._all_active if active is None else np.asarray(active, dtype=np.bool_)
        reward = np.empty(self.n)
        terminated = np.empty(self.n, dtype=np.bool_)
        # One compiled call: the dosing inputs, the integrator, the new state, reward terms,
        # termination, info rows and (full mode) the observation.
        if not _env_step(active, actions, reward, terminated, *self._step_args):
            self.stepper._check_result_now()  # raises SimulationError (or accepts round-off)
            _finish(active, actions, reward, terminated, *self._finish_args)
        if not self._full:
            rows = np.flatnonzero(active)
            k = cfg.biopsy_every_steps
            due = (self.steps[rows] % k == 0) if k > 0 else np.zeros(rows.size, dtype=bool)
            self._measure(rows[~due], rngs, biopsy=False)
            self._measure(rows[due], rngs, biopsy=True)
        return reward, terminated, (self._info_dict() if with_info else None)

    def info(self) -> dict[str, np.ndarray]:
        """The info record (`INFO_KEYS`) of all slots for the current state (no reward)."""
        reward = np.empty(self.n)
        terminated = np.empty(self.n, dtype=np.bool_)
        _post_step(
            self.y, self.y, np.zeros(self.n, dtype=np.bool_), self.last_action, self.steps,
            self.config.decision_interval_days, self.hot_ratio, self._weights, self._info,
            reward, terminated, self.anc_nadir,
        )  # fmt: skip
        return self._info_dict()

    def info_row(self, i: int) -> dict[str, float]:
        """Slot ``i``'s info record after the last `step` or `info` call, as floats."""
        return dict(zip(INFO_KEYS, self._info[i].tolist()))  # noqa: B905 - same length

    def observe_row(self, i: int) -> np.ndarray:
        """Slot ``i``'s observation (a new array): `observe` for one slot."""
        if self._full:
            return self._obs[i].copy()
        return self.observe()[i]

    def _info_dict(self) -> dict[str, np.ndarray]:
        return {k: self._info[:, j].copy() for j, k in enumerate(INFO_KEYS)}


@njit(**JIT_FLAGS)
def _post_step(
    y_prev, y, active, last_action, steps, dt, hot_ratio, w, info, reward, terminated, anc_nadir
):  # pragma: no cover - compiled
    """Reward terms, termination and the info row of every slot, in one compiled pass.

    The clinical quantities repeat `tme_env.clinical` (diameter, CTCAE grade, blood MDSC,
    hotness) in scalar form; ``tests/envs`` checks the two against each other.
    """
    for i in range(y.shape[0]):
        n0 = y_prev[i, _S] + y_prev[i, _R]
        n1 = y[i, _S] + y[i, _R]
        anc = y[i, _ANC]
        low = anc_nadir[i]  # the lowest daily ANC of the interval (worst-day toxicity)
        eff = max(y[i, _E], 0.0)
        mdsc = max(y[i, _M], 0.0)
        denom = eff + hot_ratio[i] * mdsc
        hot = eff / denom if denom > 0.0 else 0.0
        grade = float((low < 2.0) + (low < 1.5) + (low < 1.0) + (low < 0.5))
        dead = n1 >= _DEATH
        toxic = low < FATAL_ANC
        cured = (n1 < CURE_CELLS) and not dead and not toxic
        died = dead or toxic
        on = active[i]
        parts = (
            w[0] * (not died),
            -w[1] * died,
            w[2] * cured,
            -w[3] * (np.log10(max(n1, 1.0)) - np.log10(max(n0, 1.0))),
            -w[4] * (grade >= 3.0),
            w[5] * hot,
        )
        row = info[i]
        row[0] = steps[i] * dt
        row[1] = n1
        row[2] = np.log10(max(n1, 1.0))
        row[3] = 10.0 * np.cbrt(6.0 * max(n1, 0.0) / 1e9 / np.pi)
        row[4] = y[i, _R] / n1 if n1 > 0.0 else 0.0
        row[5] = anc
        row[6] = low
        row[7] = grade
        row[8] = _BLOOD * y[i, _M]
        row[9] = hot
        row[10] = 1.0 if hot >= _HOT else 0.0
        row[11] = last_action[i, 0]
        row[12] = last_action[i, 1]
        row[13] = last_action[i, 2]
        total = 0.0
        for k in range(6):
            v = parts[k] if on else 0.0
            row[14 + k] = v
            total += v
        row[20] = 1.0 if (dead and on) else 0.0
        row[21] = 1.0 if (toxic and on) else 0.0
        row[22] = 1.0 if (cured and on) else 0.0
        reward[i] = total
        terminated[i] = on and (died or cured)


@njit(**JIT_FLAGS)
def _prepare(actions, active, y, y0, seg_u):  # pragma: no cover - compiled
    """Copy the state into the kernel's start buffer and write the dosing inputs.

    Sub-interval 0 (day 0-1): chemo, anti-PD-1 and inhibitor rates; sub-interval 1: the
    inhibitor only. Inactive slots get no drug.
    """
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y0[i, j] = y[i, j]
        on = 1.0 if active[i] else 0.0
        seg_u[2 * i, 0] = on * actions[i, 0]
        seg_u[2 * i, 1] = on * actions[i, 1]
        seg_u[2 * i, 2] = on * actions[i, 2]
        seg_u[2 * i + 1, 0] = 0.0
        seg_u[2 * i + 1, 1] = 0.0
        seg_u[2 * i + 1, 2] = on * actions[i, 2]


@njit(**JIT_FLAGS)
def _advance(
    active, y_out, y, actions, last_action, steps, biopsy_age, weeks, anc_nadir, h_carry
):  # pragma: no cover - compiled
    """Take the interval's end state, its lowest daily ANC and the counters (active slots).

    An inactive slot (just reset) keeps no carried step size: its first interval starts from
    the integrator's heuristic, as in a single env after reset.
    """
    last = y_out.shape[2] - 1
    for i in range(y.shape[0]):
        if not active[i]:
            h_carry[i] = 0.0
            continue
        for j in range(y.shape[1]):
            y[i, j] = y_out[i, j, last]
        low = y_out[i, _ANC, 1]
        for k in range(2, last + 1):
            low = min(low, y_out[i, _ANC, k])
        anc_nadir[i] = low
        for j in range(3):
            last_action[i, j] = actions[i, j]
        steps[i] += 1
        biopsy_age[i] += weeks


@njit(**JIT_FLAGS)
def _observe_full(y, steps, dt_over_h, last_action, out):  # pragma: no cover - compiled
    """The full observation: log10(1 + x) of cells and damage, the rest raw, time, doses.

    States are floored at 0 (a round-off undershoot of a decaying state reads as 0).
    """
    n_s = y.shape[1]
    for i in range(y.shape[0]):
        for j in range(n_s):
            v = max(y[i, j], 0.0)
            if j < _N_LOG:  # S, R, E, X, M, D (kernel order)
                v = np.log10(1.0 + v)
            out[i, j] = v
        out[i, n_s] = steps[i] * dt_over_h
        for k in range(3):
            out[i, n_s + 1 + k] = last_action[i, k]


@njit(**JIT_FLAGS)
def _finish(
    active, actions, reward, terminated, fbuf, ibuf, full, y, last_action, steps, biopsy_age,
    anc_nadir, hot_ratio, info, obs, cfg,
):  # pragma: no cover - compiled  # fmt: skip
    """After a successful interval: new state and counters, reward/info, full observation.

    ``cfg`` is ``[weeks per interval, interval days, interval / horizon, *reward weights]``.
    """
    (y_prev, _, _, _, _, _, _, _, _, _, _, y_out, _, _, _, _, h_carry, _) = kernels.unpack(
        fbuf, ibuf
    )
    _advance(
        active, y_out, y, actions, last_action, steps, biopsy_age, cfg[0], anc_nadir, h_carry
    )  # fmt: skip
    _post_step(
        y_prev, y, active, last_action, steps, cfg[1], hot_ratio, cfg[3:], info, reward,
        terminated, anc_nadir,
    )  # fmt: skip
    if full:
        _observe_full(y, steps, cfg[2], last_action, obs)


@njit(**JIT_FLAGS)
def _env_step(
    active, actions, reward, terminated, rhs_c_addr, rhs_jit_addr, parallel, fbuf, ibuf, full,
    y, last_action, steps, biopsy_age, anc_nadir, hot_ratio, info, obs, cfg,
):  # pragma: no cover - compiled  # fmt: skip
    """One decision interval in one compiled call: inputs, integrator, `_finish`.

    The kernel's start buffer ``y0`` keeps the interval's start state (the reward's
    ``y_prev``). Returns 1, or 0 without finishing if some patient's result is not clean
    (failed, or a non-finite or negative end state): the caller then runs the full check
    and `_finish`.
    """
    views = kernels.unpack(fbuf, ibuf)
    _prepare(actions, active, y, views[0], views[5])
    if parallel:
        clean = kernels.integrate_packed_batch(rhs_c_addr, rhs_jit_addr, fbuf, ibuf)
    else:
        clean = kernels.integrate_packed_single(rhs_c_addr, rhs_jit_addr, fbuf, ibuf)
    if clean == 0:
        return 0
    _finish(
        active, actions, reward, terminated, fbuf, ibuf, full, y, last_action, steps,
        biopsy_age, anc_nadir, hot_ratio, info, obs, cfg,
    )  # fmt: skip
    return 1
