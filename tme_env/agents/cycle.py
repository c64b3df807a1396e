"""The per-cycle training variant: one decision per 21-day treatment cycle, scored weekly.

The design card's agent decides "every treatment cycle"; the benchmark's envs step weekly
(261 decisions over 5 years), which leaves a learner three times as many decisions to assign
credit over as the clinic makes. This variant trains on the **same weekly env**, but the
agent acts once per cycle (87 decisions):

* `CycleVecEnv` (an SB3 ``VecEnv``): one agent action ``(chemo, anti-PD-1, inhibitor)`` is
  given in the cycle's first week; in its other two weeks the chemotherapy and anti-PD-1
  doses are 0 and the inhibitor (a daily oral drug) continues at the same dose. The reward
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

from tme_env.agents.vec_env import TumorImmuneSB3VecEnv

__all__ = ["CYCLE_WEEKS", "CyclePolicy", "CycleVecEnv", "within_cycle"]

#: Weeks per treatment cycle (q3w: platinum doublets and pembrolizumab).
CYCLE_WEEKS = 3
#: Which doses carry over to the later weeks of a cycle: the inhibitor (daily, oral) only.
CARRIED = np.array([0.0, 0.0, 1.0])


def within_cycle(doses: np.ndarray) -> np.ndarray:
    """The doses of a cycle's later weeks: chemo and anti-PD-1 0, the inhibitor carried."""
    return np.asarray(doses) * CARRIED


class CycleVecEnv(TumorImmuneSB3VecEnv):
    """``n_envs`` weekly tme patients, stepped a cycle (`CYCLE_WEEKS` weeks) per agent step.

    An episode that ends inside a cycle (death) is reported at the end of that cycle with
    the reward it earned up to its end and its final observation (``terminal_observation``);
    its slot is reset at once, and again when the cycle ends, so that every episode starts
    at a cycle's first week. The 5-year horizon (261 weeks) is 87 whole cycles.

    Args:
        cycle_weeks: Weeks per decision (default `CYCLE_WEEKS`).
        **kwargs: As `TumorImmuneSB3VecEnv`.
    """

    def __init__(self, *args: Any, cycle_weeks: int = CYCLE_WEEKS, **kwargs: Any) -> None:
        """See the class docstring."""
        super().__init__(*args, **kwargs)
        if self.venv.max_episode_steps % cycle_weeks:
            raise ValueError(f"cycle_weeks={cycle_weeks} does not divide the horizon of "
                             f"{self.venv.max_episode_steps} weeks")  # fmt: skip
        self.cycle_weeks = int(cycle_weeks)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        """One cycle of every environment; reset the finished ones."""
        v = self.venv
        first = v.doses(self._actions)
        total = np.zeros(self.num_envs)
        done = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        for week in range(self.cycle_weeks):
            doses = first if week == 0 else within_cycle(first)
            reward, terminated, info = v.core.step(doses, v.rngs)
            v.elapsed += 1
            truncated = ~terminated & (v.elapsed >= v.max_episode_steps)
            live = ~done
            total[live] += reward[live]
            ended = live & (terminated | truncated)
            if ended.any():
                obs = v.core.observe()
                for i in np.flatnonzero(ended):
                    ret = float(self._returns[i] + total[i])
                    infos[i] = {
                        "terminal_observation": obs[i].copy(),
                        "TimeLimit.truncated": bool(truncated[i]),
                        "episode": {"r": ret, "l": int(self._lengths[i]) + 1,
                                    "t": round(_now() - self._t0, 6)},  # fmt: skip
                        **{k: float(info[k][i]) for k in ("dead", "cured", "day") if k in info},
                    }
                    v.reset_slot(i, None)  # the cycle's remaining weeks run a discarded episode
                done |= ended
        for i in np.flatnonzero(done):
            v.reset_slot(i, None)  # every episode starts at a cycle's first week
        self._returns += total
        self._lengths += 1
        self._returns[done] = 0.0
        self._lengths[done] = 0
        return v.core.observe(), total.astype(np.float32), done, infos


def _now() -> float:
    import time

    return time.time()


class CyclePolicy:
    """Score a per-cycle model on the weekly task (see the module docstring).

    Its ``predict`` asks ``model`` for an action in the first week of every cycle of each
    episode (``episode_start`` restarts the count of that environment) and gives
    `within_cycle` of it in the other weeks.

    Args:
        model: An object with SB3's ``predict`` (trained on `CycleVecEnv`).
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
