"""Untrusted files run no code: model zips (every CLI path, the Python API) and sweep state.

A crafted ``model.zip`` is a real SB3 zip whose every cloudpickled ``data`` field is
replaced by a pickle that touches a marker file and then returns the original object, so a
full SB3 load still works and leaves the marker behind. Without the trust flag nothing may
create the marker; with it, the marker shows the payload is real.
"""

from __future__ import annotations

import base64
import json
import pickle
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from tme_env.agents import make_sb3_vec_env
from tme_env.agents.algos import algo_class, policy_name
from tme_env.agents.config import TrainConfig
from tme_env.agents.loader import UntrustedModelError, load_sb3_model
from tme_env.cli import main
from tme_env.io import CHECKSUMS, sha256_file

FULL = "tme/TumorImmune-v2"


def _touch_then_load(marker: str, blob: str) -> Any:
    """The payload: touch ``marker``, then return the object SB3 had pickled."""
    Path(marker).touch()
    return pickle.loads(base64.b64decode(blob))  # the test's own, real SB3 field


class _Payload:
    def __init__(self, marker: str, blob: str) -> None:
        self.marker, self.blob = marker, blob

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return _touch_then_load, (self.marker, self.blob)


def _rewrite(src: Path, dst: Path, edit: Any) -> None:
    """Copy model zip ``src`` to ``dst`` with its ``data`` JSON passed through ``edit``."""
    with zipfile.ZipFile(src) as zin:
        entries = {name: zin.read(name) for name in zin.namelist()}
    data = json.loads(entries["data"])
    edit(data)
    entries["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(dst, "w") as zout:
        for name, blob in entries.items():
            zout.writestr(name, blob)


def _poison(marker: Path) -> Any:
    def edit(data: dict[str, Any]) -> None:
        for value in data.values():
            if isinstance(value, dict) and ":serialized:" in value:
                payload = pickle.dumps(_Payload(str(marker), value[":serialized:"]))
                value[":serialized:"] = base64.b64encode(payload).decode()

    return edit


def _run_folder(folder: Path, algo: str, env_id: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yml").write_text(yaml.safe_dump({"train": {"algo": algo,
                                                                 "env_id": env_id}}))  # fmt: skip
    return folder / "model.zip"


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:  # noqa: ANN001
    """A tiny PPO trained 256 steps on the full env, in a run folder."""
    path = _run_folder(tmp_path_factory.mktemp("clean"), "ppo", FULL)
    venv = make_sb3_vec_env(FULL, n_envs=2, seed=0, cohort_size=4)
    model = algo_class("ppo")("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=2, seed=0,
                              device="cpu", policy_kwargs={"net_arch": [16]})  # fmt: skip
    model.learn(256)
    model.save(path)
    return path


@pytest.fixture
def crafted(clean, tmp_path) -> tuple[Path, Path]:  # noqa: ANN001
    """``(crafted model.zip in a run folder, its marker)``, with a forged ``SHA256SUMS``."""
    marker = tmp_path / "PWNED"
    path = _run_folder(tmp_path / "run", "ppo", FULL)
    _rewrite(clean, path, _poison(marker))
    (path.parent / CHECKSUMS).write_text(f"{sha256_file(path)}  model.zip\n")  # forged
    return path, marker


def _observations(env_id: str, n: int = 64) -> np.ndarray:
    space = make_sb3_vec_env(env_id, n_envs=1, seed=0, cohort_size=1).observation_space
    space.seed(0)
    return np.stack([space.sample() for _ in range(n)])


def _same_actions(a: Any, b: Any, obs: np.ndarray, stochastic: bool) -> None:
    state_a = state_b = None
    starts = np.ones(len(obs), dtype=bool)
    for _ in range(3):  # a recurrent policy carries its state from call to call
        act_a, state_a = a.predict(obs, state=state_a, episode_start=starts, deterministic=True)
        act_b, state_b = b.predict(obs, state=state_b, episode_start=starts, deterministic=True)
        np.testing.assert_array_equal(act_a, act_b)
        starts = np.zeros(len(obs), dtype=bool)
    if stochastic:
        torch.manual_seed(1)
        act_a, _ = a.predict(obs, deterministic=False)
        torch.manual_seed(1)
        act_b, _ = b.predict(obs, deterministic=False)
        np.testing.assert_array_equal(act_a, act_b)


# --- the safe load is the full load's policy -------------------------------------------------
@pytest.mark.parametrize("algo", ["ppo", "dqn", "a2c", "sac", "td3", "recurrentppo", "tqc",
                                  "qrdqn"])
def test_a_safe_load_predicts_exactly_as_a_full_load(algo, tmp_path) -> None:  # noqa: ANN001
    env_id = {"dqn": "tme/TumorImmuneDiscrete-v2", "qrdqn": "tme/TumorImmuneDiscrete-v2",
              "a2c": "tme/TumorImmuneClinical-v2"}.get(algo, FULL)  # fmt: skip
    venv = make_sb3_vec_env(env_id, n_envs=2, seed=0, cohort_size=4)
    kwargs: dict[str, Any] = {
        "ppo": {"n_steps": 64, "batch_size": 64, "n_epochs": 2},
        "dqn": {"buffer_size": 512, "learning_starts": 32, "batch_size": 32},
        "sac": {"buffer_size": 64},
        "td3": {"buffer_size": 64},
        "tqc": {"buffer_size": 64},
        "qrdqn": {"buffer_size": 512, "learning_starts": 32, "batch_size": 32},
        # A class in policy_kwargs: SB3 pickles them all; the safe load names it from its list.
        "recurrentppo": {"n_steps": 16, "policy_kwargs": {"lstm_hidden_size": 8,
                                                          "activation_fn": torch.nn.ReLU}},
    }.get(algo, {})  # fmt: skip
    model = algo_class(algo)(policy_name(algo), venv, seed=0, device="cpu", **kwargs)
    if algo in ("ppo", "dqn"):
        model.learn(128)  # weights and optimiser state away from their initial values
    in_run = _run_folder(tmp_path / "run", algo, env_id)
    model.save(in_run)
    bare = tmp_path / "bare.zip"  # no run folder: the env is the one whose spaces it records
    shutil.copy(in_run, bare)
    full = load_sb3_model(in_run, trusted=True)
    obs = _observations(env_id)
    for path in (in_run, bare):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no notice needed: nothing is unpickled
            safe = load_sb3_model(path)
        assert type(safe) is type(full)
        assert safe.observation_space == full.observation_space
        assert safe.action_space == full.action_space
        _same_actions(safe, full, obs, stochastic=algo not in ("dqn", "qrdqn"))


# --- a crafted model.zip runs nothing without the trust flag ---------------------------------
def test_the_python_api_loads_a_crafted_model_without_running_it(crafted, clean) -> None:  # noqa: ANN001
    path, marker = crafted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = load_sb3_model(path)
    assert not marker.exists()
    _same_actions(model, load_sb3_model(clean), _observations(FULL), stochastic=True)
    # The payload is real: the full load that --trust-model asks for runs it.
    load_sb3_model(path, trusted=True)
    assert marker.exists()


class _Stop(Exception):  # noqa: N818 - a signal, not an error
    """Raised instead of the trial once every policy is built (keeps the test fast)."""


def _stop_at_trial(monkeypatch, loaded: list) -> None:  # noqa: ANN001
    def stop(policies: Any, *args: Any, **kwargs: Any) -> None:
        loaded.append(policies)
        raise _Stop

    monkeypatch.setattr("tme_env.cli.trial.run_trial", stop)
    monkeypatch.setattr("tme_env.benchmark.runner.run_trial", stop)


_COMMANDS = {
    "evaluate": ["evaluate", "--model", "{model}", "--n-patients", "2"],
    "trial": ["trial", "--policies", "mtd-chemo", "--model", "{model}", "--n-patients", "2"],
    "benchmark": ["benchmark", "--policy", "{model}", "--env", FULL, "--n-patients", "2"],
}


def _argv(name: str, model: Path, out: Path) -> list[str]:
    return [a.format(model=model) for a in _COMMANDS[name]] + ["--out", str(out)]


@pytest.mark.parametrize("command", list(_COMMANDS))
def test_the_cli_loads_a_crafted_model_without_running_it(command, crafted, tmp_path,
                                                          monkeypatch) -> None:  # noqa: ANN001
    path, marker = crafted
    loaded: list = []
    _stop_at_trial(monkeypatch, loaded)
    with pytest.raises(_Stop):
        main(_argv(command, path, tmp_path / "out"))
    assert not marker.exists()
    arms = loaded[0] if isinstance(loaded[0], dict) else dict(loaded[0])
    assert any(type(p).__name__ == "PPO" for p in arms.values())  # the model made it in
    # --trust-model is SB3's full load: the payload runs (it is real).
    loaded.clear()
    with pytest.raises(_Stop):
        main(_argv(command, path, tmp_path / "out_trusted") + ["--trust-model"])
    assert marker.exists()


@pytest.mark.slow
def test_a_trial_of_a_crafted_model_runs_to_its_report(crafted, tmp_path, capsys) -> None:  # noqa: ANN001
    path, marker = crafted
    out = tmp_path / "trial"
    assert main(_argv("trial", path, out)) == 0
    assert (out / "report.md").is_file() and not marker.exists()
    assert "matches" not in capsys.readouterr().err  # the forged SHA256SUMS vouches for nothing


def _claims_class(name: str) -> Any:
    def edit(data: dict[str, Any]) -> None:
        data["policy_class"]["__module__"] = "evil"
        data["policy_class"]["forward"] = f"<function {name}.forward at 0x7f0000000000>"

    return edit


def _unknown_kwarg(data: dict[str, Any]) -> None:
    data["policy_kwargs"] = {":type:": "<class 'dict'>", ":serialized:": "",
                             "activation_fn": "<class 'evil.Activation'>"}  # fmt: skip


@pytest.mark.parametrize(("edit", "reason"), [
    (_claims_class("EvilPolicy"), "policy class is evil.*not stable_baselines3"),
    (_unknown_kwarg, "activation_fn=<class 'evil.Activation'> is not a torch activation"),
])  # fmt: skip
def test_a_model_the_safe_load_cannot_rebuild_is_refused_naming_the_flag(edit, reason, crafted,
                                                                         tmp_path) -> None:  # noqa: ANN001
    path, marker = crafted
    odd = _run_folder(tmp_path / "odd", "ppo", FULL)
    _rewrite(path, odd, edit)
    (odd.parent / CHECKSUMS).write_text(f"{sha256_file(odd)}  model.zip\n")  # forged
    with pytest.raises(UntrustedModelError, match=reason) as info:
        load_sb3_model(odd)
    assert "--trust-model" in str(info.value) and "trusted=True" in str(info.value)
    assert "SHA256SUMS" not in str(info.value) and "matches" not in str(info.value)
    assert not marker.exists()


def test_a_plain_json_env_names_no_module_to_import(crafted, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    # SB3 passes a stored string `env` to gym.make, whose "module:id" form imports the module.
    path, marker = crafted
    (tmp_path / "tme_trust_evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    odd = _run_folder(tmp_path / "odd", "ppo", FULL)
    _rewrite(path, odd, lambda data: data.update(env="tme_trust_evil:Evil-v0"))
    assert type(load_sb3_model(odd)).__name__ == "PPO"
    assert not marker.exists()


def test_the_cli_refusal_names_the_flag(crafted, tmp_path, capsys) -> None:  # noqa: ANN001
    path, marker = crafted
    odd = _run_folder(tmp_path / "odd", "ppo", FULL)
    _rewrite(path, odd, _claims_class("EvilPolicy"))
    out = tmp_path / "out"
    assert main(_argv("evaluate", odd, out)) == 2
    err = capsys.readouterr().err
    assert "cannot be loaded without unpickling it" in err and "--trust-model" in err
    assert not marker.exists() and not out.exists()


# --- resuming training is a full load: trusted only ------------------------------------------
def test_resuming_a_crafted_model_is_refused_without_the_flag(crafted, tmp_path, capsys) -> None:  # noqa: ANN001
    path, marker = crafted
    before = sorted(p.name for p in path.parent.iterdir())
    assert main(["train", "--resume", str(path), "--timesteps", "64"]) == 2
    err = capsys.readouterr().err
    assert "resuming training" in err and "--trust-model" in err
    with pytest.raises(UntrustedModelError, match="trusted=True"):
        from tme_env.agents.train import train  # deferred here: imports SB3's training parts

        train(TrainConfig(resume=str(path), out=str(tmp_path / "runs"), progress=False))
    assert not marker.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == before  # nothing written
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_resuming_with_the_flag_does_the_full_load(crafted, tmp_path) -> None:  # noqa: ANN001
    path, marker = crafted
    args = ["train", "--resume", str(path), "--trust-model", "--timesteps", "64",
            "--eval-patients", "2", "--out", str(tmp_path / "runs")]  # fmt: skip
    assert main(args) == 0
    assert marker.exists()


# --- a sweep's Tune state -------------------------------------------------------------------
def test_resuming_a_sweep_is_refused_without_trust(tmp_path, capsys) -> None:  # noqa: ANN001
    marker = tmp_path / "PWNED"
    config = tmp_path / "sweep.yml"
    config.write_text(f"name: s\nstorage: {tmp_path / 'sweeps'}\nalgos: [a2c]\n")
    state = tmp_path / "sweeps" / "s" / "tuner.pkl"
    state.parent.mkdir(parents=True)
    state.write_bytes(pickle.dumps(_Payload(str(marker), base64.b64encode(
        pickle.dumps(None)).decode())))  # fmt: skip
    assert main(["sweep", str(config)]) == 2  # refused before Ray is imported
    err = capsys.readouterr().err
    assert "tuner.pkl" in err and "--trust" in err
    assert not marker.exists()


# --- module:attr is code: the help says so ----------------------------------------------------
def test_benchmark_help_says_module_attr_runs_code(capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit):
        main(["benchmark", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "module:attr imports that module, which runs its code" in text
    assert "unpickles them and runs any code" in text  # --trust-model
