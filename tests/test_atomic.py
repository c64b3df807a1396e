"""Output safety (issue 16, items 0, 5, 9): user files survive, outputs appear whole or not at all.

The SIGKILL tests are deterministic: the child process pauses at the exact point (just before,
or just after, the atomic swap or rename), says so on stdout, and is killed there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tme_env.io import (
    CHECKSUMS,
    MARKER,
    OutputFolder,
    atomic_save_model,
    atomic_write_json,
    clean_stale_temporaries,
    find_checksum,
    format_number,
    json_safe,
)

ROOT = Path(__file__).resolve().parents[1]


def _write(folder: OutputFolder, **files: str) -> None:
    stage = folder.check().staging()
    for name, text in files.items():
        (stage / name).write_text(text)
    folder.commit()


def _listing(path: Path) -> list[str]:
    return sorted(os.listdir(path))


# --- the rules of a report folder --------------------------------------------------------
def test_a_user_file_is_never_deleted_and_the_refusal_names_the_path(tmp_path):
    res = tmp_path / "res"
    res.mkdir()
    (res / "mynotes.txt").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(ValueError, match=r"--out '.*res'.*not empty.*mynotes\.txt"):
            OutputFolder(res, overwrite=overwrite).check()
    assert (res / "mynotes.txt").read_text() == "precious"
    assert _listing(tmp_path) == ["res"]  # no lock or temporary left behind


def test_missing_and_empty_folders_are_written_and_an_earlier_report_needs_overwrite(tmp_path):
    out = tmp_path / "a" / "b"
    _write(OutputFolder(out), x="1")
    assert _listing(out) == [MARKER, "x"]
    with pytest.raises(ValueError, match="pass --overwrite to replace it"):
        OutputFolder(out).check()
    _write(OutputFolder(out, overwrite=True), y="2")
    assert _listing(out) == [MARKER, "y"]  # the old report's files went with it
    (out / "notes.txt").write_text("mine")  # a user file inside an earlier report
    with pytest.raises(ValueError, match=r"files tme did not write \(notes\.txt\)"):
        OutputFolder(out, overwrite=True).check()
    assert (out / "notes.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    _write(OutputFolder(empty), z="3")
    assert _listing(empty) == [MARKER, "z"]


def test_bad_paths_get_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match=r"--out 'afile': is a file, not a folder"):
        OutputFolder("afile").check()
    for here in (".", str(tmp_path), str(tmp_path.parent)):
        with pytest.raises(ValueError, match="is the current folder or contains it"):
            OutputFolder(here).check()
    # A symbolic link is followed: its target's contents decide (here a user file: refused).
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "keep.txt").write_text("k")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(ValueError, match=r"--out 'link'.*keep\.txt"):
        OutputFolder("link").check()
    (tmp_path / "target" / "keep.txt").unlink()
    _write(OutputFolder("link"), r="1")
    assert (tmp_path / "link").is_symlink() and _listing(tmp_path / "target") == [MARKER, "r"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_parent_is_refused_before_any_work(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(ValueError, match="no permission to write"):
            OutputFolder(ro / "out").check()
    finally:
        ro.chmod(0o755)


def test_a_second_writer_of_the_same_folder_is_refused_and_a_dead_ones_lock_taken(tmp_path):
    out = tmp_path / "out"
    first = OutputFolder(out).check()
    with pytest.raises(ValueError, match=r"another tme process \(pid \d+\) is writing"):
        lock = out.with_name(f".{out.name}.tme-lock")
        lock.write_text("1\n")  # pid 1 is alive: someone else's live writer
        OutputFolder(out).check()
    lock.write_text(f"{os.getpid()}\n")
    first.abort()
    assert not lock.exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    lock.write_text(f"{dead}\n")  # a killed writer's lock
    _write(OutputFolder(out), x="1")
    assert _listing(out) == [MARKER, "x"] and not lock.exists()


def test_json_has_null_for_non_finite_numbers_and_text_says_not_reached(tmp_path):
    atomic_write_json(tmp_path / "x.json", {"median": float("inf"), "p": float("nan"), "v": 1.5})
    text = (tmp_path / "x.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    assert json.loads(text) == {"median": None, "p": None, "v": 1.5}
    assert json_safe([float("-inf")]) == [None]
    assert format_number(float("inf")) == "not reached" and format_number(None) == "not reached"
    assert format_number(float("nan")) == "n/a" and format_number(3.14159, ".2f") == "3.14"


def test_stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    (tmp_path / f".model.zip.tme-tmp-{dead}-abcd1234.zip").write_text("partial")
    (tmp_path / f".out.tme-tmp-{dead}-abcd1234").mkdir()
    live = tmp_path / f".model.zip.tme-tmp-{os.getpid()}-abcd1234.zip"
    live.write_text("being written")
    (tmp_path / "user.tme-tmp-notes").write_text("not ours")  # not our pattern
    removed = clean_stale_temporaries(tmp_path)
    assert len(removed) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "user.tme-tmp-notes"])


# --- SIGKILL at the swap of a trial report ------------------------------------------------
_TRIAL_CHILD = """
import sys, time
import tme_env.io as tio
real = tio._exchange
def paused(a, b):
    done = real(a, b) if sys.argv[2] == "after" else None
    print("PAUSED", flush=True)
    time.sleep(120)
    return done
tio._exchange = paused
from tme_env.cli import main
main(["trial", "--policies", "mtd-chemo", "--n-patients", "3", "--seed", "1", "--out",
      sys.argv[1], "--overwrite"])
"""


def _kill_at_pause(code: str, *args: str) -> None:
    """Run ``code`` in a child, wait until it prints PAUSED, then SIGKILL it."""
    cmd = [sys.executable, "-c", textwrap.dedent(code), *args]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        for line in proc.stdout:
            if line.strip() == "PAUSED":
                break
        else:
            raise AssertionError(f"the child ended without pausing (rc {proc.wait()})")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def _report_seed(out: Path) -> int:
    """The seed of the complete report in ``out`` (asserting that it is complete)."""
    marker = json.loads((out / MARKER).read_text())
    assert sorted(marker["files"]) == [f for f in _listing(out) if f != MARKER]
    assert "report.md" in marker["files"] and (out / "report.md").stat().st_size > 0
    return json.loads((out / "summary.json").read_text())["trial"]["seed"]


@pytest.mark.parametrize(("moment", "seed"), [("before", 0), ("after", 1)])
def test_sigkill_at_the_report_swap_leaves_the_old_or_the_new_complete_report(
    tmp_path, moment, seed
):
    from tme_env.cli import main

    out = tmp_path / "out"
    assert main(["trial", "--policies", "mtd-chemo", "--n-patients", "3", "--seed", "0",
                 "--out", str(out)]) == 0  # fmt: skip
    _kill_at_pause(_TRIAL_CHILD, str(out), moment)
    assert _report_seed(out) == seed  # killed before the swap: old; after it: new
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "out"]
    assert leftovers  # the killed writer's lock and hidden folder ...
    OutputFolder(out, overwrite=True).check().abort()  # ... go at the next run
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert _report_seed(out) == seed


# --- SIGKILL while a model is saved -------------------------------------------------------
_SAVE_CHILD = """
import sys, time
from pathlib import Path
from stable_baselines3 import PPO
from tme_env.io import atomic_save_model
model = PPO("MlpPolicy", "Pendulum-v1", n_steps=64, batch_size=64, device="cpu", seed=1)
real = model.save
def slow_save(path, *a, **k):
    real(path, *a, **k)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])  # half written, as a kill mid-save leaves it
    print("PAUSED", flush=True)
    time.sleep(120)
model.save = slow_save
atomic_save_model(model, Path(sys.argv[1]) / "model.zip")
"""


def test_sigkill_while_saving_a_model_keeps_the_previous_complete_file(tmp_path):
    from stable_baselines3 import PPO

    old = PPO("MlpPolicy", "Pendulum-v1", n_steps=64, batch_size=64, device="cpu", seed=0)
    digest = atomic_save_model(old, tmp_path / "model.zip")
    _kill_at_pause(_SAVE_CHILD, str(tmp_path))
    assert find_checksum(tmp_path / "model.zip") == (digest, tmp_path / CHECKSUMS)
    PPO.load(tmp_path / "model.zip", device="cpu")  # complete and loadable
    assert any(".tme-tmp-" in p.name for p in tmp_path.iterdir())  # the half-written temporary
    clean_stale_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKSUMS, "model.zip"]


def test_a_model_killed_on_its_first_save_leaves_no_file_at_all(tmp_path):
    _kill_at_pause(_SAVE_CHILD, str(tmp_path))
    assert not (tmp_path / "model.zip").exists()  # never a 0-byte or partial model.zip
