"""Observation and reward normalisation that travels inside the model file.

Training with SB3's `VecNormalize` (the ``normalize`` hyperparameter, `normalize_settings`)
leaves a model whose network expects *normalised* observations: scored on raw ones it acts
on garbage. RL Zoo keeps the statistics in a separate pickle (``vecnormalize.pkl``) that the
user must remember to load. Here they travel inside the model's own ``.zip``:

* `save_model` writes the model (`tme_env.io.atomic_save_model`) with one extra archive
  entry, ``tme_normalization.json`` (`ENTRY`): the running mean, variance and count of the
  observations (and of the discounted returns, for resuming), the clip and epsilon, as plain
  JSON. SB3's own loader ignores the entry; nothing in it is pickled.
* `tme_env.agents.loader.load_sb3_model` reads the entry and returns a `NormalizedModel`,
  whose ``predict`` normalises the observation exactly as `VecNormalize.normalize_obs` does
  (same float64 arithmetic, same clip, cast to float32), so every consumer (``tme
  evaluate``, ``tme trial``, ``tme benchmark``, the agents of ``agents/``, a plain
  ``predict`` on a loaded model) uses the statistics without being told to.
* `restore_vec_normalize` puts the statistics back into a fresh `VecNormalize` when
  training resumes.

JSON keeps every float64 exactly (Python writes the shortest repr that reads back to the
same bits), so a reloaded model predicts bit for bit as the trained one did.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tme_env.io import atomic_save_model

__all__ = [
    "ENTRY",
    "NORMALIZE_KEYS",
    "NormalizedModel",
    "ObsNormalization",
    "current_policy",
    "normalize_settings",
    "read_normalization",
    "restore_vec_normalize",
    "save_model",
]

#: The archive entry of the statistics inside a model ``.zip``.
ENTRY = "tme_normalization.json"
#: Keys of a ``normalize`` mapping (`VecNormalize` arguments) and their types.
NORMALIZE_KEYS = {"norm_obs": bool, "norm_reward": bool, "clip_obs": float,
                  "clip_reward": float}  # fmt: skip


def normalize_settings(value: Any, gamma: float, where: str = "normalize") -> dict[str, Any] | None:
    """The `VecNormalize` arguments of a ``normalize`` hyperparameter, or None for none.

    Args:
        value: ``false``/None (no normalisation), ``true`` (observations and rewards, SB3's
            defaults, as rl_zoo3's ``normalize: true``) or a mapping of `NORMALIZE_KEYS`.
        gamma: The algorithm's discount (the return whose scale normalises the reward).
        where: The setting's name, for the messages.

    Raises:
        ValueError: On any other value, an unknown key or a bad value (naming it).
    """
    if value is None or value is False:
        return None
    settings: dict[str, Any] = {"norm_obs": True, "norm_reward": True}
    if isinstance(value, dict):
        for key, v in value.items():
            want = NORMALIZE_KEYS.get(key)
            if want is None:
                valid = ", ".join(NORMALIZE_KEYS)
                raise ValueError(f"{where}: unknown key {key!r}; valid: {valid}")
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            if want is bool and not isinstance(v, bool):
                raise ValueError(f"{where}.{key} must be true or false, got {v!r}")
            if want is float and not (number and np.isfinite(v) and v > 0):
                raise ValueError(f"{where}.{key} must be a finite number > 0, got {v!r}")
            settings[key] = float(v) if want is float else v
    elif value is not True:
        raise ValueError(f"{where} must be true, false or a mapping of {', '.join(NORMALIZE_KEYS)}"
                         f", got {value!r}")  # fmt: skip
    if not (settings["norm_obs"] or settings["norm_reward"]):
        return None
    return {**settings, "gamma": float(gamma)}


@dataclass(frozen=True)
class ObsNormalization:
    """The statistics of a `VecNormalize`, as plain data (`ENTRY` of a model file).

    Attributes:
        norm_obs: Whether observations are normalised (False: only rewards were).
        mean: Running mean of each observation value (float64).
        var: Running variance of each observation value (float64).
        count: Observations the running statistics were built on.
        clip_obs: Normalised observations are clipped to ``[-clip_obs, clip_obs]``.
        epsilon: Added to the variance.
        norm_reward: Whether rewards were normalised in training.
        ret_mean, ret_var, ret_count: The discounted return's running statistics.
        clip_reward: Normalised rewards are clipped to ``[-clip_reward, clip_reward]``.
        gamma: The discount of the normalised return.
    """

    norm_obs: bool
    mean: np.ndarray
    var: np.ndarray
    count: float
    clip_obs: float
    epsilon: float
    norm_reward: bool
    ret_mean: float
    ret_var: float
    ret_count: float
    clip_reward: float
    gamma: float

    @classmethod
    def from_vec_normalize(cls, vn: Any) -> ObsNormalization:
        """A snapshot of ``vn``'s statistics (a `VecNormalize`; copied, not shared)."""
        return cls(
            norm_obs=bool(vn.norm_obs), mean=np.array(vn.obs_rms.mean, dtype=np.float64),
            var=np.array(vn.obs_rms.var, dtype=np.float64), count=float(vn.obs_rms.count),
            clip_obs=float(vn.clip_obs), epsilon=float(vn.epsilon),
            norm_reward=bool(vn.norm_reward), ret_mean=float(np.squeeze(vn.ret_rms.mean)),
            ret_var=float(np.squeeze(vn.ret_rms.var)), ret_count=float(vn.ret_rms.count),
            clip_reward=float(vn.clip_reward), gamma=float(vn.gamma),
        )  # fmt: skip

    def to_json(self) -> str:
        """The JSON text of `ENTRY` (float64 values round-trip exactly)."""
        data = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                for k, v in self.__dict__.items()}  # fmt: skip
        return json.dumps({"format": 1, **data}, indent=1)

    @classmethod
    def from_json(cls, text: str, where: str = ENTRY) -> ObsNormalization:
        """Parse `to_json`'s text; `ValueError` naming ``where`` if it is not that."""
        try:
            data = json.loads(text)
            data.pop("format")
            out = cls(**{k: (np.asarray(v, dtype=np.float64) if k in ("mean", "var") else v)
                         for k, v in data.items()})  # fmt: skip
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"{where}: not a tme normalisation record ({exc})") from None
        if out.mean.shape != out.var.shape or out.mean.ndim != 1 or not (
            np.isfinite(out.mean).all() and np.isfinite(out.var).all() and (out.var >= 0).all()
        ):  # fmt: skip
            raise ValueError(f"{where}: mean and var must be finite vectors of one shape, "
                             "var >= 0")  # fmt: skip
        return out

    def normalize(self, obs: np.ndarray) -> np.ndarray:
        """``obs`` as the model saw it in training (`VecNormalize.normalize_obs`, bit for bit)."""
        if not self.norm_obs:
            return obs
        obs = np.asarray(obs)
        if obs.shape[-1:] != self.mean.shape:
            raise ValueError(f"observation of shape {obs.shape}: the model's normalisation "
                             f"expects {self.mean.shape[0]} values per observation")  # fmt: skip
        z = (obs - self.mean) / np.sqrt(self.var + self.epsilon)
        return np.clip(z, -self.clip_obs, self.clip_obs).astype(np.float32)


class NormalizedModel:
    """A trained model whose ``predict`` normalises observations as its training did.

    Every other attribute (``policy``, ``observation_space``, ``action_space``, ``save``...)
    is the model's own. `tme_env.agents.loader.load_sb3_model` returns one for every model
    file that carries `ENTRY`.

    Args:
        model: The SB3 model.
        normalization: Its training statistics.
    """

    def __init__(self, model: Any, normalization: ObsNormalization) -> None:  # noqa: D107
        self.model = model
        self.normalization = normalization

    def predict(self, observation, state=None, episode_start=None, deterministic=False):  # noqa: ANN001, ANN201
        """SB3's ``predict`` on the normalised observation (same arguments and result)."""
        return self.model.predict(self.normalization.normalize(observation), state=state,
                                  episode_start=episode_start,
                                  deterministic=deterministic)  # fmt: skip

    def __getattr__(self, name: str) -> Any:
        """The model's own attribute."""
        return getattr(self.__dict__["model"], name)

    def __repr__(self) -> str:
        """``NormalizedModel(PPO)``."""
        return f"NormalizedModel({type(self.model).__name__})"


def read_normalization(path: str | Path) -> ObsNormalization | None:
    """The statistics stored in model file ``path`` (`ENTRY`), or None if it has none.

    Raises:
        ValueError: If the file is not a zip archive, or its entry is malformed.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            if ENTRY not in zf.namelist():
                return None
            text = zf.read(ENTRY).decode("utf-8")
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise ValueError(f"{str(path)!r}: cannot read its normalisation ({exc})") from None
    return ObsNormalization.from_json(text, f"{path}:{ENTRY}")


class _WithEntry:
    """A model whose ``save`` also writes the normalisation entry into the archive."""

    def __init__(self, model: Any, normalization: ObsNormalization) -> None:
        self.model, self.normalization = model, normalization

    def save(self, path: str | Path) -> None:
        self.model.save(path)
        with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(ENTRY, self.normalization.to_json())


def save_model(model: Any, path: str | Path, run_dir: str | Path | None = None) -> str:
    """Save a model atomically with its normalisation (if it trains on a `VecNormalize`).

    As `tme_env.io.atomic_save_model` (same arguments and result); the statistics of
    ``model.get_vec_normalize_env()`` at this moment go into the archive (`ENTRY`).
    """
    vn = model.get_vec_normalize_env() if hasattr(model, "get_vec_normalize_env") else None
    if vn is None:
        return atomic_save_model(model, path, run_dir)
    return atomic_save_model(_WithEntry(model, ObsNormalization.from_vec_normalize(vn)), path,
                             run_dir)  # fmt: skip


def current_policy(model: Any) -> Any:
    """What to evaluate of a training model: itself, or with its current statistics applied."""
    vn = model.get_vec_normalize_env() if hasattr(model, "get_vec_normalize_env") else None
    if vn is None or not vn.norm_obs:
        return model
    return NormalizedModel(model, ObsNormalization.from_vec_normalize(vn))


def restore_vec_normalize(vn: Any, normalization: ObsNormalization) -> None:
    """Put saved statistics back into ``vn`` (a fresh `VecNormalize`) to resume training.

    Raises:
        ValueError: If the observation sizes differ.
    """
    if vn.obs_rms.mean.shape != normalization.mean.shape:
        raise ValueError(f"the saved normalisation has {normalization.mean.shape[0]} values "
                         f"per observation; the env has {vn.obs_rms.mean.shape[0]}")  # fmt: skip
    vn.obs_rms.mean = normalization.mean.copy()
    vn.obs_rms.var = normalization.var.copy()
    vn.obs_rms.count = normalization.count
    vn.ret_rms.mean = np.float64(normalization.ret_mean)
    vn.ret_rms.var = np.float64(normalization.ret_var)
    vn.ret_rms.count = normalization.ret_count
