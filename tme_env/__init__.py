"""tme_env: a compiled tumour-immune simulator and RL benchmark for adaptive cancer treatment.

>>> import numpy as np, tme_env
>>> res = tme_env.simulate("depillis2003", t_eval=np.linspace(0, 150, 301))
>>> res.y.shape
(4, 301)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from tme_env import models
from tme_env.envs import register_envs
from tme_env.simulator import (
    BatchTrajectory,
    SimulationError,
    Trajectory,
    simulate,
    simulate_batch,
)

try:
    __version__ = version("tme_env")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

register_envs()

__all__ = [
    "BatchTrajectory",
    "SimulationError",
    "Trajectory",
    "__version__",
    "models",
    "simulate",
    "simulate_batch",
]
