"""docs/envs.md and the examples agree with the registered environments."""

from __future__ import annotations

import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import tme_env  # noqa: F401 - registers the ids
from tme_env.envs import REGISTRY

ROOT = Path(__file__).parents[1]
ENVS_MD = ROOT / "docs" / "envs.md"
ID = re.compile(r"tme/[A-Za-z0-9]+-v\d+")


def _documents() -> dict[str, str]:
    files = [ROOT / "README.md", ENVS_MD, *sorted((ROOT / "examples").glob("*.py"))]
    return {str(p.relative_to(ROOT)): p.read_text() for p in files}


def test_every_id_the_docs_name_is_registered_and_the_env_page_names_them_all():
    for name, text in _documents().items():
        unknown = sorted(set(ID.findall(text)) - set(REGISTRY))
        assert not unknown, f"{name} names unregistered ids {unknown}; registered: {list(REGISTRY)}"
    assert set(ID.findall(ENVS_MD.read_text())) >= set(REGISTRY)


def _table_rows() -> dict[str, list[str]]:
    rows = {}
    for line in ENVS_MD.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and ID.fullmatch(cells[0].strip("`")):
            rows[cells[0].strip("`")] = cells
    return rows


def _shape(cell: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.search(r"\(\(?([\d, ]+?),?\)\)?", cell).group(1).split(","))


@pytest.mark.parametrize("env_id", sorted(REGISTRY))
def test_env_page_spaces_and_episode_length_match_the_env(env_id):
    rows = _table_rows()
    assert env_id in rows, f"docs/envs.md has no table row for {env_id}"
    _, _, action, observation, _, episode = rows[env_id]
    env = gym.make(env_id)
    if isinstance(env.action_space, gym.spaces.Discrete):
        assert action.strip("`") == f"Discrete({env.action_space.n})"
    else:
        assert _shape(action) == env.action_space.shape
        assert (env.action_space.low == 0).all() and (env.action_space.high == 1).all()
    assert _shape(observation) == env.observation_space.shape
    assert env.observation_space.dtype == np.float32
    steps = env.spec.max_episode_steps
    assert f"{steps} steps" in episode or "as above" in episode, (env_id, episode, steps)


def test_env_page_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", ENVS_MD.read_text(), re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    ran = 0
    for block in blocks:
        if "RecordVideo" in block:
            try:
                import moviepy  # noqa: F401
            except ImportError:
                continue  # optional: the page says to install moviepy for it
        namespace: dict = {}
        exec(compile(block, str(ENVS_MD), "exec"), namespace)  # noqa: S102 - our own docs
        ran += 1
        if "frame" in namespace:
            frame = namespace["frame"]
            assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    assert ran >= 2


def test_de_pillis_start_is_the_same_whatever_the_seed():
    # docs/envs.md: "every reset starts at (0.9, 0.2, 0.005, 0) ... whatever the seed".
    env = gym.make("tme/DePillis2003Chemo-v0")
    first = env.reset(seed=0)[0]
    for seed in (1, 123, None):
        np.testing.assert_array_equal(env.reset(seed=seed)[0], first)
    np.testing.assert_allclose(first[:4], [0.9, 0.2, 0.005, 0.0], rtol=1e-6)


def test_each_knob_in_the_envs_page_lives_where_it_says():
    # docs/envs.md "Where each knob lives": every file exists and defines every name it lists.
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "envs.md").read_text()
    table = page.split("## Where each knob lives", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in table.splitlines() if r.startswith("| ") and "`tme_env/" in r]
    assert len(rows) >= 6, rows
    for row in rows:
        _knob, file, names = (cell.strip() for cell in row.strip().strip("|").split("|"))
        path = root / file.strip("`")
        assert path.is_file(), row
        assert re.findall(r"`([A-Z][A-Za-z0-9_]+)`", names), row
        source = path.read_text()
        for name in re.findall(r"`([A-Z][A-Za-z0-9_]+)`", names):
            assert re.search(rf"^(class {name}\b|{name}\b.*=)", source, re.M), (name, file)
