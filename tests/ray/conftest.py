"""A local Ray with 2 CPUs for the tests here (marked ``ray``: their own CI step)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_local():
    """``ray.init(num_cpus=2)`` once per session, shut down at its end."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
