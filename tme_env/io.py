"""Atomic file output: a reader (or an interrupted run) never sees a half-written file.

Each writer writes to a temporary file in the destination folder and renames it into place
(``os.replace`` is atomic on one filesystem).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["atomic_savefig", "atomic_write_json", "atomic_write_text"]


def _tmp(path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp{path.suffix}")


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    tmp = _tmp(path)
    tmp.write_text(text)
    os.replace(tmp, path)


def atomic_write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON atomically (NumPy scalars become floats)."""
    atomic_write_text(path, json.dumps(data, indent=2, default=float))


def atomic_savefig(fig: Any, path: str | Path, dpi: int = 90) -> None:
    """Save a Matplotlib figure atomically (the format follows the file extension)."""
    tmp = _tmp(path)
    fig.savefig(tmp, dpi=dpi)
    os.replace(tmp, path)
