"""The ``--quick`` flag every experiment script takes (a helper module, not an experiment).

``python experiments/<script>.py --quick`` runs the whole script end to end on tiny sizes (a
few patients, a few hundred training steps, one repeat, a tiny search budget) in seconds, and
writes every output into a scratch folder, ``$TMPDIR/tme-quick/<script name>/`` (created and
printed), never over a committed result. Flags given explicitly win over the quick sizes and
paths. ``tests/test_experiment_scripts.py`` runs every script this way, so that none rots.

The scripts import this module by its folder: ``experiments/`` is on ``sys.path`` when a script
runs as ``python experiments/<script>.py``; the ``experiments/benchmarks/`` scripts add it.
This module is the one ``experiments/*.py`` file that is not a script (the test lists it in
``HELPERS``).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HELP = ("smoke run: tiny sizes, every output under $TMPDIR/tme-quick/<script>/ (explicit flags "
        "win); never overwrites a committed result")  # fmt: skip


def scratch(script: str | Path) -> Path:
    """The quick run's output folder, ``$TMPDIR/tme-quick/<script stem>``, created and printed.

    Args:
        script: The script's path (its ``__file__``).

    Returns:
        The folder (it exists).
    """
    folder = Path(tempfile.gettempdir()) / "tme-quick" / Path(script).stem
    folder.mkdir(parents=True, exist_ok=True)
    print(f"--quick: tiny sizes; outputs under {folder}", flush=True)
    return folder


def parse_args(ap: argparse.ArgumentParser, argv: Sequence[str] | None, script: str | Path,
               sizes: dict[str, Any] | None = None,
               outputs: dict[str, str] | None = None) -> argparse.Namespace:  # fmt: skip
    """Add ``--quick`` to ``ap`` and parse ``argv``; with ``--quick``, the quick defaults.

    With ``--quick``, ``sizes`` (argument destination -> value) and ``outputs`` (destination ->
    a path relative to the scratch folder, `scratch`) replace the parser's defaults, and the
    arguments are parsed again: whatever the user gave explicitly still wins.

    Args:
        ap: The script's parser (without ``--quick``).
        argv: The arguments (None: ``sys.argv[1:]``).
        script: The script's path (its ``__file__``), naming the scratch folder.
        sizes: Quick defaults of the size arguments.
        outputs: Quick defaults of the output arguments, relative to the scratch folder.

    Returns:
        The parsed arguments, with ``quick`` and, in quick mode, ``scratch`` (the folder; None
        otherwise).
    """
    ap.add_argument("--quick", action="store_true", help=HELP)
    args = ap.parse_args(argv)
    folder = None
    if args.quick:
        folder = scratch(script)
        ap.set_defaults(**(sizes or {}),
                        **{k: str(folder / v) for k, v in (outputs or {}).items()})  # fmt: skip
        args = ap.parse_args(argv)
    args.scratch = folder
    return args
