"""Off-policy evaluation from logged episodes, and the simulator's truth to check it against.

The value of a policy is its expected discounted return ``V = E[sum_t gamma^t r_t]`` over the
patients (and measurement noise) of the logged dataset. Estimators:

* `weighted_is`: per-decision weighted importance sampling (PDWIS) with the logged
  propensities ``pi_b(a_t | h_t)``, for deterministic target policies whose actions lie on
  the `DOSE_LEVELS` (a continuous deterministic policy has no density on the logged actions,
  so importance sampling does not apply to it). With ``w_it = prod_{s<=t} [a_is = pi_e(h_is)]
  / pi_b(a_is | h_is)`` (an episode that has ended keeps its last weight and earns 0)::

      V_PDWIS = sum_t gamma^t sum_i w_it r_it / sum_i w_it

  and its effective sample size ``ESS = (sum_i w_iT)^2 / sum_i w_iT^2`` at the end;
* `fitted_q_evaluation`: d3rlpy's FQE (``DiscreteFQE`` for discrete policies), the mean of
  ``Q(s_0, pi(s_0))`` over the dataset's first observations.

Confidence intervals are percentile bootstraps over episodes (FQE: over the first observations
of one fitted Q function, so they reflect the patient sample, not the fit). The truth
(`tme_env.offline.rollout.policy_returns`) is simulated on the same patients with the same
reset seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tme_env.offline.baselines import quiet
from tme_env.offline.behaviour import BehaviourSpec, ClinicianBehaviour
from tme_env.offline.dataset import to_mdp_dataset
from tme_env.offline.rollout import Episode

__all__ = [
    "bootstrap_ci",
    "fitted_q_evaluation",
    "on_policy_value",
    "profile_levels",
    "weighted_is",
]


def bootstrap_ci(values: np.ndarray, statistic: Callable[[np.ndarray], float],
                 n_boot: int = 1000, seed: int = 0, level: float = 0.95
                 ) -> tuple[float, float]:  # fmt: skip
    """Percentile bootstrap CI of ``statistic`` over the first axis of ``values``."""
    rng = np.random.default_rng(seed)
    n = len(values)
    stats = np.array([statistic(values[rng.integers(0, n, n)]) for _ in range(n_boot)])
    stats = stats[np.isfinite(stats)]
    if len(stats) == 0:
        return float("nan"), float("nan")
    a = (1.0 - level) / 2.0
    return float(np.quantile(stats, a)), float(np.quantile(stats, 1.0 - a))


def _pdwis(weights: np.ndarray, discounted: np.ndarray) -> float:
    """PDWIS from per-step weights and discounted rewards, both ``(n, T)``."""
    totals = weights.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_t = np.where(totals > 0, (weights * discounted).sum(axis=0) / totals, 0.0)
    if totals[0] <= 0:
        return float("nan")
    return float(per_t.sum())


def weighted_is(
    episodes: Sequence[Episode],
    target_levels: Sequence[np.ndarray],
    gamma: float,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """PDWIS estimate of a deterministic dose-level policy (see the module docstring).

    Args:
        episodes: Logged episodes (with ``behaviour["level"]`` and ``behaviour["prob"]``).
        target_levels: For each episode, the target's level index at each logged decision.
        gamma: Discount factor.
        n_boot: Bootstrap resamples for the CI.
        seed: Bootstrap seed.

    Returns:
        ``estimate``, ``ci_low``, ``ci_high``, ``ess`` (final weights), ``matched`` (episodes
        whose every action is the target's).
    """
    if len(episodes) != len(target_levels):
        raise ValueError(f"need one target sequence per episode: {len(episodes)} episodes, "
                         f"{len(target_levels)} sequences")  # fmt: skip
    horizon = max(len(e) for e in episodes)
    w = np.zeros((len(episodes), horizon))
    disc = np.zeros((len(episodes), horizon))
    for i, (ep, target) in enumerate(zip(episodes, target_levels, strict=True)):
        T = len(ep)
        if np.shape(target) != (T,):
            raise ValueError(f"episode {i}: target levels shape {np.shape(target)}, "
                             f"expected ({T},)")  # fmt: skip
        ratio = (np.asarray(target) == ep.behaviour["level"]) / ep.behaviour["prob"]
        cum = np.cumprod(ratio)
        w[i, :T] = cum
        w[i, T:] = cum[-1]
        disc[i, :T] = ep.rewards * gamma ** np.arange(T)
    final = w[:, -1]
    ess = float(final.sum() ** 2 / np.sum(final**2)) if final.sum() > 0 else 0.0
    both = np.stack([w, disc], axis=1)
    low, high = bootstrap_ci(both, lambda x: _pdwis(x[:, 0], x[:, 1]), n_boot, seed)
    return {"estimate": _pdwis(w, disc), "ci_low": low, "ci_high": high, "ess": ess,
            "matched": int(np.sum(final > 0))}  # fmt: skip


def on_policy_value(episodes: Sequence[Episode], gamma: float, n_boot: int = 1000,
                    seed: int = 0) -> dict[str, float]:  # fmt: skip
    """The behaviour's own value from its episodes (mean discounted return, bootstrap CI)."""
    g = np.array([np.sum(e.rewards * gamma ** np.arange(len(e))) for e in episodes])
    low, high = bootstrap_ci(g, np.mean, n_boot, seed)
    return {"estimate": float(g.mean()), "ci_low": low, "ci_high": high,
            "ess": float(len(g)), "matched": len(g)}  # fmt: skip


def profile_levels(spec: BehaviourSpec, observation: str, episodes: Sequence[Episode],
                   ) -> list[np.ndarray]:  # fmt: skip
    """A deterministic profile policy's level at each logged decision (replayed on the obs).

    ``spec`` must have one profile and no exploration (`BehaviourSpec.single`); its regimen
    bookkeeping is replayed on each episode's observations, batched over episodes.
    """
    if len(spec.profiles) != 1 or spec.epsilon != 0:
        raise ValueError(f"profile_levels needs a single deterministic profile, got {spec.name}")
    pol = ClinicianBehaviour(spec, observation)
    horizon = max(len(e) for e in episodes)
    state = pol.new_state(len(episodes))
    out = np.zeros((len(episodes), horizon), dtype=np.int64)
    for t in range(horizon):
        obs = np.stack([e.observations[min(t, len(e) - 1)] for e in episodes])
        out[:, t] = pol.nominal_levels(obs, state)[:, 0]
    return [out[i, : len(e)] for i, e in enumerate(episodes)]


def fitted_q_evaluation(
    policy: Any,
    episodes: Sequence[Episode],
    n_steps: int = 3000,
    gamma: float = 0.95,
    seed: int = 0,
    n_boot: int = 1000,
) -> dict[str, float]:
    """FQE estimate of a trained `tme_env.offline.baselines.D3rlpyPolicy`.

    Args:
        policy: The target (its d3rlpy algorithm is evaluated greedily).
        episodes: Logged episodes (the evaluation data).
        n_steps: FQE gradient steps.
        gamma: Discount factor.
        seed: d3rlpy seed and bootstrap seed.
        n_boot: Bootstrap resamples (over first observations).
    """
    import d3rlpy

    quiet()
    d3rlpy.seed(seed)
    cls = d3rlpy.ope.DiscreteFQE if policy.discrete else d3rlpy.ope.FQE
    fqe = cls(algo=policy.algo, config=d3rlpy.ope.FQEConfig(
        gamma=gamma, observation_scaler=d3rlpy.preprocessing.StandardObservationScaler(),
        encoder_factory=d3rlpy.models.VectorEncoderFactory(hidden_units=[64, 64]),
        learning_rate=3e-4, batch_size=256, target_update_interval=100))  # fmt: skip
    fqe.fit(to_mdp_dataset(episodes, discrete=policy.discrete), n_steps=n_steps,
            n_steps_per_epoch=n_steps, show_progress=False, save_interval=n_steps + 1,
            logger_adapter=d3rlpy.logging.NoopAdapterFactory())  # fmt: skip
    s0 = np.stack([e.observations[0] for e in episodes]).astype(np.float32)
    a0 = policy.algo.predict(s0)
    q0 = np.asarray(fqe.predict_value(s0, a0), dtype=np.float64).reshape(-1)
    low, high = bootstrap_ci(q0, np.mean, n_boot, seed)
    return {"estimate": float(q0.mean()), "ci_low": low, "ci_high": high}
