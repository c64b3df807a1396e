"""Blinding observation fields: the value-of-information ablation of the benchmark.

An agent trained with ``TrainConfig(blind=MONITORING)`` never sees the immune monitoring of
the clinical observation (the blood MDSC assay and the biopsy): those columns read 0 in every
observation it is trained on (`BlindObservation`, on the training ``VecEnv``) and scored on
(`Blinded`, around the model; `tme_env.benchmark` wraps a model whose run folder records
``blind``). Comparing it with the same agent trained on the full clinical observation
measures what the monitoring is worth to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnvWrapper

from tme_env.envs.observation import CLINICAL_OBSERVATION

__all__ = ["MONITORING", "BlindObservation", "Blinded", "blind_columns"]

#: The immune monitoring of the clinical observation: blood MDSC assay, biopsy and its age.
MONITORING = ("log10_blood_mdsc", "biopsy_log10_cd8_mdsc", "biopsy_age_52w")


def blind_columns(env_id: str, fields: Sequence[str]) -> np.ndarray:
    """The observation columns of ``fields`` in ``env_id``'s clinical observation.

    Raises:
        ValueError: If ``env_id`` is not a clinical env, or a field is not a clinical one.
    """
    if isinstance(fields, str):
        raise ValueError(f"blind must be a list of field names, got the string {fields!r}")
    fields = list(fields)
    if not fields:
        return np.zeros(0, dtype=np.int64)
    if "Clinical" not in env_id:
        raise ValueError(f"blind {fields}: only the clinical observation can be blinded; "
                         f"{env_id!r} is not a clinical env")  # fmt: skip
    unknown = [f for f in fields if f not in CLINICAL_OBSERVATION]
    if unknown:
        raise ValueError(f"blind: unknown clinical observation fields {unknown}; valid: "
                         f"{', '.join(CLINICAL_OBSERVATION)}")  # fmt: skip
    return np.array([CLINICAL_OBSERVATION.index(f) for f in fields], dtype=np.int64)


def _blank(obs: np.ndarray, columns: np.ndarray) -> np.ndarray:
    obs = np.array(obs, dtype=np.float32, copy=True)
    obs[..., columns] = 0.0
    return obs


class BlindObservation(VecEnvWrapper):
    """An SB3 ``VecEnv`` whose observations read 0 in ``columns`` (terminal ones too)."""

    def __init__(self, venv: Any, columns: np.ndarray) -> None:
        """Wrap ``venv``; ``columns`` from `blind_columns`."""
        super().__init__(venv)
        self.columns = np.asarray(columns, dtype=np.int64)

    def reset(self) -> np.ndarray:
        """Reset, blinded."""
        return _blank(self.venv.reset(), self.columns)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        """Step, blinded."""
        obs, reward, done, infos = self.venv.step_wait()
        for info in infos:
            if "terminal_observation" in info:
                info["terminal_observation"] = _blank(info["terminal_observation"], self.columns)
        return _blank(obs, self.columns), reward, done, infos


class Blinded:
    """A policy that sees ``columns`` of every observation as 0 (SB3's ``predict``).

    Args:
        model: The policy (an SB3 model trained on blinded observations).
        fields: The blinded clinical observation fields (`MONITORING`).
        env_id: The clinical env whose observation ``fields`` name.
    """

    def __init__(self, model: Any, fields: Sequence[str],
                 env_id: str = "tme/TumorImmuneClinical-v2") -> None:  # fmt: skip
        """Wrap ``model``."""
        self.model = model
        self.fields = tuple(fields)
        self.columns = blind_columns(env_id, self.fields)
        for name in ("observation_space", "action_space"):
            if hasattr(model, name):
                setattr(self, name, getattr(model, name))

    def __repr__(self) -> str:
        """The model and its blinded fields."""
        return f"Blinded({type(self.model).__name__}, {list(self.fields)})"

    def predict(self, observation: np.ndarray, state: Any = None,
                episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:  # fmt: skip
        """The model's action on the blinded observation."""
        return self.model.predict(_blank(observation, self.columns), state=state,
                                  episode_start=episode_start, deterministic=deterministic)
