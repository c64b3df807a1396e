"""The logging ("clinician-like") behaviour policy of the offline datasets, with propensities.

A behaviour is a finite **mixture of clinician profiles** plus uniform exploration:

* a profile is deterministic given the observation history: a first-line standard regimen
  (`tme_env.regimens`), a start delay (treatment begins ``start_delay_weeks`` after
  presentation), a chemotherapy dose style (``chemo_scale``: 1 = full dose, 0.5 = the
  clinician's habitual dose reduction) and an optional second-line regimen, switched to once on
  observed progression (the observed burden at least `PROGRESSION_INCREASE` above its nadir on
  first line, after at least `PROGRESSION_MIN_WEEKS` weeks of it);
* at each patient's first decision a profile ``k`` is drawn with the spec's weights ``w_k``
  (from the patient's own generator) and kept for the whole episode;
* at every decision the clinician gives profile ``k``'s action with probability ``1 - eps``,
  otherwise one of the `DOSE_LEVELS` uniformly at random.

**Actions.** Every action lies on the 12 `DOSE_LEVELS` (chemo {0, 0.5, 1} x anti-PD-1 {0, 1}
x inhibitor {0, 1}, the rows of `tme_env.envs.DISCRETE_LEVELS`), so the behaviour is a discrete
distribution on the continuous ``Box`` and its probabilities are well defined; the same data
serve the continuous env (the dose vector) and the discrete one (`level_index`). A profile's
regimen doses are snapped to the grid by `snap_to_levels`: any positive chemotherapy dose
below 0.75 becomes 0.5 (maintenance 0.5, the second 20% reduction 0.64, metronomic 0.25), one
of 0.75 or more becomes 1 (the first reduction 0.8); any positive anti-PD-1 or inhibitor dose
becomes 1.

**Propensities.** The profile is latent (a dataset does not reveal it to a learner), so the
logged propensity is the probability of the action given the observable history,
marginalised over the profile by exact Bayesian filtering::

    p_k(a_t | h_t) = (1 - eps) [a_t = f_k(h_t)] + eps / 12
    pi_b(a_t | h_t) = sum_k P(k | h_t) p_k(a_t | h_t),
    P(k | h_t+1) = P(k | h_t) p_k(a_t | h_t) / pi_b(a_t | h_t),   P(k | h_0) = w_k,

where ``f_k`` is profile ``k``'s (snapped) action; each profile's regimen bookkeeping is a
deterministic function of the observations, so every profile is replayed on every patient.
The product of the logged ``pi_b`` over an episode is the episode's probability under the
behaviour, which is what importance sampling needs. The probability given the drawn profile,
``p_k``, is logged as well (with the profile index) for analyses that may condition on it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tme_env.clinical import PROGRESSION_INCREASE
from tme_env.envs import DISCRETE_LEVELS
from tme_env.envs import ENV_IDS as REGISTERED
from tme_env.envs.observation import observation_fields
from tme_env.regimens import REGIMENS
from tme_env.regimens import get as get_regimen

__all__ = [
    "BEHAVIOURS",
    "DISCRETE_ENV_ID",
    "DOSE_LEVELS",
    "ENV_IDS",
    "PROGRESSION_MIN_WEEKS",
    "BehaviourSpec",
    "BehaviourState",
    "ClinicianBehaviour",
    "Profile",
    "behaviour",
    "mixture",
    "snap_to_levels",
]



def _registered_id(kwargs: dict[str, Any]) -> str:
    """The newest registered ``tme/TumorImmune*`` id with exactly these kwargs."""
    ids = [k for k, v in REGISTERED.items() if k.startswith("tme/TumorImmune") and v == kwargs]
    if not ids:  # pragma: no cover - import guard
        raise ImportError(f"no registered tme/TumorImmune* env with kwargs {kwargs}")
    return max(ids, key=lambda k: int(k.rsplit("-v", 1)[1]))


#: The env ids the offline tools work on, by observation mode: the newest registered
#: continuous ``tme/TumorImmune*`` ids (the one place the offline code names an env).
ENV_IDS: dict[str, str] = {
    mode: _registered_id({"observation": mode}) for mode in ("full", "clinical")
}
#: The discrete-action id whose actions are the `DOSE_LEVELS` indices.
DISCRETE_ENV_ID = _registered_id({"observation": "full", "discrete": True})
#: The dose levels every behaviour action lies on (rows of `tme_env.envs.DISCRETE_LEVELS`).
DOSE_LEVELS = DISCRETE_LEVELS
_N_LEVELS = len(DOSE_LEVELS)
_CHEMO_LEVELS = (0.0, 0.5, 1.0)
if DOSE_LEVELS.tolist() != [list(x) for x in itertools.product(_CHEMO_LEVELS, (0.0, 1.0),
                                                                 (0.0, 1.0))]:  # fmt: skip
    raise ImportError("tme_env.envs.DISCRETE_LEVELS changed; update snap_to_levels")
#: Weeks on first line before progression can trigger a switch (RECIST's first scan, 6 weeks).
PROGRESSION_MIN_WEEKS = 6


def snap_to_levels(doses: np.ndarray) -> np.ndarray:
    """The `DOSE_LEVELS` index of each dose vector (see the module docstring for the rule).

    Args:
        doses: Dose fractions ``(..., 3)`` in [0, 1].

    Returns:
        Level indices, shape ``doses.shape[:-1]``, int64.
    """
    d = np.asarray(doses, dtype=np.float64)
    if d.shape[-1:] != (3,):
        raise ValueError(f"doses must have a last axis of 3 [chemo, anti_pd1, inhibitor], "
                         f"got shape {d.shape}")  # fmt: skip
    chemo = np.where(d[..., 0] <= 0.0, 0, np.where(d[..., 0] < 0.75, 1, 2))
    return (chemo * 4 + (d[..., 1] > 0.0) * 2 + (d[..., 2] > 0.0)).astype(np.int64)


@dataclass(frozen=True)
class Profile:
    """One clinician profile of a behaviour mixture (deterministic given the history).

    Attributes:
        first_line: Standard regimen given from the start of treatment.
        second_line: Standard regimen switched to once on observed progression (None: stay).
        chemo_scale: Factor on every chemotherapy dose before snapping (1 or a reduction).
        start_delay_weeks: Decisions without treatment before the first line starts.
        weight: Mixture weight (normalised over the spec's profiles).
    """

    first_line: str
    second_line: str | None = None
    chemo_scale: float = 1.0
    start_delay_weeks: int = 0
    weight: float = 1.0

    def __post_init__(self) -> None:
        """Validate the regimen names and numbers, naming the bad one."""
        for name in (self.first_line, self.second_line):
            if name is not None and name not in REGIMENS:
                raise ValueError(f"unknown regimen {name!r}; available: {', '.join(REGIMENS)}")
        if not (0.0 < self.chemo_scale <= 1.0):
            raise ValueError(f"chemo_scale must be in (0, 1], got {self.chemo_scale!r}")
        if int(self.start_delay_weeks) != self.start_delay_weeks or self.start_delay_weeks < 0:
            raise ValueError(f"start_delay_weeks must be an integer >= 0, "
                             f"got {self.start_delay_weeks!r}")  # fmt: skip
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"weight must be finite and > 0, got {self.weight!r}")

    @property
    def label(self) -> str:
        """A short readable name, e.g. ``mtd-chemo@50%+2w>chemo-ici-concurrent``."""
        text = self.first_line
        if self.chemo_scale != 1.0:
            text += f"@{self.chemo_scale:.0%}"
        if self.start_delay_weeks:
            text += f"+{self.start_delay_weeks}w"
        if self.second_line is not None:
            text += f">{self.second_line}"
        return text


@dataclass(frozen=True)
class BehaviourSpec:
    """A behaviour policy: clinician profiles, their weights and the exploration rate."""

    name: str
    description: str
    profiles: tuple[Profile, ...]
    epsilon: float = 0.1

    def __post_init__(self) -> None:
        """Validate, naming the bad value."""
        if not self.profiles:
            raise ValueError("a behaviour needs at least one profile")
        if not (0.0 <= self.epsilon <= 1.0):
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon!r}")

    @property
    def weights(self) -> np.ndarray:
        """Normalised profile weights."""
        w = np.array([p.weight for p in self.profiles])
        return w / w.sum()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (stored in a dataset's metadata)."""
        return {
            "name": self.name,
            "description": self.description,
            "epsilon": self.epsilon,
            "dose_levels": DOSE_LEVELS.tolist(),
            "progression_increase": PROGRESSION_INCREASE,
            "progression_min_weeks": PROGRESSION_MIN_WEEKS,
            "profiles": [dataclasses.asdict(p) | {"weight": float(w)}
                         for p, w in zip(self.profiles, self.weights, strict=True)],  # fmt: skip
        }

    def single(self, k: int) -> BehaviourSpec:
        """The deterministic policy of profile ``k`` alone (no exploration)."""
        p = dataclasses.replace(self.profiles[k], weight=1.0)
        return BehaviourSpec(f"{self.name}[{k}]", p.label, (p,), 0.0)


def mixture(
    name: str,
    description: str,
    first_lines: dict[str, float],
    chemo_scales: dict[float, float] | None = None,
    start_delays: dict[int, float] | None = None,
    second_lines: dict[str | None, float] | None = None,
    epsilon: float = 0.1,
) -> BehaviourSpec:
    """A behaviour whose profiles are every combination of independent choices.

    Each argument maps a choice to its probability; a profile's weight is the product.
    """
    axes = (first_lines, chemo_scales or {1.0: 1.0}, start_delays or {0: 1.0},
            second_lines or {None: 1.0})  # fmt: skip
    profiles = tuple(
        Profile(f, s, c, d, wf * wc * wd * ws)
        for (f, wf), (c, wc), (d, wd), (s, ws) in itertools.product(*(a.items() for a in axes))
    )
    return BehaviourSpec(name, description, profiles, epsilon)


#: The built-in behaviours (``tme dataset --behaviour NAME``).
BEHAVIOURS: dict[str, BehaviourSpec] = {
    spec.name: spec
    for spec in (
        mixture(
            "clinician-mixed",
            "a mixed practice: six first-line standard regimens, a quarter of patients on "
            "habitually halved chemotherapy, 40% starting one or two weeks late, and on "
            "progression half the clinicians switch (to chemo + anti-PD-1, or stop "
            "treatment); 10% uniform exploration",
            first_lines={name: 1.0 for name in ("mtd-chemo", "chemo-ici-concurrent",
                                                 "chemo-then-ici", "chemo-inhibitor",
                                                 "chemo-ici-inhibitor", "adaptive-at50")},
            chemo_scales={1.0: 0.75, 0.5: 0.25},
            start_delays={0: 0.6, 1: 0.25, 2: 0.15},
            second_lines={None: 0.5, "chemo-ici-concurrent": 0.3, "no-treatment": 0.2},
            epsilon=0.1,
        ),
        mixture(
            "clinician-expert",
            "an expert practice: the best standard regimen (chemo-ici-inhibitor) for 80% of "
            "patients, KEYNOTE-189 chemo + anti-PD-1 for 20%, on time and at full dose; 2% "
            "uniform exploration",
            first_lines={"chemo-ici-inhibitor": 0.8, "chemo-ici-concurrent": 0.2},
            epsilon=0.02,
        ),
    )
}


def behaviour(name: str) -> BehaviourSpec:
    """A built-in behaviour by name.

    Raises:
        ValueError: On an unknown name (the message lists the valid ones).
    """
    if name not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {name!r}; available: {', '.join(BEHAVIOURS)}")
    return BEHAVIOURS[name]


@dataclass
class BehaviourState:
    """The behaviour's bookkeeping for ``n`` patients (the ``state`` of `predict`).

    Attributes:
        rngs: One generator per patient (profile draw and exploration).
        profile: The drawn profile of each patient, ``(n,)``.
        posterior: ``P(k | h_t)`` over the profiles, ``(n, K)``.
        step: Decisions taken, ``(n,)``.
        weeks_on: Decisions since each profile's first line started, ``(n, K)``.
        nadir: Lowest observed burden on first line, ``(n, K)``.
        switched: Whether each profile has switched to its second line, ``(n, K)``.
        regimen_states: Regimen bookkeeping per (line, regimen name), rows patient-major.
        nominal: Each profile's action (level index) at the last decision, ``(n, K)``.
        prob: Marginal propensity of the last action, ``(n,)``.
        prob_profile: Its probability given the drawn profile, ``(n,)``.
        level: The last action's level index, ``(n,)``.
    """

    rngs: list[np.random.Generator]
    profile: np.ndarray
    posterior: np.ndarray
    step: np.ndarray
    weeks_on: np.ndarray
    nadir: np.ndarray
    switched: np.ndarray
    regimen_states: dict[tuple[str, str], Any]
    nominal: np.ndarray
    prob: np.ndarray
    prob_profile: np.ndarray
    level: np.ndarray


class ClinicianBehaviour:
    """A `BehaviourSpec` as a policy with SB3's ``predict`` (usable by `tme_env.trials`).

    The behaviour is stochastic: ``predict`` always samples, whatever ``deterministic`` says
    (it is the logging clinician, not a greedy policy); a spec of one profile with
    ``epsilon=0`` (`BehaviourSpec.single`) is a deterministic policy.

    Patient ``i`` of a state made by `new_state` draws from
    ``np.random.default_rng([seed, patient_ids[i]])``, so an episode's actions do not depend on
    which other patients share the batch.

    Args:
        spec: The behaviour.
        observation: ``"full"`` or ``"clinical"`` (what the regimens read).
        seed: Root seed of the patients' generators.
        decision_interval_days: The env's decision interval.
        horizon_days: The env's horizon (to read the day from the observation).
    """

    def __init__(
        self,
        spec: BehaviourSpec,
        observation: str = "full",
        seed: int = 0,
        decision_interval_days: float = 7.0,
        horizon_days: float = 1095.0,
    ) -> None:
        """See the class docstring."""
        self.spec = spec
        self.observation = observation
        self.fields = observation_fields(observation)
        self.seed = int(seed)
        self._weights = spec.weights
        self._delay = np.array([p.start_delay_weeks for p in spec.profiles])
        self._scale = np.array([p.chemo_scale for p in spec.profiles])
        self._has_second = np.array([p.second_line is not None for p in spec.profiles])
        # One regimen object per (line, name), with the profile columns that use it.
        self._groups: list[tuple[str, str, Any, np.ndarray]] = []
        for line in ("first", "second"):
            names = [getattr(p, f"{line}_line") for p in spec.profiles]
            for name in dict.fromkeys(n for n in names if n is not None):
                cols = np.array([k for k, n in enumerate(names) if n == name])
                reg = get_regimen(name, observation, decision_interval_days, horizon_days)
                self._groups.append((line, name, reg, cols))

    def __repr__(self) -> str:
        """The behaviour's name."""
        return f"ClinicianBehaviour({self.spec.name!r}, {self.observation!r})"

    @property
    def n_profiles(self) -> int:
        """Number of profiles ``K``."""
        return len(self.spec.profiles)

    def new_state(self, n: int, patient_ids: Any = None) -> BehaviourState:
        """Fresh bookkeeping for ``n`` patients (ids default to ``0 .. n-1``)."""
        ids = np.arange(n) if patient_ids is None else np.asarray(patient_ids, dtype=np.int64)
        if ids.shape != (n,):
            raise ValueError(f"need {n} patient ids, got shape {ids.shape}")
        rngs = [np.random.default_rng([self.seed, int(i)]) for i in ids]
        k = self.n_profiles
        state = BehaviourState(
            rngs=rngs,
            profile=np.zeros(n, dtype=np.int64),
            posterior=np.zeros((n, k)),
            step=np.zeros(n, dtype=np.int64),
            weeks_on=np.zeros((n, k), dtype=np.int64),
            nadir=np.full((n, k), np.inf),
            switched=np.zeros((n, k), dtype=bool),
            regimen_states={(line, name): None for line, name, _, _ in self._groups},
            nominal=np.zeros((n, k), dtype=np.int64),
            prob=np.ones(n),
            prob_profile=np.ones(n),
            level=np.full(n, -1, dtype=np.int64),
        )
        self._restart(state, np.ones(n, dtype=bool))
        return state

    def _restart(self, state: BehaviourState, rows: np.ndarray) -> None:
        """Start new episodes in ``rows`` (draws their profiles)."""
        for i in np.flatnonzero(rows):
            state.profile[i] = state.rngs[i].choice(self.n_profiles, p=self._weights)
        state.posterior[rows] = self._weights
        state.step[rows] = 0
        state.weeks_on[rows] = 0
        state.nadir[rows] = np.inf
        state.switched[rows] = False

    def burden(self, obs: np.ndarray) -> np.ndarray:
        """The observed tumour burden (cells) the clinician judges progression on, ``(n,)``."""
        f = self.fields
        o = obs.astype(np.float64)
        if self.observation == "full":
            return (10.0 ** o[:, f.log10_S] - 1.0) + (10.0 ** o[:, f.log10_R] - 1.0)
        return 10.0 ** o[:, f.imaging_log10_burden]

    def nominal_levels(self, obs: np.ndarray, state: BehaviourState) -> np.ndarray:
        """Advance every profile's bookkeeping by one decision; their actions ``(n, K)``.

        Call once per decision, before sampling (`predict` does both).
        """
        n, k = state.posterior.shape
        delay = self._delay[None, :]
        started_before = state.step[:, None] > delay
        starting = state.step[:, None] == delay
        b = self.burden(obs)[:, None]
        state.nadir = np.where(starting, b, np.where(started_before & ~state.switched,
                                                     np.minimum(state.nadir, b), state.nadir))
        switch_now = (started_before & ~state.switched & self._has_second[None, :]
                      & (state.weeks_on >= PROGRESSION_MIN_WEEKS)
                      & (b >= (1.0 + PROGRESSION_INCREASE) * state.nadir))  # fmt: skip
        state.switched |= switch_now
        doses = np.zeros((n, k, 3))
        for line, name, reg, cols in self._groups:
            m = len(cols)
            rows_obs = np.repeat(obs, m, axis=0)
            fresh = (starting if line == "first" else switch_now)[:, cols].reshape(-1)
            action, reg_state = reg.predict(rows_obs, state=state.regimen_states[(line, name)],
                                            episode_start=fresh)  # fmt: skip
            state.regimen_states[(line, name)] = reg_state
            action = action.reshape(n, m, 3)
            if line == "first":
                use = ~state.switched[:, cols] & (state.step[:, None] >= delay[:, cols])
            else:
                use = state.switched[:, cols]
            doses[:, cols] = np.where(use[:, :, None], action, doses[:, cols])
        doses[:, :, 0] *= self._scale[None, :]
        state.weeks_on += state.step[:, None] >= delay
        state.step += 1
        state.nominal = snap_to_levels(doses)
        return state.nominal

    def observe_action(self, state: BehaviourState, level: np.ndarray) -> None:
        """Record the action taken at the last decision: its propensities and the posterior."""
        eps = self.spec.epsilon
        p = (1.0 - eps) * (state.nominal == level[:, None]) + eps / _N_LEVELS
        prob = np.sum(state.posterior * p, axis=1)
        state.prob = prob
        state.prob_profile = p[np.arange(len(level)), state.profile]
        state.posterior = state.posterior * p / prob[:, None]
        state.level = level.astype(np.int64)

    def predict(
        self,
        observation: np.ndarray,
        state: BehaviourState | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,  # noqa: ARG002 - the behaviour always samples
    ) -> tuple[np.ndarray, BehaviourState]:
        """Sample the doses for the next interval; the state carries the propensities.

        Args:
            observation: ``(obs_dim,)`` or ``(n, obs_dim)``.
            state: From `new_state` or the previous call (None: a new state, ids ``0..n-1``).
            episode_start: Rows whose episode has just started (their profile is redrawn).
            deterministic: Ignored (see the class docstring).

        Returns:
            Doses ``(n, 3)`` float32 on `DOSE_LEVELS` (``(3,)`` for one observation), and the
            state, whose ``prob``, ``prob_profile`` and ``level`` describe this action.
        """
        obs = np.atleast_2d(np.asarray(observation, dtype=np.float32))
        n = obs.shape[0]
        if state is None or len(state.profile) != n:
            state = self.new_state(n)
        elif episode_start is not None:
            fresh = np.asarray(episode_start, dtype=bool).reshape(-1)
            if fresh.any() and (state.step[fresh] > 0).any():
                self._restart(state, fresh)
        nominal = self.nominal_levels(obs, state)
        eps = self.spec.epsilon
        level = np.empty(n, dtype=np.int64)
        for i, rng in enumerate(state.rngs):
            explore = rng.random() < eps
            pick = int(rng.integers(_N_LEVELS))  # drawn every step: streams stay aligned
            level[i] = pick if explore else nominal[i, state.profile[i]]
        self.observe_action(state, level)
        doses = DOSE_LEVELS[level].astype(np.float32)
        return (doses[0] if np.ndim(observation) == 1 else doses), state
