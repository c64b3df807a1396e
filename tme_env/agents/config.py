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
from tme_env.agents.resume import resolve_resume
from tme_env.envs import ENV_IDS

__all__ = ["TRAIN_ENV_IDS", "TrainConfig", "check_algo_env"]

#: The envs ``tme train`` trains on: the tme model's, since every run is evaluated in a
#: virtual trial of that model (`tme_env.agents.callbacks.ClinicalEvalCallback`).
TRAIN_ENV_IDS = tuple(e for e, kwargs in ENV_IDS.items() if "observation" in kwargs)


def check_algo_env(algo: str, env_id: str, what: str = "") -> None:
    """Check that ``tme train`` can train ``algo`` on ``env_id``.

    Args:
        algo: The algorithm.
        env_id: The environment id.
        what: Prefix of the messages (e.g. the config file).

    Raises:
        ValueError: An unknown algorithm or env, an env ``tme train`` does not evaluate (not
            one of `TRAIN_ENV_IDS`), or an action space the algorithm cannot use.
    """
    if algo not in ALGOS:
        raise ValueError(f"{what}algo: unknown algorithm {algo!r}; available: {', '.join(ALGOS)}")
    if env_id not in ENV_IDS:
        raise ValueError(f"{what}env_id: unknown env {env_id!r}; valid: {', '.join(ENV_IDS)}")
    if env_id not in TRAIN_ENV_IDS:
        raise ValueError(
            f"{what}env_id {env_id!r}: tme train evaluates every run in a virtual trial of the "
            f"tme model, which this env does not simulate; train on {', '.join(TRAIN_ENV_IDS)} "
            f"(or train on {env_id} with stable-baselines3 directly)"
        )
    if algo in DISCRETE_ALGOS and "Discrete" not in env_id:
        raise ValueError(f"{what}{algo} needs a discrete env, e.g. tme/TumorImmuneDiscrete-v2")
    if algo not in DISCRETE_ALGOS and "Discrete" in env_id:
        raise ValueError(f"{what}{algo} needs a continuous env, e.g. tme/TumorImmune-v2")


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
        checkpoint_every: Steps between checkpoints (an interrupted run also saves one).
        resume: A model ``.zip`` to continue training from, or a run folder (its latest
            checkpoint, `tme_env.agents.resume.resolve_resume`).
        run_dir: Continue in this existing run folder instead of making a new one (resume).
        progress: Show a progress bar.
        blind: Clinical observation fields the agent never sees (they read 0 in training
            and in every evaluation; `tme_env.agents.blind`), e.g. ``MONITORING`` for the
            value-of-information ablation. Recorded in ``config.yml``.
        torch_threads: Torch's intra-op threads (``torch.set_num_threads``). The policies
            are small MLPs, for which one thread is fastest: more threads add
            synchronisation and take cores from the simulator.
        cycle_weeks: Train the per-cycle variant: one decision per this many weeks (3: the
            21-day cycle; `tme_env.agents.cycle`), scored on the weekly task. None: weekly.
    """

    algo: str = "ppo"
    env_id: str = "tme/TumorImmune-v2"
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
    torch_threads: int = 1
    cycle_weeks: int | None = None

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
        check_algo_env(self.algo, self.env_id)
        for name, least in (("timesteps", 1), ("seed", 0), ("eval_every", 1),
                            ("eval_patients", 1), ("checkpoint_every", 1),
                            ("torch_threads", 1), ("cycle_weeks", 1)):  # fmt: skip
            v = getattr(self, name)
            if v is None and name in ("eval_every", "cycle_weeks"):
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")
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
        path = resolve_resume(self.resume)
        algo = model_algo(path)
        if algo != self.algo:
            raise ValueError(
                f"resume {str(path)!r} is a {algo} model; it cannot continue as {self.algo} "
                f"(pass algo {algo!r})"
            )


def _published_hint(path: str) -> str:
    """For a missing ``agents/...`` file: where the published hyperparameters live."""
    if Path(path).parts[:1] != ("agents",):
        return ""
    return (f" in {str(Path.cwd())!r}; the tuned and rl_zoo3 hyperparameters are published in "
            "the repository's top-level agents/ folder, not installed with the package: run "
            "from a checkout's root or give the file's full path")  # fmt: skip
