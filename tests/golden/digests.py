"""Golden digests of env trajectories and trial arms: refactors must leave them bit-identical.

Each entry is the SHA-256 of every array a run produced (observations, rewards, flags, the
info record; or a trial arm's per-patient outcomes), hashed as raw bytes with their dtype and
shape, so any change in any bit of any value changes the digest.

Covered: every registered id as a single env and as the native vector env (seeded random
actions, through resets and autoresets), the SB3 VecEnv, the standard regimens, the committed
best fixed schedule, both hand-written rules and a fixed schedule of the family in trials on
both trial envs, and an open-loop schedule arm (`run_schedule`).

``python -m tests.golden.digests --write`` rewrites ``digests.json`` (only when the dynamics
are meant to change, in the same commit that changes them); ``tests/test_golden.py`` compares.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import tme_env  # noqa: F401  (registers the ids)

GOLDEN_FILE = Path(__file__).with_name("digests.json")
TME_IDS = ("tme/TumorImmune-v2", "tme/TumorImmuneClinical-v2", "tme/TumorImmuneDiscrete-v2")
ALL_IDS = (*TME_IDS, "tme/DePillis2003Chemo-v0")


class _Hasher:
    def __init__(self) -> None:
        self.h = hashlib.sha256()

    def add(self, value: Any) -> None:
        if isinstance(value, dict):
            for k in sorted(value):
                self.h.update(str(k).encode())
                self.add(value[k])
            return
        if isinstance(value, (list, tuple)) and not (value and isinstance(value[0], (int, float))):
            for v in value:
                self.add(v)
            return
        a = np.asarray(value)
        if a.dtype == object:
            self.h.update(repr(a.tolist()).encode())
            return
        a = np.ascontiguousarray(a)
        self.h.update(f"{a.dtype.str}{a.shape}".encode())
        self.h.update(a.tobytes())

    def hexdigest(self) -> str:
        return self.h.hexdigest()


def single_env(env_id: str, steps: int = 120, seed: int = 3) -> str:
    """Seeded random actions in the single env, through terminations and resets."""
    env = gym.make(env_id, cohort_size=8) if env_id in TME_IDS else gym.make(env_id)
    env.action_space.seed(seed)
    h = _Hasher()
    obs, info = env.reset(seed=seed)
    h.add(obs)
    h.add(info)
    for k in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        h.add([obs, np.float64(reward), np.bool_(terminated), np.bool_(truncated)])
        h.add(info)
        if terminated or truncated or k % 50 == 49:
            obs, info = env.reset()
            h.add(obs)
            h.add(info)
    env.close()
    return h.hexdigest()


def vector_env(env_id: str, steps: int = 80, n: int = 4, seed: int = 5) -> str:
    """Seeded random actions in the native vector env (autoreset)."""
    kwargs = {"cohort_size": 8} if env_id in TME_IDS else {}
    env = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    env.action_space.seed(seed)
    h = _Hasher()
    obs, info = env.reset(seed=seed)
    h.add(obs)
    h.add(info)
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        h.add([obs, reward, terminated, truncated])
        h.add(info)
    env.close()
    return h.hexdigest()


def sb3_vec_env(env_id: str = "tme/TumorImmuneClinical-v2", steps: int = 60) -> str:
    """Seeded random actions in the SB3 VecEnv."""
    from tme_env.agents.vec_env import make_sb3_vec_env

    venv = make_sb3_vec_env(env_id, n_envs=3, seed=11, cohort_size=8)
    space = venv.action_space
    space.seed(11)
    h = _Hasher()
    h.add(venv.reset())
    for _ in range(steps):
        obs, reward, done, infos = venv.step(np.stack([space.sample() for _ in range(3)]))
        h.add([obs, reward, done])
        for info in infos:
            # Not the episode's wall-clock time ("t"): it is the only field that is not data.
            if "episode" in info:
                info = {**info, "episode": {k: v for k, v in info["episode"].items() if k != "t"}}
            h.add({k: v for k, v in info.items() if k != "terminal_observation"})
            if "terminal_observation" in info:
                h.add(info["terminal_observation"])
    venv.close()
    return h.hexdigest()


def _arm_digest(arm: Any) -> str:
    import dataclasses

    h = _Hasher()
    for f in dataclasses.fields(arm):
        h.h.update(f.name.encode())
        h.add(getattr(arm, f.name))
    return h.hexdigest()


def trial_arms(env_id: str, n: int = 30) -> dict[str, str]:
    """Trial arms of the regimens, the best fixed schedule, the rules and a family member."""
    from tme_env import regimens
    from tme_env.benchmark.baselines import FeedbackRule, best_fixed_schedule
    from tme_env.envs import ENV_IDS
    from tme_env.regimens.family import FixedSchedule, ImmunotherapyFirstRule
    from tme_env.trials import run_trial

    mode = ENV_IDS[env_id]["observation"]
    policies: dict[str, Any] = {n: regimens.get(n, observation=mode) for n in regimens.available()}
    policies["best-fixed"] = best_fixed_schedule(env_id)
    policies["family"] = FixedSchedule.grid(observation=mode)[7]
    if mode == "clinical":  # the rules read the clinical observation
        policies["feedback-rule"] = FeedbackRule()
        policies["immunotherapy-first"] = ImmunotherapyFirstRule()
    result = run_trial(policies, env_id=env_id, split="test", n_patients=n, seed=0)
    return {f"{env_id}:{name}": _arm_digest(arm) for name, arm in result.arms.items()}


def schedule_arms(n: int = 20) -> dict[str, str]:
    """Open-loop arms (`run_schedule`, daily outputs)."""
    from tme_env.patients import cohort
    from tme_env.regimens import schedules
    from tme_env.trials import run_schedule

    c = cohort("validation", n)
    out = {}
    for name, fn in (("chemo_q3w", schedules.chemo_q3w),
                     ("chemo_ici_inhibitor", schedules.chemo_ici_inhibitor)):  # fmt: skip
        out[f"schedule:{name}"] = _arm_digest(run_schedule(c, fn(), name=name))
    return out


def compute(progress: Callable[[str], None] | None = None) -> dict[str, str]:
    """Every digest, keyed by what produced it."""
    out: dict[str, str] = {}
    jobs: Iterable[tuple[str, Callable[[], Any]]] = [
        *((f"single:{i}", lambda i=i: single_env(i)) for i in ALL_IDS),
        *((f"vector:{i}", lambda i=i: vector_env(i)) for i in ALL_IDS),
        ("sb3:tme/TumorImmuneClinical-v2", sb3_vec_env),
    ]
    for key, job in jobs:
        if progress:
            progress(key)
        out[key] = job()
    for env_id in ("tme/TumorImmune-v2", "tme/TumorImmuneClinical-v2"):
        if progress:
            progress(f"trial:{env_id}")
        out.update(trial_arms(env_id))
    out.update(schedule_arms())
    return out


def platform() -> dict[str, str]:
    """What the bits depend on besides the code: the CPU numba compiles for, and versions."""
    import llvmlite.binding
    import numba

    return {"cpu": llvmlite.binding.get_host_cpu_name(), "numba": numba.__version__,
            "numpy": np.__version__}  # fmt: skip


def load() -> tuple[dict[str, str], dict[str, str]]:
    """The committed ``(platform, digests)``."""
    data = json.loads(GOLDEN_FILE.read_text())
    return data["platform"], data["digests"]


def main() -> None:
    """Print the digests, compare them with the committed ones, or rewrite those."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite digests.json")
    args = ap.parse_args()
    got = compute(progress=lambda k: print("...", k, flush=True))
    if args.write:
        data = {"platform": platform(), "digests": got}
        GOLDEN_FILE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(got)} digests to {GOLDEN_FILE}")
        return
    where, want = load()
    if where != platform():
        print(f"note: digests were written on {where}, this is {platform()}")
    bad = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
    print(f"{len(want) - len(bad)} of {len(want)} digests identical")
    for k in bad:
        print("DIFFERS:", k)
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
