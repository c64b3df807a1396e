"""The benchmark's statistics: the IQM over seeds and the bootstrap CIs of ``BENCHMARK.md``.

* `iqm`: the interquartile mean of a submission's seed scores;
* `iqm_ci`: the IQM with its 95% stratified-bootstrap CI (rliable's
  ``get_interval_estimates``, Agarwal et al. 2021);
* `paired_bootstrap_ci`: the paired patient-level bootstrap CI of a mean difference.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from tme_env.benchmark.protocol import BOOTSTRAP_REPS, CONFIDENCE

__all__ = ["iqm", "iqm_ci", "paired_bootstrap_ci"]


def iqm(scores: Sequence[float] | np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50% (``scipy.stats.trim_mean(x, 0.25)``).

    As rliable's ``aggregate_iqm``: ``int(0.25 * n)`` values are cut from each end (none for
    fewer than 4 scores, so 1-3 scores give their mean).

    Raises:
        ValueError: On no scores or a score that is not finite.
    """
    from scipy.stats import trim_mean  # deferred: scipy.stats is slow to import (tme --help)

    x = _finite_scores(scores)
    return float(trim_mean(x.reshape(-1), 0.25, axis=None))


def iqm_ci(
    scores: Sequence[float] | np.ndarray,
    reps: int = BOOTSTRAP_REPS,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
    """The IQM of ``scores`` and its stratified-bootstrap percentile CI (rliable's method).

    Args:
        scores: One score per seed, shape ``(n_seeds,)``, or ``(n_seeds, n_tasks)``: the
            bootstrap resamples seeds within each task (rliable's ``StratifiedBootstrap``).
        reps: Bootstrap resamples.
        seed: Seed of the resampling (the same seed gives the same CI; NumPy's global RNG
            is seeded for the call and restored after it, see the comment in the code).
        confidence: Confidence level.

    Returns:
        ``(iqm, low, high)``; one seed gives ``(x, x, x)``.

    Raises:
        ValueError: On no scores, a score that is not finite, ``reps < 1`` or a confidence
            outside (0, 1).
    """
    # deferred: rliable pulls in arch, statsmodels and seaborn (seconds to import)
    from rliable import library as rly
    from rliable import metrics

    x = _finite_scores(scores)
    matrix = x.reshape(-1, 1) if x.ndim == 1 else x
    if int(reps) < 1:
        raise ValueError(f"reps must be >= 1, got {reps!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    point = iqm(matrix)
    if matrix.shape[0] == 1 or np.all(matrix == matrix[0]):
        return point, point, point  # nothing to resample
    # rliable 1.2.0's StratifiedBootstrap.update_indices draws from NumPy's global RNG and
    # ignores ``random_state``: seed the global state for the call, then restore it. The
    # ``random_state`` is passed too, for a release that uses it (arch's FutureWarning about
    # it is silenced: it is the argument rliable takes).
    saved = np.random.get_state()
    try:
        np.random.seed(seed)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "random_state is deprecated", FutureWarning)
            _, intervals = rly.get_interval_estimates(
                {"s": matrix},
                lambda m: np.array([metrics.aggregate_iqm(m)]),
                reps=int(reps),
                confidence_interval_size=confidence,
                random_state=np.random.RandomState(seed),
            )
    finally:
        np.random.set_state(saved)
    low, high = intervals["s"][:, 0]
    return point, float(low), float(high)


def paired_bootstrap_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    reps: int = BOOTSTRAP_REPS,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired patients and its patient-level bootstrap percentile CI.

    Patients are resampled with replacement, each keeping its pair (the same patient in both
    arms), so the CI carries the pairing of the trial.

    Returns:
        ``(mean_difference, low, high)``.

    Raises:
        ValueError: On arrays of different or zero length, values that are not finite,
            ``reps < 1`` or a confidence outside (0, 1).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"need two paired 1-d arrays of one length, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("paired values must be finite")
    if int(reps) < 1:
        raise ValueError(f"reps must be >= 1, got {reps!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    d = a - b
    idx = np.random.default_rng(seed).integers(0, d.size, size=(int(reps), d.size))
    means = d[idx].mean(axis=1)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(d.mean()), float(low), float(high)


def _finite_scores(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    x = np.asarray(scores, dtype=np.float64)
    if x.size == 0 or x.ndim not in (1, 2):
        raise ValueError(f"need a non-empty 1-d or 2-d array of scores, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"scores must be finite, got {x.tolist()}")
    return x
