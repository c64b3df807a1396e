"""Load a trained Stable-Baselines3 model from its ``.zip`` (any supported algorithm).

A model trained by `tme_env.agents.train.train` sits in a run folder whose ``config.yml``
records the algorithm (``train.algo``): ``RUN/model.zip``, ``RUN/best_model.zip`` and
``RUN/checkpoints/*.zip`` load with that algorithm. Only a bare ``.zip`` (no run folder
around it) has its algorithm guessed from the archive. Loading a model runs pickle: load only
files you trust.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from tme_env.agents.train import ALGOS, algo_class

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm

__all__ = ["load_sb3_model", "recorded_algo"]


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


def load_sb3_model(path: str | Path) -> BaseAlgorithm:
    """Load ``path`` with its run's algorithm (PPO, A2C, SAC, TD3, DQN, RecurrentPPO).

    The algorithm is the one the run folder's ``config.yml`` records (`recorded_algo`); a
    bare zip's is guessed from the archive.

    Raises:
        ValueError: If the file is not an SB3 model archive, or a bare zip's algorithm cannot
            be recognised.
    """
    path = str(path)
    data = _archive_data(path)
    algo = recorded_algo(path) or _guess_algo(path, data)
    return algo_class(algo).load(path, device="cpu")


def _archive_data(path: str) -> str:
    """The ``data`` member of an SB3 model zip (its JSON-serialised attributes)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.read("data").decode()
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
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
