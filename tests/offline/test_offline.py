"""Offline RL: behaviour propensities, Minari datasets (write, reload, replay), d3rlpy, OPE."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from tme_env.offline import ENV_IDS, ClinicianBehaviour, behaviour, collect, policy_returns
from tme_env.offline.behaviour import DOSE_LEVELS, BehaviourSpec, Profile, snap_to_levels
from tme_env.offline.ope import on_policy_value, profile_levels, weighted_is

pytestmark = pytest.mark.offline
minari = pytest.importorskip("minari")
d3rlpy = pytest.importorskip("d3rlpy")


@pytest.fixture(autouse=True)
def _minari_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))


def test_snap_to_levels_rule():
    doses = np.array([[0.8, 0, 0], [0.64, 1, 0], [0.25, 0, 1], [0, 0.3, 0], [1, 1, 1]])
    assert DOSE_LEVELS[snap_to_levels(doses)].tolist() == [
        [1, 0, 0], [0.5, 1, 0], [0.5, 0, 1], [0, 1, 0], [1, 1, 1]]
    with pytest.raises(ValueError, match="last axis of 3"):
        snap_to_levels(np.zeros((2, 2)))


def test_profile_and_behaviour_validation():
    with pytest.raises(ValueError, match="unknown regimen 'nope'"):
        Profile("nope")
    with pytest.raises(ValueError, match="chemo_scale"):
        Profile("mtd-chemo", chemo_scale=1.5)
    with pytest.raises(ValueError, match="unknown behaviour 'x'; available"):
        behaviour("x")


def test_propensities_are_exact_probabilities():
    """The logged propensity equals the profile mixture, recomputed by brute force.

    Each deterministic profile's actions are replayed on the logged observations.
    """
    spec = behaviour("clinician-mixed")
    pol = ClinicianBehaviour(spec, "full", seed=1)
    eps = list(collect(pol, ENV_IDS["full"], "train", 6, seed=1))
    w = spec.weights
    for ep in eps[:3]:
        like = np.ones(len(w))
        for k in range(len(w)):
            f = profile_levels(spec.single(k), "full", [ep])[0]
            p = (1 - spec.epsilon) * (f == ep.behaviour["level"]) + spec.epsilon / 12
            like[k] = np.prod(p)
        np.testing.assert_allclose(np.prod(ep.behaviour["prob"]), np.dot(w, like), rtol=1e-8)
        assert np.all((ep.behaviour["prob"] > 0) & (ep.behaviour["prob"] <= 1))


def test_single_profile_policy_is_its_regimen_on_levels():
    """A one-profile spec without exploration gives its regimen's (snapped) doses."""
    spec = BehaviourSpec("one", "", (Profile("chemo-ici-inhibitor"),), epsilon=0.0)
    out = policy_returns(ClinicianBehaviour(spec, "full"), ENV_IDS["full"], "test", 4,
                         on_levels=True)
    assert out["steps"].min() >= 1 and np.all(np.isfinite(out["return"]))


def test_dataset_roundtrip_replay_and_bc(tmp_path):
    from tme_env.offline.baselines import train_baseline
    from tme_env.offline.dataset import episodes_from_minari, load_dataset, write_dataset

    dataset_id = "tme/TumorImmune/test-mixed-v0"
    write_dataset(dataset_id, "clinician-mixed", "full", "train", 5, seed=11, chunk_episodes=2)
    ds = load_dataset(dataset_id)
    assert ds.total_episodes == 5
    meta = ds.storage.metadata["tme_env"]
    assert meta["env_id"] == ENV_IDS["full"] and meta["seed"] == 11
    assert meta["behaviour"]["name"] == "clinician-mixed" and meta["tme_env_version"]
    env = ds.recover_environment()
    assert env.spec.id == ENV_IDS["full"] and env.unwrapped.config.split == "train"
    episodes = list(episodes_from_minari(ds))
    for ep in episodes:
        obs, _ = env.reset(seed=ep.seed, options={"patient": ep.patient})
        assert np.array_equal(obs, ep.observations[0])
        for t, a in enumerate(ep.actions):
            obs, r, term, trunc, _ = env.step(a)
            assert np.array_equal(obs, ep.observations[t + 1]) and r == ep.rewards[t]
        assert (term, trunc) == (ep.terminations[-1], ep.truncations[-1])
        assert np.array_equal(DOSE_LEVELS[ep.behaviour["level"]], ep.actions)
    policy = train_baseline("bc", episodes, n_steps=20, seed=0, batch_size=32)
    action, _ = policy.predict(episodes[0].observations[:4])
    assert action.shape == (4, 3) and np.all((action >= 0) & (action <= 1))
    with pytest.raises(ValueError, match="already exists"):
        write_dataset(dataset_id, "clinician-mixed", "full", "train", 1)


def test_clinical_dataset_replays_noise():
    from tme_env.offline.dataset import episodes_from_minari, write_dataset

    ds = write_dataset("tme/TumorImmuneClinical/test-v0", "clinician-expert", "clinical",
                       "validation", 2, seed=5, first_patient=3)
    ep = next(episodes_from_minari(ds))
    assert ep.patient == 3
    env = gym.make(ENV_IDS["clinical"], split="validation", cohort_size=5)
    obs, _ = env.reset(seed=ep.seed, options={"patient": ep.patient})
    assert np.array_equal(obs, ep.observations[0])
    for t, a in enumerate(ep.actions[:20]):
        obs, *_ = env.step(a)
        assert np.array_equal(obs, ep.observations[t + 1])


def test_wis_recovers_in_support_policy_and_behaviour_value():
    """PDWIS of a profile the behaviour contains is near its truth; on-policy mean exact."""
    spec = behaviour("clinician-expert")
    eps = list(collect(ClinicianBehaviour(spec, "full", seed=0), ENV_IDS["full"], "test", 12))
    own = on_policy_value(eps, 0.95, n_boot=50)
    g = [np.sum(e.rewards * 0.95 ** np.arange(len(e))) for e in eps]
    assert own["estimate"] == pytest.approx(np.mean(g))
    target = profile_levels(spec.single(0), "full", eps)
    res = weighted_is(eps, target, 0.95, n_boot=50)
    # Over the whole horizon no episode follows the profile exactly (2% exploration per
    # decision), but per-decision weights keep the early, least-discounted steps.
    assert 0 <= res["matched"] <= len(eps) and np.isfinite(res["estimate"])
    truth = policy_returns(ClinicianBehaviour(spec.single(0), "full"), ENV_IDS["full"], "test",
                           12, gamma=0.95)["return"].mean()
    assert abs(res["estimate"] - truth) < 0.5 * abs(truth)
    assert res["ci_low"] <= res["estimate"] <= res["ci_high"]
    with pytest.raises(ValueError, match="one target sequence per episode"):
        weighted_is(eps, target[:-1], 0.95)


def test_fqe_and_discrete_cql_run():
    from tme_env.offline.baselines import train_baseline
    from tme_env.offline.ope import fitted_q_evaluation

    eps = list(collect(ClinicianBehaviour(behaviour("clinician-mixed"), "full"),
                       ENV_IDS["full"], "train", 4))
    pol = train_baseline("discrete-cql", eps, n_steps=10, batch_size=32)
    assert pol.levels(eps[0].observations[:3]).shape == (3,)
    res = fitted_q_evaluation(pol, eps, n_steps=10, n_boot=20)
    assert np.isfinite(res["estimate"])


def test_relative_root_writes_and_loads(tmp_path, monkeypatch):
    """A relative folder (the README's ``--out datasets``) works; Minari used to double it."""
    from tme_env.offline.dataset import load_dataset, write_dataset

    monkeypatch.chdir(tmp_path)
    ds = write_dataset("tme/full/rel-v0", "clinician-mixed", "full", "train", 2, root="datasets")
    assert ds.total_episodes == 2
    assert (tmp_path / "datasets" / "tme" / "full" / "rel-v0" / "data" / "metadata.json").exists()
    assert (tmp_path / "datasets" / "tme" / "namespace_metadata.json").exists()
    assert load_dataset("tme/full/rel-v0", root="datasets").total_episodes == 2
    monkeypatch.setenv("MINARI_DATASETS_PATH", "datasets")  # the README's load command
    assert minari.load_dataset("tme/full/rel-v0").total_episodes == 2
    assert minari.list_local_datasets().keys() == {"tme/full/rel-v0"}


def test_failed_write_leaves_no_dataset(tmp_path, monkeypatch):
    """A fault mid-write (a full disk) leaves no dataset, no staging folder, and a rerun works."""
    from tme_env.offline import dataset as ds_mod

    flush = ds_mod._flush
    calls = []

    def failing_flush(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return flush(*args, **kwargs)

    monkeypatch.setattr(ds_mod, "_flush", failing_flush)
    with pytest.raises(OSError, match="No space left"):
        ds_mod.write_dataset("tme/x-v0", n_patients=3, root=tmp_path, chunk_episodes=2)
    assert len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    monkeypatch.setattr(ds_mod, "_flush", flush)
    assert ds_mod.write_dataset("tme/x-v0", n_patients=3, root=tmp_path).total_episodes == 3


def test_killed_write_leaves_no_dataset(tmp_path, monkeypatch):
    """SIGKILL with the dataset complete but not yet moved leaves nothing to load.

    The rerun is not blocked, and it removes the dead run's staging folder.
    """
    import os
    import subprocess
    import sys

    code = (
        "import os, signal\n"
        "from tme_env.offline import dataset as d\n"
        "d._move_into_place = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"d.write_dataset('tme/k-v0', n_patients=2, root={str(tmp_path)!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=os.environ.copy(), timeout=120,
                          capture_output=True, check=False)
    assert proc.returncode == -9, proc.stderr.decode()
    stale = [p.name for p in tmp_path.iterdir()]
    assert len(stale) == 1 and stale[0].startswith(".k-v0.tme-tmp-")  # hidden staging only
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    assert minari.list_local_datasets() == {}
    with pytest.raises(FileNotFoundError):
        minari.load_dataset("tme/k-v0")
    from tme_env.offline.dataset import write_dataset

    assert write_dataset("tme/k-v0", n_patients=2, root=tmp_path).total_episodes == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tme"]


def test_no_gym_banner_with_the_extra_installed():
    """d3rlpy installs gym 0.26.2: loading SB3 or d3rlpy through tme_env shows no banner."""
    import subprocess
    import sys

    code = ("import tme_env.agents.vec_env, tme_env.offline.baselines, d3rlpy, warnings\n"
            "warnings.warn('ours')")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "unmaintained" not in out.stderr and "UserWarning: ours" in out.stderr
