"""Load a trained Stable-Baselines3 model from its ``.zip`` (any supported algorithm)."""

from __future__ import annotations

import zipfile

__all__ = ["load_sb3_model"]


def load_sb3_model(path: str):  # noqa: ANN201 - an SB3 BaseAlgorithm
    """Load ``path`` with the algorithm recorded in it (PPO, A2C, SAC, TD3, DQN, RecurrentPPO).

    Raises:
        ValueError: If the file is not an SB3 model archive of a known algorithm.
    """
    import stable_baselines3 as sb3

    try:
        with zipfile.ZipFile(path) as zf:
            data = zf.read("data").decode()
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path!r} is not a stable-baselines3 model archive: {exc}") from None
    # Off-policy algorithms store their own policy classes; PPO and A2C share
    # ActorCriticPolicy and differ by their hyperparameters (clip_range vs RMSprop).
    for name in ("SAC", "TD3", "DQN"):
        if f"stable_baselines3.{name.lower()}." in data:
            return getattr(sb3, name).load(path, device="cpu")
    if "sb3_contrib" in data:
        from sb3_contrib import RecurrentPPO

        return RecurrentPPO.load(path, device="cpu")
    if '"clip_range"' in data:
        return sb3.PPO.load(path, device="cpu")
    if "RMSprop" in data:
        return sb3.A2C.load(path, device="cpu")
    raise ValueError(
        f"{path!r}: unknown algorithm; supported: PPO, A2C, SAC, TD3, DQN, RecurrentPPO"
    )
