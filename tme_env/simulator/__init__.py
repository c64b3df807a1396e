"""Model-agnostic simulator: the compiled integrator, schedules, `simulate` and `BatchStepper`.

Modules by role: `integrator` (Dormand–Prince kernels), `rhs` (the right-hand-side ABI),
`packed` (the packed-buffer entries), `schedule` (infusions and boluses to segments),
`simulate` (the validated public API), `stepper` (interval stepping for environments).
"""

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
