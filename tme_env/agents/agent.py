"""Trained agents as the benchmark scores them: one model file, or a published agent folder.

**One model file** (`load_policy`): `tme_env.agents.load_sb3_model` (normalisation applied,
`tme_env.agents.normalize`), then what its run recorded in ``config.yml``: a discrete model's
dose levels (`DiscreteDoses`), a per-cycle model's weekly schedule
(`tme_env.agents.cycle.CyclePolicy`, ``cycle_weeks``), and the blinded observation fields
(`tme_env.agents.blind.Blinded`). Every path that scores a model goes through
`scoring_policy`: ``tme evaluate``, ``tme trial``, ``tme benchmark``, the training
evaluations.

**An agent folder** (`AgentFolder`, what the repository's ``agents/<name>/`` holds, as RL Zoo
publishes its trained agents)::

    agents/<name>/
      agent.json        name, algorithm, train env, task, budget, seeds, hyperparameters,
                        the leaderboard row it was scored in, the command that trained it
      README.md         the card (`write_agent_folder` writes it from agent.json)
      seed_<k>/model.zip    the final model of seed k, its normalisation inside
      seed_<k>/config.yml   the run's config.yml (algorithm, env, budget, blinding, cycle)

``tme benchmark --policy agents/<name>`` scores every seed as one submission named after the
agent (`tme_env.benchmark.policies.expand_spec`); ``tme evaluate --model agents/<name>``
takes its first seed, or ``agents/<name>/seed_<k>`` a given one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from tme_env.agents.cycle import CyclePolicy
from tme_env.agents.loader import load_sb3_model, recorded_train
from tme_env.envs import DISCRETE_LEVELS
from tme_env.io import atomic_write_json, atomic_write_text, record_checksum, sha256_file

__all__ = [
    "AGENT_FILE",
    "AgentFolder",
    "DiscreteDoses",
    "is_agent_folder",
    "load_agent",
    "load_policy",
    "model_path",
    "scoring_policy",
    "write_agent_folder",
]

#: The file that makes a folder an agent folder.
AGENT_FILE = "agent.json"


class DiscreteDoses:
    """Wrap a discrete-action model so that it outputs dose fractions (for the trial env)."""

    def __init__(self, model: Any) -> None:
        """Wrap ``model`` (e.g. a DQN trained on ``tme/TumorImmuneDiscrete-v2``)."""
        self.model = model

    def predict(self, observation, state=None, episode_start=None, deterministic=True):  # noqa: ANN001, ANN201
        """Doses of the model's discrete action (`tme_env.envs.DISCRETE_LEVELS`)."""
        action, state = self.model.predict(observation, state=state, episode_start=episode_start,
                                           deterministic=deterministic)  # fmt: skip
        return DISCRETE_LEVELS[np.asarray(action, dtype=np.int64)].astype(np.float32), state


def scoring_policy(model: Any, train: dict[str, Any], task: str | None = None) -> Any:
    """Wrap a loaded model as its run's ``config.yml`` (``train`` block) says to score it.

    Args:
        model: The loaded model (its ``predict`` already normalises, if it was trained so).
        train: The run's ``train`` block (`tme_env.agents.loader.recorded_train`).
        task: The env the policy is scored in (for the blinded columns); default: the env
            it was trained on.
    """
    policy = model
    if isinstance(getattr(model, "action_space", None), spaces.Discrete):
        policy = DiscreteDoses(policy)
    cycle = train.get("cycle_weeks")
    if cycle:
        policy = CyclePolicy(policy, int(cycle))
    blind = tuple(train.get("blind") or ())
    if blind:
        from tme_env.agents.blind import Blinded  # deferred: imports SB3

        policy = Blinded(policy, blind, task or str(train.get("env_id")))
    return policy


def load_policy(path: str | Path, trusted: bool = False, task: str | None = None) -> Any:
    """The policy of a model file (or an agent folder's first seed), ready to score.

    Raises:
        ValueError: As `tme_env.agents.load_sb3_model`, or an agent folder without seeds.
    """
    path = model_path(path)
    return scoring_policy(load_sb3_model(path, trusted=trusted), recorded_train(path), task)


def is_agent_folder(path: str | Path) -> bool:
    """Whether ``path`` is an agent folder (it holds `AGENT_FILE`)."""
    return (Path(path) / AGENT_FILE).is_file()


def model_path(path: str | Path) -> Path:
    """The model file ``path`` names.

    That is ``path`` itself, a seed or run folder's ``model.zip``, or an agent folder's first
    seed's.
    """
    p = Path(path)
    if is_agent_folder(p):
        return AgentFolder(p).models[0]
    if p.is_dir() and (p / "model.zip").is_file():
        return p / "model.zip"
    return p


@dataclass(frozen=True)
class AgentFolder:
    """A published agent folder (see the module docstring).

    Raises:
        ValueError: If ``path`` has no readable `AGENT_FILE`, or a seed's model is missing.
    """

    path: Path

    def __post_init__(self) -> None:  # noqa: D105
        object.__setattr__(self, "path", Path(self.path))
        meta = self.meta  # raises on a missing or bad agent.json
        for m in self.models:
            if not m.is_file():
                raise ValueError(f"agent folder {str(self.path)!r}: {AGENT_FILE} lists seed "
                                 f"{m.parent.name} but {str(m)!r} is missing")  # fmt: skip
        if not meta.get("seeds"):
            raise ValueError(f"agent folder {str(self.path)!r}: {AGENT_FILE} lists no seeds")

    @property
    def meta(self) -> dict[str, Any]:
        """The parsed `AGENT_FILE`."""
        f = self.path / AGENT_FILE
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"agent folder {str(self.path)!r}: cannot read {AGENT_FILE} "
                             f"({exc})") from None  # fmt: skip
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ValueError(f"{str(f)!r}: expected a mapping with a 'name'")
        return data

    @property
    def name(self) -> str:
        """The agent's (submission) name."""
        return str(self.meta["name"])

    @property
    def models(self) -> list[Path]:
        """The model file of every seed, in seed order."""
        return [self.path / f"seed_{int(s)}" / "model.zip" for s in self.meta.get("seeds", [])]


def load_agent(path: str | Path, seed: int | None = None, trusted: bool = False,
               task: str | None = None) -> Any:  # fmt: skip
    """One seed of an agent folder as a policy with SB3's ``predict`` (normalisation applied).

    >>> policy = load_agent("agents/ppo-clinical")  # doctest: +SKIP
    >>> action, _ = policy.predict(obs, deterministic=True)  # doctest: +SKIP

    Args:
        path: The agent folder.
        seed: Which seed (default: the first listed).
        trusted: As `tme_env.agents.load_sb3_model`.
        task: As `scoring_policy`.
    """
    folder = AgentFolder(Path(path))
    seeds = [int(s) for s in folder.meta["seeds"]]
    if seed is None:
        seed = seeds[0]
    if seed not in seeds:
        raise ValueError(f"agent {folder.name!r} has seeds {seeds}, not {seed!r}")
    return load_policy(folder.path / f"seed_{seed}" / "model.zip", trusted=trusted, task=task)


def write_agent_folder(out: str | Path, meta: dict[str, Any], runs: dict[int, Path],
                       card: str) -> Path:  # fmt: skip
    """Publish trained runs as an agent folder (see the module docstring).

    Args:
        out: The folder to write (made if needed; its seed folders are replaced).
        meta: `AGENT_FILE`'s content; ``seeds`` is set from ``runs``.
        runs: Seed -> its run folder (``model.zip`` and ``config.yml`` are copied).
        card: The markdown of ``README.md``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for seed, run in sorted(runs.items()):
        dest = out / f"seed_{seed}"
        dest.mkdir(exist_ok=True)
        for name in ("model.zip", "config.yml"):
            shutil.copyfile(Path(run) / name, dest / f".{name}.tmp")
            (dest / f".{name}.tmp").replace(dest / name)
        record_checksum(dest, dest / "model.zip", sha256_file(dest / "model.zip"))
    atomic_write_json(out / AGENT_FILE, {**meta, "seeds": sorted(runs)})
    atomic_write_text(out / "README.md", card)
    return out
