"""Score policies under the benchmark protocol (``BENCHMARK.md``): `run_benchmark`, tme benchmark.

A *submission* is one policy trained with several seeds. `run_benchmark` runs the protocol's
virtual trial (test split, paired design, every standard regimen as a reference arm, one arm
per seed of every submission; `tme_env.trials.run_trial`), writes its report
(`tme_env.trials.write_report`), and per submission:

* the benchmark score of every seed (`tme_env.trials.report.benchmark_scores`: 0 = no
  treatment, 100 = the best standard regimen, on mean Q-TWiST);
* the interquartile mean (IQM) over seeds with its 95% stratified-bootstrap CI (`iqm_ci`,
  rliable's ``get_interval_estimates``, Agarwal et al. 2021);
* the paired patient-level bootstrap CI of its Q-TWiST difference to the best standard regimen
  (`paired_bootstrap_ci`; per patient, the mean over seeds);
* the secondary endpoints (median OS and PFS, RMST, ORR, grade >= 3 neutropenia, irAEs),
  averaged over seeds;
* a leaderboard row (`leaderboard_row`: JSON, and a markdown line from `markdown_row`) with
  the env id and version, the package version and the git commit, and whether the run meets
  the protocol (`PROTOCOL_N_PATIENTS` patients, seed `PROTOCOL_SEED`, at least `MIN_SEEDS`
  seeds, `PROTOCOL_TRAINING_STEPS` training steps per seed where the budget is known, no
  oracle); the deviations are listed, never hidden.

**Training budget.** A model file's budget is read from its run folder (``config.yml``:
``train.timesteps``); for objects, pass ``training_steps``. A policy with ``oracle = True``
(`tme_env.baselines.OracleMPC`: it reads the env's true state) is scored like any other but
its row says it is an oracle and does not meet the protocol.

**Policy specs** (`resolve_policy`), each optionally ``NAME=SPEC`` (specs with the same name
are the seeds of one submission; without a name, a regimen is named after itself, a model
after its algorithm, ``module:attr`` after ``attr``):

* a standard regimen name (`tme_env.regimens.available`);
* a path to an SB3 ``.zip`` (any algorithm; `tme_env.agents.load_sb3_model`, which warns
  before unpickling unless ``trusted``); a discrete-action model (DQN on
  ``tme/TumorImmuneDiscrete-v1``) is scored on the full task through its dose levels;
* ``package.module:attr`` (``attr`` may be dotted): an object with SB3's ``predict``; a class
  is instantiated without arguments.

**Space checks.** A policy is refused (`ValueError` naming the spec and both spaces) when its
``observation_space`` or ``action_space`` (an SB3 model's, or any object's that has them)
differs from the task's, and when a probe call of ``predict`` on two reset observations of the
validation split (``episode_start`` all True) fails or returns actions that are not finite
with shape ``(2, 3)``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import re
import subprocess
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tme_env.clinical import DAYS_PER_MONTH

__all__ = [
    "BENCHMARK_ENV_IDS",
    "BOOTSTRAP_REPS",
    "MIN_SEEDS",
    "PROTOCOL_N_PATIENTS",
    "PROTOCOL_SEED",
    "PROTOCOL_SPLIT",
    "PROTOCOL_TRAINING_STEPS",
    "PROTOCOL_VERSION",
    "BenchmarkResult",
    "git_commit",
    "iqm",
    "iqm_ci",
    "leaderboard_row",
    "markdown_row",
    "paired_bootstrap_ci",
    "resolve_policy",
    "run_benchmark",
]

#: Training budget per seed of the protocol (environment steps).
PROTOCOL_TRAINING_STEPS = 1_000_000
#: Version of the protocol in ``BENCHMARK.md`` (recorded in every leaderboard row).
PROTOCOL_VERSION = "tme-benchmark-1"
#: The tasks that count: env id -> observation mode (default settings only).
BENCHMARK_ENV_IDS = {"tme/TumorImmune-v1": "full", "tme/TumorImmuneClinical-v1": "clinical"}
#: The split the final number comes from.
PROTOCOL_SPLIT = "test"
#: Patients per arm of the protocol's trial.
PROTOCOL_N_PATIENTS = 500
#: Measurement-noise seed of the protocol's trial.
PROTOCOL_SEED = 0
#: Fewest training seeds of a submission that meets the protocol.
MIN_SEEDS = 5
#: Bootstrap resamples of every CI.
BOOTSTRAP_REPS = 10_000
#: Confidence level of every CI.
CONFIDENCE = 0.95
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


# --- statistics ----------------------------------------------------------------------------
def iqm(scores: Sequence[float] | np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50% (``scipy.stats.trim_mean(x, 0.25)``).

    As rliable's ``aggregate_iqm``: ``int(0.25 * n)`` values are cut from each end (none for
    fewer than 4 scores, so 1-3 scores give their mean).

    Raises:
        ValueError: On no scores or a score that is not finite.
    """
    from scipy.stats import trim_mean

    x = _finite_scores(scores)
    return float(trim_mean(x.reshape(-1), 0.25, axis=None))


def iqm_ci(
    scores: Sequence[float] | np.ndarray,
    reps: int = BOOTSTRAP_REPS,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
    """The IQM of ``scores`` and its stratified-bootstrap percentile CI (rliable's method).

    Args:
        scores: One score per seed, shape ``(n_seeds,)``, or ``(n_seeds, n_tasks)``: the
            bootstrap resamples seeds within each task (rliable's ``StratifiedBootstrap``).
        reps: Bootstrap resamples.
        seed: Seed of the resampling (the same seed gives the same CI; NumPy's global RNG
            is seeded for the call and restored after it, see the comment in the code).
        confidence: Confidence level.

    Returns:
        ``(iqm, low, high)``; one seed gives ``(x, x, x)``.

    Raises:
        ValueError: On no scores, a score that is not finite, ``reps < 1`` or a confidence
            outside (0, 1).
    """
    from rliable import library as rly
    from rliable import metrics

    x = _finite_scores(scores)
    matrix = x.reshape(-1, 1) if x.ndim == 1 else x
    if int(reps) < 1:
        raise ValueError(f"reps must be >= 1, got {reps!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    point = iqm(matrix)
    if matrix.shape[0] == 1 or np.all(matrix == matrix[0]):
        return point, point, point  # nothing to resample
    # rliable 1.2.0's StratifiedBootstrap.update_indices draws from NumPy's global RNG and
    # ignores ``random_state``: seed the global state for the call, then restore it. The
    # ``random_state`` is passed too, for a release that uses it (arch's FutureWarning about
    # it is silenced: it is the argument rliable takes).
    saved = np.random.get_state()
    try:
        np.random.seed(seed)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "random_state is deprecated", FutureWarning)
            _, intervals = rly.get_interval_estimates(
                {"s": matrix},
                lambda m: np.array([metrics.aggregate_iqm(m)]),
                reps=int(reps),
                confidence_interval_size=confidence,
                random_state=np.random.RandomState(seed),
            )
    finally:
        np.random.set_state(saved)
    low, high = intervals["s"][:, 0]
    return point, float(low), float(high)


def paired_bootstrap_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    reps: int = BOOTSTRAP_REPS,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired patients and its patient-level bootstrap percentile CI.

    Patients are resampled with replacement, each keeping its pair (the same patient in both
    arms), so the CI carries the pairing of the trial.

    Returns:
        ``(mean_difference, low, high)``.

    Raises:
        ValueError: On arrays of different or zero length, values that are not finite,
            ``reps < 1`` or a confidence outside (0, 1).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"need two paired 1-d arrays of one length, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("paired values must be finite")
    if int(reps) < 1:
        raise ValueError(f"reps must be >= 1, got {reps!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    d = a - b
    idx = np.random.default_rng(seed).integers(0, d.size, size=(int(reps), d.size))
    means = d[idx].mean(axis=1)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(d.mean()), float(low), float(high)


def _finite_scores(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    x = np.asarray(scores, dtype=np.float64)
    if x.size == 0 or x.ndim not in (1, 2):
        raise ValueError(f"need a non-empty 1-d or 2-d array of scores, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"scores must be finite, got {x.tolist()}")
    return x


# --- policies ------------------------------------------------------------------------------
@functools.cache
def _task_spaces(env_id: str) -> tuple[Any, Any]:
    import gymnasium as gym

    env = gym.make(env_id)
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


def _check_spaces(spec: str, policy: Any, env_id: str) -> None:
    """Refuse a policy whose declared spaces differ from the task's (see the module docstring)."""
    from gymnasium import spaces

    obs_space, act_space = _task_spaces(env_id)
    declared_obs = getattr(policy, "observation_space", None)
    declared_act = getattr(policy, "action_space", None)
    if isinstance(declared_act, spaces.Discrete):  # a DQN of the discrete variant
        act_space = _task_spaces("tme/TumorImmuneDiscrete-v1")[1]
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


def _probe(spec: str, policy: Any, env_id: str) -> None:
    """Call ``predict`` once on two reset observations; refuse what the trial could not use."""
    from tme_env.envs import ENV_IDS
    from tme_env.envs.vector import TumorImmuneVectorEnv

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


def _split_spec(spec: str) -> tuple[str, str]:
    """``"NAME=SPEC"`` -> ``(NAME, SPEC)``; a spec without a valid name -> ``("", spec)``."""
    name, sep, target = spec.partition("=")
    return (name, target) if sep and _NAME.match(name) else ("", spec)


def resolve_policy(spec: str, env_id: str, trusted: bool = False) -> tuple[str, Any]:
    """Build the policy of one spec (see the module docstring) and check it against the task.

    Args:
        spec: ``[NAME=]REGIMEN``, ``[NAME=]PATH.zip`` or ``[NAME=]module:attr``.
        env_id: A task of `BENCHMARK_ENV_IDS`.
        trusted: Skip the warning before unpickling a model file.

    Returns:
        ``(submission name, policy)``.

    Raises:
        ValueError: On an unknown task, a spec that names nothing loadable, or a policy whose
            spaces do not match the task (each message names the spec).
    """
    from tme_env import regimens

    if env_id not in BENCHMARK_ENV_IDS:
        raise ValueError(f"--env: {env_id!r} is not a benchmark task; valid: "
                         f"{', '.join(BENCHMARK_ENV_IDS)}")  # fmt: skip
    name, target = _split_spec(spec)
    if target in regimens.available():
        policy: Any = regimens.get(target, observation=BENCHMARK_ENV_IDS[env_id])
        default = target
    elif target.endswith(".zip") or Path(target).is_file():
        policy, default = _load_model(spec, target, env_id, trusted)
    elif ":" in target:
        default, policy = _import_object(target)
    else:
        raise ValueError(
            f"--policy {spec!r}: not a standard regimen ({', '.join(regimens.available())}), "
            "a model .zip file or module:attr"
        )
    _check_spaces(spec, policy, env_id)
    _probe(spec, policy, env_id)
    return name or default, policy


def _load_model(spec: str, path: str, env_id: str, trusted: bool) -> tuple[Any, str]:
    from gymnasium import spaces

    from tme_env.agents.callbacks import DiscreteDoses
    from tme_env.agents.loader import load_sb3_model, model_info

    try:
        info = model_info(path)  # read without unpickling: refuse a mismatch before loading
    except ValueError as exc:
        raise ValueError(f"--policy {exc}") from None
    obs_shape = _task_spaces(env_id)[0].shape
    if info["observation_shape"] not in (None, obs_shape):
        raise ValueError(
            f"--policy {spec!r}: its observation space has shape {info['observation_shape']} "
            f"(trained on {info['env_id'] or 'another env'}); {env_id} has shape {obs_shape}"
        )
    model = load_sb3_model(path, trusted=trusted)
    _check_spaces(spec, model, env_id)
    policy = DiscreteDoses(model) if isinstance(model.action_space, spaces.Discrete) else model
    blind = info.get("blind") or ()
    if blind:  # trained on blinded observations: scored on them too
        from tme_env.agents.blind import Blinded

        policy = Blinded(policy, blind, env_id)
    return policy, info["algo"]


# --- provenance ----------------------------------------------------------------------------
def git_commit() -> str:
    """The commit of the tme_env source tree (``-dirty`` if it has changes), else ``"unknown"``.

    Only a git work tree whose ``tme_env`` package is this one counts (not an unrelated
    repository around an installed copy).
    """
    here = Path(__file__).resolve().parent
    try:
        top = subprocess.run(["git", "-C", str(here), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, timeout=10, check=True)  # fmt: skip
        if Path(top.stdout.strip()).resolve() / "tme_env" != here:
            return "unknown"
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True)  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(here), "diff", "--quiet", "HEAD", "--", "."],
                               capture_output=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty.returncode == 1 else "")


def _env_version(env_id: str) -> str:
    match = re.search(r"-(v\d+)$", env_id)
    return match.group(1) if match else "unknown"


# --- the benchmark -------------------------------------------------------------------------
@dataclass
class BenchmarkResult:
    """What `run_benchmark` computed.

    Attributes:
        trial: The trial (`tme_env.trials.TrialResult`), references and every seed's arm.
        summary: The rows of `tme_env.trials.summarise` (one per arm).
        rows: One leaderboard row per submission (`leaderboard_row`).
        seeds: Submission name -> the trial arm names of its seeds.
    """

    trial: Any
    summary: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    seeds: dict[str, list[str]] = field(default_factory=dict)

    def q_twist_months(self, name: str) -> np.ndarray:
        """Per test patient, the mean over submission ``name``'s seeds of its Q-TWiST (months)."""
        arms = self.seeds.get(name, [name])
        return np.mean([self.trial.arms[a].q_twist_days for a in arms], axis=0) / DAYS_PER_MONTH


def _group(
    policies: Sequence[str] | Mapping[str, Sequence[Any]], env_id: str, trusted: bool
) -> dict[str, list[tuple[str, Any]]]:
    """Submission name -> [(spec, policy), ...] in the given order."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    if isinstance(policies, Mapping):
        for name, items in policies.items():
            if not _NAME.match(str(name)):
                raise ValueError(f"submission name {name!r}: use letters, digits and _.+-")
            if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
                items = [items]
            for item in items:
                if isinstance(item, str):
                    pair = (item, resolve_policy(item, env_id, trusted)[1])
                else:
                    spec = f"{name}=<{type(item).__name__}>"
                    _check_spaces(spec, item, env_id)
                    _probe(spec, item, env_id)
                    pair = (spec, item)
                groups.setdefault(str(name), []).append(pair)
    else:
        if isinstance(policies, str):
            policies = [policies]
        for spec in policies:
            name, policy = resolve_policy(spec, env_id, trusted)
            groups.setdefault(name, []).append((spec, policy))
    if not groups or not all(groups.values()):
        raise ValueError("--policy: give at least one policy to score")
    return groups


def run_benchmark(
    policies: Sequence[str] | Mapping[str, Sequence[Any]],
    env_id: str = "tme/TumorImmuneClinical-v1",
    n_patients: int = PROTOCOL_N_PATIENTS,
    seed: int = PROTOCOL_SEED,
    out: str | Path | None = None,
    trusted: bool = False,
    overwrite: bool = False,
    reps: int = BOOTSTRAP_REPS,
    progress: bool = False,
    training_steps: Mapping[str, int] | None = None,
) -> BenchmarkResult:
    """Score submissions under the protocol (see the module docstring and ``BENCHMARK.md``).

    Args:
        policies: Policy specs (``[NAME=]SPEC``; equal names are the seeds of one
            submission), or submission name -> its seeds (specs or objects with
            ``predict``).
        env_id: The task (`BENCHMARK_ENV_IDS`).
        n_patients: Test patients per arm (the protocol: `PROTOCOL_N_PATIENTS`).
        seed: Measurement-noise seed of the trial (the protocol: `PROTOCOL_SEED`); it also
            seeds the bootstraps, so the same call gives the same rows.
        out: Folder for the report (``OUT/trial/``), ``scores.json``, ``leaderboard.json``
            and ``leaderboard.md``, written atomically; None writes nothing.
        trusted: Skip the warning before unpickling model files.
        overwrite: Replace an earlier benchmark output in ``out``.
        reps: Bootstrap resamples of every CI.
        progress: Show a progress bar over the arms.
        training_steps: Submission name -> training budget per seed (environment steps), for
            policies given as objects (a model file's is read from its run folder).

    Raises:
        ValueError: On an unknown task, a bad count, a policy that cannot be built or does not
            match the task, a submission named like a standard regimen it is not, or an
            ``out`` that cannot take the output (each message names the bad value).
    """
    from tme_env import regimens
    from tme_env.io import OutputFolder

    if env_id not in BENCHMARK_ENV_IDS:
        raise ValueError(f"--env: {env_id!r} is not a benchmark task; valid: "
                         f"{', '.join(BENCHMARK_ENV_IDS)}")  # fmt: skip
    if isinstance(n_patients, bool) or not isinstance(n_patients, (int, np.integer)) \
            or n_patients < 2:  # fmt: skip
        raise ValueError(f"--n-patients must be an integer >= 2, got {n_patients!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"--seed must be an integer >= 0, got {seed!r}")
    folder = None
    if out is not None:
        folder = OutputFolder(out, what="--out", overwrite=overwrite, kind="benchmark").check()
    try:
        result = _run(policies, env_id, int(n_patients), int(seed), trusted, reps, progress,
                      regimens, dict(training_steps or {}))  # fmt: skip
        if folder is not None:
            _write(result, folder)
    except BaseException:
        if folder is not None:
            folder.abort()
        raise
    return result


def _recorded_steps(items: list[tuple[str, Any]]) -> int | None:
    """The smallest training budget the seeds' model files record (None if any is unknown)."""
    from tme_env.agents.loader import recorded_train

    steps = []
    for spec, _policy in items:
        target = _split_spec(spec)[1]
        recorded = recorded_train(target).get("timesteps") if target.endswith(".zip") else None
        if not isinstance(recorded, int):
            return None
        steps.append(recorded)
    return min(steps) if steps else None


def _learned(items: list[tuple[str, Any]], name: str, regimens: Any) -> bool:
    """Whether a submission is learned, so that the seed count applies.

    Not learned: a standard regimen, or an object that declares ``learned = False`` (a fixed
    schedule, a rule, an oracle).
    """
    if not items:  # a standard regimen submitted by name
        return name not in regimens.available()
    return any(getattr(p, "learned", True) for _spec, p in items)


def _run(policies: Any, env_id: str, n_patients: int, seed: int, trusted: bool, reps: int,
         progress: bool, regimens: Any,
         training_steps: dict[str, int]) -> BenchmarkResult:  # fmt: skip
    from tme_env.trials import run_trial, summarise

    groups = _group(policies, env_id, trusted)
    observation = BENCHMARK_ENV_IDS[env_id]
    arms: dict[str, Any] = {n: regimens.get(n, observation=observation)
                            for n in regimens.available()}  # fmt: skip
    seeds: dict[str, list[str]] = {}
    for name, items in groups.items():
        if name in arms:
            if any(_split_spec(spec)[1] != name for spec, _ in items):
                raise ValueError(f"--policy: submission {name!r} is named like a standard "
                                 "regimen but is not it; name it NAME=SPEC")  # fmt: skip
            seeds[name] = [name]  # the reference arm itself (deterministic)
            continue
        names = [name] if len(items) == 1 else [f"{name}-s{k}" for k in range(len(items))]
        for arm, (_spec, policy) in zip(names, items, strict=True):
            if arm in arms:
                raise ValueError(f"--policy: seed arm {arm!r} clashes with another arm")
            arms[arm] = policy
        seeds[name] = names
    trial = run_trial(arms, env_id=env_id, split=PROTOCOL_SPLIT, n_patients=n_patients,
                      seed=seed, progress=progress)  # fmt: skip
    summary = summarise(trial, reference="mtd-chemo")
    by_arm = {r["arm"]: r for r in summary}
    standard = [n for n in regimens.available() if n != "no-treatment"]
    best = max(standard, key=lambda n: by_arm[n]["q_twist_months"])
    result = BenchmarkResult(trial, summary, [], seeds)
    for name, arm_names in seeds.items():
        per_seed = [by_arm[a]["benchmark_score"] for a in arm_names]
        point, low, high = iqm_ci(per_seed, reps=reps, seed=seed)
        delta = paired_bootstrap_ci(result.q_twist_months(name), result.q_twist_months(best),
                                    reps=reps, seed=seed)  # fmt: skip
        steps = training_steps.get(name, _recorded_steps(groups.get(name, [])))
        oracle = any(getattr(trial_arm_policy, "oracle", False)
                     for _spec, trial_arm_policy in groups.get(name, []))  # fmt: skip
        result.rows.append(leaderboard_row(
            name, env_id, n_patients, seed, [by_arm[a] for a in arm_names], (point, low, high),
            best, delta, trained=_learned(groups.get(name, []), name, regimens),
            training_steps=steps, oracle=oracle,
        ))  # fmt: skip
    return result


#: Secondary endpoints of a leaderboard row: row key -> `summarise` key (means over seeds).
SECONDARY = {
    "q_twist_months": "q_twist_months",
    "rmst_os_months": "rmst_os_months",
    "median_os_months": "median_os_months",
    "median_pfs_months": "median_pfs_months",
    "objective_response_rate": "objective_response_rate",
    "grade3plus_neutropenia_rate": "grade3plus_neutropenia_rate",
    "irae_rate": "irae_rate",
    "irae_grade3plus_rate": "irae_grade3plus_rate",
}


def leaderboard_row(
    name: str,
    env_id: str,
    n_patients: int,
    seed: int,
    seed_rows: Sequence[Mapping[str, Any]],
    score: tuple[float, float, float],
    best_standard: str,
    delta: tuple[float, float, float],
    trained: bool = True,
    training_steps: int | None = None,
    oracle: bool = False,
) -> dict[str, Any]:
    """One submission's leaderboard row (JSON-ready; see the module docstring).

    Args:
        name: Submission name.
        env_id: Task.
        n_patients: Test patients per arm.
        seed: Trial seed.
        seed_rows: The `summarise` rows of its seeds' arms.
        score: ``(IQM, low, high)`` of the benchmark score over seeds.
        best_standard: The best standard regimen of the trial (by mean Q-TWiST).
        delta: ``(difference, low, high)`` of mean Q-TWiST (months) to ``best_standard``.
        trained: False for a standard regimen (deterministic: the seed count does not apply).
        training_steps: Training budget per seed (environment steps), None if unknown or
            not a learned policy.
        oracle: The policy reads the env's true state (an upper reference).
    """
    import tme_env

    deviations = []
    if n_patients < PROTOCOL_N_PATIENTS:
        deviations.append(f"{n_patients} patients per arm (protocol: {PROTOCOL_N_PATIENTS})")
    if seed != PROTOCOL_SEED:
        deviations.append(f"trial seed {seed} (protocol: {PROTOCOL_SEED})")
    if trained and len(seed_rows) < MIN_SEEDS:
        deviations.append(f"{len(seed_rows)} seed(s) (protocol: at least {MIN_SEEDS})")
    if training_steps is not None and training_steps < PROTOCOL_TRAINING_STEPS:
        deviations.append(f"{training_steps:,} training steps per seed "
                          f"(protocol: {PROTOCOL_TRAINING_STEPS:,})")  # fmt: skip
    if oracle:
        deviations.append("oracle: reads the true patient state (an upper reference, not a "
                          "deployable policy)")
    row: dict[str, Any] = {
        "submission": name,
        "env_id": env_id,
        "env_version": _env_version(env_id),
        "observation": BENCHMARK_ENV_IDS.get(env_id, "unknown"),
        "protocol": PROTOCOL_VERSION,
        "split": PROTOCOL_SPLIT,
        "n_patients": int(n_patients),
        "trial_seed": int(seed),
        "n_seeds": len(seed_rows),
        "seed_arms": [r["arm"] for r in seed_rows],
        "seed_scores": [float(r["benchmark_score"]) for r in seed_rows],
        "score_iqm": score[0],
        "score_ci_low": score[1],
        "score_ci_high": score[2],
        "training_steps": None if training_steps is None else int(training_steps),
        "oracle": bool(oracle),
        "best_standard": best_standard,
        "q_twist_vs_best_standard_months": delta[0],
        "q_twist_vs_best_standard_ci_low": delta[1],
        "q_twist_vs_best_standard_ci_high": delta[2],
    }
    for key, source in SECONDARY.items():
        row[key] = float(np.mean([r[source] for r in seed_rows]))
    row.update(
        meets_protocol=not deviations,
        deviations=deviations,
        package_version=tme_env.__version__,
        git_commit=git_commit(),
    )
    return row


#: Header of the markdown leaderboard (the columns of `markdown_row`).
MARKDOWN_HEADER = (
    "| submission | task | seeds | score IQM [95% CI] | Q-TWiST, mo | vs best standard, mo "
    "[95% CI] | RMST, mo | median OS, mo | median PFS, mo | ORR | G>=3 neutropenia | "
    "irAE (G>=3) | protocol | version | commit |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def markdown_row(row: Mapping[str, Any]) -> str:
    """The markdown leaderboard line of a `leaderboard_row` (columns of `MARKDOWN_HEADER`)."""
    from tme_env.io import format_number

    def f(value: float, spec: str = ".1f") -> str:
        return format_number(value, spec) if math.isfinite(value) else "n/a"

    protocol = "yes" if row["meets_protocol"] else "no: " + "; ".join(row["deviations"])
    return (
        f"| {row['submission']} | {row['env_id']} | {row['n_seeds']} | "
        f"{f(row['score_iqm'])} [{f(row['score_ci_low'])}, {f(row['score_ci_high'])}] | "
        f"{f(row['q_twist_months'], '.2f')} | "
        f"{f(row['q_twist_vs_best_standard_months'], '+.2f')} "
        f"[{f(row['q_twist_vs_best_standard_ci_low'], '+.2f')}, "
        f"{f(row['q_twist_vs_best_standard_ci_high'], '+.2f')}] vs {row['best_standard']} | "
        f"{f(row['rmst_os_months'])} | {f(row['median_os_months'])} | "
        f"{f(row['median_pfs_months'])} | {row['objective_response_rate']:.0%} | "
        f"{row['grade3plus_neutropenia_rate']:.0%} | {row['irae_rate']:.0%} "
        f"({row['irae_grade3plus_rate']:.0%}) | {protocol} | {row['package_version']} | "
        f"{row['git_commit'][:12]} |"
    )


def _write(result: BenchmarkResult, folder: Any) -> None:
    """Report, scores and leaderboard into one atomically committed folder."""
    from tme_env.io import OutputFolder, atomic_write_json, atomic_write_text
    from tme_env.trials import write_report

    stage = folder.staging()
    write_report(result.trial, OutputFolder(stage / "trial", kind="trial report"),
                 reference="mtd-chemo")  # fmt: skip
    by_arm = {r["arm"]: r for r in result.summary}
    atomic_write_json(stage / "scores.json", {
        "protocol": PROTOCOL_VERSION,
        "env_id": result.trial.env_id,
        "submissions": {
            name: {"seeds": {a: by_arm[a]["benchmark_score"] for a in arms}}
            for name, arms in result.seeds.items()
        },
        "references": {n: by_arm[n]["benchmark_score"] for n in by_arm
                       if not any(n in arms for arms in result.seeds.values())},
    })  # fmt: skip
    atomic_write_json(stage / "leaderboard.json", result.rows)
    lines = [MARKDOWN_HEADER, *(markdown_row(r) for r in result.rows), ""]
    atomic_write_text(stage / "leaderboard.md", "\n".join(lines))
    folder.commit()
