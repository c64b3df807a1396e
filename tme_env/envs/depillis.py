"""The classic single-drug chemotherapy control problem on de Pillis & Radunskaya (2003).

This is the setting of Ahn & Park (2011, natural actor-critic) and of DTR-Bench's
``AhnChemoEnv``: one patient with the nominal BIOMD0000000909 parameters, starting at
(N, T, I, u) = (0.9, 0.2, 0.005, 0), a drug infusion rate chosen every 0.25 day for 150 days.
The reward is DTR-Bench's design (not Ahn & Park's, which was not recovered; models.md §1a):
``r = N/N0 - T/T0 - v`` per step, and ``-100`` with termination when normal cells fall below
70% of their initial level.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tme_env.envs.actions import ACTION_TOLERANCE, action_array, unit_doses
from tme_env.envs.config import real_number, reset_options
from tme_env.models import get as get_model
from tme_env.models.depillis2003 import S as STATE
from tme_env.simulator import SimulationError
from tme_env.simulator.stepper import BatchStepper

__all__ = ["DEPILLIS_INFO_KEYS", "DePillis2003ChemoCore", "DePillis2003ChemoEnv"]

_MODEL = get_model("depillis2003")
#: DTR-Bench AhnChemoEnv default initial state ("case 2" of Ahn & Park, models.md §1), in the
#: model's state order `STATE` (N, T, I, u).
INITIAL_STATE = (0.9, 0.2, 0.005, 0.0)
#: Normal cells below this fraction of their initial level end the episode (DTR-Bench).
NORMAL_FLOOR = 0.7
#: Reward on constraint violation (DTR-Bench).
VIOLATION_REWARD = -100.0
#: Maximal infusion rate v_max (de Pillis & Radunskaya: 0 <= v <= 1).
V_MAX = 1.0

_LOW, _HIGH = -ACTION_TOLERANCE, 1.0 + ACTION_TOLERANCE
_N_FLOOR = NORMAL_FLOOR * INITIAL_STATE[STATE.N]
_INV_N0, _INV_T0 = 1.0 / INITIAL_STATE[STATE.N], 1.0 / INITIAL_STATE[STATE.T]

DEPILLIS_INFO_KEYS = ("day", "N", "T", "I", "u", "dose", "violation")


class DePillis2003ChemoCore:
    """``n`` de Pillis 2003 patients, one decision interval per `step` (batched)."""

    def __init__(self, n: int, interval_days: float, horizon_days: float, parallel: bool) -> None:
        """Allocate the stepper for ``n`` nominal patients."""
        self.n = int(n)
        self.interval_days = float(interval_days)
        self.horizon_days = float(horizon_days)
        params = np.tile(_MODEL.default_parameters.to_array(), (self.n, 1))
        self.stepper = BatchStepper(_MODEL, params, (0.0, self.interval_days), parallel=parallel)
        self.y0 = np.array(INITIAL_STATE)
        self.y = np.tile(self.y0, (self.n, 1))
        self.steps = np.zeros(self.n, dtype=np.int64)
        self.dose = np.zeros(self.n)
        self.violation = np.zeros(self.n, dtype=bool)
        self._rates = np.zeros((self.n, 1, 1))
        self._in_place = False

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled or copied: in place, `y` is the (copied) stepper's start buffer again."""
        self.__dict__.update(state)
        if self._in_place:
            self.y = self.stepper.y0

    def continue_in_place(self) -> None:
        """Keep the state in the stepper's start buffer, continued by the kernel itself.

        After this, `y` is the stepper's `BatchStepper.y0` and each clean kernel call
        copies its end states there: the single env's lean path calls the kernel directly.
        """
        self.stepper.y0[...] = self.y
        self.y = self.stepper.y0
        self.stepper.continue_from_end(True)
        self._in_place = True

    def set_patient(self, i: int, patient: Any, rngs: list[np.random.Generator]) -> None:  # noqa: ARG002
        """Reset slot ``i`` to the nominal patient at its initial state."""
        self.y[i] = self.y0
        self.stepper.restart(i)
        self.steps[i] = 0
        self.dose[i] = 0.0
        self.violation[i] = False

    def observe(self) -> np.ndarray:
        """``[N, T, I, u, elapsed / horizon]`` for every slot, float32 (states floored at 0)."""
        t = self.steps * self.interval_days / self.horizon_days
        return np.concatenate([np.maximum(self.y, 0.0), t[:, None]], axis=1).astype(np.float32)

    def step(
        self,
        doses: np.ndarray,
        rngs: list[np.random.Generator],  # noqa: ARG002 - deterministic model
        active: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, dict]:
        """Infuse ``v = dose * V_MAX`` for one interval; reward and constraint (see module)."""
        active = np.ones(self.n, dtype=bool) if active is None else np.asarray(active, bool)
        self._rates[:, 0, 0] = np.where(active, doses[:, 0] * V_MAX, 0.0)
        y_prev = self.y
        self.y = self.stepper.step(y_prev, self._rates)
        self.y[~active] = y_prev[~active]
        self.stepper.h_carry[~active] = 0.0  # just reset: no carried step (as a single env)
        self.steps[active] += 1
        self.dose[active] = doses[active, 0]
        violation = (self.y[:, STATE.N] < _N_FLOOR) & active
        self.violation = violation
        reward = self.y[:, STATE.N] * _INV_N0 - self.y[:, STATE.T] * _INV_T0 - self.dose
        reward = np.where(violation, VIOLATION_REWARD, reward)
        reward = np.where(active, reward, 0.0)
        return reward, violation.copy(), self.info()

    def info(self) -> dict[str, np.ndarray]:
        """The info record (`DEPILLIS_INFO_KEYS`) of every slot."""
        return {
            "day": self.steps * self.interval_days,
            "N": self.y[:, STATE.N].copy(),
            "T": self.y[:, STATE.T].copy(),
            "I": self.y[:, STATE.I].copy(),
            "u": self.y[:, STATE.u].copy(),
            "dose": self.dose.copy(),
            "violation": self.violation.astype(float),
        }


class DePillis2003ChemoEnv(gym.Env):
    """Chemotherapy scheduling on de Pillis & Radunskaya (2003) (Ahn & Park 2011 setting).

    ## Description

    One patient (nominal BIOMD0000000909 parameters) with normal cells N, tumour T, immune
    cells I and drug u (normalised units). Every ``decision_interval_days`` (0.25) the agent
    chooses the drug infusion rate. The treatment that moves the patient into the tumour-free
    basin (continuous dosing for the first ~10 days) also pushes N towards its 70% floor.

    ## Action Space

    ``Box(0, 1, (1,), float32)``: infusion rate as a fraction of v_max = 1 (held over the
    interval). Values within 1e-6 of the bounds are clipped; NaN, inf, further out or a wrong
    shape raise ``ValueError``; a bool, complex, object or string action raises ``TypeError``
    (`tme_env.envs.actions.action_array`).

    ## Observation Space

    | Num | Observation | Min | Max |
    |-----|-------------|-----|-----|
    | 0 | normal cells N | 0 | 2 |
    | 1 | tumour cells T | 0 | 2 |
    | 2 | immune cells I | 0 | 5 |
    | 3 | drug concentration u | 0 | 50 |
    | 4 | elapsed time / horizon | 0 | 2 |

    ## Rewards

    DTR-Bench's ``AhnChemoEnv`` design: ``r = N/N0 - T/T0 - v``; ``-100`` on violation.

    ## Starting State

    (N, T, I, u) = (0.9, 0.2, 0.005, 0) (DTR-Bench default, "case 2" of Ahn & Park).

    ## Episode End

    1. Termination: N < 0.7 N0 (constraint violation).
    2. Truncation: 150 days (600 steps of 0.25 day) through ``max_episode_steps``.

    ## Arguments

    | Parameter | Type | Default | Description |
    |-----------|------|---------|-------------|
    | `decision_interval_days` | float | 0.25 | days per step |
    | `horizon_days` | float | 150.0 | horizon (time normalisation) |

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": []}

    def __init__(self, decision_interval_days: float = 0.25, horizon_days: float = 150.0) -> None:
        """Create the environment."""
        for name, value in (("decision_interval_days", decision_interval_days),
                            ("horizon_days", horizon_days)):  # fmt: skip
            if not (real_number(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if decision_interval_days > horizon_days:
            raise ValueError(
                f"decision_interval_days ({decision_interval_days!r}) must not exceed "
                f"horizon_days ({horizon_days!r})"
            )
        self.interval_days = float(decision_interval_days)
        self.horizon_days = float(horizon_days)
        self.core = self.make_core(1, parallel=False)
        self.core.continue_in_place()
        self._bind()
        self.observation_space = spaces.Box(
            np.zeros(5, np.float32), np.array([2, 2, 5, 50, 2], np.float32), dtype=np.float32
        )
        self.action_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self._done = True

    def _bind(self) -> None:
        """The lean step's views into the core's stepper (its state, rate and kernel call)."""
        st = self.core.stepper
        self._state = self.core.y[0]
        self._rate = st.seg_u.reshape(-1)
        self._kernel = st.kernel
        self._kernel_args = st.kernel_args

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled or copied: the lean step's views point into the (copied) core again."""
        self.__dict__.update(state)
        self._bind()

    @property
    def max_episode_steps(self) -> int:
        """Steps until the horizon."""
        return math.ceil(self.horizon_days / self.interval_days)

    def make_core(self, n: int, parallel: bool) -> DePillis2003ChemoCore:
        """A batched core with this environment's settings (used by the vector env)."""
        return DePillis2003ChemoCore(n, self.interval_days, self.horizon_days, parallel)

    def draw_patient(self, rng: np.random.Generator) -> None:  # noqa: ARG002
        """The nominal patient (no draw)."""
        return None

    def resolve_patient(self, patient: Any, what: str = "patient") -> None:
        """Only the nominal patient exists: ``None``; anything else is a named error."""
        if patient is not None:
            raise ValueError(
                f"{what} must be None (this env has one nominal patient), got {patient!r}"
            )

    def patient_id(self, patient: None) -> str:  # noqa: ARG002
        """The id of the nominal patient."""
        return "nominal"

    def batch_doses(self, actions: Any, n: int) -> np.ndarray:
        """Validate ``n`` actions (shape ``(n, 1)``)."""
        return unit_doses(action_array(actions, (n, 1), "actions"))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, float]]:
        """Start an episode at the nominal initial state."""
        reset_options(options, ())  # this env takes none
        super().reset(seed=seed)
        self.core.set_patient(0, None, [self.np_random])
        self._steps = 0
        self._done = False
        return self.core.observe()[0], {k: float(v[0]) for k, v in self.core.info().items()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, float]]:
        """Infuse the drug for one interval.

        A lean path for one patient: scalar checks, one compiled integrator call on the
        stepper's preallocated arrays, scalar reward. It computes exactly what the batched
        core computes (the vector env is tested against it).
        """
        if self._done:
            raise RuntimeError("the episode has ended (or never started): call reset() first")
        if type(action) is np.ndarray and action.dtype.kind == "f" and action.shape == (1,):
            v = action.item()  # the lean path
        else:
            v = action_array(action, (1,)).item()
        if not (_LOW <= v <= _HIGH):  # False for NaN too
            if v != v or v in (math.inf, -math.inf):
                raise ValueError(f"action must be finite, got {v}")
            raise ValueError(f"action values must lie in [0, 1] (dose fractions), got {v}")
        v = 0.0 if v < 0.0 else (1.0 if v > 1.0 else float(v))
        self._rate[0] = v * V_MAX
        if not self._kernel(*self._kernel_args):  # clean: the end state is now the state
            st = self.core.stepper
            try:
                st.check_result()  # raises SimulationError, or accepts round-off undershoot
            except SimulationError as exc:
                self._done = True
                raise exc.for_patient("nominal") from None
            st.y0[...] = st.y_out[:, :, -1]
            return self._finish_step(v, *self._state.tolist(), floor=True)
        return self._finish_step(v, *self._state.tolist())

    def _finish_step(
        self, v: float, n: float, tum: float, imm: float, u: float, floor: bool = False
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, float]]:
        """Reward, observation and info after an interval, as the batched core computes them.

        ``floor``: an accepted round-off undershoot; the observation reads it as 0 (reward
        and info report the state as computed).
        """
        self._steps += 1
        violation = n < _N_FLOOR
        reward = VIOLATION_REWARD if violation else n * _INV_N0 - tum * _INV_T0 - v
        self._done = violation
        day = self._steps * self.interval_days
        if floor:
            obs = np.array((max(n, 0.0), max(tum, 0.0), max(imm, 0.0), max(u, 0.0),
                            day / self.horizon_days), np.float32)  # fmt: skip
        else:
            obs = np.array((n, tum, imm, u, day / self.horizon_days), np.float32)
        info = {"day": day, "N": n, "T": tum, "I": imm, "u": u, "dose": v,
                "violation": float(violation)}  # fmt: skip
        return obs, reward, violation, False, info
