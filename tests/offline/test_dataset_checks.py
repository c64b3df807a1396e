"""`tme dataset`'s id and folder checks, which run before Minari is imported (issue 29 item 2).

These run in the default suite, without the ``offline`` extra: every refusal comes before any
patient is simulated and before anything is created on disk.
"""

from __future__ import annotations

import pytest

from tme_env.cli import main
from tme_env.offline import dataset as ds_mod
from tme_env.offline.dataset import check_dataset_id, check_new_dataset, dataset_root


@pytest.mark.parametrize("dataset_id", ["tme/full/clinician-mixed-train-v0", "ab/c-v12",
                                        "name-v0", "tme/TumorImmune/test_mixed-v3"])
def test_valid_ids_pass(dataset_id):
    assert check_dataset_id(dataset_id) == dataset_id


@pytest.mark.parametrize("dataset_id", ["../../x-v0", "tme/../x-v0", "/abs/x-v0", "tme//x-v0",
                                        "tme/x", "tme/x-v", "a\\b-v0", "tme/./x-v0", "a/b-v0",
                                        "tme/x-v0/", "", "tme/x.y-v0", 3])
def test_bad_ids_are_named(dataset_id):
    with pytest.raises(ValueError, match=r"--dataset-id .*expected Minari's form "
                                         r"\(namespace/\)name-vN"):
        check_dataset_id(dataset_id, "--dataset-id")


def test_relative_root_is_made_absolute(tmp_path, monkeypatch):
    """Minari doubles a relative MINARI_DATASETS_PATH: the folder must be absolute."""
    monkeypatch.chdir(tmp_path)
    assert dataset_root("datasets") == tmp_path / "datasets"
    monkeypatch.setenv("MINARI_DATASETS_PATH", "rel")
    assert dataset_root() == tmp_path / "rel"
    assert not (tmp_path / "datasets").exists() and not (tmp_path / "rel").exists()


def test_root_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("mine")
    with pytest.raises(ValueError, match=r"--out '.*/f/sub': '.*/f' is not a folder"):
        dataset_root(tmp_path / "f" / "sub", "--out")
    assert (tmp_path / "f").read_text() == "mine"


def test_existing_dataset_is_refused_before_work(tmp_path):
    (tmp_path / "tme" / "x-v0" / "data").mkdir(parents=True)
    with pytest.raises(ValueError, match="'tme/x-v0': a dataset already exists at"):
        check_new_dataset("tme/x-v0", tmp_path)
    assert check_new_dataset("tme/x-v1", tmp_path) == tmp_path / "tme" / "x-v1"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dataset-id", "../../x-v0"], "--dataset-id '../../x-v0': expected Minari's form"),
        (["--dataset-id", "tme/x"], "--dataset-id 'tme/x': expected Minari's form"),
        (["--split", "nosuch"], "--split: unknown split 'nosuch'"),
        (["--behaviour", "nosuch"], "--behaviour: unknown behaviour 'nosuch'"),
    ],
)
def test_cli_refuses_before_any_work(tmp_path, monkeypatch, capsys, extra, message):
    def no_work(*args, **kwargs):
        raise AssertionError("write_dataset was called")

    monkeypatch.setattr("tme_env.cli.dataset.write_dataset", no_work)
    monkeypatch.chdir(tmp_path)
    assert main(["dataset", "--out", "out/datasets", *extra]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing created, inside --out or outside it


def test_cli_refuses_existing_dataset_before_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("tme_env.cli.dataset.write_dataset", lambda *a, **k: 1 / 0)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "datasets" / "tme" / "full" / "clinician-mixed-train-v0").mkdir(parents=True)
    assert main(["dataset", "--out", "datasets"]) == 2
    assert "already exists at" in capsys.readouterr().err


def test_write_dataset_checks_before_importing_minari(tmp_path, monkeypatch):
    """`write_dataset` refuses a bad id or split before any rollout."""
    monkeypatch.setattr(ds_mod, "collect", lambda *a, **k: pytest.fail("rolled out"))
    with pytest.raises(ValueError, match="expected Minari's form"):
        ds_mod.write_dataset("../../x-v0", n_patients=1, root=tmp_path)
    with pytest.raises(ValueError, match="unknown split 'nope'"):
        ds_mod.write_dataset("tme/x-v0", split="nope", n_patients=1, root=tmp_path)
    assert list(tmp_path.iterdir()) == []
