"""Treatment schedules: validation and conversion to integration segments.

A schedule is a list of *infusions* ``(start_day, end_day, {input_name: rate})``, active on
``[start_day, end_day)`` and adding where they overlap, and *boluses*
``(day, {state_name: amount})``, instantaneous increments of a state. `build_segments` turns a
schedule into the piecewise-constant segments the compiled integrator consumes: every infusion
start/stop and every bolus day becomes a breakpoint that no integration step crosses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tme_env.models.base import check_value

__all__ = ["Bolus", "Infusion", "Segments", "build_segments", "parse_boluses", "parse_infusions"]


@dataclass(frozen=True, slots=True)
class Infusion:
    """A constant-rate input on ``[start_day, end_day)`` (validated)."""

    start_day: float
    end_day: float
    rates: tuple[tuple[int, float], ...]  # (input index, rate)


@dataclass(frozen=True, slots=True)
class Bolus:
    """An instantaneous state increment on ``day`` (validated)."""

    day: float
    amounts: tuple[tuple[int, float], ...]  # (state index, amount)


def _names_to_values(
    what: str, mapping: object, valid: Sequence[str], kind: str
) -> tuple[tuple[int, float], ...]:
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{what}: expected a mapping of {kind} name to value, got {mapping!r}")
    index = {n: i for i, n in enumerate(valid)}
    out = []
    for name, value in mapping.items():
        if name not in index:
            raise ValueError(
                f"{what}: unknown {kind} {name!r}; valid {kind}s: {', '.join(valid) or '(none)'}"
            )
        out.append((index[name], check_value(f"{what}: {kind} {name!r}", value)))
    return tuple(out)


def parse_infusions(infusions: object, input_names: Sequence[str]) -> list[Infusion]:
    """Validate ``[(start_day, end_day, {input: rate}), ...]``.

    Raises:
        ValueError: On a malformed entry, an unknown input, a NaN/negative rate, a non-finite
            day, or ``end_day < start_day``.
    """
    if isinstance(infusions, (str, bytes, Mapping)) or not isinstance(infusions, Sequence):
        raise ValueError(
            f"infusions must be a sequence of (start_day, end_day, {{input: rate}}), "
            f"got {infusions!r}"
        )
    out = []
    for k, item in enumerate(infusions):
        what = f"infusion #{k}"
        if not isinstance(item, Sequence) or isinstance(item, (str, bytes)) or len(item) != 3:
            raise ValueError(
                f"{what}: expected (start_day, end_day, {{input: rate}}), got {item!r}"
            )
        start = check_value(f"{what}: start_day", item[0], -math.inf)
        end = check_value(f"{what}: end_day", item[1], -math.inf)
        if end < start:
            raise ValueError(f"{what}: end_day {end} is before start_day {start}")
        out.append(Infusion(start, end, _names_to_values(what, item[2], input_names, "input")))
    return out


def parse_boluses(boluses: object, state_names: Sequence[str]) -> list[Bolus]:
    """Validate ``[(day, {state: amount}), ...]``.

    Raises:
        ValueError: On a malformed entry, an unknown state, a NaN/negative amount or a
            non-finite day.
    """
    if isinstance(boluses, (str, bytes, Mapping)) or not isinstance(boluses, Sequence):
        raise ValueError(f"boluses must be a sequence of (day, {{state: amount}}), got {boluses!r}")
    out = []
    for k, item in enumerate(boluses):
        what = f"bolus #{k}"
        if not isinstance(item, Sequence) or isinstance(item, (str, bytes)) or len(item) != 2:
            raise ValueError(f"{what}: expected (day, {{state: amount}}), got {item!r}")
        day = check_value(f"{what}: day", item[0], -math.inf)
        out.append(Bolus(day, _names_to_values(what, item[1], state_names, "state")))
    return out


@dataclass(frozen=True, slots=True)
class Segments:
    """Piecewise-constant segments of one patient's schedule (kernel layout)."""

    start: np.ndarray  # (K,)
    end: np.ndarray  # (K,)
    inputs: np.ndarray  # (K, n_inputs): infusion rates on [start, end)
    jumps: np.ndarray  # (K, n_states): bolus applied at start


def build_segments(
    t0: float,
    t_end: float,
    infusions: Sequence[Infusion],
    boluses: Sequence[Bolus],
    n_inputs: int,
    n_states: int,
) -> Segments:
    """Turn a validated schedule into integration segments covering ``[t0, t_end]``.

    Infusions are clipped to the window's end (the part after it cannot affect the output);
    boluses after ``t_end`` are ignored; a bolus at ``t_end`` gives a zero-length last segment
    so that the output at ``t_end`` includes it.

    Raises:
        ValueError: If an infusion starts or a bolus lies before ``t0`` (it would be silently
            lost, wholly or in part).
    """
    cuts = {t0, t_end}
    for k, inf in enumerate(infusions):
        if inf.start_day < t0:
            raise ValueError(
                f"infusion #{k} starts on day {inf.start_day}, before the first output time {t0} "
                "(its earlier part would be silently lost); start it at or after t_eval[0]"
            )
    for inf in infusions:
        for x in (inf.start_day, inf.end_day):
            if t0 < x < t_end:
                cuts.add(x)
    bolus_days: dict[float, np.ndarray] = {}
    for k, bol in enumerate(boluses):
        if bol.day < t0:
            raise ValueError(
                f"bolus #{k} on day {bol.day} precedes the first output time {t0}; "
                "put it into initial_state instead"
            )
        if bol.day > t_end:
            continue
        cuts.add(bol.day)
        acc = bolus_days.setdefault(bol.day, np.zeros(n_states))
        for i, amount in bol.amounts:
            acc[i] += amount
    times = sorted(cuts)
    starts = times[:-1] if len(times) > 1 else []
    ends = times[1:]
    if t_end in bolus_days or not starts:
        # Zero-length final segment carrying the bolus at t_end (or the whole window if
        # t0 == t_end).
        starts = [*starts, t_end]
        ends = [*ends, t_end] if len(times) > 1 else [t_end]
    k_seg = len(starts)
    start = np.asarray(starts, dtype=np.float64)
    end = np.asarray(ends, dtype=np.float64)
    inputs = np.zeros((k_seg, n_inputs))
    jumps = np.zeros((k_seg, n_states))
    for inf in infusions:
        active = (start >= inf.start_day) & (start < inf.end_day) & (end > start)
        for i, rate in inf.rates:
            inputs[active, i] += rate
    for j, s in enumerate(starts):
        if s in bolus_days:
            jumps[j] = bolus_days.pop(s)
    return Segments(start, end, inputs, jumps)
