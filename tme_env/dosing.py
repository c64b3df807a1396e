"""The dosing vocabulary: how a decision (doses of the three drugs) becomes model input rates.

One table, `DRUGS`, says for each action component which input of the ``tme`` model it
drives, how it is delivered over a decision interval, and what 1.0 means. Everything that
turns a decision into infusions goes through this module:

* the environments (`tme_env.envs`) take their sub-interval breakpoints from
  `interval_breakpoints` and fill the integrator's rates with the compiled `write_rates`;
* the regimens' fixed schedules (`tme_env.regimens.schedules`) turn a sequence of decisions
  into an infusion list for `tme_env.simulate` with `to_infusions`.

Units (`tme_env.models.tme`): model inputs are rates per day. A dose fraction ``a`` of an
*infused* drug is a rate ``a`` per day over the first `INFUSION_DAYS` of the interval (1.0 =
one full dose: a platinum doublet at full dose, or pembrolizumab 200 mg); a *daily* drug is
a rate ``a`` per day over the whole interval (1.0 = the labelled daily dose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from tme_env.jit import JIT_FLAGS
from tme_env.models.base import index_enum
from tme_env.models.tme import MODEL

__all__ = [
    "ACTION",
    "ACTION_NAMES",
    "DRUGS",
    "INFUSION_DAYS",
    "N_SEGMENTS",
    "SEGMENT",
    "STEROID_INPUT",
    "Drug",
    "interval_breakpoints",
    "to_infusions",
    "write_rates",
]

#: Days over which an infused dose is given at the start of an interval.
INFUSION_DAYS = 1.0


@dataclass(frozen=True)
class Drug:
    """One action component.

    Attributes:
        action: Name of the action component (and of the ``dose_*`` info key).
        model_input: The ``tme`` model input it drives.
        delivery: ``"infusion"`` (over the first `INFUSION_DAYS` of the interval) or
            ``"daily"`` (over the whole interval).
        full_dose: What a dose fraction of 1.0 is, in clinical terms.
    """

    action: str
    model_input: str
    delivery: str
    full_dose: str


#: The three drugs, in action order.
DRUGS: tuple[Drug, ...] = (
    Drug("chemo", "chemo", "infusion",
         "one full platinum-doublet dose (carboplatin AUC 5 + pemetrexed 500 mg/m2)"),
    Drug("anti_pd1", "anti_pd1", "infusion", "one pembrolizumab 200 mg dose"),
    Drug("inhibitor", "inhibitor", "daily", "the labelled daily dose"),
)  # fmt: skip
#: Action components, each a fraction of the maximum dose in [0, 1].
ACTION_NAMES = tuple(d.action for d in DRUGS)
#: Column of each action component in a dose array, by name (``doses[i, ACTION.chemo]``).
ACTION = index_enum("ACTION", ACTION_NAMES)
if tuple(d.model_input for d in DRUGS) != MODEL.input_names[: len(DRUGS)]:  # pragma: no cover
    raise ImportError(f"DRUGS must follow the tme model's input order {MODEL.input_names}")
#: The model input the clinic manages itself (irAE corticosteroids), after the drugs.
STEROID_INPUT = MODEL.input_names.index("steroid")
#: 1.0 where the drug is infused at the interval start, 0.0 where it is taken daily
#: (compile-time constants of `write_rates`).
_INFUSED = tuple(1.0 if d.delivery == "infusion" else 0.0 for d in DRUGS)
_N_DRUGS = len(DRUGS)


#: The sub-intervals (schedule segments) of one decision interval, in time order: the
#: infusion day, then the rest. Slot ``i``'s segment ``k`` is row ``N_SEGMENTS * i + k`` of
#: the integrator's rates.
SEGMENT = index_enum("SEGMENT", ("infusion", "rest"))
N_SEGMENTS = len(SEGMENT)


def interval_breakpoints(interval_days: float) -> tuple[float, float, float]:
    """Sub-interval boundaries of one decision interval (`SEGMENT`): infusion, then the rest."""
    return (0.0, INFUSION_DAYS, float(interval_days))


@njit(**JIT_FLAGS)
def write_rates(doses, steroid, active, seg_u):  # pragma: no cover - compiled
    """Input rates of every slot's two sub-intervals (`interval_breakpoints`) from its doses.

    Args:
        doses: Dose fractions, ``(n, 3)`` in action order (validated by the caller).
        steroid: Prednisone-equivalent steroid (mg/kg/day) over the whole interval, ``(n,)``.
        active: Slots that are treated; inactive ones get no drug.
        seg_u: The integrator's rates, ``(N_SEGMENTS n, 4)`` in model-input order (written).
    """
    for i in range(doses.shape[0]):
        on = 1.0 if active[i] else 0.0
        infusion = N_SEGMENTS * i + SEGMENT.infusion
        rest = N_SEGMENTS * i + SEGMENT.rest
        for j in range(_N_DRUGS):  # drug j is action column j and model input j (`DRUGS`)
            seg_u[infusion, j] = on * doses[i, j]
            seg_u[rest, j] = on * doses[i, j] * (1.0 - _INFUSED[j])
        seg_u[infusion, STEROID_INPUT] = on * steroid[i]
        seg_u[rest, STEROID_INPUT] = on * steroid[i]


def to_infusions(
    doses: np.ndarray, interval_days: float, horizon_days: float
) -> list[tuple[float, float, dict[str, float]]]:
    """The infusion list (`tme_env.simulate`) of decisions taken every ``interval_days``.

    Args:
        doses: Dose fractions per interval, ``(n_intervals, 3)`` in action order.
        interval_days: Days per decision.
        horizon_days: End of the schedule (infusions are cut there).

    Returns:
        ``[(start_day, end_day, {input: rate}), ...]``: one entry per infused dose, and one
        per run of consecutive intervals with the same daily dose (merged, so that a
        14-day course is one infusion and adds no breakpoint inside it).
    """
    out: list[tuple[float, float, dict[str, float]]] = []
    run: dict[int, tuple[float, float]] = {}  # daily drug -> (start, rate) of the open run
    for k, row in enumerate(np.asarray(doses, dtype=np.float64)):
        start = k * interval_days
        for j, drug in enumerate(DRUGS):
            a = float(row[j])
            if drug.delivery == "infusion":
                if a > 0.0:
                    out.append((start, start + INFUSION_DAYS, {drug.model_input: a}))
                continue
            if j in run and run[j][1] != a:
                out.append((run[j][0], start, {drug.model_input: run.pop(j)[1]}))
            if a > 0.0 and j not in run:
                run[j] = (start, a)
    end = len(doses) * interval_days
    for j, (start, a) in run.items():
        out.append((start, end, {DRUGS[j].model_input: a}))
    return [(s, min(e, horizon_days), r) for s, e, r in out if s < horizon_days]
