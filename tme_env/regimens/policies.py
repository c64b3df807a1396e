"""Standard clinical regimens as policies with Stable-Baselines3's ``predict`` interface.

Every regimen decides, at each decision interval, the doses ``[chemo, anti-PD-1, inhibitor]``
(fractions of the maximum) from what it can see in the observation (the day, the neutrophil
count, the tumour burden) and its own bookkeeping, so that regimens and trained agents go
through one evaluation path. Timing constants come from `tme_env.regimens.schedules` (the
fixed schedules used with `tme_env.simulate`); without neutropenia a regimen doses exactly
as its fixed schedule does (tested).

Clinical rules applied to chemotherapy in every regimen (documented here once):

* **delay**: a due chemotherapy dose is postponed while the observed neutrophil count is
  below 1.5e9/L (the usual day-1 re-treatment criterion, e.g. the pemetrexed label); the cycle
  clock restarts on the day the dose is actually given;
* **reduction**: after an observed grade-4 neutropenia (ANC < 0.5e9/L) later chemotherapy
  doses are reduced by 20%, at most twice (to 64%).

Regimens read the observation by field name (`tme_env.envs.observation_fields`): the
elapsed fraction of the horizon, the ANC, and the tumour burden (log10 cells of the two
clones in the full observation, the imaging burden in the clinical one). With weekly
decisions (the envs' default) a "q3w" drug is given every third week. `Regimen.decide`
holds the dosing logic on those named inputs; `Regimen.predict` reads them from an
observation, and the fixed schedules (`tme_env.regimens.schedules`) replay `decide`
without neutropenia.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tme_env.clinical import HORIZON_DAYS
from tme_env.dosing import ACTION_NAMES
from tme_env.envs.label import MAINTENANCE_DOSE, MAX_ANTI_PD1_DOSES, METRONOMIC_DOSE
from tme_env.envs.observation import observation_fields
from tme_env.regimens.codes import AntiPD1Plan, ChemoPlan

__all__ = [
    "CYCLE_DAYS",
    "observed_day",
    "start_state",
    "INDUCTION_CYCLES",
    "REGIMENS",
    "Regimen",
    "RegimenSpec",
    "available",
    "get",
]

#: Length of a treatment cycle (days): platinum doublets and pembrolizumab are given q3w.
CYCLE_DAYS = 21.0
#: Induction cycles of the platinum doublet (KEYNOTE-189: 4).
INDUCTION_CYCLES = 4

#: ANC (1e9/L) below which a due chemotherapy dose is delayed.
DELAY_ANC = 1.5
#: ANC (1e9/L) of grade-4 neutropenia, which triggers a dose reduction.
GRADE4_ANC = 0.5
#: Dose reduction factor after grade-4 neutropenia, and the lowest level reached.
REDUCTION, MIN_LEVEL = 0.8, 0.8**2
#: TPS at or above which the PD-L1-guided regimen gives pembrolizumab alone (KEYNOTE-024).
PDL1_HIGH = 0.5
#: Suppressor-inhibitor during chemotherapy cycles: the first two weeks of each cycle.
INHIBITOR_WEEKS_PER_CYCLE = 2


@dataclass(frozen=True)
class RegimenSpec:
    """What a regimen gives and when (see `REGIMENS`; the codes: `tme_env.regimens.codes`)."""

    name: str
    description: str
    source: str
    chemo: ChemoPlan = ChemoPlan.NONE
    anti_pd1: AntiPD1Plan = AntiPD1Plan.NONE
    inhibitor: bool = False
    #: PD-L1-guided: no chemotherapy for a patient whose TPS (read from the observation at
    #: the first decision) is >= `PDL1_HIGH`; the plan above for everyone else.
    pdl1_guided: bool = False

    def __post_init__(self) -> None:
        """Read ``chemo`` and ``anti_pd1`` as their enums (their string values are accepted).

        Raises:
            ValueError: On an unknown code (the message lists the valid ones).
        """
        for name, codes in (("chemo", ChemoPlan), ("anti_pd1", AntiPD1Plan)):
            value = getattr(self, name)
            if value not in tuple(codes):
                raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(codes)}")
            object.__setattr__(self, name, codes(value))


REGIMENS: dict[str, RegimenSpec] = {
    spec.name: spec
    for spec in (
        RegimenSpec("no-treatment", "no treatment", "reference arm"),
        RegimenSpec(
            "mtd-chemo",
            "platinum doublet at full dose q3w x4, then pemetrexed maintenance q3w",
            "KEYNOTE-189 control arm (Gandhi et al., NEJM 2018)",
            chemo=ChemoPlan.MTD,
        ),
        RegimenSpec(
            "chemo-ici-concurrent",
            "mtd-chemo plus pembrolizumab 200 mg q3w (up to 35 doses) from day 1",
            "KEYNOTE-189 experimental arm (Gandhi et al., NEJM 2018)",
            chemo=ChemoPlan.MTD,
            anti_pd1=AntiPD1Plan.CONCURRENT,
        ),
        RegimenSpec(
            "chemo-then-ici",
            "doublet q3w x4 (no maintenance), then pembrolizumab q3w (up to 35 doses)",
            "sequential chemo then checkpoint blockade (PACIFIC: Antonia et al., NEJM 2017; "
            "TONIC: Voorwerk et al., Nat Med 2019)",
            chemo=ChemoPlan.INDUCTION,
            anti_pd1=AntiPD1Plan.AFTER_INDUCTION,
        ),
        RegimenSpec(
            "metronomic-chemo",
            "a quarter of the full dose every week",
            "metronomic low-dose chemotherapy (Colleoni et al., Ann Oncol 2002)",
            chemo=ChemoPlan.METRONOMIC,
        ),
        RegimenSpec(
            "metronomic-chemo-ici",
            "metronomic chemo plus pembrolizumab q3w (up to 35 doses)",
            "metronomic chemo + checkpoint blockade (Ghiringhelli et al., Cancer Immunol "
            "Immunother 2007)",
            chemo=ChemoPlan.METRONOMIC,
            anti_pd1=AntiPD1Plan.Q3W,
        ),
        RegimenSpec(
            "chemo-inhibitor",
            "mtd-chemo plus the suppressor-inhibitor in the first 2 weeks of every cycle",
            "chemo + MDSC-targeting agent (sunitinib-like: Ko et al., Clin Cancer Res 2009; "
            "de Pillis et al., DCDS-B 2013)",
            chemo=ChemoPlan.MTD,
            inhibitor=True,
        ),
        RegimenSpec(
            "chemo-ici-inhibitor",
            "chemo-ici-concurrent plus the inhibitor in the first 2 weeks of every cycle",
            "all three levers",
            chemo=ChemoPlan.MTD,
            anti_pd1=AntiPD1Plan.CONCURRENT,
            inhibitor=True,
        ),
        RegimenSpec(
            "pembrolizumab",
            "pembrolizumab 200 mg q3w (up to 35 doses), no chemotherapy",
            "KEYNOTE-024 (Reck et al., NEJM 2016; JCO 2021) and KEYNOTE-042 (Mok et al., "
            "Lancet 2019) experimental arms",
            anti_pd1=AntiPD1Plan.Q3W,
        ),
        RegimenSpec(
            "pdl1-guided",
            "PD-L1-guided standard of care: pembrolizumab alone at TPS >= 50%, "
            "chemo-ici-concurrent otherwise",
            "NCCN/ESMO first-line non-squamous NSCLC without driver alterations: KEYNOTE-024 "
            "(TPS >= 50%) and KEYNOTE-189 (all TPS)",
            chemo=ChemoPlan.MTD,
            anti_pd1=AntiPD1Plan.CONCURRENT,
            pdl1_guided=True,
        ),
        RegimenSpec(
            "adaptive-at50",
            "full-dose chemo q3w until the burden is below 50% of baseline, paused until it "
            "is back to baseline",
            "adaptive therapy AT50 (Zhang et al., Nat Commun 2017; Strobl et al., Cancer Res 2021)",
            chemo=ChemoPlan.ADAPTIVE,
        ),
    )
}


def observed_day(
    obs: np.ndarray, fields: type, horizon_days: float, interval_days: float
) -> np.ndarray:
    """Days since the start, read from an observation's ``time_fraction`` (whole intervals)."""
    t = obs[:, fields.time_fraction].astype(np.float64)
    return np.round(t * horizon_days / interval_days) * interval_days


def start_state(
    state: dict[str, np.ndarray] | None,
    n: int,
    new_state: Callable[[int], dict[str, np.ndarray]],
    episode_start: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """A policy's bookkeeping for ``n`` slots: a copy of ``state``, fresh where an episode starts.

    ``new_state(k)`` makes the bookkeeping of ``k`` new episodes (SB3's recurrent-state contract).
    """
    if state is None or len(next(iter(state.values()))) != n:
        state = new_state(n)
    else:
        state = {k: v.copy() for k, v in state.items()}
    if episode_start is not None:
        fresh = np.asarray(episode_start, dtype=bool).reshape(-1)
        if fresh.any():
            new = new_state(int(fresh.sum()))
            for k in state:
                state[k][fresh] = new[k]
    return state


def available() -> tuple[str, ...]:
    """Names of the standard regimens."""
    return tuple(REGIMENS)


def get(
    name: str,
    observation: str = "full",
    decision_interval_days: float = 7.0,
    horizon_days: float = HORIZON_DAYS,
) -> Regimen:
    """Build a regimen policy for environments with the given settings.

    Raises:
        ValueError: On an unknown regimen name (the message lists the valid ones).
    """
    if name not in REGIMENS:
        raise ValueError(f"unknown regimen {name!r}; available: {', '.join(REGIMENS)}")
    return Regimen(REGIMENS[name], observation, decision_interval_days, horizon_days)


class Regimen:
    """A standard regimen as a policy: ``predict(obs, state, episode_start, deterministic)``.

    Works on one observation ``(obs_dim,)`` or a batch ``(n, obs_dim)``. The regimen's
    bookkeeping (next chemotherapy day, dose level, doses given, baseline burden, pause) is
    the returned ``state``; pass it back in, with ``episode_start`` True for environments that
    have just been reset (SB3's ``evaluate_policy`` does both).
    """

    #: Not learned: one deterministic "seed" under the benchmark protocol.
    learned = False

    def __init__(
        self,
        spec: RegimenSpec,
        observation: str = "full",
        decision_interval_days: float = 7.0,
        horizon_days: float = HORIZON_DAYS,
    ) -> None:
        """See `get`."""
        self.fields = observation_fields(observation)  # raises on an unknown mode
        self.spec = spec
        self.observation = observation
        self.dt = float(decision_interval_days)
        self.horizon = float(horizon_days)

    def __repr__(self) -> str:
        """The regimen's name."""
        return f"Regimen({self.spec.name!r})"

    # --- observation fields ---------------------------------------------------------------
    def _log10_burden(self, obs: np.ndarray) -> np.ndarray:
        f = self.fields
        if self.observation == "full":
            s = 10.0 ** obs[:, f.log10_S].astype(np.float64) - 1.0
            r = 10.0 ** obs[:, f.log10_R].astype(np.float64) - 1.0
            return np.log10(np.maximum(s + r, 1.0))
        return obs[:, f.imaging_log10_burden].astype(np.float64)

    @staticmethod
    def new_state(n: int) -> dict[str, np.ndarray]:
        """Fresh bookkeeping for ``n`` patients at the start of treatment."""
        return {
            "next_chemo_day": np.zeros(n),
            "chemo_doses": np.zeros(n, dtype=np.int64),
            "level": np.ones(n),
            "pd1_doses": np.zeros(n, dtype=np.int64),
            "next_pd1_day": np.full(n, np.nan),
            "cycle_start": np.full(n, np.nan),
            "baseline": np.full(n, np.nan),
            "paused": np.zeros(n, dtype=bool),
            "no_chemo": np.zeros(n, dtype=bool),
            "started": np.zeros(n, dtype=bool),
        }

    def predict(
        self,
        observation: np.ndarray,
        state: dict[str, np.ndarray] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,  # noqa: ARG002 - regimens are deterministic
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Doses for the next interval, and the updated bookkeeping."""
        obs = np.asarray(observation, dtype=np.float32)
        single = obs.ndim == 1
        obs = np.atleast_2d(obs)
        state = start_state(state, obs.shape[0], self.new_state, episode_start)
        anc = obs[:, self.fields.anc].astype(np.float64)
        day = observed_day(obs, self.fields, self.horizon, self.dt)
        if self.spec.pdl1_guided:  # the TPS measured at diagnosis decides, once
            high = obs[:, self.fields.pdl1_tps].astype(np.float64) >= PDL1_HIGH
            state["no_chemo"] = np.where(state["started"], state["no_chemo"], high)
        state["started"][:] = True
        action = self.decide(day, anc, self._log10_burden(obs), state)
        return (action[0] if single else action), state

    def decide(
        self,
        day: np.ndarray,
        anc: np.ndarray,
        log_burden: np.ndarray,
        state: dict[str, np.ndarray],
    ) -> np.ndarray:
        """The regimen's dosing rule on named clinical inputs (updates ``state`` in place).

        Args:
            day: Days since the start of treatment, ``(n,)``.
            anc: Neutrophil count (1e9/L), ``(n,)``.
            log_burden: log10 tumour burden (cells), ``(n,)``.
            state: The bookkeeping of `new_state`.

        Returns:
            Dose fractions, ``(n, 3)`` float32 in `tme_env.dosing.ACTION_NAMES` order.
        """
        n = day.shape[0]
        state["baseline"] = np.where(np.isnan(state["baseline"]), log_burden, state["baseline"])
        action = np.zeros((n, len(ACTION_NAMES)), dtype=np.float32)
        spec = self.spec
        # Dose reduction after an observed grade-4 neutropenia.
        g4 = anc < GRADE4_ANC
        state["level"] = np.where(g4, np.maximum(state["level"] * REDUCTION, MIN_LEVEL),
                                  state["level"])  # fmt: skip
        # --- chemotherapy -------------------------------------------------------------------
        if spec.chemo != ChemoPlan.NONE:
            due = day >= state["next_chemo_day"] - 1e-9
            if spec.chemo == ChemoPlan.METRONOMIC:
                dose = np.full(n, METRONOMIC_DOSE)
                interval = self.dt
            else:
                induction = state["chemo_doses"] < INDUCTION_CYCLES
                dose = np.where(induction, 1.0, MAINTENANCE_DOSE)
                interval = CYCLE_DAYS
                if spec.chemo == ChemoPlan.INDUCTION:
                    due &= induction
                if spec.chemo == ChemoPlan.ADAPTIVE:
                    dose = np.ones(n)
                    # AT50: pause once the burden is below half the baseline, resume once it
                    # is back at the baseline (log10: baseline - log10 2, baseline).
                    below = log_burden < state["baseline"] - math.log10(2.0)
                    back = log_burden >= state["baseline"]
                    state["paused"] = np.where(below, True, np.where(back, False, state["paused"]))
                    due &= ~state["paused"]
            give = due & (anc >= DELAY_ANC) & ~state["no_chemo"]
            action[:, 0] = np.where(give, dose * state["level"], 0.0)
            state["chemo_doses"] += give
            state["next_chemo_day"] = np.where(give, day + interval, state["next_chemo_day"])
            state["cycle_start"] = np.where(give, day, state["cycle_start"])
        # --- suppressor-inhibitor: the first weeks of every chemotherapy cycle --------------
        if spec.inhibitor:
            in_cycle = (day - state["cycle_start"]) < INHIBITOR_WEEKS_PER_CYCLE * self.dt - 1e-9
            action[:, 2] = np.where(~np.isnan(state["cycle_start"]) & in_cycle, 1.0, 0.0)
        # --- anti-PD-1 q3w, up to 35 doses ----------------------------------------------------
        if spec.anti_pd1 != AntiPD1Plan.NONE:
            if spec.anti_pd1 == AntiPD1Plan.AFTER_INDUCTION:
                start_ok = state["chemo_doses"] >= INDUCTION_CYCLES
                first = np.isnan(state["next_pd1_day"]) & start_ok
                # Start one cycle after the last induction dose.
                state["next_pd1_day"] = np.where(first, state["cycle_start"] + CYCLE_DAYS,
                                                 state["next_pd1_day"])  # fmt: skip
            else:
                state["next_pd1_day"] = np.where(np.isnan(state["next_pd1_day"]), day,
                                                 state["next_pd1_day"])  # fmt: skip
            due = (day >= state["next_pd1_day"] - 1e-9) & (
                state["pd1_doses"] < MAX_ANTI_PD1_DOSES
            )
            action[:, 1] = np.where(due, 1.0, 0.0)
            state["pd1_doses"] += due
            state["next_pd1_day"] = np.where(due, state["next_pd1_day"] + CYCLE_DAYS,
                                             state["next_pd1_day"])  # fmt: skip
        return action
