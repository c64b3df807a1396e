"""Dosing schedules of the standard regimens, for the ``tme`` model (single source of truth).

Each function returns ``[(start_day, end_day, {input: rate}), ...]`` for `tme_env.simulate`.
Dose units (see `tme_env.models.tme`): a full platinum-doublet dose is ``chemo`` rate 1/day for
1 day; one pembrolizumab 200 mg dose is ``anti_pd1`` rate 1/day for 1 day; the
suppressor-inhibitor's labelled daily dose is ``inhibitor`` rate 1/day.

These are *fixed* schedules: they do not stop at progression or delay for neutropenia (the
policy versions in the regimens module add those clinical rules).
"""

from __future__ import annotations

__all__ = [
    "CYCLE_DAYS",
    "MAINTENANCE_CHEMO_DOSE",
    "PEMBROLIZUMAB_MAX_DOSES",
    "Schedule",
    "chemo_anti_pd1_concurrent",
    "chemo_q3w",
    "chemo_then_anti_pd1",
    "chemo_ici_inhibitor",
    "chemo_with_inhibitor",
    "keynote189",
    "no_treatment",
]

Schedule = list[tuple[float, float, dict[str, float]]]

#: Length of a treatment cycle (days): platinum doublets and pembrolizumab are given q3w.
CYCLE_DAYS = 21.0
#: Pemetrexed maintenance relative to the induction doublet (platinum dropped): assumed half
#: the cytotoxic exposure.
MAINTENANCE_CHEMO_DOSE = 0.5
#: KEYNOTE-189: pembrolizumab 200 mg q3w for up to 35 doses (~2 years).
PEMBROLIZUMAB_MAX_DOSES = 35
#: Induction cycles of the platinum doublet (KEYNOTE-189: 4).
INDUCTION_CYCLES = 4


def _cycles(horizon_days: float) -> int:
    return int(horizon_days // CYCLE_DAYS) + 1


def no_treatment(horizon_days: float = 1095.0) -> Schedule:  # noqa: ARG001 - uniform API
    """No treatment."""
    return []


def chemo_q3w(
    horizon_days: float = 1095.0,
    induction_cycles: int = INDUCTION_CYCLES,
    maintenance: bool = True,
    dose: float = 1.0,
) -> Schedule:
    """Platinum doublet at full dose q3w x ``induction_cycles``, then pemetrexed maintenance q3w.

    Source: KEYNOTE-189 control arm (Gandhi et al., NEJM 2018; models.md §6, §8).
    """
    out: Schedule = []
    for k in range(_cycles(horizon_days)):
        day = k * CYCLE_DAYS
        if day >= horizon_days:
            break
        if k < induction_cycles:
            out.append((day, day + 1.0, {"chemo": dose}))
        elif maintenance:
            out.append((day, day + 1.0, {"chemo": dose * MAINTENANCE_CHEMO_DOSE}))
    return out


def _anti_pd1_q3w(first_day: float, horizon_days: float, max_doses: int) -> Schedule:
    out: Schedule = []
    day = first_day
    while day < horizon_days and len(out) < max_doses:
        out.append((day, day + 1.0, {"anti_pd1": 1.0}))
        day += CYCLE_DAYS
    return out


def chemo_anti_pd1_concurrent(horizon_days: float = 1095.0) -> Schedule:
    """KEYNOTE-189 experimental arm: the control arm plus pembrolizumab q3w (<= 35 doses)."""
    return chemo_q3w(horizon_days) + _anti_pd1_q3w(0.0, horizon_days, PEMBROLIZUMAB_MAX_DOSES)


def keynote189(arm: str, horizon_days: float = 1095.0) -> Schedule:
    """The two arms of KEYNOTE-189: ``"pembrolizumab"`` or ``"placebo"`` (chemo alone)."""
    if arm == "pembrolizumab":
        return chemo_anti_pd1_concurrent(horizon_days)
    if arm == "placebo":
        return chemo_q3w(horizon_days)
    raise ValueError(f"unknown KEYNOTE-189 arm {arm!r}; valid arms: pembrolizumab, placebo")


def chemo_then_anti_pd1(horizon_days: float = 1095.0) -> Schedule:
    """Sequential: 4 cycles of the doublet (no maintenance), then pembrolizumab q3w."""
    start = INDUCTION_CYCLES * CYCLE_DAYS
    return chemo_q3w(horizon_days, maintenance=False) + _anti_pd1_q3w(
        start, horizon_days, PEMBROLIZUMAB_MAX_DOSES
    )


def chemo_with_inhibitor(horizon_days: float = 1095.0, days_per_cycle: float = 14.0) -> Schedule:
    """The control arm plus the suppressor-inhibitor daily for the first 14 days of each cycle."""
    out = chemo_q3w(horizon_days)
    for start, _end, _rate in list(out):
        out.append((start, min(start + days_per_cycle, horizon_days), {"inhibitor": 1.0}))
    return out


def chemo_ici_inhibitor(horizon_days: float = 1095.0) -> Schedule:
    """All three: the KEYNOTE-189 experimental arm plus the inhibitor in weeks 1-2 of each cycle."""
    inhibitor = [x for x in chemo_with_inhibitor(horizon_days) if "inhibitor" in x[2]]
    return chemo_anti_pd1_concurrent(horizon_days) + inhibitor
