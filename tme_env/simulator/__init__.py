"""Model-agnostic simulator: compiled integrator kernels, schedules and the `simulate` API."""

from tme_env.simulator.simulate import (
    BatchTrajectory,
    SimulationError,
    Trajectory,
    resolve_model,
    simulate,
    simulate_batch,
)

__all__ = [
    "BatchTrajectory",
    "SimulationError",
    "Trajectory",
    "resolve_model",
    "simulate",
    "simulate_batch",
]
