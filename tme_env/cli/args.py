"""Argparse value types of the ``tme`` command (argparse names the flag in their errors)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["finite_float", "int_at_least", "positive_float"]


def int_at_least(least: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``least`` (argparse names the flag in its error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            msg = f"must be an integer >= {least}, got {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be an integer >= {least}, got {value}")
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
