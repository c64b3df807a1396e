"""Settings of the ``tme`` envs that are not biology: `EnvConfig` and `RewardWeights`.

The biology is in `tme_env.models.tme.TMEParameters` and the cohort (`tme_env.patients`);
the label rules in `tme_env.envs.label`. Compiled code reads the settings it needs from one
float64 row, `config_row`, whose columns `CFG` names (with the reward weights, `REWARD`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tme_env import clinical
from tme_env.envs.observation import observation_fields
from tme_env.models.base import index_enum

__all__ = [
    "CFG",
    "MAX_COHORT_SIZE",
    "N_REWARD",
    "REWARD",
    "EnvConfig",
    "RewardWeights",
    "arguments_table",
    "config_row",
    "real_number",
    "reset_options",
]

#: Largest cohort an env builds (patients are generated one by one at construction).
MAX_COHORT_SIZE = 100_000


def real_number(x: object) -> bool:
    """A finite real number (not a bool)."""
    return (
        isinstance(x, (int, float, np.integer, np.floating))
        and not isinstance(x, bool)
        and math.isfinite(x)
    )


def reset_options(options: Any, valid: tuple[str, ...]) -> dict[str, Any]:
    """A copy of ``reset(options=...)`` after checking it is None or a dict of ``valid`` keys.

    Raises:
        ValueError: Naming what was given instead of a dict, or the unknown keys.
    """
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValueError(
            f"options must be None or a dict with keys {', '.join(valid)}, got {options!r} "
            f"({type(options).__name__})"
        )
    unknown = sorted(set(options) - set(valid), key=str)
    if unknown:
        raise ValueError(f"unknown reset options {unknown}; valid: {', '.join(valid) or 'none'}")
    return dict(options)


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the per-step reward (see `tme_env.envs.reward` for the formula).

    The default reward is the score: the step's Q-TWiST increment in months (weight
    ``qtwist`` 1), so that an episode's undiscounted return is the patient's Q-TWiST as the
    trial computes it (`tme_env.trials.run_trial`, `tme_env.clinical.q_twist_days`). The
    tumour-size and hotness terms are off by default; they are potential-based shaping
    (``w (Phi(s_end) - Phi(s_start))``, with ``Phi = 0`` at the episode's end), so with
    gamma 1 they telescope to ``-w Phi(s_0)``, a constant per patient, and cannot change
    which policy is optimal.
    """

    qtwist: float = field(
        default=1.0, metadata=_doc("per month of Q-TWiST (the trial's score) earned in the step")
    )
    tumour: float = field(
        default=0.0,
        metadata=_doc("shaping: times the fall of log10 burden (potential -log10 burden)"),
    )
    hotness: float = field(
        default=0.0, metadata=_doc("shaping: times the rise of the hotness index (potential H)")
    )


@dataclass(frozen=True)
class EnvConfig:
    """Environment settings (not biology); each field is an argument of the ``tme`` envs.

    Every field can be set through ``gym.make(id, **overrides)`` (`from_kwargs` names an
    unknown one). Field documentation is in each field's ``metadata["doc"]``; the envs'
    docstrings build their Arguments tables from it (`arguments_table`).
    """

    observation: str = field(default="full", metadata=_doc('`"full"` or `"clinical"`'))
    decision_interval_days: float = field(default=7.0, metadata=_doc("days per step (> 1)"))
    horizon_days: float = field(
        default=clinical.HORIZON_DAYS,
        metadata=_doc(
            "episode horizon (5 years): the env truncates there; `gym.make` adds the id's "
            "261-step limit, so pass `max_episode_steps` with a longer horizon"
        ),
    )
    split: str = field(default="train", metadata=_doc("cohort split: train, validation, test"))
    cohort_size: int = field(default=256, metadata=_doc("patients in the cohort"))
    imaging_cv: float = field(default=0.1, metadata=_doc("CV of the imaging burden (clinical)"))
    anc_cv: float = field(default=0.05, metadata=_doc("CV of the neutrophil count (clinical)"))
    mdsc_cv: float = field(default=0.15, metadata=_doc("CV of the blood MDSC assay (clinical)"))
    biopsy_every_steps: int = field(
        default=6, metadata=_doc("steps between biopsies (CD8:MDSC ratio), 0 for never")
    )
    biopsy_cv: float = field(default=0.2, metadata=_doc("CV of the biopsy ratio (clinical)"))
    reward: RewardWeights = field(
        default_factory=RewardWeights,
        metadata=_doc("reward weights, a dict of `RewardWeights` fields to override"),
    )
    rtol: float | None = field(
        default=None,
        metadata=_doc("integrator tolerance; None: the model's 1e-6 (as `tme_env.simulate`)"),
    )

    def __post_init__(self) -> None:
        """Validate every setting, naming the bad one."""
        if not (real_number(self.decision_interval_days) and self.decision_interval_days > 1.0):
            raise ValueError(
                "decision_interval_days must be finite and > 1 (chemotherapy is infused over "
                f"the first day), got {self.decision_interval_days!r}"
            )
        horizon = self.horizon_days
        if not (real_number(horizon) and horizon >= self.decision_interval_days):
            raise ValueError(f"horizon_days must be >= one interval, got {self.horizon_days!r}")
        observation_fields(self.observation)  # raises on an unknown mode
        for name in ("imaging_cv", "anc_cv", "mdsc_cv", "biopsy_cv"):
            v = getattr(self, name)
            if not (real_number(v) and v >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
        for name, least, most in (("biopsy_every_steps", 0, None),
                                  ("cohort_size", 1, MAX_COHORT_SIZE)):  # fmt: skip
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")
            if most is not None and v > most:
                raise ValueError(f"{name} must be at most {most:,}, got {v:,}")
        valid = [f.name for f in dataclasses.fields(RewardWeights)]
        if isinstance(self.reward, dict):
            unknown = sorted(set(self.reward) - set(valid))
            if unknown:
                raise ValueError(f"unknown reward weights {unknown}; valid: {', '.join(valid)}")
            object.__setattr__(self, "reward", RewardWeights(**self.reward))
        elif not isinstance(self.reward, RewardWeights):
            raise ValueError(
                f"reward must be a dict of reward weights ({', '.join(valid)}) or a "
                f"RewardWeights, got {self.reward!r}"
            )
        for name in valid:
            v = getattr(self.reward, name)
            if not real_number(v):
                raise ValueError(f"reward weight {name!r} must be a finite number, got {v!r}")
        if self.rtol is not None and not (
            real_number(self.rtol) and 1e-12 <= self.rtol <= 1e-2
        ):
            raise ValueError(f"rtol must be None or a number in [1e-12, 1e-2], got {self.rtol!r}")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> EnvConfig:
        """Build a config from keyword arguments (``None`` reward means the defaults).

        Raises:
            ValueError: On an unknown name (the message lists the valid ones) or a bad value.
        """
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(kwargs) - set(valid))
        if unknown:
            raise ValueError(f"unknown env arguments {unknown}; valid: {', '.join(valid)}")
        if kwargs.get("reward", 0) is None:
            kwargs["reward"] = {}
        return cls(**kwargs)

    @property
    def max_episode_steps(self) -> int:
        """Steps until the horizon (truncation)."""
        return int(math.ceil(self.horizon_days / self.decision_interval_days))

    def to_dict(self) -> dict:
        """JSON-serialisable settings."""
        return asdict(self)


def arguments_table(extra: tuple[tuple[str, str, str, str], ...] = ()) -> str:
    """The Gymnasium-docstring Arguments table of the ``tme`` envs, from `EnvConfig`'s fields.

    Args:
        extra: More rows ``(name, type, default, description)`` (env-only arguments).
    """
    rows = list(extra)
    defaults = EnvConfig()
    for f in dataclasses.fields(EnvConfig):
        value = getattr(defaults, f.name)
        default = "`{}`" if f.name == "reward" else f"`{value!r}`"
        kind = "dict" if f.name == "reward" else type(value).__name__
        if f.name == "rtol":
            kind = "float"
        rows.append((f"`{f.name}`", kind, default, f.metadata["doc"]))
    lines = ["| Parameter | Type | Default | Description |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


#: The reward terms, in `RewardWeights` field order: ``w[REWARD.death]`` is the death weight.
REWARD = index_enum("REWARD", tuple(f.name for f in dataclasses.fields(RewardWeights)))
N_REWARD = len(REWARD)
#: Columns of `config_row` (the settings compiled code reads): weeks per interval, days per
#: interval, interval / horizon, the episode's length in days (``max_episode_steps x
#: interval``: the trial's horizon), 1.0 for the full observation (0.0: clinical), then the
#: reward weights from column ``CFG.weights`` on.
CFG = index_enum("CFG", ("weeks", "days", "dt_over_h", "episode_days", "full", "weights"))


def config_row(config: EnvConfig) -> np.ndarray:
    """The settings compiled code reads, one float64 row with the columns of `CFG`."""
    dt = config.decision_interval_days
    w = config.reward
    weights = [getattr(w, name) for name in REWARD.__members__]
    episode = config.max_episode_steps * dt
    full = 1.0 if config.observation == "full" else 0.0
    return np.array([dt / 7.0, dt, dt / config.horizon_days, episode, full, *weights],
                    dtype=np.float64)  # fmt: skip
