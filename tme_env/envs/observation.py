"""What the ``tme`` envs show: the observation fields, their bounds, units and computation.

The full observation is the model state (compiled, `observe_full`); the clinical one is noisy
measurements, seeded per slot (`measure`), and the clinic's records (`clinical_observation`).

Observation columns are addressed by name through `observation_fields` (``F.anc``), never by
number; the env docstrings' tables are generated from the field tuples and `UNITS`.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Any

import numpy as np
from numba import njit

from tme_env import clinical
from tme_env.dosing import ACTION_NAMES
from tme_env.envs.label import blocked_flags, pd1_blocked
from tme_env.envs.state import CHART, CHART_INT, MEASURED, EnvState
from tme_env.jit import JIT_FLAGS
from tme_env.models.base import index_enum
from tme_env.models.tme import PARAM, STATE, STATE_NAMES

__all__ = [
    "CLINICAL_OBSERVATION",
    "FULL_OBSERVATION",
    "LOG_STATES",
    "NEVER_GIVEN",
    "UNITS",
    "WEEKS_SINCE_CAP",
    "clinical_observation",
    "measure",
    "observation_bounds",
    "observation_fields",
    "observation_table",
    "observe_full",
]

#: States shown as log10(1 + x) in the full observation (cell counts and the damage signal).
LOG_STATES = ("S", "R", "E", "X", "M", "D")
N_LOG = len(LOG_STATES)
if tuple(STATE_NAMES[:N_LOG]) != LOG_STATES:  # pragma: no cover - import guard
    raise ImportError(f"tme state order changed: {STATE_NAMES}; update observe_full")

#: Full observation fields: log10(1 + x) of the cell states and the damage signal, the other
#: states raw (``anc`` is the ANC state), elapsed time / horizon, the last doses.
FULL_OBSERVATION = (
    *(f"log10_{name}" for name in LOG_STATES),
    *(name.lower() if name == "ANC" else name for name in STATE_NAMES[N_LOG:]),
    "time_fraction",
    *(f"last_{a}" for a in ACTION_NAMES),
    "irae_count",
    "anti_pd1_blocked",
    "pdl1_tps",
    "progressed",
)
#: Clinical observation fields (what a clinic measures; see `TumorImmuneEnv`): the latest
#: measurements (`tme_env.envs.state.MEASURED`), the last biopsy, then the clinic's records
#: (v2: the PD-L1 TPS, the RECIST chart, the dosing history, the MDSC assay's change).
CLINICAL_OBSERVATION = (
    *MEASURED,
    "biopsy_log10_cd8_mdsc",
    "biopsy_age_52w",
    "time_fraction",
    *(f"last_{a}" for a in ACTION_NAMES),
    "irae_count",
    "anti_pd1_blocked",
    "pdl1_tps",
    "imaging_nadir_log10",
    "best_response",
    "progressed",
    *(f"weeks_since_{a}" for a in ACTION_NAMES),
    "platinum_cycles",
    "anti_pd1_doses",
    "log10_blood_mdsc_change",
)
#: Weeks since a drug's last dose are shown up to this many (older reads as this).
WEEKS_SINCE_CAP = 52.0
#: What ``weeks_since_*`` reads for a drug never given.
NEVER_GIVEN = -1.0
FULL = index_enum("FullObservation", FULL_OBSERVATION)
CLIN = index_enum("ClinicalObservation", CLINICAL_OBSERVATION)

_CELLS = "log10(1 + cells)"
#: What each observation field is, and its unit (the env docstrings' tables).
UNITS: dict[str, tuple[str, str]] = {
    "log10_S": ("sensitive tumour cells", _CELLS),
    "log10_R": ("chemo-resistant tumour cells", _CELLS),
    "log10_E": ("active CD8+ T cells", _CELLS),
    "log10_X": ("exhausted CD8+ T cells", _CELLS),
    "log10_M": ("intratumoural MDSCs", _CELLS),
    "log10_D": ("damage signal", "log10(1 + damage units)"),
    "C": ("chemotherapy level", "dose units"),
    "A": ("anti-PD-1 level", "dose units"),
    "I": ("inhibitor level", "dose units"),
    "G": ("steroid level", "mg/kg/day units"),
    "P": ("neutrophil progenitors", "1e9 cells/L"),
    "T1": ("neutrophil transit compartment 1", "1e9 cells/L"),
    "T2": ("neutrophil transit compartment 2", "1e9 cells/L"),
    "T3": ("neutrophil transit compartment 3", "1e9 cells/L"),
    "anc": ("absolute neutrophil count (clinical: measured, `anc_cv`)", "1e9 cells/L"),
    "time_fraction": ("elapsed time / horizon", "-"),
    **{f"last_{a}": (f"{a} dose given in the last interval", "dose fraction")
       for a in ACTION_NAMES},
    "irae_count": ("immune-related adverse events so far", "count"),
    "anti_pd1_blocked": ("anti-PD-1 refused at the next decision (label, irAE hold)", "0/1"),
    "imaging_log10_burden": ("imaging tumour burden (`imaging_cv`; floored at the detection "
                             "limit 1e9 cells)", "log10 cells"),
    "detectable": ("burden above the detection limit", "0/1"),
    "log10_blood_mdsc": ("blood MDSC assay (`mdsc_cv`)", "log10(1 + cells/uL)"),
    "biopsy_log10_cd8_mdsc": ("last biopsy's CD8:MDSC ratio (every `biopsy_every_steps`, "
                              "`biopsy_cv`)", "log10 ratio"),
    "biopsy_age_52w": ("time since that biopsy", "years (weeks / 52)"),
    "pdl1_tps": ("PD-L1 tumour proportion score, measured at diagnosis", "fraction 0-1"),
    "progressed": ("RECIST progression seen at a scheduled scan (as the trial judges it)",
                   "0/1"),
    "imaging_nadir_log10": ("RECIST nadir: smallest imaging burden of the baseline and the "
                            "scans so far (floored at the detection limit)", "log10 cells"),
    "best_response": ("best response at the scans before progression: -1 PD, 0 SD, 1 PR, "
                      "2 CR", "code"),
    **{f"weeks_since_{a}": (f"weeks since the last {a} dose (capped at 52; -1: never "
                            "given)", "weeks") for a in ACTION_NAMES},
    "platinum_cycles": ("chemotherapy doses above maintenance given (platinum cycles)",
                        "count"),
    "anti_pd1_doses": ("anti-PD-1 doses given", "count"),
    "log10_blood_mdsc_change": ("change of the blood MDSC assay since its previous value",
                                "log10(1 + cells/uL)"),
}  # fmt: skip


def observation_fields(mode: str) -> type[IntEnum]:
    """The named columns of an observation mode (``"full"`` or ``"clinical"``).

    >>> from tme_env.envs import observation_fields
    >>> int(observation_fields("clinical").anc)
    2
    """
    if mode == "full":
        return FULL
    if mode == "clinical":
        return CLIN
    raise ValueError(f"unknown observation {mode!r}; valid: full, clinical")


def observation_bounds(mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of each observation component of a mode (float32).

    Generous physical bounds: log10 cell counts <= 13 (the lethal burden is 1e12), the
    damage signal <= 6, drug and neutrophil levels <= 100 (steady states are below ~10),
    elapsed time / horizon <= 2, doses in [0, 1].
    """
    fields = observation_fields(mode)
    if mode == "full":
        bounds = {f"log10_{s}": (0.0, 13.0) for s in LOG_STATES[:5]} | {"log10_D": (0.0, 6.0)}
        default = (0.0, 100.0)
    else:
        bounds = {"imaging_log10_burden": (9.0, 13.0), "detectable": (0.0, 1.0),
                  "log10_blood_mdsc": (0.0, 6.0), "biopsy_log10_cd8_mdsc": (-10.0, 10.0),
                  "biopsy_age_52w": (0.0, 10.0)}  # fmt: skip
        default = (0.0, 100.0)
    bounds |= {"time_fraction": (0.0, 2.0)} | {f"last_{a}": (0.0, 1.0) for a in ACTION_NAMES}
    bounds |= {"irae_count": (0.0, 50.0), "anti_pd1_blocked": (0.0, 1.0),
               "pdl1_tps": (0.0, 1.0), "progressed": (0.0, 1.0),
               "imaging_nadir_log10": (9.0, 13.0), "best_response": (-1.0, 2.0),
               "platinum_cycles": (0.0, 300.0), "anti_pd1_doses": (0.0, 300.0),
               "log10_blood_mdsc_change": (-6.0, 6.0)}  # fmt: skip
    bounds |= {f"weeks_since_{a}": (NEVER_GIVEN, WEEKS_SINCE_CAP) for a in ACTION_NAMES}
    low, high = np.array([bounds.get(f.name, default) for f in fields]).T
    return low.astype(np.float32), high.astype(np.float32)


def observation_table(mode: str) -> str:
    """The markdown table (Num, Observation, Unit) of a mode's fields, from `UNITS`."""
    lines = ["| Num | Observation | Field | Unit |", "|-----|-------------|-------|------|"]
    for f in observation_fields(mode):
        what, unit = UNITS[f.name]
        lines.append(f"| {int(f)} | {what} | `{f.name}` | {unit} |")
    return "\n".join(lines)


@njit(**JIT_FLAGS)
def observe_full(s, params, dt_over_h, dt, out):  # pragma: no cover - compiled
    """The full observation (`FULL_OBSERVATION`).

    log10(1 + cells/damage), the other states, time, doses, irAE history, whether anti-PD-1
    is blocked, the PD-L1 TPS (``params``: the slots' parameter rows) and progression.

    States are floored at 0 (a round-off undershoot of a decaying state reads as 0).
    """
    y = s.y
    n_s = y.shape[1]
    for i in range(y.shape[0]):
        for j in range(n_s):
            v = max(y[i, j], 0.0)
            if j < N_LOG:
                v = np.log10(1.0 + v)
            out[i, j] = v
        out[i, FULL.time_fraction] = s.steps[i] * dt_over_h
        for k in range(s.last_doses.shape[1]):
            out[i, FULL.last_chemo + k] = s.last_doses[i, k]
        out[i, FULL.irae_count] = s.irae_count[i]
        out[i, FULL.anti_pd1_blocked] = 1.0 if pd1_blocked(s, i, s.steps[i] * dt) else 0.0
        out[i, FULL.pdl1_tps] = params[i, PARAM.pdl1_tps]
        out[i, FULL.progressed] = float(s.chart_int[CHART_INT.progressed, i])


def measure(
    s: EnvState, rows: Any, rngs: list[np.random.Generator], config: Any, biopsy: bool
) -> None:
    """Noisy clinical measurements of slots ``rows`` into ``s.measured`` (and the biopsy).

    Slot ``i`` draws from ``rngs[i]`` only, in a fixed order (imaging, ANC, MDSC[, biopsy]),
    so its noise does not depend on the other slots: a vector env reproduces N single envs
    with the same seeds. ``config`` is the `tme_env.envs.config.EnvConfig` (its CVs).
    """
    for i in rows:
        y = s.y[i]
        z = rngs[i].standard_normal(4 if biopsy else 3)
        burden = y[STATE.S] + y[STATE.R]
        seen = burden * math.exp(config.imaging_cv * z[0])
        m = s.measured[i]
        before = m[CLIN.log10_blood_mdsc]
        m[CLIN.imaging_log10_burden] = math.log10(max(seen, clinical.DETECTION_LIMIT_CELLS))
        m[CLIN.detectable] = float(seen >= clinical.DETECTION_LIMIT_CELLS)
        m[CLIN.anc] = y[STATE.ANC] * math.exp(config.anc_cv * z[1])
        mdsc = float(clinical.blood_mdsc_per_ul(y[STATE.M]))
        m[CLIN.log10_blood_mdsc] = math.log10(1.0 + mdsc * math.exp(config.mdsc_cv * z[2]))
        s.chart[CHART.mdsc_change, i] = m[CLIN.log10_blood_mdsc] - before
        if biopsy:
            ratio = (max(y[STATE.E], 0.0) + 1.0) / (max(y[STATE.M], 0.0) + 1.0)
            s.biopsy[i] = math.log10(ratio) + config.biopsy_cv * z[3] / math.log(10.0)
            s.biopsy_age[i] = 0.0


def clinical_observation(
    s: EnvState, arrays: tuple[np.ndarray, ...], params: np.ndarray, dt_over_h: float, dt: float
) -> np.ndarray:
    """The clinical observation of every slot, ``(n, len(CLINICAL_OBSERVATION))`` float32.

    ``arrays`` are ``s``'s storage (`tme_env.envs.state.state_arrays`), ``params`` the slots'
    parameter rows (the PD-L1 TPS).
    """
    t_frac = s.steps * dt_over_h
    day = s.steps * dt
    chart, chart_int = s.chart, s.chart_int
    since = [np.where(last < 0.0, NEVER_GIVEN, np.minimum((day - last) / 7.0, WEEKS_SINCE_CAP))
             for last in chart[[CHART.chemo_last_day, CHART.pd1_last_day,
                                CHART.inhibitor_last_day]]]  # fmt: skip
    nadir = np.log10(np.maximum(chart[CHART.img_nadir], clinical.DETECTION_LIMIT_CELLS))
    obs = np.column_stack(
        [s.measured, s.biopsy, s.biopsy_age / 52.0, t_frac, s.last_doses, s.irae_count,
         blocked_flags(dt, *arrays), params[:, PARAM.pdl1_tps], nadir,
         chart[CHART.best_response], chart_int[CHART_INT.progressed], *since,
         s.platinum_cycles, s.pd1_doses, chart[CHART.mdsc_change]],
    )  # fmt: skip
    return obs.astype(np.float32)
