"""``tme sweep CONFIG.yml``: algorithm x seed x budget sweep on Ray Tune (`tme_env.sweep`)."""

from __future__ import annotations

import argparse
from typing import Any

from tme_env.sweep import load_sweep_config, run_sweep

__all__ = ["add_sweep_parser", "cmd_sweep"]


def add_sweep_parser(sub: Any) -> None:
    """Add ``tme sweep`` to the sub-parsers ``sub``."""
    p_sweep = sub.add_parser("sweep", help="algorithm x seed x budget sweep on Ray Tune")
    p_sweep.add_argument("config", help="sweep YAML (see tme_env/sweep.py)")
    p_sweep.add_argument("--address", default=None, help="Ray cluster to join (default: local)")
    p_sweep.add_argument("--trust", action="store_true",
                         help="resume an existing STORAGE/NAME: Ray Tune unpickles its "
                              "tuner.pkl, which runs any code inside it; only for a folder "
                              "you wrote (without it, an existing one is refused)")  # fmt: skip
    p_sweep.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep of ``args.config`` and print its leaderboard."""
    cfg = load_sweep_config(args.config)
    text, _rows = run_sweep(cfg, address=args.address, trusted=args.trust)
    print(f"\n{text}\nwrote {cfg.experiment_dir / 'leaderboard.md'}")
    return 0
