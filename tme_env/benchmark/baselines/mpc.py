"""Oracle MPC: model-predictive control that knows each patient's true parameters and state.

**An upper reference, not a deployable policy.** A clinic sees the clinical observation; this
controller reads the env's hidden state (every cell count, the drug levels, the label and irAE
bookkeeping) and the patient's true model parameters, and plans with the simulator itself.
It answers "how much could treatment gain in this model if the patient were known exactly",
which bounds what monitoring-driven policies can hope for.

How it plans (a rollout algorithm in Bertsekas's sense, receding horizon over cycles): at the
start of every 3-week cycle, for each patient and each candidate plan of that cycle
(`CANDIDATES`: chemotherapy on day 1 or not x anti-PD-1 on day 1 or not x the inhibitor for
the three weeks or not, 8 plans), the current state is copied into a rollout core, the plan
is given for the cycle and the ``base`` schedule afterwards, to the horizon (or
``lookahead_weeks``), with the env's own transition (label rules, irAE hazard and
management, toxicity). Each rollout is scored by the benchmark's objective, quality-adjusted
survival (`tme_env.clinical.q_twist_days`, as the trial scores it: progression read at the
protocol's scans from the burden imaging reports in the bound env, exact in the full env and
measured with the env's noise and detection limit in the clinical one; grade >= 3 toxicity
days counted from the rollout), and the best plan of each patient is given. The rollouts draw
their irAE events and measurement noise from their own generators (seeded by ``seed``, the
slot and the cycle): the oracle knows the patient, not the future's chance events. With the
best fixed schedule as ``base`` it can only improve on it up to that chance
(the rollout's policy-improvement property).

Use it through any trial or `tme_env.benchmark.run_benchmark`: the trial calls
`OracleMPC.bind_env` with the vector env it treats, before the first step.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np

from tme_env import clinical
from tme_env.envs.core import TumorImmuneCore
from tme_env.envs.observation import CLINICAL_OBSERVATION
from tme_env.models.tme import STATE_NAMES
from tme_env.regimens.family import FixedSchedule
from tme_env.trials.outcomes import carry_last_burden, survival_outcomes, toxic_days_before

__all__ = ["CANDIDATES", "OracleMPC"]

_S, _R = STATE_NAMES.index("S"), STATE_NAMES.index("R")
_IMAGING = CLINICAL_OBSERVATION.index("imaging_log10_burden")  # a column of EnvState.measured

#: Candidate plans of one cycle: ``(chemo on day 1, anti-PD-1 on day 1, inhibitor all cycle)``.
CANDIDATES: tuple[tuple[float, float, float], ...] = tuple(
    itertools.product((0.0, 1.0), (0.0, 1.0), (0.0, 1.0))
)


class OracleMPC:
    """Receding-horizon rollout control with the true patient (see the module docstring).

    Args:
        base: The schedule each rollout continues with after the planned cycle (default:
            no chemotherapy, anti-PD-1 q3w, the inhibitor continuously).
        cycle_weeks: Decision interval of the planner, in env steps (weeks).
        lookahead_weeks: Rollout length after the planned cycle; None: to the horizon.
        candidates: Plans of one cycle, each ``(chemo, anti_pd1, inhibitor)`` dose fractions
            (chemo and anti-PD-1 given in the cycle's first week, the inhibitor every week).
        seed: Seed of the rollouts' irAE draws.
    """

    #: Not learned: one deterministic "seed" under the benchmark protocol.
    learned = False

    #: Reads the env's hidden state: a reference, not a policy a clinic could use.
    oracle = True

    def __init__(
        self,
        base: FixedSchedule | None = None,
        cycle_weeks: int = 3,
        lookahead_weeks: int | None = None,
        candidates: tuple[tuple[float, float, float], ...] = CANDIDATES,
        seed: int = 0,
    ) -> None:
        """Set the planner up; `bind_env` gives it the env to act on."""
        self.base = base or FixedSchedule(chemo_cycles=0, anti_pd1="q3w", inhibitor="continuous")
        if isinstance(cycle_weeks, bool) or not isinstance(cycle_weeks, int) or cycle_weeks < 1:
            raise ValueError(f"cycle_weeks must be an integer >= 1, got {cycle_weeks!r}")
        if lookahead_weeks is not None and (
            isinstance(lookahead_weeks, bool) or not isinstance(lookahead_weeks, int)
            or lookahead_weeks < 0
        ):  # fmt: skip
            raise ValueError(f"lookahead_weeks must be None or an integer >= 0, "
                             f"got {lookahead_weeks!r}")  # fmt: skip
        cand = np.asarray(candidates, dtype=np.float64)
        if cand.ndim != 2 or cand.shape[1] != 3 or not len(cand) \
                or not np.all((cand >= 0) & (cand <= 1)):  # fmt: skip
            raise ValueError(f"candidates must be (chemo, anti_pd1, inhibitor) fractions in "
                             f"[0, 1], got {candidates!r}")  # fmt: skip
        self.cycle = cycle_weeks
        self.lookahead = lookahead_weeks
        self.candidates = cand
        self.seed = int(seed)
        self._venv: Any = None
        self._roll: TumorImmuneCore | None = None
        #: Quality-adjusted days each rollout of the first planning forecast, per slot and
        #: candidate, shape ``(n, len(candidates))`` (set by the first `predict`).
        self.first_plan_q: np.ndarray | None = None

    def __repr__(self) -> str:
        """The planner's settings."""
        return (f"OracleMPC(base={self.base.name}, cycle_weeks={self.cycle}, "
                f"lookahead_weeks={self.lookahead}, {len(self.candidates)} candidates)")

    # --- binding ------------------------------------------------------------------------
    def bind_env(self, venv: Any) -> None:
        """Act on ``venv`` (a `tme_env.envs.vector.TumorImmuneVectorEnv`); reads its core."""
        core = getattr(venv, "core", None)
        if not isinstance(core, TumorImmuneCore):
            raise ValueError(f"OracleMPC needs a tme vector env with a TumorImmuneCore, got "
                             f"{type(venv).__name__}")  # fmt: skip
        self._venv = venv
        # The rollouts run in the bound env's observation mode, so that they see progression
        # as the trial will score it (measured imaging in the clinical env).
        cfg = dataclasses.replace(core.config, cohort_size=1)
        self._clinical = cfg.observation == "clinical"
        n_roll = core.n * len(self.candidates)
        # Threads pay from a few hundred slots; below, their start-up costs more than they save.
        self._roll = TumorImmuneCore(n_roll, cfg, parallel=n_roll >= 256)
        self._dt = cfg.decision_interval_days
        self._steps = cfg.max_episode_steps
        self._t = np.arange(self._steps + 1) * self._dt

    # --- SB3 interface ------------------------------------------------------------------
    def predict(
        self,
        observation: np.ndarray,
        state: dict[str, Any] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,  # noqa: ARG002 - deterministic
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Doses for the next week of every slot of the bound env (SB3's interface).

        Raises:
            RuntimeError: If no env is bound (`bind_env`) or the batch is not the env's.
        """
        if self._venv is None:
            raise RuntimeError("OracleMPC reads the true patient state: bind_env(venv) first "
                               "(a trial does this for you)")  # fmt: skip
        obs = np.atleast_2d(observation)
        core = self._venv.core
        if obs.shape[0] != core.n:
            raise RuntimeError(f"OracleMPC is bound to an env of {core.n} patients, got a "
                               f"batch of {obs.shape[0]}")  # fmt: skip
        fresh = state is None or (episode_start is not None and np.all(episode_start))
        if fresh:
            state = {"k": 0, "plan": np.zeros((core.n, 3)),
                     "burden": np.full((core.n, self._steps + 1), np.nan)}  # fmt: skip
        k = state["k"]
        y = core.state.y
        live = core.state.steps == k
        if self._clinical:  # what imaging measured (the trial's PFS reads it)
            state["burden"][live, k] = 10.0 ** core.state.measured[live, _IMAGING]
        else:
            state["burden"][live, k] = y[live, _S] + y[live, _R]
        if k % self.cycle == 0:
            state["plan"] = self._plan(k, live, state["burden"])
        action = np.zeros((core.n, 3), dtype=np.float32)
        first = k % self.cycle == 0
        action[:, 0] = state["plan"][:, 0] * first
        action[:, 1] = state["plan"][:, 1] * first
        action[:, 2] = state["plan"][:, 2]
        state["k"] = k + 1
        return (action[0] if np.ndim(observation) == 1 else action), state

    # --- planning -----------------------------------------------------------------------
    def _plan(self, k: int, live: np.ndarray, history: np.ndarray) -> np.ndarray:
        """The best candidate plan of every live slot for the cycle starting at step ``k``."""
        core, roll = self._venv.core, self._roll
        n_c = len(self.candidates)
        slots = np.flatnonzero(live)
        plan = np.zeros((core.n, 3))
        if slots.size == 0 or k >= self._steps:
            return plan
        rows = np.repeat(slots, n_c)  # rollout j copies slot rows[j] with candidate j % n_c
        m = rows.size
        cand = np.tile(np.arange(n_c), slots.size)
        # `state_arrays`: y, last doses, measurements (a row per slot), then the float and int
        # rows (a row per field, a column per slot).
        y, last, measured, f_rows, i_rows = core.state_arrays
        for src, dst in zip((y, last, measured), roll.state_arrays[:3], strict=True):
            dst[:m] = src[rows]
        for src, dst in zip((f_rows, i_rows), roll.state_arrays[3:], strict=True):
            dst[:, :m] = src[:, rows]
        roll.stepper.params[:m] = core.stepper.params[rows]
        roll.stepper.h_carry[:m] = core.stepper.h_carry[rows]
        rngs = [np.random.default_rng((self.seed, int(r), k, int(c)))
                for r, c in zip(rows, cand, strict=True)]  # fmt: skip
        rngs += [np.random.default_rng(0)] * (roll.n - m)
        active = np.zeros(roll.n, dtype=bool)
        active[:m] = True
        burden = np.full((m, self._steps + 1), np.nan)
        burden[:, : k + 1] = history[rows, : k + 1]
        death = np.full(m, np.nan)
        cured = np.zeros(m, dtype=bool)
        tox = np.zeros((m, self._steps))  # 1 for a step with grade >= 3 toxicity
        end = self._steps if self.lookahead is None else min(
            self._steps, k + self.cycle + self.lookahead)  # fmt: skip
        doses = np.zeros((roll.n, 3))
        for step in range(k, end):
            day = step * self._dt
            if step - k < self.cycle:
                first = (step - k) == 0
                doses[:m, 0] = self.candidates[cand, 0] * first
                doses[:m, 1] = self.candidates[cand, 1] * first
                doses[:m, 2] = self.candidates[cand, 2]
            else:
                doses[:m] = self.base.doses_on(np.full(1, day))[0]
            _, terminated, info = roll.step(doses, rngs, active=active)
            a = active[:m]
            burden[a, step + 1] = info["imaging_tumour_cells"][:m][a]
            tox[a, step] = info["grade3_toxicity"][:m][a]
            died = a & ((info["dead"][:m] > 0) | (info["toxic_death"][:m] > 0))
            death[died] = info["day"][:m][died]
            cured |= a & (info["cured"][:m] > 0)
            active[:m] &= ~terminated[:m]
            if not active.any():
                break
        q = self._q_twist(burden, death, cured, tox, end).reshape(slots.size, n_c)
        if k == 0:  # kept for inspection: the whole-episode forecast of every first plan
            self.first_plan_q = np.full((core.n, n_c), np.nan)
            self.first_plan_q[slots] = q
        best = q.argmax(axis=1)  # ties: the first candidate
        plan[slots] = self.candidates[best]
        return plan

    def _q_twist(self, burden: np.ndarray, death: np.ndarray, cured: np.ndarray,
                 tox: np.ndarray, end: int) -> np.ndarray:  # fmt: skip
        """Quality-adjusted days of each rollout up to step ``end`` (as the trial scores).

        ``tox`` flags the steps with grade >= 3 toxicity; TOX is their time before progression.
        """
        filled = carry_last_burden(burden[:, : end + 1], cured)
        horizon = end * self._dt
        event = ~np.isnan(death)
        os_days = np.where(event, death, horizon)
        os_days, event, pfs, _, _ = survival_outcomes(self._t[: end + 1], np.maximum(filled, 1.0),
                                                      os_days=os_days, os_event=event)  # fmt: skip
        tox_days = toxic_days_before(self._t[: end + 1], tox[:, :end], pfs)
        return clinical.q_twist_days(os_days, pfs, tox_days)
