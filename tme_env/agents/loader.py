"""Load a trained Stable-Baselines3 model from its ``.zip`` (any supported algorithm).

A model trained by `tme_env.agents.train.train` sits in a run folder whose ``config.yml``
records the algorithm (``train.algo``): ``RUN/model.zip``, ``RUN/best_model.zip`` and
``RUN/checkpoints/*.zip`` load with that algorithm. Only a bare ``.zip`` (no run folder
around it) has its algorithm guessed from the archive.

**Trust.** SB3's own ``load`` unpickles parts of the archive (its ``data`` entry holds
cloudpickled objects), so a crafted file runs its own code. `load_sb3_model` therefore loads
without unpickling anything unless told the file is trusted:

* the weights (``policy.pth`` and the other ``.pth`` entries) with
  ``torch.load(weights_only=True)``, as SB3 does;
* the plain JSON fields of ``data`` (hyperparameters, ``policy_kwargs``), read with `json`;
* every cloudpickled field replaced by what the package knows it must be: the policy class
  of the algorithm (`tme_env.agents.algos.policy_name`; the archive must name that class),
  the observation and action spaces of the tme env the run folder records (a bare zip: the
  tme env whose spaces the archive describes), ``policy_kwargs`` classes from a short list
  (torch activations and optimisers, SB3's feature extractors), and the constructor's own
  values for the rest (schedules, buffers: training state that ``predict`` never reads).

The model is then rebuilt by SB3 from these (``custom_objects``), so ``predict`` gives the
same actions as a full load (`tests/test_trust.py` checks every algorithm). A file that
cannot be rebuilt this way is refused (`UntrustedModelError`, naming ``--trust-model``);
``trusted=True`` (``--trust-model``) does SB3's full load, which resuming training needs (the
optimiser and schedules; `require_trust`). The ``SHA256SUMS`` file of a run folder
(`tme_env.io.record_checksum`) detects a corrupted model, not a tampered one: whoever can
replace the model can rewrite the checksum beside it, so it plays no part in trust.
"""

from __future__ import annotations

import functools
import json
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from tme_env.agents.algos import ALGOS, algo_class, policy_name
from tme_env.agents.normalize import NormalizedModel, read_normalization
from tme_env.envs import ENV_IDS, spaces_of

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm

__all__ = [
    "TRUST_HINT",
    "UntrustedModelError",
    "load_sb3_model",
    "model_algo",
    "model_info",
    "recorded_algo",
    "recorded_train",
    "require_trust",
]

#: What a refusal tells the user (the CLI flag and the Python argument).
TRUST_HINT = (
    "if you trust the file, pass --trust-model (Python: trusted=True) for SB3's full load, "
    "which unpickles it and runs any code inside it"
)


class UntrustedModelError(ValueError):
    """A model file was refused: only a full (unpickling) load could use it, and it is untrusted."""


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
        ("Box" or "Discrete", or None), "normalized" (it carries normalisation statistics,
        `tme_env.agents.normalize`)}``.

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
        "normalized": read_normalization(path) is not None,
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


def require_trust(path: str | Path, trusted: bool, purpose: str) -> None:
    """Refuse a full SB3 load of ``path`` (it unpickles the file) unless ``trusted``.

    Args:
        path: The model file.
        trusted: The caller's ``--trust-model`` / ``trusted=True``.
        purpose: What needs the full load, for the message (``"resuming training"``).

    Raises:
        UntrustedModelError: If not ``trusted``; the message names the file and the flag.
    """
    if not trusted:
        raise UntrustedModelError(f"{str(path)!r}: {purpose} needs SB3's full load of the "
                                  f"model; {TRUST_HINT}")  # fmt: skip


def load_sb3_model(path: str | Path, trusted: bool = False) -> BaseAlgorithm:
    """Load ``path`` with its run's algorithm (PPO, A2C, SAC, TD3, DQN, RecurrentPPO).

    The algorithm is the one the run folder's ``config.yml`` records (`recorded_algo`); a
    bare zip's is guessed from the archive. Without ``trusted`` nothing is unpickled (see the
    module docstring): the model predicts as a full load's would, but its schedules and
    buffers are the constructor's, so train only a trusted, fully loaded model.

    A model trained on normalised observations (its archive carries the statistics,
    `tme_env.agents.normalize.ENTRY`) comes back as a
    `tme_env.agents.normalize.NormalizedModel`: its ``predict`` normalises the observation
    as training did, and every other attribute is the model's.

    Args:
        path: The model ``.zip``.
        trusted: Do SB3's full load (``--trust-model``): it unpickles the file, which runs
            any code inside it. Only for files you trust.

    Raises:
        UntrustedModelError: If not ``trusted`` and the file cannot be rebuilt without
            unpickling it (the message says why and names ``--trust-model``).
        ValueError: If the file is missing or not an SB3 model archive, or a bare zip's
            algorithm cannot be recognised.
    """
    path = str(path)
    data = _archive_data(path)  # a clean error for a missing file or a non-archive
    algo = model_algo(path)
    normalization = read_normalization(path)
    if trusted:
        model = algo_class(algo).load(path, device="cpu")
    else:
        model = _load_without_pickle(path, algo, data)
    if normalization is not None and normalization.norm_obs:
        return NormalizedModel(model, normalization)  # type: ignore[return-value]
    return model


def _refusal(path: str, reason: str) -> UntrustedModelError:
    return UntrustedModelError(f"{path!r} cannot be loaded without unpickling it: {reason}; "
                               f"{TRUST_HINT}")  # fmt: skip


def _is_pickled(value: Any) -> bool:
    """Whether a ``data`` field is one SB3 serialised with cloudpickle."""
    return isinstance(value, dict) and ":serialized:" in value


def _load_without_pickle(path: str, algo: str, data: str) -> BaseAlgorithm:
    """SB3's load of ``path`` with every cloudpickled field replaced (module docstring)."""
    try:
        fields = json.loads(data)
    except ValueError as exc:
        raise _refusal(path, f"its data entry is not JSON ({exc})") from None
    if not isinstance(fields, dict):
        raise _refusal(path, "its data entry is not a JSON object")
    cls = algo_class(algo)
    policy = cls.policy_aliases[policy_name(algo)]
    problem = _policy_class_problem(fields.get("policy_class"), policy)
    if problem:
        raise _refusal(path, problem)
    obs_space, act_space = _spaces(path, fields)
    fresh = cls(policy=policy, env=None, device="cpu", _init_setup_model=False)
    # Every pickled field gets a value of ours (SB3 then never unpickles it): the fresh
    # constructor's (its instance dict: no property code runs), else None. `env` too, even as
    # plain JSON: SB3 would pass a string to gym.make, which imports the module it names.
    custom = {k: vars(fresh).get(k) for k, v in fields.items() if _is_pickled(v)}
    custom.update(policy_class=policy, observation_space=obs_space, action_space=act_space,
                  env=None, device=fresh.device)  # fmt: skip
    if custom.get("target_entropy") == "auto":  # TQC computes it from self.env (None here)
        custom["target_entropy"] = -float(np.prod(act_space.shape))  # its "auto" value
    if _is_pickled(fields.get("policy_kwargs")):
        custom["policy_kwargs"] = _policy_kwargs(path, fields["policy_kwargs"])
    try:
        return cls.load(path, device="cpu", custom_objects=custom)
    except Exception as exc:  # noqa: BLE001 - a foreign file can fail anywhere inside SB3
        what = f"{type(exc).__name__}: {exc}"
        raise _refusal(path, f"SB3 cannot rebuild it from its weights and JSON ({what})") from None


def _policy_class_problem(desc: Any, expected: type) -> str | None:
    """Why the archive's policy class is not ``expected`` (the algorithm's), or None.

    The archive names the class's module and, for each method it defines, its qualified
    name (``<function ActorCriticPolicy.forward at 0x...>``).
    """
    want = f"{expected.__module__}.{expected.__qualname__}"
    if not _is_pickled(desc):
        return f"its policy_class is not recorded (expected {want})"
    methods = set(re.findall(r"<function ([\w.]+)\.\w+ at 0x", " ".join(map(str, desc.values()))))
    if desc.get("__module__") != expected.__module__ or methods != {expected.__qualname__}:
        found = f"{desc.get('__module__')}.{'/'.join(sorted(methods)) or '?'}"
        return f"its policy class is {found}, not {want} (the only one a safe load builds)"
    return None


def _json_value(value: Any) -> Any:
    """``value`` as SB3's ``data_to_json`` records an attribute: itself if JSON, else ``str``."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return str(value)


def _describes(desc: Any, space: Any) -> bool:
    """Whether the archive's record ``desc`` of a space is exactly ``space``'s record."""
    if not _is_pickled(desc) or desc.get(":type:") != str(type(space)):
        return False
    skip = (":type:", ":serialized:", "_np_random")
    want = {k: v for k, v in desc.items() if k not in skip}
    have = {k: _json_value(v) for k, v in vars(space).items() if k not in skip}
    return want == have


def _spaces(path: str, fields: dict[str, Any]) -> tuple[Any, Any]:
    """The spaces of the tme env the model was trained on: its run's, or the matching one."""
    recorded = recorded_train(path).get("env_id")
    if recorded is not None and recorded not in ENV_IDS:
        raise _refusal(path, f"its run folder records an unknown env {recorded!r}")
    for env_id in [recorded] if recorded else list(ENV_IDS):
        obs_space, act_space = spaces_of(env_id)
        if (_describes(fields.get("observation_space"), obs_space)
                and _describes(fields.get("action_space"), act_space)):  # fmt: skip
            return obs_space, act_space  # copies: each model its own (`spaces_of`)
    where = (f"those of {recorded}, the env its run folder records" if recorded
             else f"those of any tme env ({', '.join(ENV_IDS)})")  # fmt: skip
    raise _refusal(path, f"its observation and action spaces are not {where}")


@functools.cache
def _known_classes() -> dict[str, type]:
    """The classes a safe load puts in ``policy_kwargs``, by the ``str`` SB3 records."""
    import torch  # deferred: torch is heavy (tme --help stays fast)
    from stable_baselines3.common import torch_layers  # deferred: stable-baselines3 is heavy
    from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike  # deferred: SB3

    def subclasses(namespace: Any, base: type) -> list[type]:
        return [c for c in vars(namespace).values() if isinstance(c, type) and issubclass(c, base)]

    classes = [
        *subclasses(torch.nn.modules.activation, torch.nn.Module),  # activation_fn
        torch.nn.Identity,
        *subclasses(torch.optim, torch.optim.Optimizer),  # optimizer_class
        RMSpropTFLike,
        torch_layers.FlattenExtractor,  # features_extractor_class
    ]
    return {str(c): c for c in classes}


def _policy_kwargs(path: str, desc: dict[str, Any]) -> dict[str, Any]:
    """``policy_kwargs`` from its JSON record, each class named in it from `_known_classes`."""
    if desc.get(":type:") != str(dict):
        raise _refusal(path, f"its policy_kwargs are a {desc.get(':type:')}, not a dict")
    known = _known_classes()
    out: dict[str, Any] = {}
    for key, value in desc.items():
        if key in (":type:", ":serialized:"):
            continue
        if isinstance(value, str):  # not JSON in the original: a class, or something unknown
            if value not in known:
                raise _refusal(path, f"its policy_kwargs {key}={value} is not a torch "
                                     "activation, optimiser or SB3 feature extractor")  # fmt: skip
            value = known[value]
        out[key] = value
    return out


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
    for name in ("tqc", "qrdqn"):
        if f"sb3_contrib.{name}." in data:
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
