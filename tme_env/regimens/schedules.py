"""Fixed dosing schedules of the standard regimens, for `tme_env.simulate` on the ``tme`` model.

A fixed schedule is its regimen's policy (`tme_env.regimens.policies`) replayed open-loop:
`Regimen.decide` is asked every decision interval with no neutropenia (so the delay and
reduction rules never fire), and `tme_env.dosing.to_infusions` turns the decisions into
``[(start_day, end_day, {input: rate}), ...]``. There is one implementation of each regimen;
these schedules do not stop at progression or delay for neutropenia (the policies do).
"""

from __future__ import annotations

import math

import numpy as np

from tme_env.clinical import HORIZON_DAYS
from tme_env.dosing import to_infusions
from tme_env.regimens.codes import ChemoPlan
from tme_env.regimens.policies import (
    CYCLE_DAYS,
    INDUCTION_CYCLES,
    REGIMENS,
    Regimen,
    RegimenSpec,
)

__all__ = [
    "CYCLE_DAYS",
    "INDUCTION_CYCLES",
    "Schedule",
    "chemo_anti_pd1_concurrent",
    "chemo_ici_inhibitor",
    "chemo_q3w",
    "chemo_then_anti_pd1",
    "chemo_with_inhibitor",
    "fixed_schedule",
    "keynote189",
    "no_treatment",
]

Schedule = list[tuple[float, float, dict[str, float]]]

#: Four cycles of the doublet without maintenance (the first part of ``chemo-then-ici``).
INDUCTION_ONLY = RegimenSpec("chemo-4-cycles", "doublet q3w x4", "induction only",
                             chemo=ChemoPlan.INDUCTION)  # fmt: skip


def fixed_schedule(
    regimen: str | RegimenSpec, horizon_days: float = HORIZON_DAYS, interval_days: float = 7.0
) -> Schedule:
    """The open-loop schedule of a regimen (a name of `REGIMENS` or a `RegimenSpec`).

    Raises:
        ValueError: On an unknown name, for ``adaptive-at50``, whose doses depend on the
            tumour's response, or for ``pdl1-guided``, whose doses depend on the patient's
            PD-L1 (neither has one fixed schedule).
    """
    if isinstance(regimen, str):
        if regimen not in REGIMENS:
            raise ValueError(f"unknown regimen {regimen!r}; available: {', '.join(REGIMENS)}")
        regimen = REGIMENS[regimen]
    if regimen.chemo == ChemoPlan.ADAPTIVE:
        raise ValueError(f"{regimen.name!r} adapts to the response: it has no fixed schedule")
    if regimen.pdl1_guided:
        raise ValueError(f"{regimen.name!r} depends on the patient's PD-L1: it has no single "
                         "fixed schedule")  # fmt: skip
    policy = Regimen(regimen, decision_interval_days=interval_days, horizon_days=horizon_days)
    state = policy.new_state(1)
    no_neutropenia, burden = np.array([math.inf]), np.zeros(1)
    doses = [
        policy.decide(np.array([k * interval_days]), no_neutropenia, burden, state)[0]
        for k in range(math.ceil(horizon_days / interval_days))
    ]
    return to_infusions(np.array(doses).reshape(-1, 3), interval_days, horizon_days)


def no_treatment(horizon_days: float = HORIZON_DAYS) -> Schedule:
    """No treatment."""
    return fixed_schedule("no-treatment", horizon_days)


def chemo_q3w(horizon_days: float = HORIZON_DAYS, maintenance: bool = True) -> Schedule:
    """Platinum doublet at full dose q3w x4, then (``maintenance``) pemetrexed maintenance q3w.

    Source: KEYNOTE-189 control arm (Gandhi et al., NEJM 2018).
    """
    return fixed_schedule("mtd-chemo" if maintenance else INDUCTION_ONLY, horizon_days)


def chemo_anti_pd1_concurrent(horizon_days: float = HORIZON_DAYS) -> Schedule:
    """KEYNOTE-189 experimental arm: the control arm plus pembrolizumab q3w (<= 35 doses)."""
    return fixed_schedule("chemo-ici-concurrent", horizon_days)


def keynote189(arm: str, horizon_days: float = HORIZON_DAYS) -> Schedule:
    """The two arms of KEYNOTE-189: ``"pembrolizumab"`` or ``"placebo"`` (chemo alone)."""
    if arm == "pembrolizumab":
        return chemo_anti_pd1_concurrent(horizon_days)
    if arm == "placebo":
        return chemo_q3w(horizon_days)
    raise ValueError(f"unknown KEYNOTE-189 arm {arm!r}; valid arms: pembrolizumab, placebo")


def chemo_then_anti_pd1(horizon_days: float = HORIZON_DAYS) -> Schedule:
    """Sequential: 4 cycles of the doublet (no maintenance), then pembrolizumab q3w."""
    return fixed_schedule("chemo-then-ici", horizon_days)


def chemo_with_inhibitor(horizon_days: float = HORIZON_DAYS) -> Schedule:
    """The control arm plus the suppressor-inhibitor daily for the first 14 days of each cycle."""
    return fixed_schedule("chemo-inhibitor", horizon_days)


def chemo_ici_inhibitor(horizon_days: float = HORIZON_DAYS) -> Schedule:
    """All three: the KEYNOTE-189 experimental arm plus the inhibitor in weeks 1-2 of each cycle."""
    return fixed_schedule("chemo-ici-inhibitor", horizon_days)
