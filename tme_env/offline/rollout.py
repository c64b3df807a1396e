"""Batched rollouts on the native vector env: logged episodes and true policy values.

`collect` runs a `ClinicianBehaviour` on patients ``first .. first + n - 1`` of a split in
batches and yields one `Episode` at a time (with the behaviour's propensities), so a writer can
stream them; `policy_returns` measures the true (discounted) return of any SB3-style policy on
the same patients, the ground truth of the off-policy estimates.

**Seeds.** Patient ``p`` is cohort index ``p`` of the split and its episode is reset with seed
``seed + p`` (measurement noise of the clinical env), exactly as a single env
``reset(seed=seed + p, options={"patient": p})`` (tested by replay) and as
`tme_env.trials.run_trial` with ``seed`` seeds its slots.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from tme_env.envs import ENV_IDS as REGISTERED
from tme_env.envs.vector import TumorImmuneVectorEnv
from tme_env.offline.behaviour import DOSE_LEVELS, ClinicianBehaviour, snap_to_levels

__all__ = ["Episode", "collect", "discounted_returns", "make_vector_env", "policy_returns"]


@dataclass
class Episode:
    """One logged episode of ``T`` decisions.

    Attributes:
        patient: Cohort index in the split.
        seed: The env reset seed.
        observations: ``(T + 1, obs_dim)`` float32 (the last one after the last action).
        actions: ``(T, 3)`` float32 dose fractions.
        rewards: ``(T,)``.
        terminations: ``(T,)`` bool.
        truncations: ``(T,)`` bool.
        infos: Env info keys, each ``(T + 1,)`` (reset info first).
        behaviour: ``level``, ``prob``, ``prob_profile`` of each decision ``(T,)`` and
            ``profile`` (the drawn profile, ``()``).
    """

    patient: int
    seed: int
    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    infos: dict[str, np.ndarray]
    behaviour: dict[str, np.ndarray]

    def __len__(self) -> int:
        """Number of decisions."""
        return len(self.rewards)


def make_vector_env(env_id: str, split: str, n_envs: int, cohort_size: int,
                    **overrides: Any) -> TumorImmuneVectorEnv:  # fmt: skip
    """The native vector env of a registered ``tme/TumorImmune*`` id on a split.

    Raises:
        ValueError: On an id that is not a continuous ``tme/TumorImmune*`` env.
    """
    kwargs = REGISTERED.get(env_id)
    if kwargs is None or kwargs.get("discrete") or not env_id.startswith("tme/TumorImmune"):
        valid = [k for k, v in REGISTERED.items()
                 if k.startswith("tme/TumorImmune") and not v.get("discrete")]  # fmt: skip
        raise ValueError(f"unknown offline env {env_id!r}; valid: {', '.join(valid)}")
    return TumorImmuneVectorEnv(num_envs=n_envs, **kwargs, split=split,
                                cohort_size=cohort_size, **overrides)  # fmt: skip


def _batches(first: int, n: int, batch_size: int) -> Iterator[np.ndarray]:
    for start in range(first, first + n, batch_size):
        yield np.arange(start, min(start + batch_size, first + n))


def collect(
    behaviour: ClinicianBehaviour,
    env_id: str,
    split: str,
    n_patients: int,
    seed: int = 0,
    first_patient: int = 0,
    batch_size: int = 256,
) -> Iterator[Episode]:
    """Log ``behaviour`` on ``n_patients`` patients, yielding episodes in patient order.

    Args:
        behaviour: The logging policy (its ``observation`` must match the env's).
        env_id: A continuous ``tme/TumorImmune*`` id.
        split: Cohort split.
        n_patients: Episodes (one per patient).
        seed: Env reset seed base (patient ``p`` uses ``seed + p``).
        first_patient: Cohort index of the first patient.
        batch_size: Patients stepped together (memory holds one batch).
    """
    if n_patients < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_patients}")
    cohort_size = first_patient + n_patients
    venv = None
    for ids in _batches(first_patient, n_patients, batch_size):
        b = len(ids)
        if venv is None or venv.num_envs != b:
            venv = make_vector_env(env_id, split, b, cohort_size)
        if venv.config.observation != behaviour.observation:
            raise ValueError(f"behaviour reads {behaviour.observation!r} observations but "
                             f"{env_id} gives {venv.config.observation!r}")  # fmt: skip
        yield from _collect_batch(behaviour, venv, ids, seed)


def _collect_batch(behaviour: ClinicianBehaviour, venv: TumorImmuneVectorEnv, ids: np.ndarray,
                   seed: int) -> Iterator[Episode]:  # fmt: skip
    b, horizon = len(ids), venv.max_episode_steps
    obs, info = venv.reset(seed=[seed + int(p) for p in ids], options={"patients": list(ids)})
    keys = [k for k in info if not k.startswith("_")]
    o = np.zeros((b, horizon + 1, obs.shape[1]), np.float32)
    o[:, 0] = obs
    acts = np.zeros((b, horizon, 3), np.float32)
    rew = np.zeros((b, horizon))
    term = np.zeros((b, horizon), bool)
    trunc = np.zeros((b, horizon), bool)
    infos = {k: np.zeros((b, horizon + 1)) for k in keys}
    for k in keys:
        infos[k][:, 0] = info[k]
    beh = {"level": np.zeros((b, horizon), np.int64), "prob": np.ones((b, horizon)),
           "prob_profile": np.ones((b, horizon))}  # fmt: skip
    length = np.full(b, horizon)
    alive = np.ones(b, dtype=bool)
    state = behaviour.new_state(b, ids)
    for t in range(horizon):
        action, state = behaviour.predict(obs, state)
        obs, reward, terminated, truncated, info = venv.step(action)
        live = alive
        o[live, t + 1] = obs[live]
        acts[live, t] = action[live]
        rew[live, t] = reward[live]
        term[live, t] = terminated[live]
        trunc[live, t] = truncated[live]
        for k in keys:
            infos[k][live, t + 1] = info[k][live]
        beh["level"][live, t] = state.level[live]
        beh["prob"][live, t] = state.prob[live]
        beh["prob_profile"][live, t] = state.prob_profile[live]
        ended = live & (terminated | truncated)
        length[ended] = t + 1
        alive = alive & ~ended
        if not alive.any():
            break
    for j, p in enumerate(ids):
        T = int(length[j])
        yield Episode(
            int(p), seed + int(p), o[j, : T + 1].copy(), acts[j, :T].copy(), rew[j, :T].copy(),
            term[j, :T].copy(), trunc[j, :T].copy(), {k: v[j, : T + 1].copy()
                                                         for k, v in infos.items()},
            {"level": beh["level"][j, :T].copy(), "prob": beh["prob"][j, :T].copy(),
             "prob_profile": beh["prob_profile"][j, :T].copy(),
             "profile": np.int64(state.profile[j])},
        )  # fmt: skip


def discounted_returns(rewards: np.ndarray, gamma: float) -> float:
    """``sum_t gamma^t r_t`` of one episode."""
    r = np.asarray(rewards, dtype=np.float64)
    return float(np.sum(r * gamma ** np.arange(len(r))))


def policy_returns(
    policy: Any,
    env_id: str,
    split: str,
    n_patients: int,
    seed: int = 0,
    gamma: float = 0.99,
    first_patient: int = 0,
    batch_size: int = 512,
    on_levels: bool = False,
) -> dict[str, np.ndarray]:
    """True per-patient returns of an SB3-style policy (the simulator's ground truth).

    Args:
        policy: Object with ``predict(obs, state, episode_start, deterministic)``.
        env_id: A continuous ``tme/TumorImmune*`` id.
        split: Cohort split.
        n_patients: Patients ``first_patient ..`` (reset seeds ``seed + p``).
        seed: Env reset seed base.
        gamma: Discount factor of the value.
        first_patient: Cohort index of the first patient.
        batch_size: Patients stepped together.
        on_levels: Also check that every action lies on the dose levels (raises if not).

    Returns:
        ``{"return": (n,), "undiscounted": (n,), "steps": (n,)}``.
    """
    out = {"return": [], "undiscounted": [], "steps": []}
    cohort_size = first_patient + n_patients
    venv = None
    for ids in _batches(first_patient, n_patients, batch_size):
        b = len(ids)
        if venv is None or venv.num_envs != b:
            venv = make_vector_env(env_id, split, b, cohort_size)
        obs, _ = venv.reset(seed=[seed + int(p) for p in ids], options={"patients": list(ids)})
        ret, und, steps = np.zeros(b), np.zeros(b), np.zeros(b, dtype=np.int64)
        alive = np.ones(b, dtype=bool)
        state = policy.new_state(b, ids) if isinstance(policy, ClinicianBehaviour) else None
        start = np.ones(b, dtype=bool)
        for t in range(venv.max_episode_steps):
            action, state = policy.predict(obs, state=state, episode_start=start,
                                           deterministic=True)  # fmt: skip
            start = np.zeros(b, dtype=bool)
            action = np.asarray(action, dtype=np.float32).reshape(b, 3)
            if on_levels and not np.allclose(DOSE_LEVELS[snap_to_levels(action)], action):
                raise ValueError(f"policy {policy!r} gave doses off the dose levels")
            obs, reward, terminated, truncated, _ = venv.step(action)
            ret[alive] += gamma**t * reward[alive]
            und[alive] += reward[alive]
            steps[alive] += 1
            alive &= ~(terminated | truncated)
            if not alive.any():
                break
        out["return"].append(ret)
        out["undiscounted"].append(und)
        out["steps"].append(steps)
    return {k: np.concatenate(v) for k, v in out.items()}
