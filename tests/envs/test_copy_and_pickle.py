"""Copied and pickled environments continue their episode exactly and share nothing.

The envs keep views into packed buffers and the addresses of compiled code and of NumPy bit
generators (`tme_env.simulator.packed`, `bitgen`, `table`); a copy must rebuild them over its
own arrays, and an env unpickled in another process over that process's addresses.
"""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import tme_env  # noqa: F401 - registers the ids
from tme_env.envs import ENV_IDS

IDS = (*ENV_IDS, "tme/DePillis2003Chemo-v0")


def _actions(env: gym.Env, n: int) -> list:
    env.action_space.seed(0)
    return [env.action_space.sample() for _ in range(n)]


def _run(env: gym.Env, actions: list) -> list:
    out = []
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            break
    return out


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(x[0], y[0]) and x[1:4] == y[1:4] and x[4] == y[4]
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("env_id", IDS)
def test_a_deep_copy_continues_the_episode_and_leaves_the_original_alone(env_id):
    env, ref = gym.make(env_id), gym.make(env_id)
    actions = _actions(env, 40)
    for e in (env, ref):
        e.reset(seed=3)
        _run(e, actions[:10])
    clone = copy.deepcopy(env)
    expected = _run(ref, actions[10:])
    assert _same(_run(clone, actions[10:]), expected)  # the copy continues exactly
    assert _same(_run(env, actions[10:]), expected)  # and did not touch the original


def test_a_deep_copied_vector_env_continues_exactly():
    venv = gym.make_vec("tme/TumorImmune-v2", num_envs=4, vectorization_mode="vector_entry_point")
    ref = gym.make_vec("tme/TumorImmune-v2", num_envs=4, vectorization_mode="vector_entry_point")
    venv.action_space.seed(0)
    actions = [venv.action_space.sample() for _ in range(30)]
    for v in (venv, ref):
        v.reset(seed=1)
        for a in actions[:10]:
            v.step(a)
    clone = copy.deepcopy(venv)
    for a in actions[10:]:
        expected = ref.step(a)
        for v in (clone, venv):
            got = v.step(a)
            assert all(np.array_equal(g, e) for g, e in zip(got[:4], expected[:4], strict=True))


_CHILD = """
import pickle, sys
import numpy as np
import tme_env
out = []
for blob in pickle.loads(sys.stdin.buffer.read()):
    env, actions = pickle.loads(blob)
    out.append([env.step(a)[:2] for a in actions])
sys.stdout.buffer.write(pickle.dumps(out))
"""


def test_an_env_unpickled_in_another_process_continues_exactly():
    payload, expected = [], []
    for env_id in ("tme/TumorImmuneClinical-v2", "tme/DePillis2003Chemo-v0"):
        env = gym.make(env_id)
        actions = _actions(env, 25)
        env.reset(seed=5)
        _run(env, actions[:10])
        payload.append(pickle.dumps((env, actions[10:])))  # before the parent steps on
        expected.append([env.step(a)[:2] for a in actions[10:]])
    child = subprocess.run([sys.executable, "-c", _CHILD], input=pickle.dumps(payload),
                           capture_output=True, check=False, timeout=300)  # fmt: skip
    assert child.returncode == 0, child.stderr.decode()[-2000:]
    got = pickle.loads(child.stdout)
    for g, e in zip(got, expected, strict=True):
        pairs = zip(g, e, strict=True)
        assert all(np.array_equal(o1, o2) and r1 == r2 for (o1, r1), (o2, r2) in pairs)
