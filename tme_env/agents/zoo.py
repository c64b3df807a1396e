r"""Our hyperparameters in rl_zoo3's format, for ``python -m rl_zoo3.train -conf FILE``.

Our files (the package's ``tme_env/agents/hyperparams/<algo>.yml``) have a ``default`` block
plus per-id overrides, and no training budget (``tme train --timesteps``). rl_zoo3 wants one
block per env id, each with ``n_timesteps`` and ``policy``. `zoo_hyperparams` resolves ours
per id (the same `tme_env.agents.algos.load_hyperparams` that ``tme train`` uses) and adds
those two keys; the files it writes are published in the repository's top-level
``agents/hyperparams/zoo/`` (a test checks they match). From a repository checkout::

    python -m tme_env.agents.zoo --out agents/hyperparams/zoo
    python -m rl_zoo3.train --algo ppo --env tme/TumorImmune-v2 --gym-packages tme_env \\
        -conf agents/hyperparams/zoo/ppo.yml --num-threads 1

Our ``normalize`` key is rl_zoo3's own (``true``, or a mapping written as the string of
``VecNormalize`` keyword arguments rl_zoo3 evaluates); rl_zoo3 then keeps the statistics in
its ``vecnormalize.pkl`` beside the model, where ``tme train`` stores them inside the model
file (`tme_env.agents.normalize`).

rl_zoo3 builds its own ``DummyVecEnv`` of ``gym.make`` copies, not our batched VecEnv, so it
trains several times slower than ``tme train`` at the same settings.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from tme_env.agents.algos import ALGOS, load_hyperparams, policy_name
from tme_env.envs import REGISTRY
from tme_env.io import atomic_write_text

__all__ = ["ZOO_ALGOS", "TIMESTEPS", "zoo_hyperparams", "write_zoo_files"]

#: Our algorithm name -> rl_zoo3's (``--algo``; RecurrentPPO is ``ppo_lstm`` there).
ZOO_ALGOS = {algo: ("ppo_lstm" if algo == "recurrentppo" else algo) for algo in ALGOS}
#: Training budget per algorithm (``n_timesteps``): modest budgets for a first zoo run (TD3
#: as SAC); the leaderboard's, at the protocol's 1M steps, are in
#: ``experiments/leaderboard.py``.
TIMESTEPS = {
    "ppo": 300_000,
    "a2c": 300_000,
    "sac": 30_000,
    "td3": 30_000,
    "dqn": 100_000,
    "recurrentppo": 100_000,
    "tqc": 30_000,
    "qrdqn": 100_000,
}


def _env_ids(algo: str) -> list[str]:
    discrete = [i for i, (*_, kwargs) in REGISTRY.items() if kwargs.get("discrete")]
    if algo in ("dqn", "qrdqn"):
        return discrete
    return [i for i in REGISTRY if i not in discrete]


def zoo_hyperparams(algo: str) -> dict[str, dict[str, Any]]:
    """rl_zoo3 blocks for every env id ``algo`` can train on.

    Raises:
        ValueError: On an unknown algorithm (the message lists `ALGOS`).
    """
    if algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; available: {', '.join(ALGOS)}")
    policy = policy_name(algo)
    out = {}
    for env_id in _env_ids(algo):
        hyper = load_hyperparams(algo, env_id)
        if isinstance(hyper.get("normalize"), dict):  # rl_zoo3 evaluates a string of kwargs
            hyper["normalize"] = "dict(" + ", ".join(f"{k}={v!r}" for k, v in
                                                     hyper["normalize"].items()) + ")"  # fmt: skip
        out[env_id] = {"n_timesteps": TIMESTEPS[algo], "policy": policy, **hyper}
    return out


def write_zoo_files(out_dir: str | Path) -> list[Path]:
    """Write ``<zoo algo>.yml`` for every algorithm into ``out_dir`` (atomically, each)."""
    out = Path(out_dir)
    written = []
    for algo, zoo_name in ZOO_ALGOS.items():
        path = out / f"{zoo_name}.yml"
        header = (
            f"# rl_zoo3 hyperparameters for {algo}, generated from tme_env/agents/hyperparams/"
            f"{algo}.yml by\n"
            "# `python -m tme_env.agents.zoo --out agents/hyperparams/zoo`; do not edit.\n"
        )
        atomic_write_text(path, header + yaml.safe_dump(zoo_hyperparams(algo), sort_keys=False))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Write the rl_zoo3 files."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the <algo>.yml files "
                    "(the repository's agents/hyperparams/zoo)")  # fmt: skip
    args = ap.parse_args(argv)
    for path in write_zoo_files(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
