"""``tme models`` and ``tme regimens``: what the package ships, listed or described."""

from __future__ import annotations

import argparse
from typing import Any

from tme_env import models
from tme_env.regimens import REGIMENS

__all__ = ["add_models_parser", "add_regimens_parser", "cmd_models", "cmd_regimens"]


def add_models_parser(sub: Any) -> None:
    """Add ``tme models [NAME]`` to the sub-parsers ``sub``."""
    p_models = sub.add_parser("models", help="list models or describe one")
    p_models.add_argument("name", nargs="?", help="model to describe")
    p_models.set_defaults(func=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    """List the registered models, or show one model's states, inputs and parameter table."""
    if args.name is None:
        for name in models.available():
            m = models.get(name)
            print(f"{name:<14} {m.title}")
            states, inputs = ", ".join(m.state_names), ", ".join(m.input_names)
            print(f"{'':<14} states: {states}; inputs: {inputs}")
        return 0
    print(models.get(args.name).describe())
    return 0


def add_regimens_parser(sub: Any) -> None:
    """Add ``tme regimens`` to the sub-parsers ``sub``."""
    p_reg = sub.add_parser("regimens", help="list the standard regimens and their schedules")
    p_reg.set_defaults(func=cmd_regimens)


def cmd_regimens(args: argparse.Namespace) -> int:  # noqa: ARG001 - uniform signature
    """List the standard regimens with their schedules and sources."""
    for spec in REGIMENS.values():
        print(f"{spec.name:<22} {spec.description}")
        print(f"{'':<22} source: {spec.source}")
    print("\nAll regimens delay chemotherapy while ANC < 1.5e9/L and reduce it by 20% after "
          "grade-4 neutropenia (tme_env/regimens/policies.py).")  # fmt: skip
    return 0
