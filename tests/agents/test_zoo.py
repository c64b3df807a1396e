"""rl_zoo3-format hyperparameters: generated from ours, published in agents/, complete."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tme_env.agents import zoo
from tme_env.agents.algos import load_hyperparams
from tme_env.envs import REGISTRY

#: The published files: the repository's top-level agents/ folder.
SHIPPED = Path(__file__).parents[2] / "agents" / "hyperparams" / "zoo"


@pytest.mark.parametrize("algo", sorted(zoo.ZOO_ALGOS))
def test_shipped_zoo_file_matches_our_hyperparameters(algo):
    shipped = yaml.safe_load((SHIPPED / f"{zoo.ZOO_ALGOS[algo]}.yml").read_text())
    assert shipped == zoo.zoo_hyperparams(algo), (
        "regenerate: python -m tme_env.agents.zoo --out agents/hyperparams/zoo"
    )
    for env_id, block in shipped.items():
        assert env_id in REGISTRY
        # rl_zoo3 reads these two keys without a default (KeyError: 'n_timesteps').
        assert block["n_timesteps"] == zoo.TIMESTEPS[algo] and block["policy"].endswith("Policy")
        rest = {k: v for k, v in block.items() if k not in ("n_timesteps", "policy")}
        ours = load_hyperparams(algo, env_id)
        if isinstance(ours.get("normalize"), dict):
            # rl_zoo3 evaluates a string of VecNormalize keyword arguments
            assert isinstance(rest["normalize"], str)
            rest["normalize"] = eval(rest["normalize"], {"__builtins__": {}, "dict": dict})  # noqa: S307
        assert rest == ours


def test_dqn_blocks_are_the_discrete_ids_only():
    assert list(zoo.zoo_hyperparams("dqn")) == [
        i for i, (*_, kw) in REGISTRY.items() if kw.get("discrete")
    ]
    assert not set(zoo.zoo_hyperparams("ppo")) & set(zoo.zoo_hyperparams("dqn"))


def test_write_zoo_files_and_unknown_algo(tmp_path):
    paths = zoo.write_zoo_files(tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{n}.yml" for n in zoo.ZOO_ALGOS.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    with pytest.raises(ValueError, match="unknown algorithm 'ppo2'"):
        zoo.zoo_hyperparams("ppo2")
