"""Crossover to anti-PD-1 at progression: how the control arms of the first-line trials ran.

In KEYNOTE-189 and KEYNOTE-024 a patient of the chemotherapy arm whose disease progressed could
cross over to pembrolizumab, and most did (in the study or after it): 116 of 202 treated
patients of KEYNOTE-189's placebo arm by the 5-year cut-off (57.4%; Garassino et al., JCO 2023),
an effective crossover rate of 66.0% in KEYNOTE-024 (99 of the 150 treated; Reck et al., JCO
2021). Their
overall survival includes that second-line immunotherapy, so a virtual control arm that is
compared with them must include it too.

`Crossover` wraps a standard regimen: it follows the regimen until the first scan showing
RECIST progression (the observation's ``progressed``, which the env judges as the trial does:
`tme_env.envs.progression`, `tme_env.clinical.progression_time`), then a patient chosen to
cross over (probability ``rate``, one draw per episode from the wrapper's own seeded
generator) stops the regimen and starts pembrolizumab 200 mg q3w, up to 35 doses. A patient
who does not cross over stays on the regimen, as v1's arms did.
"""

from __future__ import annotations

import numpy as np

from tme_env.dosing import ACTION
from tme_env.envs.label import MAX_ANTI_PD1_DOSES
from tme_env.regimens.policies import CYCLE_DAYS, Regimen, observed_day, start_state

__all__ = ["KEYNOTE024_CROSSOVER", "KEYNOTE189_CROSSOVER", "Crossover"]

#: Share of KEYNOTE-189's placebo-arm patients who received anti-PD-(L)1 after progression:
#: 116 of 202 treated (Garassino et al., JCO 2023, 5-year update).
KEYNOTE189_CROSSOVER = 116 / 202
#: KEYNOTE-024's effective crossover rate, 66.0%: 99 patients of the 150 treated (Reck et al.,
#: JCO 2021, 5-year update; 151 were randomised).
KEYNOTE024_CROSSOVER = 99 / 150


class Crossover:
    """A regimen with crossover to pembrolizumab at progression (see the module docstring).

    Args:
        regimen: The first-line regimen (a `Regimen`; it reads the same observation).
        rate: Probability that a progressing patient crosses over, in [0, 1].
        seed: Seed of the crossover draws (one per episode, in the order episodes start).
        name: Display name (default: the regimen's name with ``+crossover``).

    Raises:
        ValueError: On a rate outside [0, 1] or a policy that is not a `Regimen`.
    """

    learned = False

    def __init__(self, regimen: Regimen, rate: float, seed: int = 0, name: str = "") -> None:
        """See the class docstring."""
        if not isinstance(regimen, Regimen):
            raise ValueError(f"Crossover wraps a Regimen, got {type(regimen).__name__}")
        if isinstance(rate, bool) or not (isinstance(rate, (int, float)) and 0 <= rate <= 1):
            raise ValueError(f"crossover rate must be a number in [0, 1], got {rate!r}")
        self.regimen = regimen
        self.rate = float(rate)
        self.seed = int(seed)
        self.name = name or f"{regimen.spec.name}+crossover"
        self._rng = np.random.default_rng(self.seed)

    def __repr__(self) -> str:
        """The wrapped regimen and the rate."""
        return f"Crossover({self.regimen!r}, rate={self.rate:.3f})"

    def new_state(self, n: int) -> dict[str, np.ndarray]:
        """The regimen's bookkeeping plus the progression and crossover records."""
        state = self.regimen.new_state(n)
        state.update(
            x_progressed=np.zeros(n, dtype=bool),
            x_eligible=self._rng.random(n) < self.rate,
            x_doses=np.zeros(n, dtype=np.int64),
            x_next=np.full(n, np.nan),
        )
        return state

    def predict(
        self,
        observation: np.ndarray,
        state: dict[str, np.ndarray] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,  # noqa: ARG002 - deterministic given the draws
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Doses for the next interval, and the updated bookkeeping (SB3's contract)."""
        reg = self.regimen
        obs = np.atleast_2d(np.asarray(observation, dtype=np.float32))
        single = np.asarray(observation).ndim == 1
        state = start_state(state, obs.shape[0], self.new_state, episode_start)
        day = observed_day(obs, reg.fields, reg.horizon, reg.dt)
        log_burden = reg._log10_burden(obs)  # noqa: SLF001 - the regimen's own reader
        anc = obs[:, reg.fields.anc].astype(np.float64)
        # The env judges RECIST progression as the trial does (`tme_env.envs.progression`)
        # and reports it in the observation.
        state["x_progressed"] |= obs[:, reg.fields.progressed] > 0.5
        action = reg.decide(day, anc, log_burden, state)
        crossed = state["x_progressed"] & state["x_eligible"]
        if crossed.any():
            action[crossed] = 0.0
            first = crossed & np.isnan(state["x_next"])
            state["x_next"] = np.where(first, day, state["x_next"])
            due = crossed & (day >= state["x_next"] - 1e-9) & (
                state["x_doses"] < MAX_ANTI_PD1_DOSES
            )
            action[due, ACTION.anti_pd1] = 1.0
            state["x_doses"] += due
            state["x_next"] = np.where(due, state["x_next"] + CYCLE_DAYS, state["x_next"])
        return (action[0] if single else action), state
