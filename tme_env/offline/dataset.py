"""Minari datasets of logged treatment episodes, and their conversion for d3rlpy.

`write_dataset` streams episodes from `tme_env.offline.rollout.collect` into a Minari dataset
(HDF5) in chunks of ``chunk_episodes``: memory holds one chunk, whatever the dataset size.

**Layout of an episode** (Minari's conventions): ``observations`` ``(T + 1, obs_dim)``,
``actions`` ``(T, 3)`` dose fractions, ``rewards``, ``terminations``, ``truncations`` ``(T,)``,
``infos`` with the env's info keys ``(T + 1,)`` (reset info first) and, from this package,
the behaviour of each decision aligned with the observation it was taken at (entry ``t``
describes ``actions[t]``; the last entry, at the final observation, has no decision and
holds level -1, probabilities 1):

* ``behaviour_level``: the action's `DOSE_LEVELS` index (the discrete action);
* ``behaviour_prob``: its propensity given the observable history (the profile
  marginalised, see `tme_env.offline.behaviour`): the probability importance sampling uses;
* ``behaviour_prob_profile``: its probability given the drawn profile;
* ``behaviour_profile``: the drawn profile (constant over the episode; latent to a learner).

Each episode's ``seed`` is its env reset seed and ``options`` holds ``{"patient": p}``, so
``env.reset(seed=ep.seed, options={"patient": p})`` and the logged actions replay it.

**Where and how it is written.** The datasets folder (``root``, ``tme dataset --out``) is made
absolute first (Minari doubles a relative ``MINARI_DATASETS_PATH``), and the id is checked
(`check_dataset_id`: Minari's ``(namespace/)name-vN``, so it cannot leave the folder) before
any work. The dataset is written in a hidden temporary folder inside ``root`` and moved into
place only when complete, with its metadata: a run that fails or is killed leaves no dataset
(the temporary folder of a killed run is removed by the next write).

**Metadata** (``dataset.storage.metadata["tme_env"]``, see `dataset_metadata`): env id, env
version, split, first patient, patients, seed, behaviour spec, package version and git commit.
The env is registered with JSON-serialisable kwargs, so ``dataset.recover_environment()``
rebuilds it (split and cohort size included).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

import tme_env  # for tme_env.__version__ (the root does not import tme_env.offline)
from tme_env.io import clean_stale_temporaries
from tme_env.offline.behaviour import DOSE_LEVELS, ENV_IDS, ClinicianBehaviour, behaviour
from tme_env.offline.rollout import Episode, collect
from tme_env.patients.cohort import SPLITS

__all__ = [
    "BEHAVIOUR_KEYS",
    "check_dataset_id",
    "check_new_dataset",
    "dataset_metadata",
    "dataset_root",
    "episodes_from_minari",
    "load_dataset",
    "to_mdp_dataset",
    "write_dataset",
]

#: The behaviour keys added to each episode's infos.
BEHAVIOUR_KEYS = ("behaviour_level", "behaviour_prob", "behaviour_prob_profile",
                  "behaviour_profile")  # fmt: skip


#: Minari's dataset id, ``(namespace/)name-vN`` (minari.dataset.minari_dataset.DATASET_ID_RE,
#: with the version required, as Minari's own parser requires it). Letters, digits, ``-`` and
#: ``_`` between single ``/``: no ``.``, ``..``, backslash or leading ``/``, so the id is a
#: path inside the datasets folder.
_DATASET_ID_RE = re.compile(r"(?:[-_\w][-_\w/]*[-_\w]+/)?[-_\w]+?-v\d+")
_MINARI_ENV = "MINARI_DATASETS_PATH"
_NAMESPACE_FILE = "namespace_metadata.json"  # Minari's namespace marker (minari.namespace)


def check_dataset_id(dataset_id: Any, what: str = "dataset id") -> str:
    """Check that ``dataset_id`` has Minari's form ``(namespace/)name-vN``; return it.

    Args:
        dataset_id: The id, e.g. ``"tme/full/clinician-mixed-train-v0"``.
        what: How the error names the value (``"--dataset-id"`` from the command line).

    Raises:
        ValueError: Naming the id and the expected form (a path separator other than a
            single ``/``, ``.``/``..``, an empty part or a missing ``-vN`` version).
    """
    if (not isinstance(dataset_id, str) or "//" in dataset_id
            or not _DATASET_ID_RE.fullmatch(dataset_id)):  # fmt: skip
        raise ValueError(
            f"{what} {dataset_id!r}: expected Minari's form (namespace/)name-vN, e.g. "
            "'tme/full/clinician-mixed-train-v0': letters, digits, '-' and '_' in parts "
            "joined by single '/', a namespace of 2 characters or more, ending in -v and a "
            "version number (no '.', '..', '\\' or leading '/')"
        )
    return dataset_id


def dataset_root(root: str | os.PathLike | None = None,
                 what: str = "datasets folder") -> Path:  # fmt: skip
    """The datasets folder as an absolute path (Minari misreads a relative one).

    Args:
        root: The folder; default ``MINARI_DATASETS_PATH``, else ``~/.minari/datasets``.
        what: How an error names the folder (``"--out"`` from the command line).

    Raises:
        ValueError: If the path, or its nearest existing parent, is not a writable folder.
    """
    if root is None:
        root = os.environ.get(_MINARI_ENV) or Path.home() / ".minari" / "datasets"
    path = Path(os.path.abspath(Path(root).expanduser()))
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{what} {str(root)!r}: {str(existing)!r} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {str(root)!r}: no permission to write in {str(existing)!r}")
    return path


def check_new_dataset(dataset_id: str, root: str | os.PathLike | None = None, *,
                      id_flag: str = "dataset id", root_flag: str = "datasets folder"
                      ) -> Path:  # fmt: skip
    """Check, before any work, that a new dataset ``dataset_id`` can be written in ``root``.

    Args:
        dataset_id: Minari id (`check_dataset_id`).
        root: Datasets folder (`dataset_root`).
        id_flag: How errors name the id.
        root_flag: How errors name the folder.

    Returns:
        The absolute folder the dataset will have (``root/dataset_id``).

    Raises:
        ValueError: On a malformed id, an unusable folder, or an existing dataset.
    """
    check_dataset_id(dataset_id, id_flag)
    base = dataset_root(root, root_flag)
    final = base / dataset_id
    if final.exists():
        raise ValueError(
            f"{id_flag} {dataset_id!r}: a dataset already exists at {str(final)!r}; choose "
            "another id or version (Minari datasets are never overwritten)"
        )
    for parent in final.parents:
        if parent == base:
            break
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"{id_flag} {dataset_id!r}: {str(parent)!r} is not a folder")
    return final


@contextlib.contextmanager
def _minari_root(root: Path) -> Iterator[None]:
    """Point Minari at ``root`` (``MINARI_DATASETS_PATH``) for the block, then restore it."""
    old = os.environ.get(_MINARI_ENV)
    os.environ[_MINARI_ENV] = str(root)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(_MINARI_ENV, None)
        else:
            os.environ[_MINARI_ENV] = old


def _move_into_place(stage: Path, dataset_id: str, root: Path) -> Path:
    """Move the complete dataset ``stage/dataset_id`` to ``root/dataset_id``.

    Namespace markers that ``root`` lacks are copied first, so Minari lists the namespace.
    """
    final = root / dataset_id
    parts = dataset_id.split("/")[:-1]
    for k in range(1, len(parts) + 1):
        ns = "/".join(parts[:k])
        (root / ns).mkdir(parents=True, exist_ok=True)
        marker = stage / ns / _NAMESPACE_FILE
        if marker.exists() and not (root / ns / _NAMESPACE_FILE).exists():
            shutil.copyfile(marker, root / ns / _NAMESPACE_FILE)
    if final.exists():  # written by another run meanwhile
        raise ValueError(f"dataset {dataset_id!r}: a dataset appeared at {str(final)!r} "
                         "while this one was written; it is left as it is")  # fmt: skip
    os.rename(stage / dataset_id, final)
    return final


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=10, check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def dataset_metadata(behaviour_name: str, observation: str, split: str, n_patients: int,
                     seed: int, first_patient: int = 0) -> dict[str, Any]:  # fmt: skip
    """The ``tme_env`` metadata record of a dataset (JSON-serialisable)."""
    env_id = ENV_IDS[observation]
    return {
        "env_id": env_id,
        "env_version": int(env_id.rsplit("-v", 1)[1]),
        "observation": observation,
        "split": split,
        "first_patient": first_patient,
        "n_patients": n_patients,
        "seed": seed,
        "behaviour": behaviour(behaviour_name).to_dict(),
        "tme_env_version": tme_env.__version__,
        "git_commit": _git_commit(),
        "info_behaviour_keys": list(BEHAVIOUR_KEYS),
    }


def _buffer(ep: Episode, episode_id: int) -> Any:
    from minari.data_collector import EpisodeBuffer

    T = len(ep)
    infos = {k: v.astype(np.float64) for k, v in ep.infos.items()}
    infos["behaviour_level"] = np.append(ep.behaviour["level"], -1).astype(np.int64)
    infos["behaviour_prob"] = np.append(ep.behaviour["prob"], 1.0)
    infos["behaviour_prob_profile"] = np.append(ep.behaviour["prob_profile"], 1.0)
    infos["behaviour_profile"] = np.full(T + 1, int(ep.behaviour["profile"]), np.int64)
    return EpisodeBuffer(
        id=episode_id, seed=ep.seed, options={"patient": ep.patient},
        observations=ep.observations, actions=ep.actions, rewards=ep.rewards,
        terminations=ep.terminations, truncations=ep.truncations, infos=infos,
    )  # fmt: skip


def write_dataset(
    dataset_id: str,
    behaviour_name: str = "clinician-mixed",
    observation: str = "full",
    split: str = "train",
    n_patients: int = 100,
    seed: int = 0,
    first_patient: int = 0,
    root: str | os.PathLike | None = None,
    chunk_episodes: int = 256,
    progress: bool = False,
) -> Any:
    """Log a behaviour on ``n_patients`` patients and write a Minari dataset, streaming.

    Args:
        dataset_id: Minari id, e.g. ``"tme/TumorImmune/clinician-mixed-v0"``.
        behaviour_name: A built-in behaviour (`tme_env.offline.BEHAVIOURS`).
        observation: ``"full"`` or ``"clinical"`` (env `ENV_IDS[observation]`).
        split: Cohort split of the patients.
        n_patients: Episodes, one per patient ``first_patient ..``.
        seed: Env reset seed base and behaviour seed.
        first_patient: Cohort index of the first patient.
        root: Minari datasets folder (default: ``MINARI_DATASETS_PATH`` or
            ``~/.minari/datasets``); a relative path is taken from the current folder.
        chunk_episodes: Episodes held in memory between writes (one vector-env batch).
        progress: Show a progress bar over the patients.

    Returns:
        The `minari.MinariDataset`, read from its final folder ``root/dataset_id``.

    Raises:
        ValueError: Before any work, on an unknown behaviour, observation or split, a
            malformed id (`check_dataset_id`), an unusable folder, or an existing dataset.
    """
    spec = behaviour(behaviour_name)
    if observation not in ENV_IDS:
        raise ValueError(f"unknown observation {observation!r}; valid: {', '.join(ENV_IDS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    final = check_new_dataset(dataset_id, root)
    root_path = dataset_root(root)
    import gymnasium as gym
    import minari

    root_path.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(root_path)  # the staging folders of killed runs
    # The staging name follows tme_env.io's temporary pattern (.NAME.tme-tmp-PID-XXXX):
    # hidden from Minari's listings, removed by the next write once this process is gone.
    stage = root_path / f".{final.name}.tme-tmp-{os.getpid()}-{secrets.token_hex(4)}"
    stage.mkdir()
    try:
        with _minari_root(stage):
            _write(dataset_id, behaviour_name, observation, split, n_patients, seed,
                   first_patient, chunk_episodes, progress, spec, gym, minari)
        _move_into_place(stage, dataset_id, root_path)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return minari.MinariDataset(final / "data")


def _write(dataset_id: str, behaviour_name: str, observation: str, split: str,
           n_patients: int, seed: int, first_patient: int, chunk_episodes: int,
           progress: bool, spec: Any, gym: Any, minari: Any) -> Any:  # fmt: skip
    """Roll out and write the dataset under the current Minari root; return it."""
    env_id = ENV_IDS[observation]
    pol = ClinicianBehaviour(spec, observation, seed=seed)
    episodes: Iterable[Episode] = collect(pol, env_id, split, n_patients, seed, first_patient,
                                          batch_size=chunk_episodes)  # fmt: skip
    cohort_size = first_patient + n_patients
    base = gym.spec(env_id)
    env_spec = dataclasses.replace(
        base, kwargs={**base.kwargs, "split": split, "cohort_size": cohort_size}
    )
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_patients, desc=f"logging {behaviour_name}", unit="patient")
    dataset = None
    chunk: list[Any] = []
    try:
        for ep in episodes:
            chunk.append(_buffer(ep, ep.patient - first_patient))
            if len(chunk) == chunk_episodes:
                dataset = _flush(dataset, dataset_id, chunk, env_spec, spec, minari)
                if bar is not None:
                    bar.update(len(chunk))
                chunk = []
        if chunk:
            dataset = _flush(dataset, dataset_id, chunk, env_spec, spec, minari)
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    dataset.storage.update_metadata({"tme_env": dataset_metadata(
        behaviour_name, observation, split, n_patients, seed, first_patient)})  # fmt: skip
    return dataset


def _flush(dataset: Any, dataset_id: str, chunk: list, env_spec: Any, spec: Any,
           minari: Any) -> Any:  # fmt: skip
    if dataset is not None:
        dataset.update_dataset_from_buffer(chunk)
        return dataset
    import warnings

    with warnings.catch_warnings():  # eval_env and author_email are deliberately unset
        warnings.simplefilter("ignore", UserWarning)
        return minari.create_dataset_from_buffers(
            dataset_id, chunk, env=env_spec, algorithm_name=f"tme_env behaviour {spec.name}",
            author="tme_env", code_permalink="tme_env/offline/behaviour.py",
            description=spec.description, data_format="hdf5",
            requirements=["tme_env"],
        )  # fmt: skip


def load_dataset(dataset_id: str, root: str | os.PathLike | None = None) -> Any:
    """``minari.load_dataset`` from ``root`` (default: ``MINARI_DATASETS_PATH``).

    A relative ``root`` is made absolute first; the id is checked (`check_dataset_id`).
    """
    check_dataset_id(dataset_id)
    path = dataset_root(root)
    import minari

    with _minari_root(path):
        return minari.load_dataset(dataset_id)


def episodes_from_minari(dataset: Any) -> Iterator[Episode]:
    """The dataset's episodes as `Episode` objects (behaviour fields from the infos)."""
    for ep in dataset.iterate_episodes():
        infos = dict(ep.infos)
        beh = {"level": np.asarray(infos.pop("behaviour_level"))[:-1],
               "prob": np.asarray(infos.pop("behaviour_prob"))[:-1],
               "prob_profile": np.asarray(infos.pop("behaviour_prob_profile"))[:-1],
               "profile": np.int64(np.asarray(infos.pop("behaviour_profile"))[0])}  # fmt: skip
        patient = int(ep.id) + int(dataset.storage.metadata["tme_env"]["first_patient"])
        seed = int(dataset.storage.metadata["tme_env"]["seed"]) + patient
        yield Episode(patient, seed, np.asarray(ep.observations), np.asarray(ep.actions),
                      np.asarray(ep.rewards), np.asarray(ep.terminations, dtype=bool),
                      np.asarray(ep.truncations, dtype=bool), infos, beh)  # fmt: skip


def to_mdp_dataset(episodes: Iterable[Episode], discrete: bool = False) -> Any:
    """A d3rlpy ``MDPDataset`` of the episodes (continuous doses, or level indices).

    Truncated episodes are marked as timeouts (not terminals), so value targets bootstrap
    through them.
    """
    import d3rlpy

    obs, act, rew, term, tout = [], [], [], [], []
    for ep in episodes:
        obs.append(ep.observations[:-1])
        if discrete:
            act.append(ep.behaviour["level"].reshape(-1, 1))
        else:
            act.append(ep.actions)
        rew.append(ep.rewards)
        t = ep.terminations.copy()
        o = ep.truncations.copy()
        if not (t[-1] or o[-1]):  # cut short (should not happen): close it as a timeout
            o[-1] = True
        term.append(t)
        tout.append(o)
    action_space = (d3rlpy.ActionSpace.DISCRETE if discrete
                    else d3rlpy.ActionSpace.CONTINUOUS)  # fmt: skip
    return d3rlpy.dataset.MDPDataset(
        observations=np.concatenate(obs).astype(np.float32),
        actions=np.concatenate(act).astype(np.int64 if discrete else np.float32),
        rewards=np.concatenate(rew).astype(np.float32),
        terminals=np.concatenate(term).astype(np.float32),
        timeouts=np.concatenate(tout).astype(np.float32),
        action_space=action_space,
        action_size=len(DOSE_LEVELS) if discrete else 3,
    )
