"""A documented family of fixed schedules, and a simple monitoring-driven feedback rule.

`FixedSchedule` is the open-loop policy family of the v1 benchmark study (issue "every drug
has a price"): chemotherapy for 0, 4 or 6 q3w cycles (platinum doublet, then pemetrexed
maintenance unless ``maintenance=False``), anti-PD-1 weekly / q3w / q6w / never (the env's
label rules cap it at 35 doses and 24 months, and hold or stop it after irAEs), and the
suppressor-inhibitor continuously / in chemotherapy weeks only (the first two weeks of each
cycle) / never, each at a dose level. ``FixedSchedule.grid()`` enumerates the family.

`FeedbackRule` reads only the clinical observation (`tme_env.envs.CLINICAL_OBSERVATION`)
and adapts: chemotherapy q3w for 4 cycles, stopped after a response and restarted on
progression (while the env allows platinum); the inhibitor in a chemotherapy cycle only
when the blood MDSC assay has risen above its pre-treatment level by ``mdsc_rise`` (log10);
anti-PD-1 q3w (the env holds or stops it after an irAE).

`ConstantDoses` gives the same doses every week. All have SB3's ``predict`` and work on
batches, like `tme_env.regimens.Regimen`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from tme_env.clinical import HORIZON_DAYS
from tme_env.envs.label import MAINTENANCE_DOSE
from tme_env.envs.observation import observation_fields
from tme_env.regimens.codes import AntiPD1Interval, InhibitorTiming
from tme_env.regimens.policies import (
    CYCLE_DAYS,
    DELAY_ANC,
    INDUCTION_CYCLES,
    observed_day,
    start_state,
)

__all__ = ["ConstantDoses", "FeedbackRule", "FixedSchedule", "ImmunotherapyFirstRule"]


@dataclass(frozen=True)
class FixedSchedule:
    """One member of the fixed-schedule family (see the module docstring).

    Attributes:
        chemo_cycles: q3w chemotherapy cycles at full dose (0, 4 or 6 in the study grid).
        maintenance: Pemetrexed maintenance (dose 0.5) q3w after the cycles.
        anti_pd1: `AntiPD1Interval`: ``"weekly"``, ``"q3w"``, ``"q6w"`` or ``"none"``.
        inhibitor: `InhibitorTiming`: ``"continuous"``, ``"chemo-weeks"`` or ``"none"``.
        chemo_dose: Dose fraction of each cycle.
        inhibitor_dose: Dose fraction of the inhibitor when given.
        observation: The observation mode the policy is fed (it only reads the time).
        decision_interval_days: Days per env step.
        horizon_days: Env horizon (to read the day from the time fraction).
    """

    #: Not learned: one deterministic "seed" under the benchmark protocol.
    learned = False

    chemo_cycles: int = 4
    maintenance: bool = True
    anti_pd1: AntiPD1Interval = AntiPD1Interval.Q3W
    inhibitor: InhibitorTiming = InhibitorTiming.NONE
    chemo_dose: float = 1.0
    inhibitor_dose: float = 1.0
    observation: str = "full"
    decision_interval_days: float = 7.0
    horizon_days: float = HORIZON_DAYS

    def __post_init__(self) -> None:
        """Validate the choices; read ``anti_pd1`` and ``inhibitor`` as their enums."""
        for name, codes in (("anti_pd1", AntiPD1Interval), ("inhibitor", InhibitorTiming)):
            value = getattr(self, name)
            if value not in tuple(codes):
                raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(codes)}")
            object.__setattr__(self, name, codes(value))
        observation_fields(self.observation)

    @property
    def name(self) -> str:
        """A short label, e.g. ``chemo4+m/pd1-q3w/inh-none``.

        A dose below the full one is appended: ``chemo4x0.75`` (each cycle at 75%),
        ``inh-continuous@0.5`` (the inhibitor at half its dose).
        """
        m = "+m" if self.maintenance and self.chemo_cycles else ""
        chemo = f"x{self.chemo_dose:g}" if self.chemo_cycles and self.chemo_dose != 1.0 else ""
        inh = (f"@{self.inhibitor_dose:g}" if self.inhibitor != InhibitorTiming.NONE
               and self.inhibitor_dose != 1.0 else "")  # fmt: skip
        return (f"chemo{self.chemo_cycles}{chemo}{m}/pd1-{self.anti_pd1}/"
                f"inh-{self.inhibitor}{inh}")

    @classmethod
    def grid(cls, **common: object) -> list[FixedSchedule]:
        """The study grid: chemo 0/4/6 cycles x anti-PD-1 x inhibitor (36 schedules)."""
        return [
            cls(chemo_cycles=c, anti_pd1=a, inhibitor=i, **common)
            for c, a, i in itertools.product((0, 4, 6), AntiPD1Interval, InhibitorTiming)
        ]

    def doses_on(self, day: np.ndarray) -> np.ndarray:
        """The doses on ``day`` (days since the start), ``(n, 3)`` float32."""
        day = np.asarray(day, dtype=np.float64)
        out = np.zeros((day.size, 3), dtype=np.float32)
        cycle, phase = np.divmod(day + 1e-9, CYCLE_DAYS)
        on_cycle_day = phase < self.decision_interval_days - 1e-6
        in_cycles = cycle < self.chemo_cycles
        out[:, 0] = np.where(on_cycle_day & in_cycles, self.chemo_dose, 0.0)
        if self.maintenance and self.chemo_cycles:
            out[:, 0] = np.where(on_cycle_day & ~in_cycles, MAINTENANCE_DOSE, out[:, 0])
        every = self.anti_pd1.days
        if math.isfinite(every):
            out[:, 1] = np.where(np.mod(day + 1e-9, every) < self.decision_interval_days - 1e-6,
                                 1.0, 0.0)  # fmt: skip
        chemo_weeks = (phase < 2 * self.decision_interval_days - 1e-6) & (
            in_cycles | (self.maintenance and self.chemo_cycles > 0)
        )
        if self.inhibitor == InhibitorTiming.CONTINUOUS:
            out[:, 2] = self.inhibitor_dose
        elif self.inhibitor == InhibitorTiming.CHEMO_WEEKS:
            out[:, 2] = np.where(chemo_weeks, self.inhibitor_dose, 0.0)
        return out

    def predict(
        self,
        observation: np.ndarray,
        state: object = None,
        episode_start: np.ndarray | None = None,  # noqa: ARG002 - stateless
        deterministic: bool = True,  # noqa: ARG002 - deterministic
    ) -> tuple[np.ndarray, object]:
        """Doses for the next interval (SB3's interface)."""
        obs = np.atleast_2d(np.asarray(observation, dtype=np.float64))
        day = observed_day(obs, observation_fields(self.observation), self.horizon_days,
                           self.decision_interval_days)  # fmt: skip
        action = self.doses_on(day)
        return (action[0] if np.ndim(observation) == 1 else action), state


class ConstantDoses:
    """The same doses every decision interval (e.g. ``[1, 1, 1]``: everything, always).

    The env's label rules still apply (platinum capped at maintenance after 6 cycles,
    anti-PD-1 stopped after 35 doses or 24 months, irAE holds).
    """

    #: Not learned: one deterministic "seed" under the benchmark protocol.
    learned = False

    def __init__(self, doses: tuple[float, float, float]) -> None:
        """Set the doses (fractions, in action order)."""
        self.doses = np.asarray(doses, dtype=np.float32)
        if self.doses.shape != (3,) or not np.all((self.doses >= 0) & (self.doses <= 1)):
            raise ValueError(f"doses must be 3 fractions in [0, 1], got {doses!r}")

    def __repr__(self) -> str:
        """The doses."""
        return f"ConstantDoses({self.doses.tolist()})"

    def predict(
        self,
        observation: np.ndarray,
        state: object = None,
        episode_start: np.ndarray | None = None,  # noqa: ARG002 - stateless
        deterministic: bool = True,  # noqa: ARG002 - deterministic
    ) -> tuple[np.ndarray, object]:
        """The constant doses (SB3's interface)."""
        if np.ndim(observation) == 1:
            return self.doses.copy(), state
        return np.tile(self.doses, (np.shape(observation)[0], 1)), state


def _book_cycle(state: dict[str, np.ndarray], wanted: np.ndarray, day: np.ndarray,
                anc: np.ndarray) -> np.ndarray:  # fmt: skip
    """Where a wanted q3w chemotherapy cycle is due and ANC >= `DELAY_ANC`: book it, return it.

    Counts the cycle in ``state["cycles"]`` and sets ``state["next_chemo"]`` 21 days on; a
    cycle held for neutropenia stays due and is given at the first decision with ANC back.
    """
    due = wanted & (day >= state["next_chemo"] - 1e-9) & (anc >= DELAY_ANC)
    state["cycles"] += due
    state["next_chemo"] = np.where(due, day + CYCLE_DAYS, state["next_chemo"])
    return due


def _anti_pd1_q3w(day: np.ndarray, dt: float) -> np.ndarray:
    """Anti-PD-1 on every 21st day from day 0 (the env applies the label and irAE rules)."""
    return np.where(np.mod(day + 1e-9, CYCLE_DAYS) < dt - 1e-6, 1.0, 0.0)


class FeedbackRule:
    """A monitoring-driven rule on the clinical observation (see the module docstring).

    Args:
        mdsc_rise: Rise of log10(1 + blood MDSC/uL) over its pre-treatment value that
            triggers the inhibitor in the current chemotherapy cycle (0.18 = 1.5-fold).
        progression: Rise of the imaging burden over its nadir that restarts chemotherapy
            (log10; 0.3 = 2-fold, beyond RECIST's +20% diameter, i.e. +73% volume).
        horizon_days: Env horizon (to read the day from the time fraction).
        decision_interval_days: Days per env step.
    """

    #: Not learned: one deterministic "seed" under the benchmark protocol.
    learned = False

    def __init__(
        self,
        mdsc_rise: float = math.log10(1.5),
        progression: float = math.log10(2.0),
        horizon_days: float = HORIZON_DAYS,
        decision_interval_days: float = 7.0,
    ) -> None:
        """Set the thresholds."""
        self.mdsc_rise = float(mdsc_rise)
        self.progression = float(progression)
        self.horizon = float(horizon_days)
        self.dt = float(decision_interval_days)
        self.f = observation_fields("clinical")

    def __repr__(self) -> str:
        """The rule and its thresholds."""
        return f"FeedbackRule(mdsc_rise={self.mdsc_rise:.3f}, progression={self.progression:.3f})"

    @staticmethod
    def _new(n: int) -> dict[str, np.ndarray]:
        return {
            "mdsc0": np.full(n, np.nan),
            "nadir": np.full(n, np.inf),
            "cycles": np.zeros(n, dtype=np.int64),
            "next_chemo": np.zeros(n),
            "cycle_start": np.full(n, -np.inf),
            "on_chemo": np.ones(n, dtype=bool),
            "inhibit": np.zeros(n, dtype=bool),
        }

    def predict(
        self,
        observation: np.ndarray,
        state: dict[str, np.ndarray] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,  # noqa: ARG002 - deterministic
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Doses for the next interval, and the updated bookkeeping (SB3's interface)."""
        obs = np.atleast_2d(np.asarray(observation, dtype=np.float64))
        n, f = obs.shape[0], self.f
        state = start_state(state, n, self._new, episode_start)
        day = observed_day(obs, f, self.horizon, self.dt)
        burden = obs[:, f.imaging_log10_burden]
        mdsc = obs[:, f.log10_blood_mdsc]
        anc = obs[:, f.anc]
        state["mdsc0"] = np.where(np.isnan(state["mdsc0"]), mdsc, state["mdsc0"])
        state["nadir"] = np.minimum(state["nadir"], burden)
        # De-escalate after a response (induction done), restart on progression.
        progressed = burden > state["nadir"] + self.progression
        done = state["cycles"] >= INDUCTION_CYCLES
        state["on_chemo"] = np.where(done & ~progressed, False, state["on_chemo"])
        restart = done & progressed & ~state["on_chemo"]
        state["on_chemo"] |= restart
        state["nadir"] = np.where(restart, burden, state["nadir"])
        state["cycles"] = np.where(restart, 0, state["cycles"])
        due = _book_cycle(state, state["on_chemo"], day, anc)
        action = np.zeros((n, 3), dtype=np.float32)
        action[:, 0] = np.where(due, 1.0, 0.0)
        state["cycle_start"] = np.where(due, day, state["cycle_start"])
        # The inhibitor in a chemotherapy cycle once the blood MDSC assay has risen.
        in_cycle = day - state["cycle_start"] < 2 * self.dt - 1e-9
        state["inhibit"] = np.where(due, False, state["inhibit"])
        state["inhibit"] |= in_cycle & (mdsc > state["mdsc0"] + self.mdsc_rise)
        action[:, 2] = np.where(in_cycle & state["inhibit"], 1.0, 0.0)
        action[:, 1] = _anti_pd1_q3w(day, self.dt)
        return (action[0] if np.ndim(observation) == 1 else action), state


class ImmunotherapyFirstRule:
    """Anti-PD-1 and the inhibitor first; chemotherapy only once imaging shows growth.

    A monitoring-driven rule on the clinical observation (imaging and ANC only), written from
    clinical practice, not fitted: immunotherapy-first treatment with chemotherapy added when
    the tumour grows, as second-line platinum after first-line pembrolizumab is given, and
    the neutrophil gate of every cycle.

    * Anti-PD-1 q3w from day 0 (the env applies the label's caps and the irAE holds/stops).
    * The inhibitor continuously at ``inhibitor_dose``.
    * Chemotherapy starts when the imaging burden exceeds its nadir (the pre-treatment value
      included) by ``growth`` (log10; 0.24 = +73% volume, RECIST's +20% diameter): q3w
      platinum cycles at full dose for ``cycles`` cycles, then pemetrexed maintenance (0.5)
      q3w; each cycle waits for ANC >= 1.5e9/L.

    Args:
        growth: Rise of log10 imaging burden over its nadir that starts chemotherapy.
        cycles: Platinum cycles once started (the env caps them at 6).
        maintenance: Pemetrexed maintenance after the cycles.
        inhibitor_dose: Dose fraction of the continuous inhibitor (0: none).
        horizon_days: Env horizon (to read the day from the time fraction).
        decision_interval_days: Days per env step.
    """

    #: Not learned: one deterministic "seed" under the benchmark protocol.
    learned = False

    def __init__(
        self,
        growth: float = math.log10(1.728),
        cycles: int = INDUCTION_CYCLES,
        maintenance: bool = True,
        inhibitor_dose: float = 1.0,
        horizon_days: float = HORIZON_DAYS,
        decision_interval_days: float = 7.0,
    ) -> None:
        """Set the thresholds."""
        if not (math.isfinite(growth) and growth > 0):
            raise ValueError(f"growth must be a positive log10 rise, got {growth!r}")
        if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 0:
            raise ValueError(f"cycles must be an integer >= 0, got {cycles!r}")
        if not 0.0 <= inhibitor_dose <= 1.0:
            raise ValueError(f"inhibitor_dose must be in [0, 1], got {inhibitor_dose!r}")
        self.growth = float(growth)
        self.cycles = int(cycles)
        self.maintenance = bool(maintenance)
        self.inhibitor_dose = float(inhibitor_dose)
        self.horizon = float(horizon_days)
        self.dt = float(decision_interval_days)
        self.f = observation_fields("clinical")

    def __repr__(self) -> str:
        """The rule and its settings."""
        return (f"ImmunotherapyFirstRule(growth={self.growth:.3f}, cycles={self.cycles}, "
                f"maintenance={self.maintenance}, inhibitor_dose={self.inhibitor_dose:g})")

    @staticmethod
    def _new(n: int) -> dict[str, np.ndarray]:
        return {
            "nadir": np.full(n, np.inf),
            "started": np.zeros(n, dtype=bool),
            "cycles": np.zeros(n, dtype=np.int64),
            "next_chemo": np.zeros(n),
        }

    def predict(
        self,
        observation: np.ndarray,
        state: dict[str, np.ndarray] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,  # noqa: ARG002 - deterministic
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Doses for the next interval, and the updated bookkeeping (SB3's interface)."""
        obs = np.atleast_2d(np.asarray(observation, dtype=np.float64))
        n, f = obs.shape[0], self.f
        state = start_state(state, n, self._new, episode_start)
        day = observed_day(obs, f, self.horizon, self.dt)
        burden = obs[:, f.imaging_log10_burden]
        anc = obs[:, f.anc]
        state["started"] |= burden > state["nadir"] + self.growth
        state["nadir"] = np.minimum(state["nadir"], burden)
        in_line = state["started"] & (
            (state["cycles"] < self.cycles) | self.maintenance
        )
        platinum = state["cycles"] < self.cycles
        due = _book_cycle(state, in_line, day, anc)
        action = np.zeros((n, 3), dtype=np.float32)
        action[:, 0] = np.where(due, np.where(platinum, 1.0, MAINTENANCE_DOSE), 0.0)
        action[:, 1] = _anti_pd1_q3w(day, self.dt)
        action[:, 2] = self.inhibitor_dose
        return (action[0] if np.ndim(observation) == 1 else action), state
