"""Issue 29 item 7: Ctrl-C on ``tme train`` saves and says how to resume; resume truncates.

* Ctrl-C saves ``model.zip`` and a checkpoint (with their ``SHA256SUMS`` entries), prints the
  ``tme train --resume`` command and exits 130 (a real SIGINT to a real ``tme train`` in the
  slow test; a KeyboardInterrupt raised inside training in the fast one).
* ``--resume RUN_FOLDER`` takes the folder's latest checkpoint.
* A run resumed in its own folder from step S moves what came after S to ``abandoned/``:
  ``evaluations.json`` keeps the evaluations up to S, and TensorBoard's steps never go back.
* A model and its checksum entry are written together (Ctrl-C and SIGTERM wait).
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from tme_env.agents.resume import (
    checkpoints,
    model_timesteps,
    record_missing_checksums,
    resolve_resume,
    truncate_run,
)
from tme_env.cli import main
from tme_env.io import atomic_save_model, deferred_signals, recorded_checksums
from tme_env.io import sha256_file as sha

ROOT = Path(__file__).resolve().parents[1]
#: A PPO that learns in 64-step rollouts (4 envs x 16 steps), one epoch.
TINY = {"default": {"n_envs": 4, "n_steps": 16, "batch_size": 64, "n_epochs": 1}}


def _fake_model(path: Path, steps: int) -> Path:
    """A stand-in model archive: the JSON ``data`` member with ``num_timesteps`` only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("data", json.dumps({"num_timesteps": steps}))
    return path


def _entries_match_files(run: Path) -> None:
    for rel, digest in recorded_checksums(run).items():
        assert (run / rel).is_file(), rel
        assert sha(run / rel) == digest, rel


# --- fast: the pieces -------------------------------------------------------------------------
@pytest.fixture
def python_sigint():
    """Python's own Ctrl-C handler for the test, whatever this process inherited.

    A shell without job control starts background commands with SIGINT ignored (``cmd &``),
    and a test of what Ctrl-C does needs the handler a terminal gives Python.
    """
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("python_sigint")
def test_ctrl_c_waits_for_the_end_of_a_deferred_block():
    before = signal.getsignal(signal.SIGINT)
    reached = False
    with pytest.raises(KeyboardInterrupt):
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # without the deferral, KeyboardInterrupt is raised here
            reached = True
    assert reached
    assert signal.getsignal(signal.SIGINT) is before


class _Saver:
    def save(self, path):  # noqa: ANN001, ANN201 - SB3's save(path)
        Path(path).write_bytes(b"weights")


@pytest.mark.usefixtures("python_sigint")
def test_ctrl_c_between_moving_a_model_in_and_its_checksum_waits(tmp_path, monkeypatch):
    import tme_env.io as io

    replace = io._fsync_replace

    def replace_then_ctrl_c(tmp, path):  # noqa: ANN001, ANN202
        replace(tmp, path)
        os.kill(os.getpid(), signal.SIGINT)  # the worst moment: the file is in, no entry yet
        time.sleep(0.05)

    monkeypatch.setattr(io, "_fsync_replace", replace_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        atomic_save_model(_Saver(), tmp_path / "model.zip")
    assert recorded_checksums(tmp_path) == {"model.zip": sha(tmp_path / "model.zip")}


def test_resume_takes_a_run_folders_latest_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(ValueError, match="a folder without checkpoints/model_<steps>_steps.zip"):
        resolve_resume(run)
    _fake_model(run / "model.zip", 300)  # a finished run: its model.zip
    assert resolve_resume(run) == run / "model.zip"
    for steps in (100, 300, 200):
        _fake_model(run / "checkpoints" / f"model_{steps}_steps.zip", steps)
    # model.zip and the last checkpoint at the same step: the checkpoint
    assert resolve_resume(run) == run / "checkpoints" / "model_300_steps.zip"
    _fake_model(run / "model.zip", 350)
    assert resolve_resume(run) == run / "model.zip"
    assert [s for s, _ in checkpoints(run)] == [100, 200, 300]
    assert model_timesteps(run / "model.zip") == 350
    # Through the command line: an empty folder is named, nothing is written.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "--resume", str(empty)]) == 2
    assert f"--resume '{empty}': a folder without checkpoints" in capsys.readouterr().err
    assert list(empty.iterdir()) == []


def test_resume_moves_what_came_after_the_step_aside_and_keeps_the_checksums(tmp_path):
    # The run: evaluated at 40k, 80k, 120k; resumed from its 100k checkpoint.
    run = tmp_path / "run"
    for steps in (50_000, 100_000, 120_000):
        atomic_save_model(_Writer(steps), run / "checkpoints" / f"model_{steps}_steps.zip", run)
    atomic_save_model(_Writer(120_000), run / "model.zip", run)
    atomic_save_model(_Writer(120_000), run / "best_model.zip", run)
    history = [{"timesteps": t, "benchmark_score": s} for t, s in
               ((40_000, 10.0), (80_000, 30.0), (120_000, 50.0))]  # fmt: skip
    (run / "evaluations.json").write_text(json.dumps(history))
    (run / "evaluation.json").write_text(json.dumps(history[-1]))
    moved = truncate_run(run, 100_000)
    assert moved is not None and moved.parent == run / "abandoned"
    kept = json.loads((run / "evaluations.json").read_text())
    assert [h["timesteps"] for h in kept] == [40_000, 80_000]
    assert [h["timesteps"] for h in json.loads((moved / "evaluations.json").read_text())] == [
        120_000
    ]
    assert [s for s, _ in checkpoints(run)] == [50_000, 100_000]
    assert sorted(str(p.relative_to(moved)) for p in moved.rglob("*.zip")) == [
        "best_model.zip", "checkpoints/model_120000_steps.zip", "model.zip"]  # fmt: skip
    assert not (run / "evaluation.json").exists() and (moved / "evaluation.json").exists()
    _entries_match_files(run)
    assert len(recorded_checksums(run)) == 5  # the moved entries moved with their files
    assert truncate_run(run, 100_000) is None  # nothing after 100k any more
    assert resolve_resume(run) == run / "checkpoints" / "model_100000_steps.zip"


class _Writer:
    """A model whose archive records ``steps`` (SB3's ``save`` stand-in)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def save(self, path):  # noqa: ANN001, ANN201
        _fake_model(Path(path), self.steps)


def test_a_model_whose_checksum_entry_was_lost_is_recorded_on_resume(tmp_path):
    run = tmp_path / "run"
    atomic_save_model(_Writer(64), run / "checkpoints" / "model_64_steps.zip", run)
    _fake_model(run / "model.zip", 64)  # SIGKILLed after the move, before the entry
    assert record_missing_checksums(run) == [run / "model.zip"]
    _entries_match_files(run)
    assert set(recorded_checksums(run)) == {"model.zip", "checkpoints/model_64_steps.zip"}


def test_train_flags_and_envs_are_checked_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--env", "tme/DePillis2003Chemo-v0", "--timesteps", "64"]) == 2
    err = capsys.readouterr().err
    assert "env_id 'tme/DePillis2003Chemo-v0': tme train evaluates every run in a virtual " \
        "trial of the tme model" in err  # fmt: skip
    with pytest.raises(SystemExit):
        main(["train", "--checkpoint-every", "0"])
    assert "argument --checkpoint-every: must be an integer >= 1, got 0" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_in_any_command_exits_130_without_a_traceback(capsys, monkeypatch):
    import tme_env.cli.simulate as sim

    def interrupted(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(sim, "simulate", interrupted)
    assert main(["simulate", "depillis2003", "--days", "1", "--points", "2"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "tme: interrupted"


def test_an_interrupt_inside_training_saves_and_names_the_rest(tmp_path, monkeypatch):
    from tme_env.agents.callbacks import AtomicCheckpointCallback
    from tme_env.agents.train import TrainConfig, TrainingInterrupted, train

    step = AtomicCheckpointCallback._on_step

    def ctrl_c_after_the_first_checkpoint(self):  # noqa: ANN001, ANN202
        step(self)
        if self.num_timesteps >= 96:
            raise KeyboardInterrupt
        return True

    monkeypatch.setattr(AtomicCheckpointCallback, "_on_step", ctrl_c_after_the_first_checkpoint)
    (tmp_path / "tiny.yml").write_text(yaml.safe_dump(TINY))
    cfg = TrainConfig(timesteps=10_000, eval_every=10**9, eval_patients=2, checkpoint_every=64,
                      config_file=str(tmp_path / "tiny.yml"), out=str(tmp_path / "runs"),
                      progress=False)  # fmt: skip
    with pytest.raises(TrainingInterrupted) as info:
        train(cfg)
    stop = info.value
    assert isinstance(stop, KeyboardInterrupt) and stop.steps == 96
    assert stop.remaining == 10_000 - 96
    assert stop.checkpoint == stop.run / "checkpoints" / "model_96_steps.zip"
    assert model_timesteps(stop.run / "model.zip") == model_timesteps(stop.checkpoint) == 96
    assert {"model.zip", "checkpoints/model_96_steps.zip"} <= set(recorded_checksums(stop.run))
    _entries_match_files(stop.run)
    assert resolve_resume(stop.run) == stop.checkpoint


# --- slow: a real SIGINT to a real tme train, then the printed command -----------------------
def _tme(*args: str) -> list[str]:
    return [sys.executable, "-m", "tme_env.cli", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.mark.slow
def test_ctrl_c_on_tme_train_saves_prints_the_resume_command_and_exits_130(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (tmp_path / "tiny.yml").write_text(yaml.safe_dump(TINY))
    proc = subprocess.Popen(
        _tme("train", "--timesteps", "100000", "--eval-every", "64", "--eval-patients", "2",
             "--checkpoint-every", "64", "--config", "tiny.yml", "--out", "runs"),
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while len(glob.glob(str(tmp_path / "runs/*/checkpoints/model_*_steps.zip"))) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)  # training has started: two evaluations and three checkpoints
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted at step" in err
    (run,) = (tmp_path / "runs").iterdir()
    steps = model_timesteps(run / "model.zip")
    assert steps is not None and steps >= 192
    checkpoint = run / "checkpoints" / f"model_{steps}_steps.zip"
    assert model_timesteps(checkpoint) == steps
    assert {"model.zip", f"checkpoints/model_{steps}_steps.zip"} <= set(recorded_checksums(run))
    _entries_match_files(run)
    # The printed command continues the run (for 64 steps here, not the 99,800 left).
    (line,) = [x for x in out.splitlines() if x.startswith("continue with: ")]
    argv = shlex.split(line.removeprefix("continue with: "))
    assert argv[:4] == ["tme", "train", "--resume", str(checkpoint.relative_to(tmp_path))]
    assert argv[argv.index("--timesteps") + 1] == str(100_000 - steps)
    argv[argv.index("--timesteps") + 1] = "64"
    subprocess.run(_tme(*argv[1:]), cwd=tmp_path, env=_env(), check=True, capture_output=True)
    final = json.loads((run / "evaluation.json").read_text())
    assert final["timesteps"] == steps + 64
    # Resume the folder from an earlier checkpoint: what came after it moves aside.
    subprocess.run(_tme("train", "--resume", str(run / "checkpoints" / "model_128_steps.zip"),
                        "--timesteps", "64", "--eval-every", "64", "--eval-patients", "2",
                        "--checkpoint-every", "64", "--trust-model"),
                   cwd=tmp_path, env=_env(), check=True, capture_output=True)  # fmt: skip
    history = [h["timesteps"] for h in json.loads((run / "evaluations.json").read_text())]
    assert history == [64, 128, 192]
    assert (run / "abandoned").is_dir() and model_timesteps(resolve_resume(run)) == 192
    _entries_match_files(run)
    ea = EventAccumulator(str(run / "tb_1"))
    ea.Reload()
    tb_steps = [e.step for e in ea.Scalars("clinical/benchmark_score")]
    assert tb_steps == [64, 128, 192]  # the abandoned steps are purged: never going back
