"""The algorithm table and the hyperparameters: what `train`, `loader` and `zoo` share.

* `ALGOS`: the algorithms ``tme train`` knows, `DISCRETE_ALGOS` those that need the discrete
  env, `algo_class` the SB3 (or sb3-contrib) class of each and `policy_name` its policy;
* `load_hyperparams`: the hyperparameters of a run, ``default`` < the env id's block of the
  package's ``hyperparams/<algo>.yml`` < a user file (``tme train --config FILE``), every key
  checked against the algorithm's constructor.

The package ships only its default hyperparameters (`HYPERPARAMS`, package data), so
``pip install tme_env`` and ``tme train`` need no repository. The tuned and the rl_zoo3-format
files are published in the repository's top-level ``agents/hyperparams/`` folder (data, not a
package); they are used by giving their path (``tme train --config
agents/hyperparams/tuned/ppo-full.yml``), never looked up by name.

This module imports stable-baselines3 only when a class is asked for (`algo_class`,
`load_hyperparams`), so ``tme sweep`` and the model loader can check an algorithm's name
without loading torch.
"""

from __future__ import annotations

import difflib
import inspect
from pathlib import Path
from typing import Any

import yaml

from tme_env.envs import ENV_IDS

__all__ = [
    "ALGOS",
    "DISCRETE_ALGOS",
    "HYPERPARAMS",
    "algo_class",
    "load_hyperparams",
    "policy_name",
]

#: The package's default hyperparameters, ``<algo>.yml`` each (package data).
HYPERPARAMS = Path(__file__).parent / "hyperparams"
#: Algorithms and the environments they can train on.
ALGOS = ("ppo", "a2c", "sac", "td3", "dqn", "recurrentppo")
#: The algorithms that train on the discrete env (``tme/TumorImmuneDiscrete-v1``).
DISCRETE_ALGOS = ("dqn",)
#: Keys of the YAML blocks that are not constructor arguments.
_EXTRA_KEYS = {"n_envs": int}


def algo_class(algo: str) -> type:
    """The SB3 (or sb3-contrib) class of ``algo``, one of `ALGOS` (imports SB3)."""
    if algo == "recurrentppo":
        from sb3_contrib import RecurrentPPO  # deferred: sb3-contrib and torch are heavy

        return RecurrentPPO
    import stable_baselines3 as sb3  # deferred: stable-baselines3 and torch are heavy

    return getattr(sb3, algo.upper())


def policy_name(algo: str) -> str:
    """The SB3 policy ``algo`` trains (an LSTM for RecurrentPPO, an MLP for the others)."""
    return "MlpLstmPolicy" if algo == "recurrentppo" else "MlpPolicy"


def load_hyperparams(algo: str, env_id: str, config_file: str | None = None) -> dict[str, Any]:
    """Resolve hyperparameters: ``default`` < the env id's block < the user's file.

    The package's ``hyperparams/<algo>.yml`` gives the first two; ``config_file`` (same
    format: a ``default`` block and blocks per env id) overrides them.

    Raises:
        ValueError: On an unknown algorithm, an unknown key or a value of the wrong type (the
            message names the key and the file).
    """
    if algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; available: {', '.join(ALGOS)}")
    sources = [HYPERPARAMS / f"{algo}.yml"] + ([Path(config_file)] if config_file else [])
    resolved: dict[str, Any] = {}
    cls = algo_class(algo)
    sig = inspect.signature(cls.__init__).parameters
    for path in sources:
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"cannot read config {str(path)!r}: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of env id to hyperparameters")
        for top in data:
            if top != "default" and top not in ENV_IDS:
                raise ValueError(
                    f"{path}: unknown block {top!r}; blocks are 'default' or an env id "
                    f"({', '.join(ENV_IDS)})"
                )
        blocks = [data.get("default") or {}, data.get(env_id) or {}]
        for block in blocks:
            if not isinstance(block, dict):
                raise ValueError(f"{path}: a block must be a mapping, got {block!r}")
            for key, value in block.items():
                _check_key(algo, sig, key, value, path)
                resolved[key] = value
    return resolved


def _check_key(algo: str, sig: dict, key: str, value: Any, path: Path) -> None:
    if key in _EXTRA_KEYS:
        expected: type | None = _EXTRA_KEYS[key]
    elif key in sig and key not in ("self", "policy", "env"):
        default = sig[key].default
        expected = type(default) if default not in (inspect.Parameter.empty, None) else None
    else:
        valid = sorted(k for k in sig if k not in ("self", "policy", "env")
                       and not k.startswith("_")) + list(_EXTRA_KEYS)  # fmt: skip
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"{path}: unknown {algo} hyperparameter {key!r}; {hint}valid: {', '.join(valid)}"
        )
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if (
        expected is not None
        and expected in (int, float, bool, str)
        and not isinstance(value, expected)
    ):
        raise ValueError(
            f"{path}: hyperparameter {key!r} must be {expected.__name__}, got {value!r}"
        )
