"""The trained reference agents of the repository's ``agents/``: complete, and reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tme_env.agents import load_agent
from tme_env.agents.agent import AgentFolder, is_agent_folder
from tme_env.agents.loader import model_info
from tme_env.benchmark import run_benchmark

ROOT = Path(__file__).resolve().parents[2]
AGENTS = sorted(p for p in (ROOT / "agents").iterdir() if is_agent_folder(p))
BOARD = ROOT / "experiments" / "leaderboard.json"


def _board_rows() -> dict[str, dict]:
    data = json.loads(BOARD.read_text())
    return {r["submission"]: r for task in data.values() for r in task["rows"]}


def test_every_learned_leaderboard_row_is_published():
    rows = _board_rows()
    learned = {n for n, r in rows.items() if r.get("training_steps")}
    assert learned, "the leaderboard has no learned rows"
    assert learned == {AgentFolder(p).name for p in AGENTS}


@pytest.mark.parametrize("folder", AGENTS, ids=lambda p: p.name)
def test_agent_folder_is_complete_and_small(folder):
    agent = AgentFolder(folder)
    meta = agent.meta
    assert len(agent.models) >= 5 and meta["leaderboard_row"] == _board_rows()[agent.name]
    for model in agent.models:
        info = model_info(model)
        assert info["normalized"] and info["algo"] == meta["algo"], model
        assert model.stat().st_size < 400_000, model  # small MLPs
    assert "tme benchmark --policy agents/" in (folder / "README.md").read_text()
    assert load_agent(folder).predict is not None


@pytest.mark.slow
@pytest.mark.parametrize("folder", AGENTS, ids=lambda p: p.name)
def test_published_agent_reproduces_its_leaderboard_row(folder):
    """``tme benchmark --policy agents/<name>`` gives the committed row, bit for bit.

    Every value but ``git_commit`` (the commit the row was scored at: provenance, not a
    result).
    """
    meta = AgentFolder(folder).meta
    result = run_benchmark([str(folder)], env_id=meta["task"])
    row = next(r for r in result.rows if r["submission"] == meta["name"])
    fresh, committed = json.loads(json.dumps(row)), dict(meta["leaderboard_row"])
    fresh.pop("git_commit"), committed.pop("git_commit")
    assert fresh == committed
