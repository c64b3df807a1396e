"""Trials on Ray: bit-identical to the local backend, streamed, and a killed worker retried."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import fields

import numpy as np
import pytest

pytest.importorskip("ray")

from tme_env import regimens  # noqa: E402
from tme_env.trials import run_trial  # noqa: E402
from tme_env.trials.run import TRIAL_ENV_IDS  # noqa: E402
from tme_env.trials.shards import sharded_trial  # noqa: E402
from tme_env.trials.streaming import stream_trial  # noqa: E402

pytestmark = pytest.mark.ray

ENV = TRIAL_ENV_IDS[1]  # the clinical env: measurement noise, per-patient seeds matter
N = 13
ARMS = ("mtd-chemo", "adaptive-at50")


def _policies() -> dict:
    return {name: regimens.get(name, observation="clinical") for name in ARMS}


@pytest.fixture(scope="module")
def local_trial():
    return run_trial(_policies(), env_id=ENV, n_patients=N, seed=7)


def assert_same_trial(a, b) -> None:
    assert list(a.arms) == list(b.arms)
    for name in a.arms:
        for f in fields(a.arms[name]):
            x, y = getattr(a.arms[name], f.name), getattr(b.arms[name], f.name)
            if x is None:
                assert y is None
                continue
            assert np.array_equal(np.asarray(x), np.asarray(y)), (name, f.name)


@pytest.mark.parametrize("shard_size", [3, 5, N])
def test_ray_shards_bit_identical_to_local(ray_local, local_trial, shard_size):
    on_ray = run_trial(_policies(), env_id=ENV, n_patients=N, seed=7, backend="ray",
                       shard_size=shard_size)  # fmt: skip
    assert_same_trial(local_trial, on_ray)


def test_stream_trial_on_ray_matches_local_parquet(ray_local, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    stream_trial(_policies(), str(tmp_path / "local"), env_id=ENV, n_patients=N, seed=7,
                 shard_size=4)  # fmt: skip
    stream_trial(_policies(), str(tmp_path / "ray"), env_id=ENV, n_patients=N, seed=7,
                 backend="ray", shard_size=3)  # fmt: skip
    # Rows come shard by shard (all arms of a shard together): compare in (arm, patient) order.
    a, b = (
        pq.read_table(tmp_path / name / "patients.parquet").to_pandas()
        .sort_values(["arm", "patient_index"], kind="stable").reset_index(drop=True)
        for name in ("local", "ray")
    )  # fmt: skip
    assert len(a) == N * len(ARMS)
    assert a.equals(b)
    assert (tmp_path / "local" / "summary.csv").read_text() == (
        tmp_path / "ray" / "summary.csv"
    ).read_text()


class KillWorkerOnce:
    """A policy whose first call anywhere kills the worker process running it (SIGKILL).

    The marker file is created atomically (``O_EXCL``), so exactly one call kills its worker;
    the others, and the retry of the killed shard, treat patients normally.
    """

    def __init__(self, policy, marker: str) -> None:
        """Wrap ``policy``; ``marker`` is the file that records the killed worker's pid."""
        self.policy, self.marker = policy, marker

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        """The wrapped policy's action, unless this call is the one that kills its worker."""
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return self.policy.predict(obs, state, episode_start, deterministic)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")  # pragma: no cover


@pytest.fixture
def killer_policies(ray_local, tmp_path):
    ray_local.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = str(tmp_path / "killed.pid")
    policies = _policies()
    policies["mtd-chemo"] = KillWorkerOnce(policies["mtd-chemo"], marker)
    return policies, marker


def test_killed_worker_is_retried_and_its_shard_counted_once(killer_policies, local_trial):
    policies, marker = killer_policies
    result = sharded_trial(policies, env_id=ENV, n_patients=N, seed=7, backend="ray",
                           shard_size=4, max_retries=2)  # fmt: skip
    killed = int(open(marker).read())
    assert killed != os.getpid()  # a Ray worker died, not this process
    assert_same_trial(local_trial, result)  # every patient once, outcomes unchanged


def test_without_retries_the_killed_worker_fails_the_trial(killer_policies):
    ray = pytest.importorskip("ray")
    policies, _marker = killer_policies
    with pytest.raises(ray.exceptions.WorkerCrashedError):
        sharded_trial(policies, env_id=ENV, n_patients=N, seed=7, backend="ray", shard_size=4,
                      max_retries=0)  # fmt: skip
