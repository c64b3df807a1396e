"""Every committed experiment and benchmark script runs end to end in its ``--quick`` mode.

A script is every ``experiments/*.py`` and ``experiments/benchmarks/*.py`` except the helper
modules the scripts import (`HELPERS`): a new script without a ``--quick`` mode fails here.
Each runs as a user runs it (``python experiments/<script>.py --quick``, a fresh process from
the repository root) with ``TMPDIR`` in pytest's temporary folder, so its scratch outputs
(``$TMPDIR/tme-quick/<script>/``) land there; the committed results under ``experiments/`` and
``agents/`` must be untouched. Scripts that need an optional extra that is not installed are
skipped, naming the extra.

Slow (the whole set: 200 s on the shared 2-core machine at load average 5 to 7, the leaderboard
95 s of it; each other script 3 to 18 s): it runs in the slow step,
``python -m pytest -m slow tests/test_experiment_scripts.py``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
#: Modules under experiments/ that the scripts import and that are not scripts themselves.
HELPERS = {"experiments/quick.py": "the --quick flag and its scratch folder"}
#: Optional extras a script needs: script -> (extra, the modules it brings).
EXTRAS = {
    "experiments/offline_rl.py": ("offline", ("minari", "d3rlpy")),
    "experiments/benchmarks/ray_trial.py": ("ray", ("ray", "pyarrow")),
}
#: Wall-clock limit of one quick run, seconds (the leaderboard trains 9 agents and scores them).
TIMEOUT = {"experiments/leaderboard.py": 1200}
DEFAULT_TIMEOUT = 600


def scripts() -> list[str]:
    """Every experiment script, relative to the repository root."""
    found = sorted([*EXPERIMENTS.glob("*.py"), *EXPERIMENTS.glob("benchmarks/*.py")])
    return [p.relative_to(ROOT).as_posix() for p in found
            if p.relative_to(ROOT).as_posix() not in HELPERS]  # fmt: skip


def snapshot() -> dict[str, tuple[int, int]]:
    """(mtime in ns, size) of every file under experiments/ and agents/ (not bytecode caches)."""
    out = {}
    for folder in (EXPERIMENTS, ROOT / "agents"):
        for path in folder.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                st = path.stat()
                out[path.relative_to(ROOT).as_posix()] = (st.st_mtime_ns, st.st_size)
    return out


def test_the_script_list_is_complete_and_the_helpers_exist():
    listed = scripts()
    assert "experiments/benchmarks/simulator.py" in listed
    assert "experiments/leaderboard.py" in listed
    assert len(listed) >= 17, listed  # 17 scripts since model v2 (2 retired, 1 added)
    for helper in HELPERS:
        assert (ROOT / helper).exists(), f"HELPERS names a missing file: {helper}"
        assert 'if __name__ == "__main__"' not in (ROOT / helper).read_text(), helper
    for script in [*EXTRAS, *TIMEOUT]:
        assert script in listed, f"{script} is not an experiment script"


@pytest.mark.slow
@pytest.mark.parametrize("script", scripts())
def test_script_runs_in_quick_mode_and_writes_only_to_scratch(script, tmp_path):
    extra, modules = EXTRAS.get(script, (None, ()))
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{script} needs the [{extra}] extra ({', '.join(missing)} not installed): "
                    f"pip install -e '.[{extra}]'")  # fmt: skip
    # One numba thread: on the shared 2 cores a parallel kernel on a tiny batch waits for its
    # second thread (adaptivity_study --quick: 46 s on 2 threads, 6 s on 1, at load 8).
    # Ray's session folder holds AF_UNIX sockets (paths of at most 107 bytes): a short one.
    ray_tmp = tempfile.mkdtemp(prefix="tme-ray-")
    env = {**os.environ, "TMPDIR": str(tmp_path), "MPLBACKEND": "Agg",
           "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "RAY_TMPDIR": ray_tmp}  # fmt: skip
    before = snapshot()
    top_before = sorted(p.name for p in ROOT.iterdir())
    try:
        proc = subprocess.run([sys.executable, script, "--quick"], cwd=ROOT, env=env,
                              capture_output=True, text=True,
                              timeout=TIMEOUT.get(script, DEFAULT_TIMEOUT))  # fmt: skip
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    tail = (proc.stdout + proc.stderr)[-3000:]
    assert proc.returncode == 0, f"{script} --quick exited {proc.returncode}:\n{tail}"
    assert f"outputs under {tmp_path / 'tme-quick' / Path(script).stem}" in proc.stdout, tail
    after = snapshot()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{script} --quick wrote into the repository: {changed}"
    assert sorted(p.name for p in ROOT.iterdir()) == top_before, "new files at the root"


@pytest.mark.parametrize("script", scripts())
def test_every_script_has_a_quick_flag(script):
    """Fast, in the default suite: a script without ``--quick`` fails before the slow run."""
    text = (ROOT / script).read_text()
    assert "quick.parse_args(" in text or '"--quick"' in text, f"{script} has no --quick flag"


def test_quick_flag_gives_tiny_sizes_scratch_outputs_and_lets_explicit_flags_win(
    tmp_path, monkeypatch, capsys
):
    import argparse

    sys.path.insert(0, str(EXPERIMENTS))
    try:
        import quick
    finally:
        sys.path.remove(str(EXPERIMENTS))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR

    def parser() -> argparse.ArgumentParser:
        ap = argparse.ArgumentParser()
        ap.add_argument("--patients", type=int, default=500)
        ap.add_argument("--out", default="experiments/figures/x.png")
        return ap

    sizes, outputs = {"patients": 4}, {"out": "x.png"}
    full = quick.parse_args(parser(), [], "experiments/x.py", sizes, outputs)
    assert (full.quick, full.patients, full.out, full.scratch) == (
        False, 500, "experiments/figures/x.png", None)  # fmt: skip
    assert not (tmp_path / "tme-quick").exists()
    q = quick.parse_args(parser(), ["--quick"], "experiments/x.py", sizes, outputs)
    folder = tmp_path / "tme-quick" / "x"
    assert (q.quick, q.patients, q.out, q.scratch) == (True, 4, str(folder / "x.png"), folder)
    assert folder.is_dir() and f"outputs under {folder}" in capsys.readouterr().out
    mine = quick.parse_args(parser(), ["--quick", "--patients", "7", "--out", "mine.png"],
                            "experiments/x.py", sizes, outputs)  # fmt: skip
    assert (mine.patients, mine.out) == (7, "mine.png")
