"""Stable-Baselines3 agents on the tme environments (`tme train`, `tme evaluate`, `tme quickstart`).

Modules (``import tme_env.agents`` loads neither stable-baselines3 nor torch; the modules
marked SB3 do):

* `tme_env.agents.algos`: the algorithm table (`ALGOS`, ``algo_class``) and the
  hyperparameter loading (``load_hyperparams``: the package's ``hyperparams/<algo>.yml``,
  overridden by a ``tme train --config`` file);
* `tme_env.agents.vec_env` (SB3): the SB3 ``VecEnv`` over the batched vector env
  (`make_sb3_vec_env`);
* `tme_env.agents.train` (SB3): `TrainConfig` and ``train``, the run folder, TensorBoard,
  Ctrl-C (``TrainingInterrupted``: the model and a checkpoint saved first);
* `tme_env.agents.resume`: the file ``--resume`` continues from (a run folder's latest
  checkpoint) and the resumed run folder cut back to its step;
* `tme_env.agents.callbacks` (SB3): clinical evaluation on the validation split, progress bar
  and `DiscreteDoses` (a DQN as a dose policy);
* `tme_env.agents.blind` (SB3): blinded observation fields (the value-of-information ablation);
* `tme_env.agents.loader`: `load_sb3_model`, which loads a trained ``.zip`` with the
  algorithm its run folder's ``config.yml`` records, without unpickling anything unless
  ``trusted``;
* `tme_env.agents.zoo`: our hyperparameters in rl_zoo3's format;
* `tme_env.agents.normalize`: observation normalisation stored inside the model file and
  applied by every loader (`NormalizedModel`);
* `tme_env.agents.cycle` (SB3): the per-cycle training variant (one decision per 21-day
  cycle), scored on the weekly task;
* `tme_env.agents.agent`: a model or a published agent folder (``agents/<name>/``) as the
  benchmark scores it (`load_agent`, `load_policy`).

The package ships only the default hyperparameters; the tuned and rl_zoo3-format files are
published in the repository's top-level ``agents/`` folder (see its README).

Importing the package hides the legacy ``gym`` package's import banner (`hide_gym_notice`),
which stable-baselines3 would otherwise print once the ``offline`` extra has installed gym.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tme_env.agents.agent import load_agent, load_policy
from tme_env.agents.loader import load_sb3_model

if TYPE_CHECKING:
    from tme_env.agents.vec_env import TumorImmuneSB3VecEnv

__all__ = ["hide_gym_notice", "load_agent", "load_policy", "load_sb3_model", "make_sb3_vec_env"]


def hide_gym_notice() -> None:
    """Keep the legacy ``gym`` package's "unmaintained" banner off stderr.

    d3rlpy (the ``offline`` extra) installs gym 0.26.2, and stable-baselines3 and d3rlpy
    import it when it is there. On import, gym prints a 4-line notice from the
    ``gym_notices`` table with ``print`` (not a warning, so no warning filter can hide it),
    at every ``tme`` command that loads SB3. Emptying that table before gym is imported
    hides exactly this notice: no warning and no other output is touched. Without
    ``gym_notices`` (gym not installed) there is nothing to do; after gym's import, nothing
    left to hide.
    """
    try:
        from gym_notices import notices  # the table gym reads its banner from
    except ImportError:
        return
    table = getattr(notices, "notices", None)
    if isinstance(table, dict):
        table.clear()


hide_gym_notice()  # before any module of this package imports stable-baselines3


def make_sb3_vec_env(
    env_id: str, n_envs: int, seed: int | None = None, **env_kwargs: Any
) -> TumorImmuneSB3VecEnv:
    """Build the SB3 ``VecEnv`` of a registered id (see `tme_env.agents.vec_env`).

    >>> from tme_env.agents import make_sb3_vec_env
    >>> venv = make_sb3_vec_env("tme/TumorImmune-v2", n_envs=8, seed=0)
    >>> venv.reset().shape[0]
    8

    Args:
        env_id: A registered ``tme/`` id.
        n_envs: Number of parallel environments.
        seed: Seed of the first reset (sub-env ``i`` gets ``seed + i``); None for entropy.
        **env_kwargs: Keyword arguments of the environment (override the id's own).
    """
    from tme_env.agents.vec_env import make_sb3_vec_env as make  # deferred: imports SB3, torch

    return make(env_id, n_envs, seed=seed, **env_kwargs)
