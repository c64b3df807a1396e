"""The mutable state of the ``tme`` env slots: `EnvState` and its array layout.

gymnax-style, the state is data and the functions are separate. `EnvState` is a named tuple of
one array per field, rows are slots; it is stored as five arrays (`state_arrays`: the model
state, the last doses, the clinical measurements, and one float and one int array of
one-value-per-slot rows, `FLOAT_ROWS` and `INT_ROWS`), so that a compiled call takes five
arrays instead of 21 (each array argument costs ~0.15 us to unbox, a third of the single
env's overhead around its integrator). Compiled code receives the five and builds the views
itself with `state_views`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from tme_env.dosing import ACTION_NAMES
from tme_env.jit import JIT_FLAGS
from tme_env.models.base import index_enum
from tme_env.models.tme import STATE

__all__ = [
    "FLOAT_ROW",
    "FLOAT_ROWS",
    "INT_ROW",
    "INT_ROWS",
    "CHART",
    "CHART_INT",
    "CHART_INT_ROWS",
    "CHART_ROWS",
    "MEASURED",
    "NEVER",
    "EnvState",
    "py_state_views",
    "slice_state",
    "state_arrays",
    "state_views",
]

#: The clinical measurements an `EnvState` keeps (``measured``'s columns), refreshed at each
#: visit with their noise; the clinical observation shows them first.
MEASURED = ("imaging_log10_burden", "detectable", "anc", "log10_blood_mdsc")


class EnvState(NamedTuple):
    """The mutable state of ``n`` env slots: one array per field, rows are slots.

    Attributes:
        y: Model state at the current decision time, ``(n, n_states)`` (kernel order).
        steps: Decisions taken in the episode, ``(n,)`` int64.
        last_doses: Doses given in the last interval (after the label rules), ``(n, 3)``.
        anc_nadir: Lowest daily ANC of the last interval (1e9/L), ``(n,)``.
        effector_ref: Active effectors at presentation (the irAE activation reference).
        biopsy: Last biopsy's log10 CD8:MDSC ratio (clinical), ``(n,)``.
        biopsy_age: Weeks since that biopsy, ``(n,)``.
        measured: The latest clinical measurements, ``(n, 4)``, columns `MEASURED` (the
            first four fields of the clinical observation).
        pd1_doses: Anti-PD-1 doses given, ``(n,)`` int64.
        pd1_first_day: Day of the first anti-PD-1 dose (-1: none yet).
        pd1_hold_days: Days anti-PD-1 is still withheld after an irAE.
        pd1_stopped: 1 once anti-PD-1 is discontinued for good.
        steroid_days: Days left of the steroid course.
        platinum_cycles: Chemotherapy doses above the maintenance level given, int64.
        irae_count: irAEs so far (any grade); ``irae_severe``: of grade >= 3.
        irae_grade: Grade of the irAE that began in the last interval (0: none).
        irae_hazard: Cumulative irAE hazard of the last interval.
        death_hazard: Death hazard integrated since presentation (`tme_env.models.tme.
            death_hazard`); the patient dies when it reaches ``death_threshold``.
        chart: The clinic's chart (v2), ``(len(CHART_ROWS), n)`` float: one row per name of
            `CHART` (``s.chart[CHART.pfs_day, i]``); ``chart_int`` likewise, `CHART_INT`.
            Two fields of rows, not 13 fields: every field a compiled step uses costs time
            (each is a view built and handed on), ~0.2 us per field and step. The rows:
        chemo_last_day, chemo_cycle_day: Day of the last chemotherapy dose, and of the last
            one above the metronomic level (-1: none yet; the cycle-length rule).
        pd1_last_day, inhibitor_last_day: Day of the last anti-PD-1 dose, and of the start
            of the last interval with the inhibitor (-1: none yet).
        chemo_refused: 1.0 if the last step's chemotherapy dose was refused (cycle length).
        mdsc_change: Change of the log10 blood MDSC assay since its previous value
            (clinical).
        img_prev: The last imaging burden (cells, at least 1): where the next scan's
            log-linear interpolation starts (`tme_env.envs.progression`).
        img_base: The imaging burden at presentation (RECIST baseline, cells).
        img_nadir: The smallest burden of the baseline and the scans so far (cells; 0 after
            a scan that saw nothing).
        pfs_day: Day of RECIST progression (or of imaging at the lethal burden), -1: none.
        best_response: Best response at the scans before progression: -1 PD, 0 SD, 1 PR,
            2 CR.
        progressed: 1 once ``pfs_day`` is set.
        next_scan: Index of the next scheduled scan (`tme_env.clinical.
            KEYNOTE189_IMAGING_DAYS`).
    """

    y: np.ndarray
    steps: np.ndarray
    last_doses: np.ndarray
    anc_nadir: np.ndarray
    effector_ref: np.ndarray
    biopsy: np.ndarray
    biopsy_age: np.ndarray
    measured: np.ndarray
    pd1_doses: np.ndarray
    pd1_first_day: np.ndarray
    pd1_hold_days: np.ndarray
    pd1_stopped: np.ndarray
    steroid_days: np.ndarray
    platinum_cycles: np.ndarray
    irae_count: np.ndarray
    irae_severe: np.ndarray
    irae_grade: np.ndarray
    irae_hazard: np.ndarray
    death_hazard: np.ndarray
    chart: np.ndarray
    chart_int: np.ndarray

    @classmethod
    def zeros(cls, n: int, n_states: int) -> EnvState:
        """A state of ``n`` slots, all zero (no patient yet), as views of `state_arrays`."""
        return py_state_views(*state_arrays(n, n_states))

    def reset_slot(self, i: int, y0: np.ndarray) -> None:
        """Start slot ``i``'s episode at presentation state ``y0``."""
        for name, arr in zip(self._fields, self, strict=True):
            if name in ("chart", "chart_int"):
                rows = CHART_ROWS if name == "chart" else CHART_INT_ROWS
                arr[:, i] = [-1.0 if r in NEVER else 0 for r in rows]
            elif name != "y":
                arr[i] = -1.0 if name in NEVER else 0
        self.y[i] = y0
        self.anc_nadir[i] = y0[STATE.ANC]
        self.effector_ref[i] = max(y0[STATE.E], 1.0)


#: `EnvState`'s one-value-per-slot fields, stored as the rows of one float and one int array
#: (`state_arrays`), so that a compiled call takes 5 arrays instead of 21: each array argument
#: costs ~0.15 us to unbox, a third of the single env's overhead around its integrator.
FLOAT_ROWS = ("anc_nadir", "effector_ref", "biopsy", "biopsy_age", "pd1_first_day",
              "pd1_hold_days", "steroid_days", "irae_grade", "irae_hazard", "death_hazard",
              "chemo_last_day", "chemo_cycle_day", "pd1_last_day", "inhibitor_last_day",
              "chemo_refused", "mdsc_change", "img_prev", "img_base", "img_nadir", "pfs_day",
              "best_response")  # fmt: skip
INT_ROWS = ("steps", "pd1_doses", "pd1_stopped", "platinum_cycles", "irae_count", "irae_severe",
            "progressed", "next_scan")  # fmt: skip
#: The rows of ``EnvState.chart`` and ``chart_int``: the last rows of `FLOAT_ROWS` and
#: `INT_ROWS`, seen as one 2-D field each (`CHART`, `CHART_INT` name them).
CHART_ROWS = FLOAT_ROWS[FLOAT_ROWS.index("chemo_last_day") :]
CHART_INT_ROWS = INT_ROWS[INT_ROWS.index("progressed") :]
#: The day fields that read -1 until their event happens (`EnvState.reset_slot`).
NEVER = ("pd1_first_day", "chemo_last_day", "chemo_cycle_day", "pd1_last_day",
         "inhibitor_last_day", "pfs_day")  # fmt: skip


def state_arrays(n: int, n_states: int) -> tuple[np.ndarray, ...]:
    """The storage of an `EnvState` of ``n`` slots: ``(y, last_doses, measured, F, I)``.

    ``F`` is ``(len(FLOAT_ROWS), n)`` float64 and ``I`` ``(len(INT_ROWS), n)`` int64, one row
    per field; `state_views` turns the five into the `EnvState` of views (compiled code
    receives the five arrays and builds the views itself).
    """
    return (np.zeros((n, n_states)), np.zeros((n, len(ACTION_NAMES))),
            np.zeros((n, len(MEASURED))), np.zeros((len(FLOAT_ROWS), n)),
            np.zeros((len(INT_ROWS), n), dtype=np.int64))  # fmt: skip


#: Row of each `FLOAT_ROWS` / `INT_ROWS` field in its array, by name.
FLOAT_ROW = index_enum("FLOAT_ROW", FLOAT_ROWS)
INT_ROW = index_enum("INT_ROW", INT_ROWS)
#: Row of each chart name in ``EnvState.chart`` / ``chart_int``.
CHART = index_enum("CHART", CHART_ROWS)
CHART_INT = index_enum("CHART_INT", CHART_INT_ROWS)


@njit(**JIT_FLAGS)
def state_views(y, last_doses, measured, f, i):  # pragma: no cover - compiled
    """The `EnvState` of views into `state_arrays` (each row read by its field's name)."""
    return EnvState(
        y, i[INT_ROW.steps], last_doses, f[FLOAT_ROW.anc_nadir], f[FLOAT_ROW.effector_ref],
        f[FLOAT_ROW.biopsy], f[FLOAT_ROW.biopsy_age], measured, i[INT_ROW.pd1_doses],
        f[FLOAT_ROW.pd1_first_day], f[FLOAT_ROW.pd1_hold_days], i[INT_ROW.pd1_stopped],
        f[FLOAT_ROW.steroid_days], i[INT_ROW.platinum_cycles], i[INT_ROW.irae_count],
        i[INT_ROW.irae_severe], f[FLOAT_ROW.irae_grade], f[FLOAT_ROW.irae_hazard],
        f[FLOAT_ROW.death_hazard], f[FLOAT_ROW.chemo_last_day :], i[INT_ROW.progressed :],
    )  # fmt: skip


def py_state_views(*arrays: np.ndarray) -> EnvState:
    """`state_views` run as Python (NumPy views), compiled or not (``NUMBA_DISABLE_JIT``)."""
    return getattr(state_views, "py_func", state_views)(*arrays)


def slice_state(s: EnvState, i: int) -> EnvState:
    """Slot ``i`` of a state as a one-slot state (views)."""
    return EnvState(*(a[:, i : i + 1] if name in ("chart", "chart_int") else a[i : i + 1]
                      for name, a in zip(s._fields, s, strict=True)))  # fmt: skip
