"""Gymnasium environments of the ``tme`` immune-shift model."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tme_env import clinical
from tme_env.dosing import ACTION_NAMES, DRUGS
from tme_env.envs.actions import DISCRETE_LEVELS, action_array, discrete_array, unit_doses
from tme_env.envs.config import EnvConfig, arguments_table, reset_options
from tme_env.envs.core import TumorImmuneCore
from tme_env.envs.label import (
    CHEMO_CYCLE_DAYS,
    MAINTENANCE_DOSE,
    MAX_ANTI_PD1_DAYS,
    MAX_ANTI_PD1_DOSES,
    MAX_PLATINUM_CYCLES,
    METRONOMIC_DOSE,
)
from tme_env.envs.observation import N_LOG, observation_bounds, observation_table
from tme_env.envs.reward import INFO_KEYS
from tme_env.models.tme import STATE_NAMES
from tme_env.patients import VirtualPatient
from tme_env.simulator import SimulationError

__all__ = ["TumorImmuneEnv"]

def _check_initial_state(patient: VirtualPatient, what: str) -> None:
    """A `VirtualPatient`'s initial state: every model state, finite, >= 0, observable."""
    state = patient.initial_state
    low, high = observation_bounds("full")
    for j, name in enumerate(STATE_NAMES):
        if name not in state:
            raise ValueError(f"{what} {patient.patient_id!r}: initial state lacks {name!r}")
        v = state[name]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(
                f"{what} {patient.patient_id!r}: initial {name} must be a number, got {v!r}"
            )
        if not (np.isfinite(v) and v >= 0):
            raise ValueError(
                f"{what} {patient.patient_id!r}: initial {name} must be finite and >= 0, got {v!r}"
            )
        shown = np.log10(1.0 + v) if j < N_LOG else v  # as the full observation shows it
        if shown > high[j]:
            raise ValueError(
                f"{what} {patient.patient_id!r}: initial {name}={v:g} is outside the observation "
                f"space (at most {10.0 ** high[j] - 1 if j < N_LOG else high[j]:.3g})"
            )


class TumorImmuneEnv(gym.Env):
    """Adaptive chemo-immunotherapy of one virtual patient (the ``tme`` immune-shift model).

    ## Description

    Each episode treats one virtual patient of a fixed cohort (metastatic, presenting with a
    detectable tumour). Chemotherapy kills dividing tumour cells but its damage signal recruits
    myeloid-derived suppressor cells (MDSCs) that turn the tumour immune-cold and let the
    chemo-resistant clone regrow; anti-PD-1 and a suppressor-inhibitor are the other levers.
    Every step the agent chooses the doses for the next decision interval (default 7 days).

    ## Action Space

    ``Box(0, 1, (3,), float32)`` (continuous ids) or ``Discrete(12)`` (``...Discrete-v2``);
    delivery as `tme_env.dosing`:

    {actions}

    Discrete action ``k`` is row ``k`` of `DISCRETE_LEVELS` (chemo {{0, 0.5, 1}} x anti-PD-1
    {{0, 1}} x inhibitor {{0, 1}}). Values within 1e-6 of the bounds are clipped into [0, 1];
    NaN, inf, a wrong shape or a value further out of range raise ``ValueError``; an action
    that is not real numbers (bool, complex, object, str; for the discrete ids anything but
    integers) raises ``TypeError`` naming its dtype (`action_array`, `discrete_array`).

    ## Observation Space

    ``observation="full"`` (``tme/TumorImmune-v2``): ``Box`` of {n_full} float32 values, the
    model state and the clinic's records; columns named by ``observation_fields("full")``
    (`tme_env.envs.observation`):

    {full_table}

    States are floored at 0: a round-off undershoot of a decaying state reads as 0.

    ``observation="clinical"`` (``tme/TumorImmuneClinical-v2``): ``Box`` of {n_clinical}
    float32 values, what a clinic measures (noisy, seeded per patient) and records; columns
    named by ``observation_fields("clinical")``:

    {clinical_table}

    ## Rewards

    **The reward is the score.** By default ``r`` is the step's Q-TWiST increment in months
    (`tme_env.clinical.DAYS_PER_MONTH`): the step's days before progression count 1, or
    u_TOX = {u_tox:g} with grade >= 3 toxicity in the step, its days after progression
    u_REL = {u_rel:g} (`tme_env.clinical.QTWIST_UTILITY_TOX`, ``QTWIST_UTILITY_REL``), for
    every step the patient is alive at its start; the cure step adds the days left to the
    horizon (the trial counts a cured patient alive to it). Progression is RECIST (+20% over
    the nadir at the KEYNOTE-189 scans), judged as the trial judges it on the imaging the env
    reports (`tme_env.envs.progression`). So an episode's undiscounted return is the patient's
    Q-TWiST of `tme_env.trials.run_trial`, in months. Grade >= 3 toxicity is that of the
    interval's lowest daily ANC (``info["anc_nadir"]``), or an irAE of grade >= 3 and its
    steroid course (``info["grade3_toxicity"]``). Shaping (weights `RewardWeights`, defaults
    {weights}): ``w_tumour (Phi(s') - Phi(s))`` with ``Phi = -log10(burden)`` and
    ``w_hotness (H' - H)``, both potential-based (``Phi = 0`` at the episode's end), so with
    gamma 1 they telescope to a per-patient constant and cannot change the optimal policy.
    Each term is in ``info`` (``reward_*``).

    ## Starting State

    A patient drawn uniformly from the cohort (``split``, ``cohort_size``) with
    ``self.np_random``, or chosen by ``reset(options={{"patient": index_or_VirtualPatient}})``,
    at presentation (immune quasi-steady state, no drug).

    ## Episode End

    1. Termination: death (tumour >= 1e12 cells; ANC < 0.1e9/L on any day of the interval:
       fatal neutropenia; or a grade 5 irAE) or cure (tumour < 1 cell). Toxic deaths count
       as deaths in OS.
    2. Truncation: the horizon (default 5 years = 261 weekly steps) through
       ``max_episode_steps`` of the registered ids.

    ## Label rules and irAE management (enforced by the env, reported in ``info``)

    * Anti-PD-1: 1.0 is one pembrolizumab 200 mg dose; PD-1 occupancy saturates at the label
      dose, so dosing more often than q3w adds exposure (and irAE risk) but little effect.
      At most {max_pd1} doses and {max_pd1_days:g} days from the first (``anti_pd1_doses``);
      later doses are not given (``anti_pd1_blocked``).
    * Chemotherapy: 1.0 is one full platinum doublet (carboplatin AUC 5 + pemetrexed
      500 mg/m2); a dose above {maintenance:g} counts as a platinum cycle, and after
      {max_cycles} cycles doses are capped at {maintenance:g} (pemetrexed maintenance)
      (``platinum_cycles``). Cycle length: two chemotherapy doses less than
      {cycle_days:g} days apart must both be metronomic (at most {metronomic:g} of a full dose):
      weekly metronomic dosing is allowed, a larger dose within {cycle_days:g} days of any
      dose (or a metronomic one within {cycle_days:g} days of a larger one) is refused and
      not given (``chemo_refused``). The rules and their sources: `tme_env.envs.label`.
    * Inhibitor: 1.0 is the labelled daily dose of a CXCR2 antagonist (navarixin-like);
      it lowers blood neutrophils (adding to chemotherapy's neutropenia).
    * irAEs (``irae_grade``, ``irae_count``): grade 1-2: anti-PD-1 held 2 weeks; grade 3:
      held and prednisone 1 mg/kg/day tapered over 4 weeks (``on_steroids``; steroids
      suppress effector T cells); grade 4 or a second grade 3: discontinued for good
      (``anti_pd1_stopped``); grade 5: death (``irae_death``).

    ## Info

    The same keys at reset and every step: {info}. All numeric and finite;
    ``imaging_tumour_cells`` is the burden as imaging reports it (exact under the full
    observation, the noisy measurement under the clinical one); ``pdl1_tps`` the PD-L1 TPS
    (fraction), ``progressed`` RECIST progression seen (0/1), ``best_response`` the best
    response at the scans before progression (-1 PD, 0 SD, 1 PR, 2 CR), ``chemo_refused`` 1
    when the step's chemotherapy dose was refused (cycle length).

    ## Arguments

    Every `EnvConfig` field is an argument (``gym.make(id, imaging_cv=0.2, ...)``); unknown
    names raise ``ValueError``.

    {arguments}

    >>> import gymnasium as gym, tme_env
    >>> env = gym.make("tme/TumorImmune-v2")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

    ## Version History

    * v2: model v2 (PD-L1 TPS covariate, burden-linked death hazard): the reward is the
      score (per-step Q-TWiST months; the return is the trial's Q-TWiST), so that agents
      optimise what the benchmark ranks.
    * v2: death and cure bonuses removed (Q-TWiST counts them); tumour and hotness shaping
      off by default and potential-based, so they cannot change the optimum.
    * v2: RECIST progression tracked in the step as the trial judges it (``progressed`` in
      both observations and ``info``): the reward depends on it, the state stays Markov.
    * v2: clinical observation gains the clinic's chart: PD-L1 TPS, RECIST nadir, best
      response, progression, weeks since each drug, platinum cycles, anti-PD-1 doses, the
      MDSC assay's change (what a clinician reads before dosing).
    * v2: chemotherapy q3w cycle enforced (weekly maintenance-size doses were allowed and
      exploited, issue 29); ``info`` gains ``pdl1_tps``, ``progressed``, ``best_response``,
      ``chemo_refused``.
    * v1: model v1, every drug has a price: irAEs from anti-PD-1 exposure with the label's
      management (holds, steroids that suppress T cells, discontinuation; fatal irAEs), a
      CXCR2-class inhibitor with grounded potency that lowers neutrophils, saturating PD-1
      occupancy, the 35-dose / 24-month anti-PD-1 and 6-cycle platinum caps, immune
      phenotypes in the cohort (tme-cohort-v1), MDSC harm through T-cell suppression and
      exhaustion, a functional hotness index, a 5-year horizon, a quality-adjusted reward
      (Q-TWiST utilities), two more observation fields (irAE count, anti-PD-1 blocked) and
      recalibration to KEYNOTE-189's updated and 5-year analyses.
    * v0: initial version. v0 and v1 are no longer registered: ``gym.make`` names v2.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self, discrete: bool = False, render_mode: str | None = None, **config: Any
    ) -> None:
        """Create the environment (see the class docstring for the arguments)."""
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; valid: rgb_array")
        if not isinstance(discrete, (bool, np.bool_)):
            raise ValueError(f"discrete must be True or False, got {discrete!r}")
        self.config = EnvConfig.from_kwargs(**config)
        self.discrete = bool(discrete)
        self.render_mode = render_mode
        self.core = TumorImmuneCore(1, self.config)
        low, high = observation_bounds(self.config.observation)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.action_space = (
            spaces.Discrete(len(DISCRETE_LEVELS))
            if self.discrete
            else spaces.Box(0.0, 1.0, (len(ACTION_NAMES),), np.float32)
        )
        self._done = True
        self._steps = 0
        self._horizon_steps = self.config.max_episode_steps
        self._patient_id = ""
        self._history: list[dict[str, float]] = []
        self._bind()

    def _bind(self) -> None:
        """The doses are written into the core's buffer, where `step_one` reads them."""
        self._doses = self.core.dose_buffer
        self._dose_row = self._doses[0]

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled or copied: the dose views point into the (copied) core's buffer again."""
        self.__dict__.update(state)
        self._bind()

    def _action_to_doses(self, action: Any) -> np.ndarray:
        """Validated doses of one action, shape ``(1, 3)`` (a buffer reused every step)."""
        if self.discrete:
            if isinstance(action, np.ndarray) and action.shape == (1,):
                action = action.reshape(())
            k = discrete_array(action, (), len(DISCRETE_LEVELS))
            self._dose_row[:] = DISCRETE_LEVELS[int(k)]
            return self._doses
        if type(action) is np.ndarray and action.dtype.kind == "f":  # the lean path
            a = action
            if a.shape != (3,):
                action_array(a, (3,))  # raises, naming the shape
        else:
            a = action_array(action, (3,))
        c, p, i = a.tolist()
        row = self._dose_row
        if 0.0 <= c <= 1.0 and 0.0 <= p <= 1.0 and 0.0 <= i <= 1.0:  # False for NaN too
            row[0] = c
            row[1] = p
            row[2] = i
        else:
            row[:] = unit_doses(np.asarray(a, dtype=np.float64))  # clips or raises
        return self._doses

    def batch_doses(self, actions: Any, n: int) -> np.ndarray:
        """Validate a batch of ``n`` actions and return the doses, shape ``(n, 3)``."""
        if self.discrete:
            return DISCRETE_LEVELS[discrete_array(actions, (n,), len(DISCRETE_LEVELS), "actions")]
        return unit_doses(action_array(actions, (n, len(ACTION_NAMES)), "actions"))

    @property
    def max_episode_steps(self) -> int:
        """Steps until the horizon."""
        return self.config.max_episode_steps

    def make_core(self, n: int, parallel: bool) -> TumorImmuneCore:
        """A batched core with this environment's configuration (used by the vector envs)."""
        return TumorImmuneCore(n, self.config, parallel=parallel)

    def draw_patient(self, rng: np.random.Generator) -> int:
        """Draw a cohort index (the single env and the vector envs draw identically)."""
        return int(rng.integers(len(self.core.cohort)))

    def resolve_patient(self, patient: Any, what: str = "patient") -> int | VirtualPatient:
        """A cohort index or a checked `VirtualPatient` for a reset option.

        Accepts a cohort index (an int in range), a cohort id (str) or a `VirtualPatient`
        whose initial state is finite, non-negative and inside the observation space.

        Raises:
            ValueError: Naming the bad value (``what`` names the option).
        """
        n = len(self.core.cohort)
        if isinstance(patient, str):
            ids = self.core.cohort.ids
            if patient not in ids:
                raise ValueError(f"unknown {what} {patient!r}; valid ids: {ids[0]} .. {ids[-1]}")
            return ids.index(patient)
        if isinstance(patient, (int, np.integer)) and not isinstance(patient, (bool, np.bool_)):
            if not 0 <= patient < n:
                raise ValueError(f"{what} index {patient} out of range [0, {n})")
            return int(patient)
        if isinstance(patient, VirtualPatient):
            _check_initial_state(patient, what)
            return patient
        raise ValueError(
            f"{what} must be a cohort index in [0, {n}), a cohort id or a VirtualPatient, got "
            f"{patient!r} ({type(patient).__name__})"
        )

    def patient_id(self, patient: int | VirtualPatient) -> str:
        """The id of a resolved patient (cohort id, or the `VirtualPatient`'s own)."""
        if isinstance(patient, VirtualPatient):
            return str(patient.patient_id)
        return str(self.core.cohort.patients[patient].patient_id)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, float]]:
        """Start an episode with a cohort patient (random, or ``options["patient"]``)."""
        options = reset_options(options, ("patient",))
        patient = options.pop("patient", None)
        patient = None if patient is None else self.resolve_patient(patient)
        super().reset(seed=seed)
        if patient is None:
            patient = self.draw_patient(self.np_random)
        self._patient_id = self.patient_id(patient)
        self.core.set_patient(0, patient, [self.np_random])
        self._done = False
        self._steps = 0
        self.core.refresh_info()
        info = self.core.info_row(0)
        self._history = [info]
        return self.core.observe()[0], info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, float]]:
        """Give the doses for one decision interval."""
        if self._done:
            raise RuntimeError("the episode has ended (or never started): call reset() first")
        self._action_to_doses(action)  # validated, into the core's `dose_buffer`
        try:
            reward, done = self.core.step_one(self.np_random)
        except SimulationError as exc:
            self._done = True  # the episode cannot continue: reset() starts a new one
            raise exc.for_patient(self._patient_id) from None
        info1 = self.core.info_row(0)
        # The horizon (`EnvConfig.horizon_days`) ends the episode whatever limit a wrapper
        # sets: a shorter horizon or a longer interval than the id's truncates here.
        self._steps += 1
        truncated = self._steps >= self._horizon_steps and not done
        self._done = done or truncated
        if self.render_mode is not None:
            self._history.append(info1)
        return self.core.observe_row(0), reward, done, truncated, info1

    def render(self) -> np.ndarray | None:
        """An RGB image of the trajectory so far (``render_mode="rgb_array"``)."""
        if self.render_mode != "rgb_array":
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        h = self._history
        day = [x["day"] for x in h]
        fig, axes = plt.subplots(4, 1, figsize=(6, 7), sharex=True)
        axes[0].semilogy(day, [max(x["tumour_cells"], 1.0) for x in h], "k")
        axes[0].set_ylabel("tumour cells")
        axes[1].plot(day, [x["hotness"] for x in h], "tab:orange")
        axes[1].axhline(0.5, ls="--", color="k", lw=1)
        axes[1].set_ylabel("hotness")
        axes[2].plot(day, [x["anc"] for x in h], "tab:brown")
        axes[2].set_ylabel("ANC 1e9/L")
        for key, color in (("dose_chemo", "tab:blue"), ("dose_anti_pd1", "tab:green"),
                           ("dose_inhibitor", "tab:purple")):  # fmt: skip
            axes[3].step(day, [x[key] for x in h], where="pre", color=color, label=key[5:])
        axes[3].set_ylabel("dose")
        axes[3].set_xlabel("day")
        axes[3].legend(fontsize=7)
        fig.tight_layout()
        fig.canvas.draw()
        image = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
        plt.close(fig)
        return image


TumorImmuneEnv.__doc__ = TumorImmuneEnv.__doc__.format(
    actions="\n    ".join(
        [
            "| Num | Action | Meaning of 1.0 | Delivery |",
            "|-----|--------|----------------|----------|",
            *(f"| {k} | {d.action} | {d.full_dose} | {d.delivery} |" for k, d in enumerate(DRUGS)),
        ]
    ),
    n_full=len(observation_bounds("full")[0]),
    n_clinical=len(observation_bounds("clinical")[0]),
    full_table="\n    ".join(observation_table("full").splitlines()),
    clinical_table="\n    ".join(observation_table("clinical").splitlines()),
    max_pd1=MAX_ANTI_PD1_DOSES,
    max_pd1_days=MAX_ANTI_PD1_DAYS,
    maintenance=MAINTENANCE_DOSE,
    cycle_days=CHEMO_CYCLE_DAYS,
    metronomic=METRONOMIC_DOSE,
    u_tox=clinical.QTWIST_UTILITY_TOX,
    u_rel=clinical.QTWIST_UTILITY_REL,
    max_cycles=MAX_PLATINUM_CYCLES,
    info=", ".join(f"``{k}``" for k in INFO_KEYS),
    weights=", ".join(
        f"{f.name} {f.default:g}" for f in dataclasses.fields(EnvConfig().reward)
    ),
    arguments="\n    ".join(
        arguments_table(
            (("`discrete`", "bool", "`False`", "discrete dose levels (DQN)"),
             ("`render_mode`", "str", "`None`", '`"rgb_array"`: a plot of the trajectory so far'))
        ).splitlines()
    ),
)
