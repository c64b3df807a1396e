"""Argparse value types of the ``tme`` command (argparse names the flag in their errors)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["ONE_BATCH", "finite_float", "int_at_least", "int_in_range", "positive_float"]

#: Why ``--n-patients`` is bounded (`tme_env.envs.config.MAX_COHORT_SIZE`) where an arm runs
#: as one batch: one vector env of that many patients.
ONE_BATCH = "each arm runs as one batch of that many patients"


def int_at_least(least: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``least`` (argparse names the flag in its error).

    Scientific notation of a whole number (``1e6``) is read as that integer.
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = _whole_number(text)
            if value is None:
                msg = f"must be an integer >= {least}, got {text!r}"
                raise argparse.ArgumentTypeError(msg) from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be an integer >= {least}, got {value}")
        return value

    return parse


def _whole_number(text: str) -> int | None:
    """``1e6`` -> 1000000; None for anything but a finite whole number in e-notation."""
    if "e" not in text.lower():
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value.is_integer() else None


def int_in_range(least: int, most: int, why: str = "") -> Callable[[str], int]:
    """An argparse type: an integer in ``[least, most]``; ``why`` explains the upper bound."""
    at_least = int_at_least(least)

    def parse(text: str) -> int:
        value = at_least(text)
        if value > most:
            because = f" ({why})" if why else ""
            raise argparse.ArgumentTypeError(
                f"must be an integer from {least} to {most:,}{because}, got {value:,}"
            )
        return value

    return parse


def finite_float(text: str) -> float:
    """An argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value
