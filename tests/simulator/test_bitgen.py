"""Generators drawn from compiled code (`tme_env.simulator.bitgen`) give NumPy's numbers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from numba import njit

from tme_env.simulator.bitgen import GeneratorAddresses, next_double


@njit
def _draw(table, out):  # pragma: no cover - compiled
    for i in range(out.shape[0]):
        for k in range(out.shape[1]):
            out[i, k] = next_double(table[i, 0], table[i, 1])


@pytest.mark.parametrize(
    "bit_generator", [np.random.PCG64, np.random.PCG64DXSM, np.random.Philox, np.random.SFC64,
                      np.random.MT19937],  # fmt: skip
)
def test_compiled_draws_equal_generator_random_and_continue_its_stream(bit_generator):
    ours = [np.random.Generator(bit_generator(seed)) for seed in (1, 2)]
    ref = [np.random.Generator(bit_generator(seed)) for seed in (1, 2)]
    table = GeneratorAddresses(2)
    table.update_all(ours)
    out = np.empty((2, 3))
    _draw(table.table, out)
    _draw(table.table, out)
    for i in range(2):
        ref[i].random(3)
        np.testing.assert_array_equal(out[i], ref[i].random(3))
        # The generator's own stream goes on after the compiled draws.
        assert ours[i].random() == ref[i].random()
        np.testing.assert_array_equal(ours[i].standard_normal(4), ref[i].standard_normal(4))


def test_addresses_follow_a_replaced_generator_and_check_their_input():
    table = GeneratorAddresses(1)
    a, b = np.random.default_rng(0), np.random.default_rng(1)
    table.update(0, a)
    first = table.table.copy()
    table.update(0, a)  # the same object: nothing re-read
    np.testing.assert_array_equal(table.table, first)
    table.update(0, b)
    assert table.table[0, 1] != first[0, 1]  # the new generator's state
    out = np.empty((1, 1))
    _draw(table.table, out)
    assert out[0, 0] == np.random.default_rng(1).random()
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        table.update(0, np.random.RandomState(0))
    with pytest.raises(ValueError, match="expected 1 generators, got 2"):
        table.update_all([a, b])


def test_the_full_env_draws_two_uniforms_per_step_from_its_generator():
    """Full observation: the irAE uniforms are the only per-step draws of ``np_random``."""
    env = gym.make("tme/TumorImmune-v2")
    env.reset(seed=3)
    ref = np.random.Generator(np.random.PCG64())
    ref.bit_generator.state = env.unwrapped.np_random.bit_generator.state
    for _ in range(5):
        env.step(np.array([0.0, 1.0, 0.5], dtype=np.float32))
    ref.random(10)
    assert env.unwrapped.np_random.random() == ref.random()
