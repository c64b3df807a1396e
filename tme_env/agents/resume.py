"""Resuming a training run: which file to continue from, and the run folder cut back to it.

* `resolve_resume`: ``tme train --resume`` takes a model ``.zip`` or a run folder; a folder
  resumes from its latest state, its last checkpoint (``checkpoints/model_<steps>_steps.zip``)
  or its ``model.zip`` if that has more steps (a finished run).
* `truncate_run`: a run resumed in its own folder from step ``S`` continues from there, so
  whatever the abandoned continuation wrote after ``S`` moves to
  ``RUN/abandoned/after-S-<time>/`` (nothing is deleted): the evaluations after ``S`` (out of
  ``evaluations.json``, into that folder's own), the later checkpoints, and ``model.zip``,
  ``best_model.zip`` and ``evaluation.json`` when they come from after ``S``. A
  ``best_model.zip`` that moves is not replaced by an older policy (none was saved): the
  resumed run's evaluations choose the next one. The files' ``SHA256SUMS`` entries move with
  them. (TensorBoard: `tme_env.agents.train` starts the resumed events with a purge step.)
* `record_missing_checksums`: the entries a run killed between saving a model and recording
  it (a SIGKILL; Ctrl-C and SIGTERM wait for the entry, `tme_env.io.deferred_signals`) lacks.

Nothing here imports stable-baselines3: a model archive's step count is read from its JSON
``data`` member, without unpickling anything.
"""

from __future__ import annotations

import json
import os
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import yaml

from tme_env.io import atomic_write_json, move_recorded, record_checksum, recorded_checksums

__all__ = [
    "checkpoint_path",
    "checkpoints",
    "model_timesteps",
    "record_missing_checksums",
    "recorded_config",
    "resolve_resume",
    "truncate_run",
]

_CHECKPOINT = re.compile(r"^model_(\d+)_steps\.zip$")


def checkpoint_path(run: str | Path, steps: int) -> Path:
    """``RUN/checkpoints/model_<steps>_steps.zip`` (SB3's ``CheckpointCallback`` names)."""
    return Path(run) / "checkpoints" / f"model_{int(steps)}_steps.zip"


def checkpoints(run: str | Path) -> list[tuple[int, Path]]:
    """The checkpoints of run folder ``run`` as ``(steps, path)``, fewest steps first."""
    folder = Path(run) / "checkpoints"
    found = []
    for path in folder.glob("model_*_steps.zip") if folder.is_dir() else ():
        m = _CHECKPOINT.match(path.name)
        if m and path.is_file():
            found.append((int(m[1]), path))
    return sorted(found)


def model_timesteps(path: str | Path) -> int | None:
    """The step count an SB3 model archive records (``num_timesteps``), or None if unreadable.

    Read from the archive's JSON ``data`` member: nothing is unpickled.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            data = json.loads(zf.read("data"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    steps = data.get("num_timesteps") if isinstance(data, dict) else None
    return steps if isinstance(steps, int) and not isinstance(steps, bool) else None


def resolve_resume(path: str | Path, what: str = "resume") -> Path:
    """The model file ``--resume PATH`` continues from: the file, or a run folder's latest.

    Raises:
        ValueError: Naming ``what`` and the path: missing, or a folder with neither
            checkpoints nor ``model.zip``.
    """
    p = Path(path)
    if p.is_dir():
        found = checkpoints(p)
        final = p / "model.zip"
        if final.is_file():
            found.append((model_timesteps(final) or 0, final))
        if not found:
            raise ValueError(f"{what} {str(path)!r}: a folder without checkpoints/"
                             "model_<steps>_steps.zip or model.zip to resume from")  # fmt: skip
        return max(found, key=lambda item: (item[0], item[1].parent.name == "checkpoints"))[1]
    if not p.is_file():
        raise ValueError(f"{what} {str(path)!r}: file not found")
    return p


def recorded_config(path: str | Path) -> dict[str, Any]:
    """The ``config.yml`` of the run model ``path`` belongs to ({} for a bare zip).

    The run folder is the file's own, or its parent for a checkpoint in ``checkpoints/``.
    """
    folder = Path(path).resolve().parent
    for run in [folder] + ([folder.parent] if folder.name == "checkpoints" else []):
        try:
            data = yaml.safe_load((run / "config.yml").read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            continue
        if isinstance(data, dict):
            return data
    return {}


def truncate_run(run: str | Path, steps: int) -> Path | None:
    """Move what run folder ``run`` holds from after step ``steps`` aside (module docstring).

    Returns:
        The folder the abandoned files moved to, or None if nothing came after ``steps``.
    """
    run = Path(run)
    later = [ckpt for s, ckpt in checkpoints(run) if s > steps]
    for name in ("model.zip", "best_model.zip"):
        f = run / name
        if f.is_file() and (model_timesteps(f) or steps + 1) > steps:
            later.append(f)
    final = _read_json(run / "evaluation.json")
    if final is not None and not (isinstance(final, dict) and _step_at_most(final, steps)):
        later.append(run / "evaluation.json")
    history = _read_json(run / "evaluations.json")
    kept: list[Any] = []
    dropped: list[Any] = []
    if isinstance(history, list):
        for row in history:
            (kept if isinstance(row, dict) and _step_at_most(row, steps) else dropped).append(row)
    elif history is not None:  # unreadable: the whole file goes
        later.append(run / "evaluations.json")
    if not later and not dropped:
        return None
    dest = _abandoned_folder(run, steps)
    for f in later:
        move_recorded(run, f, dest / f.relative_to(run))
    if dropped:
        atomic_write_json(dest / "evaluations.json", dropped)
        atomic_write_json(run / "evaluations.json", kept)
    return dest


def record_missing_checksums(run: str | Path) -> list[Path]:
    """Record the SHA-256 of each model of ``run`` that ``SHA256SUMS`` lacks; return them."""
    run = Path(run)
    sums = recorded_checksums(run)
    missing = []
    for f in [run / "model.zip", run / "best_model.zip", *(p for _, p in checkpoints(run))]:
        if f.is_file() and os.path.relpath(f.resolve(), run.resolve()) not in sums:
            record_checksum(run, f)
            missing.append(f)
    return missing


def _step_at_most(row: dict[str, Any], steps: int) -> bool:
    t = row.get("timesteps")
    return isinstance(t, int) and not isinstance(t, bool) and t <= steps


def _read_json(path: Path) -> Any:
    """The JSON in ``path``; None if there is no file; ``...`` if it cannot be read."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ...


def _abandoned_folder(run: Path, steps: int) -> Path:
    base = run / "abandoned" / f"after-{steps}-{time.strftime('%Y%m%d-%H%M%S')}"
    dest, k = base, 1
    while dest.exists():
        k += 1
        dest = base.with_name(f"{base.name}-{k}")
    return dest
