"""The v2 reward is the score: an episode's undiscounted return is the patient's Q-TWiST."""

from __future__ import annotations

import numpy as np
import pytest

from tme_env import clinical, regimens
from tme_env.envs import ENV_IDS, RewardWeights
from tme_env.envs.vector import TumorImmuneVectorEnv
from tme_env.trials import run_trial
from tme_env.trials.arms import run_arm

N = 24
REGIMENS = ("no-treatment", "chemo-ici-concurrent", "metronomic-chemo-ici", "adaptive-at50")


class RandomDoses:
    """A training-free random policy: uniform doses, from its own seeded generator."""

    def __init__(self, seed: int = 0) -> None:
        """Seed the generator."""
        self.rng = np.random.default_rng(seed)

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        """Uniform doses in [0, 1] for every row of ``obs``."""
        return self.rng.random((obs.shape[0], 3)).astype(np.float32), state


def _returns(policy, env_id, n, seed, **settings):
    """Undiscounted return per patient, run as `tme_env.trials.arms.run_arm` runs an arm."""
    venv = TumorImmuneVectorEnv(num_envs=n, **ENV_IDS[env_id], split="test", cohort_size=n,
                                **settings)  # fmt: skip
    obs, _ = venv.reset(seed=[seed + j for j in range(n)], options={"patients": list(range(n))})
    alive = np.ones(n, dtype=bool)
    total = np.zeros(n)
    state, start = None, np.ones(n, dtype=bool)
    terms = {"qtwist": np.zeros(n), "tumour": np.zeros(n), "hotness": np.zeros(n)}
    for _ in range(venv.max_episode_steps):
        action, state = policy.predict(obs, state=state, episode_start=start, deterministic=True)
        start = np.zeros(n, dtype=bool)
        obs, reward, terminated, truncated, info = venv.step(action)
        total[alive] += reward[alive]
        for k in terms:
            terms[k][alive] += info[f"reward_{k}"][alive]
        alive &= ~(terminated | truncated)
        if not alive.any():
            break
    venv.close()
    return total, terms


def _policies(observation):
    out = {name: regimens.get(name, observation=observation) for name in REGIMENS}
    return out | {"random": RandomDoses(7)}


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ["tme/TumorImmune-v2", "tme/TumorImmuneClinical-v2"])
def test_episode_return_is_the_patients_q_twist(env_id):
    """Per patient, for several regimens and a random policy: return == Q-TWiST (months)."""
    observation = ENV_IDS[env_id]["observation"]
    trial = run_trial(_policies(observation), env_id=env_id, split="test", n_patients=N, seed=3)
    progressed_somewhere = False
    for name, policy in _policies(observation).items():
        arm = trial.arms[name]
        returned, _ = _returns(policy, env_id, N, 3)
        q = arm.q_twist_days / clinical.DAYS_PER_MONTH
        np.testing.assert_allclose(returned, q, rtol=1e-9, err_msg=f"{env_id} {name}")
        progressed_somewhere |= bool((arm.pfs_event & (arm.pfs_days < arm.os_days)).any())
    assert progressed_somewhere  # the split at progression was exercised


@pytest.mark.parametrize("env_id", ["tme/TumorImmune-v2", "tme/TumorImmuneClinical-v2"])
def test_random_policy_return_is_q_twist(env_id):
    """The fast version: a random policy on a few patients."""
    arm = run_trial({"random": RandomDoses(1)}, env_id=env_id, split="test", n_patients=6,
                    seed=0).arms["random"]  # fmt: skip
    returned, _ = _returns(RandomDoses(1), env_id, 6, 0)
    np.testing.assert_allclose(returned, arm.q_twist_days / clinical.DAYS_PER_MONTH, rtol=1e-9)


def test_shaping_is_potential_based_and_off_by_default():
    """Tumour and hotness terms are 0 by default; switched on, each sums to -w Phi(s_0)."""
    assert RewardWeights() == RewardWeights(qtwist=1.0, tumour=0.0, hotness=0.0)
    policy = regimens.get("chemo-ici-concurrent")
    base, terms0 = _returns(policy, "tme/TumorImmune-v2", 8, 0)
    assert not terms0["tumour"].any() and not terms0["hotness"].any()
    policy = regimens.get("chemo-ici-concurrent")
    shaped, terms = _returns(policy, "tme/TumorImmune-v2", 8, 0,
                             reward={"tumour": 1.0, "hotness": 2.0})  # fmt: skip
    venv = TumorImmuneVectorEnv(num_envs=8, observation="full", split="test", cohort_size=8)
    _, info = venv.reset(seed=list(range(8)), options={"patients": list(range(8))})
    venv.close()
    # Telescoped: Phi = -log10 burden and hotness, 0 at the episode's end.
    np.testing.assert_allclose(terms["tumour"], np.log10(info["tumour_cells"]), rtol=1e-9)
    np.testing.assert_allclose(terms["hotness"], -2.0 * info["hotness"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(shaped - terms["tumour"] - terms["hotness"], base, rtol=1e-12)


def test_return_is_q_twist_with_scans_between_steps(monkeypatch):
    """With 10-day steps most scans fall between step ends (log-linear interpolation)."""
    settings = {"observation": "full", "decision_interval_days": 10.0}
    monkeypatch.setitem(ENV_IDS, "tme/TenDay-test", settings)
    arm, _ = run_arm("random", RandomDoses(5), "tme/TenDay-test", "test", N, 1)
    returned, _ = _returns(RandomDoses(5), "tme/TenDay-test", N, 1)
    np.testing.assert_allclose(returned, arm.q_twist_days / clinical.DAYS_PER_MONTH, rtol=1e-9)
    assert (arm.pfs_event & (arm.pfs_days < arm.os_days)).any()
