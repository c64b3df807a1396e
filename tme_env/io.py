"""Safe file output: atomic writes, report folders that never eat a user's files, checksums.

* **Atomic files.** Each writer (`atomic_write_text`, `atomic_write_json`, `atomic_savefig`,
  `atomic_save_model`) writes a temporary file in the destination folder and renames it into
  place (``os.replace`` is atomic on one filesystem): a reader, or a run killed at any moment,
  sees the old complete file or the new complete file, never a partial one. Temporary names
  carry the writer's process id (``.NAME.tme-tmp-PID-XXXX``); `clean_stale_temporaries`
  removes those of dead processes, and every writer calls it on its folder.
* **Report folders** (`OutputFolder`): a folder of files that appear all at once. It is
  written in a hidden sibling folder and swapped into place in one atomic exchange
  (``renameat2(RENAME_EXCHANGE)`` on Linux). A marker file records what the program wrote:
  a folder holding anything else is refused, never deleted, and replacing a previous report
  takes ``overwrite=True``. A lock file refuses a second concurrent writer of the same folder;
  it records the writer's process id and start time, so a lock left by a dead process whose
  id was reused is recognised as stale.
* **Checksums** (`sha256_file`, `record_checksum`, `find_checksum`): every model the project
  writes is recorded in its run folder's ``SHA256SUMS`` (the format of ``sha256sum -c``). It
  detects a corrupted file, not a tampered one: whoever can replace a model can rewrite the
  checksum file beside it, so it is no reason to trust a model
  (`tme_env.agents.loader`). `atomic_save_model` holds Ctrl-C and SIGTERM
  (`deferred_signals`) between moving the model into place and recording its entry, so only
  a SIGKILL or a power cut can part them.
* **Formats** (`json_safe`, `format_number`): JSON has no infinity or NaN, so they become
  ``null``; text shows an infinite survival median as "not reached".
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CHECKSUMS",
    "OutputFolder",
    "atomic_save_model",
    "atomic_savefig",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "atomic_write_text_unless_only",
    "check_output_file",
    "clean_stale_temporaries",
    "deferred_signals",
    "find_checksum",
    "format_number",
    "json_safe",
    "move_recorded",
    "record_checksum",
    "recorded_checksums",
    "sha256_file",
]

#: Name of the checksum file of a run folder (``sha256sum`` format: ``HASH  RELATIVE_PATH``).
CHECKSUMS = "SHA256SUMS"
#: Marker file of a report folder: what the program wrote there.
MARKER = ".tme-output.json"
_TMP_TAG = ".tme-tmp-"
_TMP_RE = re.compile(r"^\.(?P<name>.+)\.tme-tmp-(?P<pid>\d+)-[0-9a-f]+(?P<suffix>\.[^.]*)?$")
_LOCK_TAG = ".tme-lock"


# --- formats -----------------------------------------------------------------------------
def json_safe(data: Any) -> Any:
    """``data`` with NumPy scalars and arrays as Python values and non-finite floats as None.

    JSON has no infinity or NaN (Python's ``Infinity`` is not valid JSON): a survival median
    that is not reached, or a score that cannot be computed, is written as ``null``.
    """
    if isinstance(data, dict):
        return {str(k): json_safe(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_safe(v) for v in data]
    if isinstance(data, np.ndarray):
        return json_safe(data.tolist())
    if isinstance(data, (bool, np.bool_)):
        return bool(data)
    if isinstance(data, (int, np.integer)):
        return int(data)
    if isinstance(data, (float, np.floating)):
        x = float(data)
        return x if math.isfinite(x) else None
    if isinstance(data, Path):
        return str(data)
    return data


def format_number(
    value: float | None, spec: str = ".1f", inf: str = "not reached", nan: str = "n/a"
) -> str:
    """Format a number for text output: ``inf`` (or None from JSON) reads as ``inf``'s text.

    Args:
        value: The number; ``+inf`` (a survival median or CI bound not reached) and None
            give ``inf``, NaN gives ``nan``.
        spec: Format specification of a finite value (``format(value, spec)``).
        inf: Text of ``+inf`` and None.
        nan: Text of NaN (and ``-inf``).

    >>> format_number(12.345), format_number(float("inf")), format_number(float("nan"))
    ('12.3', 'not reached', 'n/a')
    """
    if value is None:
        return inf
    x = float(value)
    if math.isnan(x) or x == -math.inf:
        return nan
    if x == math.inf:
        return inf
    return format(x, spec)


# --- temporary files ---------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (Linux: field 22 of ``/proc/PID/stat``), or None.

    A process id is reused after its process ends; the pair (id, start time) is not.
    """
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    rest = text.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return rest[19] if len(rest) > 19 else None  # field 3 is rest[0]


def _tmp_name(path: Path) -> Path:
    return path.with_name(
        f".{path.name}{_TMP_TAG}{os.getpid()}-{secrets.token_hex(4)}{path.suffix}"
    )


def clean_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files and folders that dead writers left in ``folder``.

    Only names of this module's pattern (``.NAME.tme-tmp-PID-XXXX``) whose process is gone
    are removed; a live writer's temporaries (another run in progress) are left alone.

    Returns:
        The paths removed.
    """
    folder = Path(folder)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if m is None or _pid_alive(int(m["pid"])):
            continue
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def _prepare(path: str | Path) -> tuple[Path, Path]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(path.parent)
    return path, _tmp_name(path)


def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C) and SIGTERM until the block ends, then deliver them.

    For a few file operations that must happen together (a model moved into place and its
    ``SHA256SUMS`` entry). Outside the main thread (where Python cannot set handlers) the
    block runs unguarded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not None:  # None: a handler set outside Python; left alone
            previous[sig] = signal.signal(sig, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(held):
            signal.raise_signal(sig)  # the restored handler: KeyboardInterrupt, or the default


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))



def atomic_write_text_unless_only(path: str | Path, text: str, ignore: re.Pattern) -> bool:
    """`atomic_write_text`, unless the file differs from ``text`` only where ``ignore`` matches.

    For results with a run-time field: a rerun whose results are the same leaves the
    (tracked) file alone.

    Returns:
        True if the file was written; False if the old one was kept.
    """
    try:
        old = Path(path).read_text()
    except OSError:
        old = None
    if old is not None and ignore.sub("<ignored>", old) == ignore.sub("<ignored>", text):
        return False
    atomic_write_text(path, text)
    return True

def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    path, tmp = _prepare(path)
    try:
        tmp.write_bytes(data)
        _fsync_replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented, valid JSON atomically (non-finite numbers as ``null``)."""
    atomic_write_text(path, json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")


def atomic_savefig(fig: Any, path: str | Path, dpi: int = 90) -> None:
    """Save a Matplotlib figure atomically (the format follows the file extension)."""
    path, tmp = _prepare(path)
    try:
        fig.savefig(tmp, dpi=dpi)
        _fsync_replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_save_model(model: Any, path: str | Path, run_dir: str | Path | None = None) -> str:
    """Save an SB3 model to ``path`` (a ``.zip``) atomically and record its SHA-256.

    Args:
        model: An object with SB3's ``save(path)``.
        path: Destination, ending in ``.zip`` (SB3 appends ``.zip`` to any other name).
        run_dir: Folder whose `CHECKSUMS` file records the model; default: ``path``'s folder.

    Ctrl-C and SIGTERM are held (`deferred_signals`) from the move into place until the
    checksum is recorded: an interrupted save leaves the old file with its entry, or the new
    one with its entry.

    Returns:
        The SHA-256 hex digest of the written file.
    """
    path, tmp = _prepare(path)
    if path.suffix != ".zip":
        raise ValueError(f"model path must end in .zip, got {str(path)!r}")
    try:
        model.save(tmp)
        digest = sha256_file(tmp)
        with deferred_signals():
            _fsync_replace(tmp, path)
            record_checksum(run_dir if run_dir is not None else path.parent, path, digest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest


# --- checksums ---------------------------------------------------------------------------
def sha256_file(path: str | Path) -> str:
    """The SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_checksums(run_dir: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        text = (run_dir / CHECKSUMS).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        digest, sep, name = line.partition("  ")
        if sep and re.fullmatch(r"[0-9a-f]{64}", digest):
            out[name] = digest
    return out


def record_checksum(run_dir: str | Path, path: str | Path, digest: str | None = None) -> None:
    """Record ``path``'s SHA-256 in ``run_dir/SHA256SUMS`` (replacing its previous entry)."""
    run_dir = Path(run_dir)
    rel = os.path.relpath(Path(path).resolve(), run_dir.resolve())
    sums = _read_checksums(run_dir)
    sums[rel] = digest or sha256_file(path)
    atomic_write_text(run_dir / CHECKSUMS, "".join(f"{d}  {n}\n" for n, d in sorted(sums.items())))


def recorded_checksums(run_dir: str | Path) -> dict[str, str]:
    """``run_dir/SHA256SUMS`` as relative path -> SHA-256 ({} if there is none)."""
    return _read_checksums(Path(run_dir))


def move_recorded(run_dir: str | Path, path: str | Path, dest: str | Path) -> None:
    """Move ``path`` to ``dest`` (both in ``run_dir``), its ``SHA256SUMS`` entry with it.

    Nothing is deleted: ``dest`` must not exist (`FileExistsError`).
    """
    run_dir, path, dest = Path(run_dir), Path(path), Path(dest)
    if dest.exists():
        raise FileExistsError(errno.EEXIST, "exists", str(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    sums = _read_checksums(run_dir)
    rel = os.path.relpath(path.resolve(), run_dir.resolve())
    with deferred_signals():
        os.rename(path, dest)
        if rel in sums:
            sums[os.path.relpath(dest.resolve(), run_dir.resolve())] = sums.pop(rel)
            atomic_write_text(run_dir / CHECKSUMS,
                              "".join(f"{d}  {n}\n" for n, d in sorted(sums.items())))  # fmt: skip


def find_checksum(path: str | Path) -> tuple[str, Path | None]:
    """``(sha256, checksum file that records exactly this digest for path, or None)``.

    Looks in the file's folder and its parent (a checkpoint sits in ``RUN/checkpoints/``).
    """
    path = Path(path).resolve()
    digest = sha256_file(path)
    for folder in (path.parent, path.parent.parent):
        rel = os.path.relpath(path, folder)
        if _read_checksums(folder).get(rel) == digest:
            return digest, folder / CHECKSUMS
    return digest, None


# --- single output files -----------------------------------------------------------------
def check_output_file(path: str | Path, what: str = "--out", overwrite: bool = False) -> Path:
    """Check, before any work, that ``path`` can be written as a file.

    Args:
        path: The file to write.
        what: How the messages name it (e.g. the CLI flag ``"--out"``).
        overwrite: Replace an existing file (else an existing file is refused).

    Raises:
        ValueError: Naming ``what`` and the path: a folder, an existing file without
            ``overwrite`` or one that cannot be replaced (read-only, immutable), a missing
            or non-folder parent, or a parent without write permission.
    """
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a folder; give a file name")
    if p.exists() and not overwrite:
        raise ValueError(f"{what} {str(path)!r} exists; pass --overwrite to replace it")
    if p.exists() and not os.access(p, os.W_OK):
        raise ValueError(f"{what} {str(path)!r}: no permission to replace it (read-only or "
                         "immutable)")  # fmt: skip
    if not parent.exists():
        raise ValueError(f"{what} {str(path)!r}: folder {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise ValueError(f"{what} {str(path)!r}: {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {str(path)!r}: no permission to write in {str(parent)!r}")
    return p


# --- report folders ----------------------------------------------------------------------
_RENAME_EXCHANGE = 2


def _lock_holder(lock: Path) -> int | None:
    """The live process that holds ``lock``, or None if the lock is stale.

    The lock reads ``PID START`` (`_process_start`; ``PID`` alone from older versions). It is
    stale when the process is gone, or when a process with that id started at another time
    (the id was reused after the writer died).
    """
    try:
        fields = lock.read_text().split()
        pid = int(fields[0]) if fields else 0
    except (OSError, ValueError):
        return None
    if pid <= 0 or not _pid_alive(pid):
        return None
    recorded = fields[1] if len(fields) > 1 else None
    now = _process_start(pid)
    if recorded is not None and now is not None and recorded != now:
        return None  # the id now belongs to another process
    return pid

_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where it is not available."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


class OutputFolder:
    """A folder of output files that appear all at once, without touching the user's files.

    Usage: `check` before the work starts (every refusal is a one-line `ValueError` naming
    the path), `staging` to get the hidden folder to write into, `commit` to swap it into
    place (or `abort`). As a context manager, ``with OutputFolder(...) as stage:`` checks,
    yields the staging folder, commits on success and aborts on an exception.

    Rules of `check`:

    * a path that is a file, the current folder (or one that contains it), or whose parent
      is not writable is refused;
    * a symbolic link is followed: the report goes into its target;
    * a missing or empty folder is written;
    * a previous output of this class (its marker lists every file in the folder) is
      replaced only with ``overwrite=True``;
    * a folder holding any file the program did not write is refused, whatever
      ``overwrite`` says: nothing of the user's is ever deleted;
    * a second process writing the same folder at the same time is refused (lock file
      ``.NAME.tme-lock`` beside it; the lock of a dead process, or of one whose id
      was reused since, is taken over).

    Args:
        path: The output folder.
        what: How the messages name it (e.g. the CLI flag ``"--out"``).
        overwrite: Replace a previous output of this class.
        kind: What the folder holds (recorded in the marker, e.g. ``"trial report"``).
    """

    def __init__(
        self, path: str | Path, what: str = "--out", overwrite: bool = False,
        kind: str = "report",
    ) -> None:  # fmt: skip
        """See the class docstring."""
        self.given = str(path)
        self.what = what
        self.overwrite = bool(overwrite)
        self.kind = kind
        self.path = Path(os.path.realpath(path))
        self._stage: Path | None = None
        self._lock: Path | None = None

    def _fail(self, text: str) -> ValueError:
        return ValueError(f"{self.what} {self.given!r}: {text}")

    def check(self) -> OutputFolder:
        """Check the folder and take the lock (see the class docstring); returns self.

        Raises:
            ValueError: Naming the path and the reason.
        """
        p = self.path
        cwd = Path(os.getcwd()).resolve()
        if p == cwd or p in cwd.parents:
            raise self._fail("is the current folder or contains it; name a new subfolder")
        if p.exists() and not p.is_dir():
            raise self._fail("is a file, not a folder")
        parent = p.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._fail(f"cannot create its parent folder ({exc.strerror})") from None
        if not os.access(parent, os.W_OK | os.X_OK):
            raise self._fail(f"no permission to write in {str(parent)!r}")
        if p.is_dir() and not os.access(p, os.W_OK | os.X_OK):
            raise self._fail("no permission to replace it (read-only or immutable)")
        self._check_contents()
        self._take_lock()
        return self

    def _check_contents(self) -> None:
        p = self.path
        if not p.is_dir():
            return
        entries = sorted(os.listdir(p))
        if not entries:
            return
        written = self._recorded_files(p)
        if written is None:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise self._fail(
                f"the folder is not empty and holds no earlier output of tme ({shown}); "
                "choose a new or empty folder (nothing was deleted)"
            )
        foreign = [e for e in entries if e != MARKER and e not in written]
        if foreign:
            raise self._fail(
                f"holds files tme did not write ({', '.join(foreign[:3])}); choose another "
                "folder, or move them out (nothing was deleted)"
            )
        if not self.overwrite:
            raise self._fail("holds an earlier output; pass --overwrite to replace it")

    @staticmethod
    def _recorded_files(folder: Path) -> set[str] | None:
        try:
            data = json.loads((folder / MARKER).read_text())
        except (OSError, ValueError):
            return None
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            return None
        return set(files)

    def _take_lock(self) -> None:
        if self._lock is not None:
            return
        lock = self.path.with_name(f".{self.path.name}{_LOCK_TAG}")
        for _ in range(3):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pid = _lock_holder(lock)
                if pid is not None:
                    raise self._fail(
                        f"another tme process (pid {pid}) is writing this folder (lock file "
                        f"{str(lock)!r}); wait for it, or choose another folder"
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()  # a dead process's lock
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{os.getpid()} {_process_start(os.getpid()) or ''}\n")
            self._lock = lock
            clean_stale_temporaries(self.path.parent)
            return
        raise self._fail(f"cannot take the lock file {str(lock)!r}")  # pragma: no cover

    def _release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(FileNotFoundError):
                self._lock.unlink()
            self._lock = None

    def staging(self) -> Path:
        """The hidden folder to write the files into (created on first call)."""
        if self._lock is None:
            self.check()
        if self._stage is None:
            self._stage = _tmp_name(self.path)
            self._stage.mkdir()
        return self._stage

    def commit(self) -> Path:
        """Swap the staging folder into place in one atomic step; returns the folder.

        The contents are checked again (a file the user put there meanwhile is refused).
        On Linux the swap is one ``renameat2(RENAME_EXCHANGE)``: a process killed at any
        moment leaves the old complete folder or the new complete one, and the old one's
        leftovers in a hidden temporary folder that the next run removes.
        """
        stage = self.staging()
        try:
            files = sorted(os.listdir(stage))
            atomic_write_text(stage / MARKER, json.dumps(
                {"kind": self.kind, "files": files, "written": time.strftime("%Y-%m-%dT%H:%M:%S")},
                indent=2,
            ))  # fmt: skip
            self.overwrite = True  # checked at `check`; replace our own earlier output now
            self._check_contents()
            if not self.path.exists():
                os.rename(stage, self.path)
            elif _exchange(stage, self.path):
                shutil.rmtree(stage, ignore_errors=True)  # now the old output
            else:  # pragma: no cover - no renameat2 (not Linux): a short window
                old = _tmp_name(self.path)
                os.rename(self.path, old)
                os.rename(stage, self.path)
                shutil.rmtree(old, ignore_errors=True)
            self._stage = None
        except BaseException:
            self.abort()
            raise
        self._release()
        return self.path

    def abort(self) -> None:
        """Remove the staging folder and release the lock (the old output stays)."""
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = None
        self._release()

    def __enter__(self) -> Path:
        """Check and return the staging folder."""
        self.check()
        return self.staging()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        """Commit, or abort on an exception."""
        if exc_type is None:
            self.commit()
        else:
            self.abort()

