"""The ``tme`` command line.

Sub-commands, each in a module of this package that holds its sub-parser next to its handler:

* ``tme models [NAME]`` (`tme_env.cli.catalogue`): list the registered models, or show one
  model's states, inputs and parameter table (value, unit, source).
* ``tme simulate MODEL`` (`tme_env.cli.simulate`): integrate a model under a schedule and
  print or save the trajectory.
* ``tme regimens`` (`tme_env.cli.catalogue`): list the standard regimens with their schedules
  and sources.
* ``tme trial`` (`tme_env.cli.trial`): run a virtual trial of regimens (and trained SB3
  models) and write a report.
* ``tme train`` (`tme_env.cli.train`): train an SB3 agent (run folder, TensorBoard, clinical
  evaluation).
* ``tme evaluate`` (`tme_env.cli.trial`): a trained model against every standard regimen in a
  virtual trial.
* ``tme quickstart`` (`tme_env.cli.quickstart`): train PPO briefly, then the virtual trial
  against all regimens.
* ``tme dataset`` (`tme_env.cli.dataset`): log a clinician-like behaviour policy into a
  Minari offline-RL dataset (`tme_env.offline`; needs the ``offline`` extra).
* ``tme benchmark`` (`tme_env.cli.benchmark`): score policies (regimen, SB3 ``model.zip``,
  ``module:attr``; repeated names are seeds) under the protocol of ``BENCHMARK.md`` and write
  a leaderboard row (`tme_env.benchmark`).
* ``tme validate`` (`tme_env.cli.validate`): run the model's trial panel (KEYNOTE-189,
  KEYNOTE-024, FDA pooled; crossover included) and write the validation report
  (`tme_env.validation`).
* ``tme sweep CONFIG.yml`` (`tme_env.cli.sweep`): algorithm x seed x budget sweep of
  ``tme train`` + evaluation on Ray Tune (`tme_env.sweep`); ``tme trial --backend ray`` runs
  a trial's shards on Ray.

`main` is the console script's entry point; ``python -m tme_env.cli`` runs it too.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from tme_env.cli.benchmark import add_benchmark_parser
from tme_env.cli.catalogue import add_models_parser, add_regimens_parser
from tme_env.cli.dataset import add_dataset_parser
from tme_env.cli.quickstart import add_quickstart_parser
from tme_env.cli.simulate import add_simulate_parser
from tme_env.cli.sweep import add_sweep_parser
from tme_env.cli.train import add_train_parser
from tme_env.cli.trial import add_evaluate_parser, add_trial_parser
from tme_env.cli.validate import add_validate_parser
from tme_env.simulator import SimulationError

__all__ = ["main"]

#: Exit status of every user error (a bad flag, value, file or folder), as argparse's own.
USAGE_ERROR = 2
#: Exit status after Ctrl-C (128 + SIGINT, as a shell reports it); no traceback is printed.
INTERRUPTED = 130
#: The ``tme_env`` package folder: its warnings print as one line.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(__file__))


def build_parser() -> argparse.ArgumentParser:
    """Build the ``tme`` argument parser (sub-commands in the order ``tme --help`` lists)."""
    parser = argparse.ArgumentParser(
        prog="tme", description="tme_env: tumour-immune simulator and RL benchmark"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_models_parser, add_regimens_parser, add_trial_parser, add_benchmark_parser,
                add_sweep_parser, add_train_parser, add_evaluate_parser, add_dataset_parser,
                add_quickstart_parser, add_simulate_parser, add_validate_parser):  # fmt: skip
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tme`` console script.

    A user error (`ValueError`, a failed simulation, a file that cannot be written) prints
    one line ``tme: error: ...`` naming the bad value and exits with `USAGE_ERROR` (2), as
    argparse does for a malformed command line. Warnings of ``tme_env`` print as one line
    ``tme: warning: ...``. Ctrl-C prints ``tme: interrupted`` and exits with `INTERRUPTED`
    (130); ``tme train`` saves its model first and says how to resume.
    """
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return int(args.func(args))
        except (ValueError, SimulationError, OSError) as exc:
            text = str(exc) if not isinstance(exc, OSError) or not exc.filename else (
                f"{exc.filename}: {exc.strerror}"
            )  # fmt: skip
            print(f"tme: error: {text}", file=sys.stderr)
            return USAGE_ERROR
        except KeyboardInterrupt as exc:  # tme train's says what it saved
            print(f"\ntme: interrupted{f' ({exc})' if str(exc) else ''}", file=sys.stderr)
            return INTERRUPTED


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """One line per warning of tme_env; others as Python shows them."""
    if filename.startswith(_PACKAGE_DIR):
        print(f"tme: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))
