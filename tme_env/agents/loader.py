"""Load a trained Stable-Baselines3 model from its ``.zip`` (any supported algorithm).

A model trained by `tme_env.agents.train.train` sits in a run folder whose ``config.yml``
records the algorithm (``train.algo``): ``RUN/model.zip``, ``RUN/best_model.zip`` and
``RUN/checkpoints/*.zip`` load with that algorithm. Only a bare ``.zip`` (no run folder
around it) has its algorithm guessed from the archive.

**Trust.** Loading a model runs pickle: a crafted file runs its own code. `load_sb3_model`
therefore warns (`ModelTrustWarning`, one line, before anything is unpickled) unless told the
file is trusted, and says whether the file's SHA-256 is one that a tme run recorded when it
wrote the model (``RUN/SHA256SUMS``, `tme_env.io.record_checksum`).
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tme_env.agents.algos import ALGOS, algo_class
from tme_env.io import find_checksum

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm

__all__ = [
    "ModelTrustWarning",
    "load_sb3_model",
    "model_algo",
    "model_info",
    "recorded_algo",
    "recorded_train",
    "warn_before_loading",
]


class ModelTrustWarning(UserWarning):
    """A model file is about to be unpickled (it can run code): load only files you trust."""


def recorded_algo(path: str | Path) -> str | None:
    """The algorithm the run folder of model ``path`` records, or None for a bare zip.

    The run folder is the zip's folder, or its parent for a zip in ``checkpoints/``; it is a
    run folder when its ``config.yml`` is a mapping with a ``train.algo`` entry.

    Raises:
        ValueError: If ``config.yml`` cannot be read or names an unknown algorithm.
    """
    folder = Path(path).resolve().parent
    candidates = [folder] + ([folder.parent] if folder.name == "checkpoints" else [])
    for run in candidates:
        config = run / "config.yml"
        if not config.is_file():
            continue
        try:
            data = yaml.safe_load(config.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"cannot read run config {str(config)!r}: {exc}") from None
        train = data.get("train") if isinstance(data, dict) else None
        algo = train.get("algo") if isinstance(train, dict) else None
        if algo is None:
            continue
        if algo not in ALGOS:
            raise ValueError(f"{config}: unknown algorithm {algo!r}; available: {', '.join(ALGOS)}")
        return str(algo)
    return None


def model_algo(path: str | Path) -> str:
    """The algorithm of model ``path``: its run folder's record, or guessed from the archive.

    Raises:
        ValueError: If the file is missing or not an SB3 model archive, or a bare zip's
            algorithm cannot be recognised.
    """
    return recorded_algo(path) or _guess_algo(str(path), _archive_data(str(path)))


def model_info(path: str | Path) -> dict[str, Any]:
    """What a model archive says about itself, read without unpickling anything.

    Returns:
        ``{"algo", "env_id" (from the run folder, or None), "blind" (the observation fields
        the run blinded, `tme_env.agents.blind`), "observation_shape", "action_space"
        ("Box" or "Discrete", or None)}``.

    Raises:
        ValueError: As `model_algo`.
    """
    data = _archive_data(str(path))
    try:
        fields = json.loads(data)
    except ValueError:
        fields = {}
    obs = fields.get("observation_space") if isinstance(fields, dict) else None
    act = fields.get("action_space") if isinstance(fields, dict) else None
    shape = obs.get("_shape") if isinstance(obs, dict) else None
    kind = act.get(":type:", "") if isinstance(act, dict) else ""
    train = recorded_train(path)
    return {
        "algo": recorded_algo(path) or _guess_algo(str(path), data),
        "env_id": train.get("env_id"),
        "blind": list(train.get("blind") or []),
        "observation_shape": tuple(shape) if isinstance(shape, list) else None,
        "action_space": "Discrete" if "Discrete" in kind else ("Box" if "Box" in kind else None),
    }


def recorded_train(path: str | Path) -> dict[str, Any]:
    """The ``train`` block of the ``config.yml`` of the run a model file belongs to ({} if none).

    The run folder is the file's own, or its parent for a checkpoint in ``checkpoints/``.
    """
    folder = Path(path).resolve().parent
    for run in [folder] + ([folder.parent] if folder.name == "checkpoints" else []):
        try:
            data = yaml.safe_load((run / "config.yml").read_text())
        except (OSError, yaml.YAMLError):
            continue
        train = data.get("train") if isinstance(data, dict) else None
        if isinstance(train, dict):
            return train
    return {}


def warn_before_loading(path: str | Path, trusted: bool = False) -> None:
    """Warn (`ModelTrustWarning`) that loading ``path`` runs its pickled code, unless trusted.

    The warning says whether the file's SHA-256 is recorded by a tme run folder.
    """
    if trusted:
        return
    digest, record = find_checksum(path)
    where = (
        f"its SHA-256 matches {record}" if record is not None
        else f"its SHA-256 {digest[:16]}... matches no model a tme run recorded"
    )  # fmt: skip
    warnings.warn(
        f"loading {str(path)!r} runs the pickled code inside it; load only files you trust "
        f"({where}; --trust-model skips this warning)",
        ModelTrustWarning,
        stacklevel=2,
    )


def load_sb3_model(path: str | Path, trusted: bool = False) -> BaseAlgorithm:
    """Load ``path`` with its run's algorithm (PPO, A2C, SAC, TD3, DQN, RecurrentPPO).

    The algorithm is the one the run folder's ``config.yml`` records (`recorded_algo`); a
    bare zip's is guessed from the archive. Unless ``trusted``, `warn_before_loading` warns
    first.

    Raises:
        ValueError: If the file is missing or not an SB3 model archive, or a bare zip's
            algorithm cannot be recognised.
    """
    path = str(path)
    _archive_data(path)  # a clean error for a missing file or a non-archive, recorded or not
    algo = model_algo(path)
    warn_before_loading(path, trusted)
    return algo_class(algo).load(path, device="cpu")


def _archive_data(path: str) -> str:
    """The ``data`` member of an SB3 model zip (its JSON-serialised attributes)."""
    if not Path(path).is_file():
        raise ValueError(f"{path!r}: file not found")
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.read("data").decode()
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise ValueError(f"{path!r} is not a stable-baselines3 model archive: {exc}") from None


def _guess_algo(path: str, data: str) -> str:
    """The algorithm of a bare model zip, from the class names and settings stored in it."""
    # Off-policy algorithms store their own policy classes; PPO and A2C share
    # ActorCriticPolicy and differ by their hyperparameters (clip_range vs RMSprop).
    for name in ("sac", "td3", "dqn"):
        if f"stable_baselines3.{name}." in data:
            return name
    if "sb3_contrib" in data:
        return "recurrentppo"
    if '"clip_range"' in data:
        return "ppo"
    if "RMSprop" in data:
        return "a2c"
    raise ValueError(
        f"{path!r}: unknown algorithm; supported: PPO, A2C, SAC, TD3, DQN, RecurrentPPO"
    )
