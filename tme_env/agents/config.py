"""`TrainConfig`: the settings of one training run, checked before anything runs.

Kept apart from `tme_env.agents.train` so that reading and checking a config (``tme train``'s
parser, ``tme sweep``) does not import stable-baselines3 or torch.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tme_env.agents.algos import ALGOS, DISCRETE_ALGOS, load_hyperparams
from tme_env.agents.loader import model_algo
from tme_env.envs import ENV_IDS

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    """Settings of one training run (see `train`).

    Attributes:
        algo: One of `ALGOS`.
        env_id: A registered ``tme/`` id.
        timesteps: Environment steps to train for (>= 1).
        seed: Seed of the model and the environments (>= 0).
        config_file: A YAML file overriding the hyperparameters.
        out: Parent folder of the run folder.
        eval_every: Steps between validation evaluations; None: a quarter of ``timesteps``.
            A final evaluation always runs at the end.
        eval_patients: Validation patients per evaluation (>= 1).
        checkpoint_every: Steps between checkpoints.
        resume: A model ``.zip`` to continue training from.
        run_dir: Continue in this existing run folder instead of making a new one (resume).
        progress: Show a progress bar.
        blind: Clinical observation fields the agent never sees (they read 0 in training
            and in every evaluation; `tme_env.agents.blind`), e.g. ``MONITORING`` for the
            value-of-information ablation. Recorded in ``config.yml``.
    """

    algo: str = "ppo"
    env_id: str = "tme/TumorImmune-v1"
    timesteps: int = 200_000
    seed: int = 0
    config_file: str | None = None
    out: str = "runs"
    eval_every: int | None = None
    eval_patients: int = 200
    checkpoint_every: int = 100_000
    resume: str | None = None
    run_dir: str | None = None
    progress: bool = True
    blind: tuple[str, ...] = ()

    @property
    def eval_interval(self) -> int:
        """Steps between periodic evaluations (``eval_every``, or a quarter of the run)."""
        if self.eval_every is not None:
            return int(self.eval_every)
        return max(1, math.ceil(self.timesteps / 4))

    def validate(self) -> dict[str, Any]:
        """Check every setting before anything runs; return the resolved hyperparameters.

        Raises:
            ValueError: Naming the setting and the bad value (an unknown algorithm or env,
                a count below its minimum, an unreadable or wrong config, a missing resume
                file or one trained with another algorithm, an unwritable ``out``).
        """
        if self.algo not in ALGOS:
            raise ValueError(
                f"algo: unknown algorithm {self.algo!r}; available: {', '.join(ALGOS)}"
            )
        if self.env_id not in ENV_IDS:
            raise ValueError(f"env_id: unknown env {self.env_id!r}; valid: {', '.join(ENV_IDS)}")
        for name, least in (("timesteps", 1), ("seed", 0), ("eval_every", 1),
                            ("eval_patients", 1), ("checkpoint_every", 1)):  # fmt: skip
            v = getattr(self, name)
            if v is None and name == "eval_every":
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")
        if self.algo in DISCRETE_ALGOS and "Discrete" not in self.env_id:
            raise ValueError(f"{self.algo} needs a discrete env, e.g. tme/TumorImmuneDiscrete-v1")
        if self.algo not in DISCRETE_ALGOS and "Discrete" in self.env_id:
            raise ValueError(f"{self.algo} needs a continuous env, e.g. tme/TumorImmune-v1")
        if self.config_file is not None and not Path(self.config_file).is_file():
            raise ValueError(f"config_file {self.config_file!r}: file not found"
                             f"{_published_hint(self.config_file)}")  # fmt: skip
        # deferred: tme_env.agents.blind imports stable_baselines3 (a VecEnv wrapper)
        from tme_env.agents.blind import blind_columns

        blind_columns(self.env_id, self.blind)  # raises on a bad field or a non-clinical env
        hyper = load_hyperparams(self.algo, self.env_id, self.config_file)
        if self.resume is not None:
            self._check_resume()
        if self.run_dir is not None and not (Path(self.run_dir) / "config.yml").is_file():
            raise ValueError(f"run_dir {self.run_dir!r} is not a run folder (no config.yml)")
        out = Path(self.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"out {self.out!r} is a file, not a folder")
        existing = next((p for p in (out, *out.parents) if p.exists()), Path("."))
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"out {self.out!r}: no permission to write in {str(existing)!r}")
        return hyper

    def _check_resume(self) -> None:
        path = Path(self.resume)
        if not path.is_file():
            raise ValueError(f"resume {self.resume!r}: file not found")
        algo = model_algo(path)
        if algo != self.algo:
            raise ValueError(
                f"resume {self.resume!r} is a {algo} model; it cannot continue as {self.algo} "
                f"(pass algo {algo!r})"
            )


def _published_hint(path: str) -> str:
    """For a missing ``agents/...`` file: where the published hyperparameters live."""
    if Path(path).parts[:1] != ("agents",):
        return ""
    return (f" in {str(Path.cwd())!r}; the tuned and rl_zoo3 hyperparameters are published in "
            "the repository's top-level agents/ folder, not installed with the package: run "
            "from a checkout's root or give the file's full path")  # fmt: skip
