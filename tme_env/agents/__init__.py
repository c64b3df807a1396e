"""Stable-Baselines3 agents on the tme environments (`tme train`, `tme evaluate`, `tme quickstart`).

Modules (each imports stable-baselines3 and torch; this package itself does not, so
``import tme_env`` stays light):

* `tme_env.agents.vec_env`: the SB3 ``VecEnv`` over the batched vector env
  (`make_sb3_vec_env`, re-exported as ``tme_env.make_sb3_vec_env``);
* `tme_env.agents.train`: `TrainConfig` and ``train``, the run folder, TensorBoard and the
  hyperparameters of ``hyperparams/<algo>.yml``;
* `tme_env.agents.callbacks`: clinical evaluation on the validation split, progress bar and
  `DiscreteDoses` (a DQN as a dose policy);
* `tme_env.agents.loader`: `load_sb3_model`, which loads a trained ``.zip`` with the
  algorithm its run folder's ``config.yml`` records.

The two functions below are the package's entry points; they import their module on first
call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm

    from tme_env.agents.vec_env import TumorImmuneSB3VecEnv

__all__ = ["load_sb3_model", "make_sb3_vec_env"]


def make_sb3_vec_env(
    env_id: str, n_envs: int, seed: int | None = None, **env_kwargs: Any
) -> TumorImmuneSB3VecEnv:
    """Build the SB3 ``VecEnv`` of a registered id (see `tme_env.agents.vec_env`).

    Imported lazily: stable-baselines3 (and torch) load only when this is called.

    Args:
        env_id: A registered ``tme/`` id.
        n_envs: Number of parallel environments.
        seed: Seed of the first reset (sub-env ``i`` gets ``seed + i``); None for entropy.
        **env_kwargs: Keyword arguments of the environment (override the id's own).
    """
    from tme_env.agents.vec_env import make_sb3_vec_env as make

    return make(env_id, n_envs, seed=seed, **env_kwargs)


def load_sb3_model(path: str, trusted: bool = False) -> BaseAlgorithm:
    """Load a trained SB3 model ``.zip`` (see `tme_env.agents.loader.load_sb3_model`).

    Loading runs pickle: unless ``trusted``, a `tme_env.agents.loader.ModelTrustWarning`
    comes first. Imported lazily: stable-baselines3 (and torch) load only when this is called.
    """
    from tme_env.agents.loader import load_sb3_model as load

    return load(path, trusted=trusted)
