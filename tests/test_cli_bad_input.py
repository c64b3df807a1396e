"""Issue 29 items 8 and 10 (the CLI parts): each bad input is a named error before any work.

Every test runs a command that is refused before it simulates, trains or writes anything:
fast, and the folder it ran in stays empty (or keeps exactly the user's files).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tme_env.cli import main
from tme_env.io import OutputFolder, _process_start


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """``tme ARGV``: (exit status, stderr); argparse's own errors exit 2 as well."""
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err


# --- item 8: simulate --out refuses an existing file, as trial and benchmark do ----------------
def test_simulate_refuses_to_overwrite_a_users_file_without_overwrite(tmp_path, capsys):
    out = tmp_path / "existing.csv"
    out.write_text("my data\n")
    rc, err = _run(["simulate", "depillis2003", "--days", "2", "--points", "3", "--out",
                    str(out)], capsys)  # fmt: skip
    assert rc == 2 and f"--out '{out}' exists; pass --overwrite to replace it" in err
    assert out.read_text() == "my data\n"
    assert main(["simulate", "depillis2003", "--days", "2", "--points", "3", "--out", str(out),
                 "--overwrite"]) == 0  # fmt: skip
    assert out.read_text().startswith("t_days,")
    assert sorted(os.listdir(tmp_path)) == ["existing.csv"]


# --- item 10: bounds named by their flag -----------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "tme", "--points", "1e9"],
         "argument --points: must be an integer from 1 to 1,000,000"),
        (["simulate", "tme", "--points", "1000000000"],
         "argument --points: must be an integer from 1 to 1,000,000"),
        (["trial", "--n-patients", "100001"],
         "--n-patients 100,001: at most 100,000 without --shard-size"),
        (["trial", "--n-patients", "10", "--shard-size", "100001"],
         "argument --shard-size: must be an integer from 1 to 100,000"),
        (["evaluate", "--model", "m.zip", "--n-patients", "100001"],
         "argument --n-patients: must be an integer from 1 to 100,000"),
        (["benchmark", "--policy", "mtd-chemo", "--n-patients", "100001"],
         "argument --n-patients: must be an integer from 2 to 100,000"),
        (["quickstart", "--n-patients", "100001"],
         "argument --n-patients: must be an integer from 1 to 100,000"),
        (["dataset", "--n-patients", "99999", "--first-patient", "2"],
         "--first-patient + --n-patients must be at most 100,000"),
    ],
)  # fmt: skip
def test_sizes_beyond_the_bound_name_the_flag(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, err = _run(argv, capsys)
    assert rc == 2 and message in err and "cohort_size" not in err
    assert os.listdir(tmp_path) == []


# --- item 10: an --out that cannot be written is refused before the work -----------------------
@contextlib.contextmanager
def _unwritable(path: Path) -> Iterator[None]:
    """Make ``path`` immutable (root: ``chattr +i``) or read-only (others); skip if neither."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(path)], capture_output=True
        ).returncode:  # fmt: skip
            pytest.skip("cannot make a file immutable here (chattr)")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


@pytest.mark.parametrize(
    "argv",
    [
        ["trial", "--policies", "mtd-chemo", "--n-patients", "2"],
        ["benchmark", "--policy", "mtd-chemo", "--n-patients", "2"],
        ["quickstart", "--timesteps", "64", "--n-patients", "2"],
        ["train", "--timesteps", "64"],
    ],
)
def test_an_unwritable_out_folder_is_refused_before_any_work(argv, tmp_path, capsys,
                                                            monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with _unwritable(out):
        rc, err = _run([*argv, "--out", "out"], capsys)
    assert rc == 2 and "out 'out" in err and "no permission" in err, err
    assert os.listdir(out) == []


def test_simulate_refuses_an_immutable_out_file_even_with_overwrite(tmp_path, capsys):
    out = tmp_path / "x.csv"
    out.write_text("mine\n")
    with _unwritable(out):
        rc, err = _run(["simulate", "depillis2003", "--days", "2", "--points", "3", "--out",
                        str(out), "--overwrite"], capsys)  # fmt: skip
    assert rc == 2 and "no permission to replace it" in err
    assert out.read_text() == "mine\n"


# --- item 10: a stale lock whose pid was reused; the refusal names the lock file ---------------
def _lock_of(out: Path) -> Path:
    return out.with_name(f".{out.name}.tme-lock")


@pytest.mark.skipif(_process_start(1) is None, reason="needs /proc/PID/stat (Linux)")
def test_a_lock_whose_pid_was_reused_is_stale_and_a_live_one_names_the_lock_file(tmp_path):
    out = tmp_path / "out"
    lock = _lock_of(out)
    # pid 1 is alive, but it is not the process that wrote this lock (another start time).
    lock.write_text(f"1 {int(_process_start(1)) + 12345}\n")
    folder = OutputFolder(out).check()  # taken over: no false refusal
    assert lock.read_text().split() == [str(os.getpid()), _process_start(os.getpid())]
    folder.abort()
    assert not lock.exists()
    # The live writer (pid 1 with its own start time, or an older lock with a pid only).
    for text in (f"1 {_process_start(1)}\n", "1\n"):
        lock.write_text(text)
        with pytest.raises(ValueError) as info:
            OutputFolder(out).check()
        assert "another tme process (pid 1) is writing this folder" in str(info.value)
        assert f"lock file '{lock}'" in str(info.value)


def test_a_lock_of_a_dead_process_is_taken_over(tmp_path):
    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    _lock_of(out).write_text(f"{dead} 1\n")
    OutputFolder(out).check().abort()
    assert not _lock_of(out).exists()


# --- item 10: tme sweep checks its whole config before Ray is imported -------------------------
_SWEEP_OK = "algos: [ppo]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: ''\n", "name must be a non-empty string, got ''"),
        ("name: ../up\n", "name must be a folder name (no '/' or '..'), got '../up'"),
        ("storage: 5\n", "storage must be a non-empty string, got 5"),
        ("env: tme/DePillis2003Chemo-v0\n", "unknown env 'tme/DePillis2003Chemo-v0'"),
        ("env: tme/TumorImmuneDiscrete-v2\n", "algos: ppo needs a continuous env"),
        ("seeds: [true]\n", "seeds must be an integer >= 0, got True"),
        ("seeds: [0, 0]\n", "seeds lists a value twice: [0, 0]"),
        ("seeds: []\n", "seeds must be a non-empty list of integers >= 0, got []"),
        ("timesteps: [1.5e+5]\n", "timesteps must be an integer >= 1, got 150000.0"),
        ("eval_every: 0\n", "eval_every must be an integer >= 1, got 0"),
        ("eval_patients: -3\n", "eval_patients must be an integer from 1 to 100,000, got -3"),
        ("test_patients: 1000000\n", "test_patients must be an integer from 1 to 100,000"),
        ("trial_seed: -1\n", "trial_seed must be an integer >= 0, got -1"),
        ("cpus_per_trial: 0\n", "cpus_per_trial must be an integer >= 1, got 0"),
        ("max_concurrent: '2'\n", "max_concurrent must be an integer >= 1, got '2'"),
        ("hyperparameters: [1]\n", "hyperparameters must be a mapping of algorithm"),
        ("hyperparameters: {ppo: {learning_rat: 0.001}}\n",
         "hyperparameters: ppo: unknown ppo hyperparameter 'learning_rat'; did you mean "
         "'learning_rate'?"),
        ("hyperparameters: {ppo: {gamma: 2.0}}\n",
         "hyperparameters: ppo: hyperparameter 'gamma' must be in (0, 1], got 2.0"),
        ("hyperparameters: {a2c: {n_steps: 8}}\n",
         "hyperparameters for 'a2c', which is not in algos"),
        ("search: [1]\n", "search must be a mapping with 'space' (and 'num_samples'), got [1]"),
        ("search: {spaces: {}}\n", "search: unknown key 'spaces'"),
        ("search: {space: {}}\n", "search: space must be a non-empty mapping"),
        ("search: {num_samples: 0, space: {gamma: {choice: [0.9]}}}\n",
         "num_samples must be an integer >= 1, got 0"),
        ("search: {space: {learning_rate: {loguniform: [0, 0.1]}}}\n",
         "space 'learning_rate': loguniform needs [low, high] with 0 < low < high, got [0, 0.1]"),
        ("search: {space: {gamma: {uniform: [0.99, 0.9]}}}\n",
         "space 'gamma': uniform needs [low, high] with low < high"),
        ("search: {space: {gamma: {choice: []}}}\n", "choice needs a non-empty list"),
        ("search: {space: {gama: {choice: [0.9]}}}\n",
         "unknown ppo hyperparameter 'gama'; did you mean 'gamma'?"),
        ("search: {space: {n_steps: {choice: [1.5]}}}\n",
         "hyperparameter 'n_steps' must be int, got 1.5"),
        ("search: {space: {gamma: {normal: [0.9, 1]}}}\n",
         "space 'gamma' must be one of {loguniform, uniform, choice: [...]}"),
    ],
)  # fmt: skip
def test_every_bad_sweep_value_is_named_before_ray(text, message, tmp_path, capsys,
                                                   monkeypatch):  # fmt: skip
    monkeypatch.setitem(sys.modules, "ray", None)  # importing Ray now fails: checked before
    config = tmp_path / "sweep.yml"
    config.write_text(_SWEEP_OK + text)
    rc, err = _run(["sweep", str(config)], capsys)
    assert rc == 2 and f"tme: error: {config}: " in err and message in err, err
    assert sorted(os.listdir(tmp_path)) == ["sweep.yml"]


# --- item 10: config files: gamma out of (0, 1] and other bounds, not UTF-8 ---------------------
@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("gamma: 2.0", "hyperparameter 'gamma' must be in (0, 1], got 2.0"),
        ("gamma: 0", "hyperparameter 'gamma' must be in (0, 1], got 0"),
        ("gae_lambda: 1.5", "hyperparameter 'gae_lambda' must be in [0, 1], got 1.5"),
        ("learning_rate: -0.001", "hyperparameter 'learning_rate' must be > 0, got -0.001"),
        ("learning_rate: .nan", "hyperparameter 'learning_rate' must be finite, got nan"),
        ("batch_size: 0", "hyperparameter 'batch_size' must be >= 1, got 0"),
        ("n_epochs: 0", "hyperparameter 'n_epochs' must be >= 1, got 0"),
        ("n_envs: 0", "hyperparameter 'n_envs' must be >= 1, got 0"),
        ("clip_range: 0", "hyperparameter 'clip_range' must be > 0, got 0"),
        ("ent_coef: -0.1", "hyperparameter 'ent_coef' must be >= 0, got -0.1"),
        ("n_steps: true", "hyperparameter 'n_steps' must be int, got True"),
        ("seed: 3", "'seed' is set by tme train itself, not a hyperparameter"),
    ],
)
def test_out_of_bounds_hyperparameters_are_named_with_the_file(block, message, tmp_path, capsys,
                                                               monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hp.yml").write_text(f"default:\n  {block}\n")
    rc, err = _run(["train", "--config", "hp.yml", "--timesteps", "64"], capsys)
    assert rc == 2 and f"tme: error: hp.yml: {message}" in err, err
    assert sorted(os.listdir(tmp_path)) == ["hp.yml"]


def test_a_config_that_is_not_utf8_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    latin1 = "default:\n  gamma: 0.99  # \xe9t\xe9\n".encode("latin-1")
    (tmp_path / "latin1.yml").write_bytes(latin1)
    rc, err = _run(["train", "--config", "latin1.yml"], capsys)
    assert rc == 2 and "cannot read config 'latin1.yml': not UTF-8 text (byte 0xe9" in err, err
    (tmp_path / "sweep.yml").write_bytes(b"algos: [ppo]\nname: \xff\n")
    rc, err = _run(["sweep", "sweep.yml"], capsys)
    assert rc == 2 and "cannot read sweep config 'sweep.yml': not UTF-8 text (byte 0xff" in err
