"""Policy resolution: a ``--policy`` spec of ``tme benchmark`` -> a checked policy object.

**Policy specs** (`resolve_policy`), each optionally ``NAME=SPEC`` (specs with the same name
are the seeds of one submission; without a name, a regimen is named after itself, a model
after its algorithm, ``module:attr`` after ``attr``):

* a standard regimen name (`tme_env.regimens.available`);
* an agent folder (``agents/<name>``, `tme_env.agents.agent`): every seed, one submission
  named after the agent (`run_benchmark` expands it; alone, `resolve_policy` takes its first
  seed), or a seed or run folder (its ``model.zip``);
* a path to an SB3 ``.zip`` (any algorithm; `tme_env.agents.load_sb3_model`, which unpickles
  nothing unless ``trusted``: it reads the weights and the JSON fields, and refuses a file
  it cannot rebuild from them), scored as its run recorded (`tme_env.agents.scoring_policy`:
  its observation normalisation, a discrete model's dose levels, a per-cycle model's weekly
  schedule, the blinded fields);
* ``package.module:attr`` (``attr`` may be dotted): an object with SB3's ``predict``; a class
  is instantiated without arguments. Importing the module runs its code, as any Python
  import does, and ``trusted`` does not guard it: name only code you trust.

**Space checks.** A policy is refused (`ValueError` naming the spec and both spaces) when its
``observation_space`` or ``action_space`` (an SB3 model's, or any object's that has them)
differs from the task's (`check_spaces`), and when a probe call of ``predict`` on two reset
observations of the validation split (``episode_start`` all True) fails or returns actions
that are not finite with shape ``(2, 3)`` (`probe`).
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from tme_env import regimens
from tme_env.agents.agent import AgentFolder, is_agent_folder, model_path, scoring_policy
from tme_env.agents.loader import load_sb3_model, model_info, recorded_train
from tme_env.benchmark.protocol import BENCHMARK_ENV_IDS, SUBMISSION_NAME
from tme_env.envs import ENV_IDS, spaces_of
from tme_env.envs.vector import TumorImmuneVectorEnv

__all__ = ["check_spaces", "expand_spec", "probe", "resolve_policy", "split_spec"]


def check_spaces(spec: str, policy: Any, env_id: str) -> None:
    """Refuse a policy whose declared spaces differ from the task's (see the module docstring)."""
    obs_space, act_space = spaces_of(env_id)
    declared_obs = getattr(policy, "observation_space", None)
    declared_act = getattr(policy, "action_space", None)
    if isinstance(declared_act, spaces.Discrete):  # a DQN of the discrete variant
        act_space = spaces_of("tme/TumorImmuneDiscrete-v2")[1]
    if declared_obs is not None and declared_obs != obs_space:
        raise ValueError(
            f"--policy {spec!r}: its observation space {declared_obs} does not match "
            f"{env_id}'s {obs_space}; score it on the task it was trained on"
        )
    if declared_act is not None and declared_act != act_space:
        raise ValueError(
            f"--policy {spec!r}: its action space {declared_act} does not match {env_id}'s "
            f"{act_space} (doses as fractions of the maximum; a policy trained under "
            "RescaleAction must map its actions back)"
        )


def probe(spec: str, policy: Any, env_id: str) -> None:
    """Call ``predict`` once on two reset observations; refuse what the trial could not use."""
    venv = TumorImmuneVectorEnv(num_envs=2, **ENV_IDS[env_id], split="validation", cohort_size=2)
    obs, _ = venv.reset(seed=[0, 1], options={"patients": [0, 1]})
    try:
        bind = getattr(policy, "bind_env", None)
        if bind is not None:  # reads the env's true state (an oracle reference)
            bind(venv)
        action, _state = policy.predict(obs, state=None, episode_start=np.ones(2, dtype=bool),
                                        deterministic=True)  # fmt: skip
        action = np.asarray(action, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any failure of foreign code is the same refusal
        raise ValueError(
            f"--policy {spec!r}: predict() failed on {env_id} observations of shape "
            f"{obs.shape}: {type(exc).__name__}: {exc}"
        ) from None
    if action.shape != (2, 3) or not np.isfinite(action).all():
        raise ValueError(
            f"--policy {spec!r}: predict() on a batch of 2 {env_id} observations returned "
            f"actions of shape {action.shape} (need finite actions of shape (2, 3))"
        )


def _import_object(spec: str) -> tuple[str, Any]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"--policy {spec!r}: a Python object must look like module:attr")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"--policy {spec!r}: cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"--policy {spec!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if inspect.isclass(obj):
        try:
            obj = obj()
        except TypeError as exc:
            raise ValueError(
                f"--policy {spec!r}: the class cannot be built without arguments ({exc}); "
                "point at an instance instead"
            ) from None
    if not callable(getattr(obj, "predict", None)):
        raise ValueError(f"--policy {spec!r}: {attr!r} has no predict() method")
    return attr.split(".")[-1], obj


def split_spec(spec: str) -> tuple[str, str]:
    """``"NAME=SPEC"`` -> ``(NAME, SPEC)``; a spec without a valid name -> ``("", spec)``."""
    name, sep, target = spec.partition("=")
    return (name, target) if sep and SUBMISSION_NAME.match(name) else ("", spec)


def expand_spec(spec: str) -> list[str]:
    """``[NAME=]FOLDER`` of an agent folder -> one ``NAME=MODEL`` spec per seed; else ``[spec]``.

    The name defaults to the agent's (`AgentFolder.name`).
    """
    name, target = split_spec(spec)
    if not target or not is_agent_folder(target):
        return [spec]
    folder = AgentFolder(Path(target))
    return [f"{name or folder.name}={m}" for m in folder.models]


def resolve_policy(spec: str, env_id: str, trusted: bool = False) -> tuple[str, Any]:
    """Build the policy of one spec (see the module docstring) and check it against the task.

    Args:
        spec: ``[NAME=]REGIMEN``, ``[NAME=]PATH.zip`` or ``[NAME=]module:attr``.
        env_id: A task of `BENCHMARK_ENV_IDS`.
        trusted: Load a model file fully with SB3, which unpickles it (runs any code in it).

    Returns:
        ``(submission name, policy)``.

    Raises:
        ValueError: On an unknown task, a spec that names nothing loadable, or a policy whose
            spaces do not match the task (each message names the spec).
    """
    if env_id not in BENCHMARK_ENV_IDS:
        raise ValueError(f"--env: {env_id!r} is not a benchmark task; valid: "
                         f"{', '.join(BENCHMARK_ENV_IDS)}")  # fmt: skip
    name, target = split_spec(spec)
    if target in regimens.available():
        policy: Any = regimens.get(target, observation=BENCHMARK_ENV_IDS[env_id])
        default = target
    elif target.endswith(".zip") or model_path(target).is_file():  # a file, seed or agent
        policy, default = _load_model(spec, target, env_id, trusted)
    elif ":" in target:
        default, policy = _import_object(target)
    else:
        raise ValueError(
            f"--policy {spec!r}: not a standard regimen ({', '.join(regimens.available())}), "
            "a model .zip file or module:attr"
        )
    check_spaces(spec, policy, env_id)
    probe(spec, policy, env_id)
    return name or default, policy


def _load_model(spec: str, path: str, env_id: str, trusted: bool) -> tuple[Any, str]:
    path = str(model_path(path))
    try:
        info = model_info(path)  # read without unpickling: refuse a mismatch before loading
    except ValueError as exc:
        raise ValueError(f"--policy {exc}") from None
    obs_shape = spaces_of(env_id)[0].shape
    if info["observation_shape"] not in (None, obs_shape):
        raise ValueError(
            f"--policy {spec!r}: its observation space has shape {info['observation_shape']} "
            f"(trained on {info['env_id'] or 'another env'}); {env_id} has shape {obs_shape}"
        )
    model = load_sb3_model(path, trusted=trusted)
    check_spaces(spec, model, env_id)
    # a discrete model's dose levels, a per-cycle model's weeks, the blinded fields
    return scoring_policy(model, recorded_train(path), env_id), info["algo"]
