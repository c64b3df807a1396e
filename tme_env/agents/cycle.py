"""The per-cycle training variant: one decision per 21-day treatment cycle, scored weekly.

The design card's agent decides "every treatment cycle"; the benchmark's envs step weekly
(261 decisions over 5 years), which leaves a learner three times as many decisions to assign
credit over as the clinic makes. This variant trains on the **same weekly env**, but the
agent acts once per cycle (87 decisions):

* `tme_env.agents.vec_env.CycleVecEnv` (an SB3 ``VecEnv``): one agent action ``(chemo,
  anti-PD-1, inhibitor)`` is given in the cycle's first week; in its other two weeks the
  chemotherapy and anti-PD-1 doses are 0 and the inhibitor (a daily oral drug) continues at
  the same dose. The reward
  is the sum of the three weekly rewards (Q-TWiST months), so the undiscounted return is the
  weekly env's.
* `CyclePolicy`: the same rule at scoring time. It queries the trained model in the first
  week of each cycle (weeks 0, 3, 6... of the episode) on the weekly env's observation, and
  repeats the inhibitor in the other weeks. A per-cycle agent is therefore scored on the
  main weekly task, as the discrete variant is, with nothing in the env changed.

A model file trained this way records ``cycle_weeks: 3`` in its run's ``config.yml``
(`tme_env.agents.TrainConfig.cycle_weeks`); `tme_env.agents.load_agent` and the benchmark
wrap it in `CyclePolicy`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CARRIED", "CYCLE_WEEKS", "CyclePolicy", "within_cycle"]

#: Weeks per treatment cycle (q3w: platinum doublets and pembrolizumab).
CYCLE_WEEKS = 3
#: Which doses carry over to the later weeks of a cycle: the inhibitor (daily, oral) only.
CARRIED = np.array([0.0, 0.0, 1.0])


def within_cycle(doses: np.ndarray) -> np.ndarray:
    """The doses of a cycle's later weeks: chemo and anti-PD-1 0, the inhibitor carried."""
    return np.asarray(doses) * CARRIED


class CyclePolicy:
    """Score a per-cycle model on the weekly task (see the module docstring).

    Its ``predict`` asks ``model`` for an action in the first week of every cycle of each
    episode (``episode_start`` restarts the count of that environment) and gives
    `within_cycle` of it in the other weeks.

    Args:
        model: An object with SB3's ``predict`` (trained on `tme_env.agents.vec_env.CycleVecEnv`).
        cycle_weeks: Weeks per decision.
    """

    #: Marks a learned submission for the benchmark (as an SB3 model is).
    learned = True

    def __init__(self, model: Any, cycle_weeks: int = CYCLE_WEEKS) -> None:  # noqa: D107
        self.model = model
        self.cycle_weeks = int(cycle_weeks)
        self._week: np.ndarray | None = None
        self._action: np.ndarray | None = None

    @property
    def observation_space(self) -> Any:
        """The model's."""
        return self.model.observation_space

    @property
    def action_space(self) -> Any:
        """The model's."""
        return self.model.action_space

    def predict(self, observation, state=None, episode_start=None, deterministic=False):  # noqa: ANN001, ANN201
        """The cycle's action in its first week, the carried inhibitor in the others."""
        obs = np.asarray(observation)
        n = obs.shape[0]
        if self._week is None or self._week.shape[0] != n:
            self._week = np.zeros(n, dtype=np.int64)
            self._action = None
        if episode_start is not None:
            self._week[np.asarray(episode_start, dtype=bool)] = 0
        decide = self._week % self.cycle_weeks == 0
        if self._action is None:
            decide[:] = True
        if decide.any():
            action, state = self.model.predict(obs, state=state, episode_start=episode_start,
                                               deterministic=deterministic)  # fmt: skip
            action = np.asarray(action, dtype=np.float32)
            if self._action is None:
                self._action = np.array(action)
            self._action[decide] = action[decide]
        out = np.where(decide[:, None], self._action, within_cycle(self._action))
        self._week += 1
        return out.astype(np.float32), state
