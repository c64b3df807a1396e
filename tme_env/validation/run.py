"""Run the panel's arms on a cohort and compare them with the published targets.

The panel's arms (`PANEL_ARMS`) are the trials' arms as they ran:

* ``chemo-pembro``: KEYNOTE-189's experimental arm (`chemo-ici-concurrent`), also the
  chemo-immunotherapy arm of the FDA pooled analyses;
* ``kn189-chemo``: KEYNOTE-189's control arm (`mtd-chemo`) with crossover to pembrolizumab at
  progression (`tme_env.regimens.crossover.KEYNOTE189_CROSSOVER`);
* ``kn024-chemo``: KEYNOTE-024's control arm: the platinum doublet (`mtd-chemo`; the trial let
  investigators choose among doublets, with pemetrexed maintenance for non-squamous tumours)
  with its 66.0% crossover;
* ``pembro``: pembrolizumab monotherapy (KEYNOTE-024's arm and the FDA pooled IO arm, which
  had no crossover);
* ``no-treatment``: the untreated course (the 5-year shape check).

Every arm treats the same patients (a paired design); strata are read from each patient's
``pdl1_stratum``. `run_panel` runs the arms, `panel_rows` computes every target's model value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tme_env import regimens
from tme_env.clinical import DAYS_PER_MONTH
from tme_env.envs import DEFAULT_ENV_ID
from tme_env.envs.label import MAX_ANTI_PD1_DOSES
from tme_env.patients import Cohort, cohort
from tme_env.regimens.crossover import KEYNOTE024_CROSSOVER, KEYNOTE189_CROSSOVER, Crossover
from tme_env.regimens.policies import CYCLE_DAYS
from tme_env.trials.arms import run_arm
from tme_env.trials.outcomes import ArmOutcomes
from tme_env.trials.survival import hazard_ratio, km_median, survival_at
from tme_env.validation.panel import CHECKS, LANDMARK_MONTHS, PANEL, Target, band_of

__all__ = ["PANEL_ARMS", "model_value", "panel_policies", "panel_rows", "run_panel"]

#: The panel's arms, in report order.
PANEL_ARMS = ("chemo-pembro", "kn189-chemo", "kn024-chemo", "pembro", "no-treatment")
#: The label's anti-PD-1 course q3w: the last dose is given on day (35 - 1) x 21.
_CAP_DAY = (MAX_ANTI_PD1_DOSES - 1) * CYCLE_DAYS


def panel_policies(seed: int = 0) -> dict[str, Any]:
    """The panel's arms as policies (full observation), crossover draws seeded by ``seed``."""
    get = regimens.get
    return {
        "chemo-pembro": get("chemo-ici-concurrent"),
        "kn189-chemo": Crossover(get("mtd-chemo"), KEYNOTE189_CROSSOVER, seed=seed),
        "kn024-chemo": Crossover(get("mtd-chemo"), KEYNOTE024_CROSSOVER, seed=seed + 1),
        "pembro": get("pembrolizumab"),
        "no-treatment": get("no-treatment"),
    }


def run_panel(
    split: str = "validation",
    n_patients: int = 900,
    patients: Cohort | None = None,
    seed: int = 0,
    arms: tuple[str, ...] = PANEL_ARMS,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, ArmOutcomes], np.ndarray]:
    """Every panel arm on the same patients.

    Args:
        split: Cohort split (``validation`` for the report; the fit uses ``train``).
        n_patients: Patients per arm.
        patients: Treat these patients instead of the split's first ``n_patients``.
        seed: Seed of the measurement noise and the crossover draws.
        arms: Which arms (default all).
        progress: Called with each arm's name before it runs.

    Returns:
        ``(arms, strata)``: outcomes by arm name and each patient's PD-L1 stratum.
    """
    if patients is None:
        patients = cohort(split, n_patients)
    policies = panel_policies(seed)
    unknown = sorted(set(arms) - set(policies))
    if unknown:
        raise ValueError(f"unknown panel arms {unknown}; valid: {', '.join(PANEL_ARMS)}")
    out = {}
    for name in arms:
        if progress is not None:
            progress(name)
        out[name], _ = run_arm(name, policies[name], DEFAULT_ENV_ID, split, len(patients), seed,
                               patients=patients)  # fmt: skip
    return out, patients.phenotype("pdl1_stratum")


def stratum_mask(strata: np.ndarray, stratum: str) -> np.ndarray:
    """The patients of a PD-L1 stratum (``"all"``: every patient)."""
    return np.ones(strata.size, dtype=bool) if stratum == "all" else strata == stratum


def _select(arm: ArmOutcomes, mask: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "os": arm.os_days[mask], "os_e": arm.os_event[mask], "pfs": arm.pfs_days[mask],
        "pfs_e": arm.pfs_event[mask], "best": arm.best_response[mask],
        "pd1": arm.dose_anti_pd1[mask],
    }  # fmt: skip


def _arm_figure(d: dict[str, np.ndarray], figure: str) -> float:
    if figure == "os_median":
        return km_median(d["os"], d["os_e"]) / DAYS_PER_MONTH
    if figure == "pfs_median":
        return km_median(d["pfs"], d["pfs_e"]) / DAYS_PER_MONTH
    if figure == "orr":
        return 100.0 * float(np.isin(d["best"], ("CR", "PR")).mean())
    if figure.startswith("os_at_"):
        month = float(figure.removeprefix("os_at_"))
        return 100.0 * survival_at(d["os"], d["os_e"], month * DAYS_PER_MONTH)
    if figure == "os_after_cap_36":
        # Completers: 35 doses given and alive at the last one; OS 3 years later.
        done = d["pd1"] >= MAX_ANTI_PD1_DOSES - 1e-9
        if not done.any():
            return float("nan")
        t = d["os"][done] - _CAP_DAY
        return 100.0 * survival_at(t, d["os_e"][done], 36 * DAYS_PER_MONTH)
    raise ValueError(f"unknown figure {figure!r}")


def model_value(
    target: Target, arms: dict[str, ArmOutcomes], strata: np.ndarray
) -> float:
    """The model's value of one target (NaN when the stratum has no patient)."""
    mask = stratum_mask(strata, target.stratum)
    if not mask.any():
        return float("nan")
    if " vs " in target.arm:
        a, b = (arms[name] for name in target.arm.split(" vs "))
        da, db = _select(a, mask), _select(b, mask)
        if target.figure == "os_hr":
            return float(hazard_ratio(da["os"], da["os_e"], db["os"], db["os_e"]))
        if target.figure == "pfs_hr":
            return float(hazard_ratio(da["pfs"], da["pfs_e"], db["pfs"], db["pfs_e"]))
        raise ValueError(f"unknown contrast figure {target.figure!r}")
    return _arm_figure(_select(arms[target.arm], mask), target.figure)


def panel_rows(
    arms: dict[str, ArmOutcomes], strata: np.ndarray, targets: tuple[Target, ...] = PANEL
) -> list[dict[str, Any]]:
    """One row per target: source, published value, band, model value and whether it is in."""
    rows = []
    for t in targets:
        if not all(name in arms for name in t.arm.split(" vs ")):
            continue
        v = model_value(t, arms, strata)
        lo, hi = band_of(t)
        rows.append({
            "key": t.key, "trial": t.trial, "arm": t.arm, "stratum": t.stratum,
            "figure": t.figure, "published": t.published, "ci": t.ci, "band": [lo, hi],
            "model": v, "within": bool(np.isfinite(v) and lo <= v <= hi), "source": t.source,
            "weight": t.weight, "note": t.note, "fitted": t in PANEL,
        })  # fmt: skip
    return rows


def landmark_rows(arms: dict[str, ArmOutcomes], strata: np.ndarray) -> list[dict[str, Any]]:
    """OS at `LANDMARK_MONTHS` for every arm, all-comers and by stratum (%)."""
    rows = []
    for name, arm in arms.items():
        for stratum in ("all", *sorted(set(strata.tolist()))):
            mask = stratum_mask(strata, stratum)
            d = _select(arm, mask)
            row = {"arm": name, "stratum": stratum, "n": int(mask.sum())}
            for m in LANDMARK_MONTHS:
                row[f"os_{m}m"] = _arm_figure(d, f"os_at_{m}")
            row["os_median_months"] = _arm_figure(d, "os_median")
            rows.append(row)
    return rows


__all__ += ["CHECKS", "landmark_rows", "stratum_mask"]
