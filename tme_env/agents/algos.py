"""The algorithm table and the hyperparameters: what `train`, `loader` and `zoo` share.

* `ALGOS`: the algorithms ``tme train`` knows, `DISCRETE_ALGOS` those that need the discrete
  env, `algo_class` the SB3 (or sb3-contrib) class of each and `policy_name` its policy;
* `load_hyperparams`: the hyperparameters of a run, ``default`` < the env id's block of the
  package's ``hyperparams/<algo>.yml`` < a user file (``tme train --config FILE``), every key
  checked against the algorithm's constructor (`check_hyperparams`: a known key, of the
  constructor default's type, within `BOUNDS`, e.g. ``gamma`` in (0, 1]).

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
import math
from pathlib import Path
from typing import Any

import yaml

from tme_env.agents.normalize import normalize_settings
from tme_env.envs import ENV_IDS

__all__ = [
    "ALGOS",
    "BOUNDS",
    "DISCRETE_ALGOS",
    "HYPERPARAMS",
    "algo_class",
    "check_hyperparams",
    "load_hyperparams",
    "policy_name",
    "read_yaml",
]

#: The package's default hyperparameters, ``<algo>.yml`` each (package data).
HYPERPARAMS = Path(__file__).parent / "hyperparams"
#: Algorithms and the environments they can train on.
ALGOS = ("ppo", "a2c", "sac", "td3", "dqn", "recurrentppo", "tqc", "qrdqn")
#: The algorithms that train on the discrete env (``tme/TumorImmuneDiscrete-v2``).
DISCRETE_ALGOS = ("dqn", "qrdqn")
#: The algorithms of sb3-contrib: our name -> its class name.
CONTRIB = {"recurrentppo": "RecurrentPPO", "tqc": "TQC", "qrdqn": "QRDQN"}
#: Keys of the YAML blocks that are not constructor arguments: the number of envs, and
#: ``normalize`` (SB3's `VecNormalize` around the training envs, as rl_zoo3's key: ``true``
#: or a mapping; `tme_env.agents.normalize.normalize_settings`).
_EXTRA_KEYS = {"n_envs": int, "normalize": None}
#: Constructor arguments that ``tme train`` sets itself: not hyperparameters.
_SET_BY_TRAIN = ("self", "policy", "env", "seed", "device", "tensorboard_log", "verbose")
#: Numeric hyperparameters whose default is an int but that take any number.
_ANY_NUMBER = ("max_grad_norm",)
#: Bounds of the numeric hyperparameters: key -> (low, high, low included, high included);
#: None is no bound. A value outside is refused before anything runs.
BOUNDS: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "gamma": (0, 1, False, True),
    "gae_lambda": (0, 1, True, True),
    "tau": (0, 1, False, True),
    "exploration_fraction": (0, 1, True, True),
    "exploration_initial_eps": (0, 1, True, True),
    "exploration_final_eps": (0, 1, True, True),
    "learning_rate": (0, None, False, False),
    "clip_range": (0, None, False, False),
    "clip_range_vf": (0, None, False, False),
    "max_grad_norm": (0, None, False, False),
    "target_kl": (0, None, False, False),
    "rms_prop_eps": (0, None, False, False),
    "ent_coef": (0, None, True, False),
    "vf_coef": (0, None, True, False),
    "target_policy_noise": (0, None, True, False),
    "target_noise_clip": (0, None, True, False),
    "learning_starts": (0, None, True, False),
    **{k: (1, None, True, False) for k in ("n_envs", "n_steps", "batch_size", "n_epochs",
                                          "buffer_size", "train_freq", "target_update_interval",
                                          "policy_delay", "stats_window_size")},
}  # fmt: skip


def algo_class(algo: str) -> type:
    """The SB3 (or sb3-contrib) class of ``algo``, one of `ALGOS` (imports SB3)."""
    if algo in CONTRIB:
        import sb3_contrib  # deferred: sb3-contrib and torch are heavy

        return getattr(sb3_contrib, CONTRIB[algo])
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
        ValueError: On an unknown algorithm, an unreadable file (or one that is not UTF-8), an
            unknown key, a value of the wrong type or out of its bounds (`BOUNDS`); the message
            names the key and the file.
    """
    if algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; available: {', '.join(ALGOS)}")
    sources = [HYPERPARAMS / f"{algo}.yml"] + ([Path(config_file)] if config_file else [])
    resolved: dict[str, Any] = {}
    for path in sources:
        data = read_yaml(path, "config")
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
            check_hyperparams(algo, block, str(path))
            resolved.update(block)
    return resolved


def read_yaml(path: str | Path, what: str) -> Any:
    """The YAML document of ``path``; `ValueError` naming the file (and ``what`` it is) if not.

    Raises:
        ValueError: On a missing or unreadable file, text that is not UTF-8, or bad YAML.
    """
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start]
        raise ValueError(f"cannot read {what} {str(path)!r}: not UTF-8 text (byte {bad:#04x} "
                         f"at offset {exc.start})") from None  # fmt: skip
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read {what} {str(path)!r}: {exc}") from None


def check_hyperparams(algo: str, block: Any, source: str) -> None:
    """Check a mapping of ``algo``'s hyperparameters (a block of a config file).

    Args:
        algo: One of `ALGOS`.
        block: Hyperparameter -> value.
        source: Where the block comes from (the file), for the messages.

    Raises:
        ValueError: Naming ``source`` and the key: not a mapping, an unknown key or one that
            ``tme train`` sets itself, a value of the wrong type, not finite, or out of
            `BOUNDS`.
    """
    if not isinstance(block, dict):
        raise ValueError(f"{source}: a block must be a mapping, got {block!r}")
    sig = inspect.signature(algo_class(algo).__init__).parameters
    for key, value in block.items():
        _check_key(algo, sig, key, value, source)


def _check_key(algo: str, sig: dict, key: str, value: Any, path: str) -> None:
    if key == "normalize":
        normalize_settings(value, 0.99, f"{path}: hyperparameter 'normalize'")
        return
    if key in _EXTRA_KEYS:
        expected: type | None = _EXTRA_KEYS[key]
    elif key in sig and key not in _SET_BY_TRAIN and not str(key).startswith("_"):
        default = sig[key].default
        expected = type(default) if default not in (inspect.Parameter.empty, None) else None
    else:
        valid = sorted(k for k in sig if k not in _SET_BY_TRAIN
                       and not k.startswith("_")) + list(_EXTRA_KEYS)  # fmt: skip
        if key in _SET_BY_TRAIN:
            raise ValueError(f"{path}: {key!r} is set by tme train itself, not a hyperparameter")
        close = difflib.get_close_matches(str(key), valid, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"{path}: unknown {algo} hyperparameter {key!r}; {hint}valid: {', '.join(valid)}"
        )
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected in (int, float) and key in _ANY_NUMBER:
        expected = float
    if expected is float and number:
        pass
    elif expected is not None and expected in (int, float, bool, str) and (
        not isinstance(value, expected) or (expected is not bool and isinstance(value, bool))
    ):  # fmt: skip
        raise ValueError(
            f"{path}: hyperparameter {key!r} must be {expected.__name__}, got {value!r}"
        )
    if number:
        _check_bounds(key, value, path)


def _check_bounds(key: str, value: float, path: str) -> None:
    """A numeric hyperparameter is finite and within `BOUNDS`."""
    if not math.isfinite(value):
        raise ValueError(f"{path}: hyperparameter {key!r} must be finite, got {value!r}")
    if key not in BOUNDS:
        return
    low, high, low_in, high_in = BOUNDS[key]
    below = low is not None and (value < low or (value == low and not low_in))
    above = high is not None and (value > high or (value == high and not high_in))
    if below or above:
        if high is None:
            want = f"{'>=' if low_in else '>'} {low}"
        else:
            want = f"in {'[' if low_in else '('}{low}, {high}{']' if high_in else ')'}"
        raise ValueError(f"{path}: hyperparameter {key!r} must be {want}, got {value!r}")
